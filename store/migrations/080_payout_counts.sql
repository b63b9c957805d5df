-- How many payouts are in each state, kept by triggers as payouts are
-- written, so that the metrics can say it at every scrape without counting a
-- table that grows by the year.
CREATE TABLE payout_state_counts (
	state    TEXT PRIMARY KEY,
	payouts  INTEGER NOT NULL
);
INSERT INTO payout_state_counts (state, payouts) SELECT state, count(*) FROM payouts WHERE true GROUP BY state;

CREATE TRIGGER payout_counts_insert AFTER INSERT ON payouts BEGIN
	INSERT INTO payout_state_counts (state, payouts) VALUES (new.state, 1)
		ON CONFLICT (state) DO UPDATE SET payouts = payouts + 1;
END;
CREATE TRIGGER payout_counts_update AFTER UPDATE OF state ON payouts WHEN old.state != new.state BEGIN
	UPDATE payout_state_counts SET payouts = payouts - 1 WHERE state = old.state;
	INSERT INTO payout_state_counts (state, payouts) VALUES (new.state, 1)
		ON CONFLICT (state) DO UPDATE SET payouts = payouts + 1;
END;
CREATE TRIGGER payout_counts_delete AFTER DELETE ON payouts BEGIN
	UPDATE payout_state_counts SET payouts = payouts - 1 WHERE state = old.state;
END;
