-- The money paid out per UTC hour and currency (succeeded payouts, by the
-- hour they finished), for the dashboard's counts and chart and the balance
-- runway. Summing it from the payouts on every request read every payout of
-- the last 7 or 30 days; this roll-up is kept by triggers as payouts are
-- written, so a month is at most 720 rows a currency. Rows whose payouts went
-- back to 0 stay (with 0): readers skip them.
CREATE TABLE outflow_hours (
	hour      TEXT NOT NULL, -- YYYY-MM-DDTHH, UTC
	currency  TEXT NOT NULL,
	payouts   INTEGER NOT NULL,
	amount    INTEGER NOT NULL,
	PRIMARY KEY (hour, currency)
) WITHOUT ROWID;
INSERT INTO outflow_hours (hour, currency, payouts, amount)
	SELECT substr(finished_at, 1, 13), currency, count(*), sum(amount) FROM payouts
	WHERE state = 'succeeded' AND finished_at IS NOT NULL GROUP BY substr(finished_at, 1, 13), currency;

CREATE TRIGGER outflow_hours_insert AFTER INSERT ON payouts WHEN new.state = 'succeeded' AND new.finished_at IS NOT NULL BEGIN
	INSERT INTO outflow_hours (hour, currency, payouts, amount) VALUES (substr(new.finished_at, 1, 13), new.currency, 1, new.amount)
		ON CONFLICT (hour, currency) DO UPDATE SET payouts = payouts + 1, amount = amount + excluded.amount;
END;
-- Only when what the roll-up counts changed: most updates of a payout (its
-- return, a note) leave it alone.
CREATE TRIGGER outflow_hours_update AFTER UPDATE ON payouts
	WHEN old.state IS NOT new.state OR old.finished_at IS NOT new.finished_at OR old.currency IS NOT new.currency
		OR old.amount IS NOT new.amount BEGIN
	UPDATE outflow_hours SET payouts = payouts - 1, amount = amount - old.amount
		WHERE old.state = 'succeeded' AND old.finished_at IS NOT NULL AND hour = substr(old.finished_at, 1, 13) AND currency = old.currency;
	INSERT INTO outflow_hours (hour, currency, payouts, amount)
		SELECT substr(new.finished_at, 1, 13), new.currency, 1, new.amount WHERE new.state = 'succeeded' AND new.finished_at IS NOT NULL
		ON CONFLICT (hour, currency) DO UPDATE SET payouts = payouts + 1, amount = amount + excluded.amount;
END;
CREATE TRIGGER outflow_hours_delete AFTER DELETE ON payouts WHEN old.state = 'succeeded' AND old.finished_at IS NOT NULL BEGIN
	UPDATE outflow_hours SET payouts = payouts - 1, amount = amount - old.amount
		WHERE hour = substr(old.finished_at, 1, 13) AND currency = old.currency;
END;
