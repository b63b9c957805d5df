-- PostgreSQL's form of migrations/080_payout_counts.sql (SQLite): payouts
-- per state, kept by a trigger as payouts are written, for the metrics.
CREATE TABLE payout_state_counts (
	state    TEXT PRIMARY KEY,
	payouts  BIGINT NOT NULL
);
INSERT INTO payout_state_counts (state, payouts) SELECT state, count(*) FROM payouts GROUP BY state;

CREATE FUNCTION payout_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE payout_state_counts SET payouts = payouts - 1 WHERE state = OLD.state;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		INSERT INTO payout_state_counts (state, payouts) VALUES (NEW.state, 1)
			ON CONFLICT (state) DO UPDATE SET payouts = payout_state_counts.payouts + 1;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER payout_counts_insert AFTER INSERT ON payouts FOR EACH ROW EXECUTE FUNCTION payout_counts();
CREATE TRIGGER payout_counts_update AFTER UPDATE OF state ON payouts FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
	EXECUTE FUNCTION payout_counts();
CREATE TRIGGER payout_counts_delete AFTER DELETE ON payouts FOR EACH ROW EXECUTE FUNCTION payout_counts();
