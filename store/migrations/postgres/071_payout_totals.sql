-- PostgreSQL's form of migrations/071_payout_totals.sql (SQLite): the
-- history's totals per currency and state, kept by a trigger.
CREATE TABLE payout_totals (
	currency         TEXT NOT NULL,
	state            TEXT NOT NULL,
	payouts          BIGINT NOT NULL,
	amount           BIGINT NOT NULL,
	returned         BIGINT NOT NULL,
	returned_amount  BIGINT NOT NULL,
	PRIMARY KEY (currency, state)
);
INSERT INTO payout_totals (currency, state, payouts, amount, returned, returned_amount)
	SELECT currency, state, count(*), sum(amount), count(returned_at), coalesce(sum(CASE WHEN returned_at IS NOT NULL THEN amount END), 0)
	FROM payouts GROUP BY currency, state;

CREATE FUNCTION payout_totals_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE payout_totals SET payouts = payouts - 1, amount = amount - OLD.amount,
			returned = returned - CASE WHEN OLD.returned_at IS NOT NULL THEN 1 ELSE 0 END,
			returned_amount = returned_amount - CASE WHEN OLD.returned_at IS NOT NULL THEN OLD.amount ELSE 0 END
			WHERE currency = OLD.currency AND state = OLD.state;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		INSERT INTO payout_totals AS t (currency, state, payouts, amount, returned, returned_amount)
			VALUES (NEW.currency, NEW.state, 1, NEW.amount, CASE WHEN NEW.returned_at IS NOT NULL THEN 1 ELSE 0 END,
				CASE WHEN NEW.returned_at IS NOT NULL THEN NEW.amount ELSE 0 END)
			ON CONFLICT (currency, state) DO UPDATE SET payouts = t.payouts + 1, amount = t.amount + excluded.amount,
				returned = t.returned + excluded.returned, returned_amount = t.returned_amount + excluded.returned_amount;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER payout_totals_insert AFTER INSERT ON payouts FOR EACH ROW EXECUTE FUNCTION payout_totals_keep();
CREATE TRIGGER payout_totals_update AFTER UPDATE ON payouts FOR EACH ROW
	WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.currency IS DISTINCT FROM NEW.currency OR OLD.amount IS DISTINCT FROM NEW.amount
		OR (OLD.returned_at IS NULL) IS DISTINCT FROM (NEW.returned_at IS NULL))
	EXECUTE FUNCTION payout_totals_keep();
CREATE TRIGGER payout_totals_delete AFTER DELETE ON payouts FOR EACH ROW EXECUTE FUNCTION payout_totals_keep();
