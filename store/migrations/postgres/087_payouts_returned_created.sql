-- PostgreSQL's form of migrations/087_payouts_returned_created.sql (SQLite):
-- the returned payouts in the history's order, a partial index.
CREATE INDEX payouts_returned_created ON payouts(created_at, id) WHERE returned_at IS NOT NULL;
