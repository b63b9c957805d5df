-- PostgreSQL's form of migrations/093_payouts_state_covering.sql (SQLite):
-- the open payouts' sums by currency, state and confirm from the index alone.
DROP INDEX payouts_state;
CREATE INDEX payouts_state ON payouts(state, deadline_at, id, currency, confirm_attempted, amount);
