-- The history's totals per currency and state without a filter, or filtered
-- by state and currency only (the page anyone opens first), read from here
-- instead of summing a million payouts on every page. Kept by triggers as
-- payouts are written.
CREATE TABLE payout_totals (
	currency         TEXT NOT NULL,
	state            TEXT NOT NULL,
	payouts          INTEGER NOT NULL,
	amount           INTEGER NOT NULL,
	returned         INTEGER NOT NULL,
	returned_amount  INTEGER NOT NULL,
	PRIMARY KEY (currency, state)
);
INSERT INTO payout_totals (currency, state, payouts, amount, returned, returned_amount)
	SELECT currency, state, count(*), sum(amount), count(returned_at), coalesce(sum(CASE WHEN returned_at IS NOT NULL THEN amount END), 0)
	FROM payouts WHERE true GROUP BY currency, state;

CREATE TRIGGER payout_totals_insert AFTER INSERT ON payouts BEGIN
	INSERT INTO payout_totals (currency, state, payouts, amount, returned, returned_amount)
		VALUES (new.currency, new.state, 1, new.amount, new.returned_at IS NOT NULL, CASE WHEN new.returned_at IS NOT NULL THEN new.amount ELSE 0 END)
		ON CONFLICT (currency, state) DO UPDATE SET payouts = payouts + 1, amount = amount + excluded.amount,
			returned = returned + excluded.returned, returned_amount = returned_amount + excluded.returned_amount;
END;
CREATE TRIGGER payout_totals_update AFTER UPDATE ON payouts
	WHEN old.state != new.state OR old.currency != new.currency OR old.amount != new.amount
		OR (old.returned_at IS NULL) != (new.returned_at IS NULL) BEGIN
	UPDATE payout_totals SET payouts = payouts - 1, amount = amount - old.amount,
		returned = returned - (old.returned_at IS NOT NULL),
		returned_amount = returned_amount - CASE WHEN old.returned_at IS NOT NULL THEN old.amount ELSE 0 END
		WHERE currency = old.currency AND state = old.state;
	INSERT INTO payout_totals (currency, state, payouts, amount, returned, returned_amount)
		VALUES (new.currency, new.state, 1, new.amount, new.returned_at IS NOT NULL, CASE WHEN new.returned_at IS NOT NULL THEN new.amount ELSE 0 END)
		ON CONFLICT (currency, state) DO UPDATE SET payouts = payouts + 1, amount = amount + excluded.amount,
			returned = returned + excluded.returned, returned_amount = returned_amount + excluded.returned_amount;
END;
CREATE TRIGGER payout_totals_delete AFTER DELETE ON payouts BEGIN
	UPDATE payout_totals SET payouts = payouts - 1, amount = amount - old.amount,
		returned = returned - (old.returned_at IS NOT NULL),
		returned_amount = returned_amount - CASE WHEN old.returned_at IS NOT NULL THEN old.amount ELSE 0 END
		WHERE currency = old.currency AND state = old.state;
END;
