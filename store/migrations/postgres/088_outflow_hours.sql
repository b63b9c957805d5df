-- PostgreSQL's form of migrations/088_outflow_hours.sql (SQLite): the money
-- paid out per UTC hour (as text, YYYY-MM-DDTHH, like SQLite's) and
-- currency, kept by a trigger.
CREATE TABLE outflow_hours (
	hour      TEXT NOT NULL,
	currency  TEXT NOT NULL,
	payouts   BIGINT NOT NULL,
	amount    BIGINT NOT NULL,
	PRIMARY KEY (hour, currency)
);
INSERT INTO outflow_hours (hour, currency, payouts, amount)
	SELECT to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24'), currency, count(*), sum(amount) FROM payouts
	WHERE state = 'succeeded' AND finished_at IS NOT NULL GROUP BY 1, 2;

CREATE FUNCTION outflow_hours_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'succeeded' AND OLD.finished_at IS NOT NULL THEN
		UPDATE outflow_hours SET payouts = payouts - 1, amount = amount - OLD.amount
			WHERE hour = to_char(OLD.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AND currency = OLD.currency;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 'succeeded' AND NEW.finished_at IS NOT NULL THEN
		INSERT INTO outflow_hours AS o (hour, currency, payouts, amount)
			VALUES (to_char(NEW.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24'), NEW.currency, 1, NEW.amount)
			ON CONFLICT (hour, currency) DO UPDATE SET payouts = o.payouts + 1, amount = o.amount + excluded.amount;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER outflow_hours_insert AFTER INSERT ON payouts FOR EACH ROW EXECUTE FUNCTION outflow_hours_keep();
CREATE TRIGGER outflow_hours_update AFTER UPDATE ON payouts FOR EACH ROW
	WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.finished_at IS DISTINCT FROM NEW.finished_at
		OR OLD.currency IS DISTINCT FROM NEW.currency OR OLD.amount IS DISTINCT FROM NEW.amount)
	EXECUTE FUNCTION outflow_hours_keep();
CREATE TRIGGER outflow_hours_delete AFTER DELETE ON payouts FOR EACH ROW EXECUTE FUNCTION outflow_hours_keep();
