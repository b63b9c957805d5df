-- PostgreSQL's form of migrations/092_payouts_amount_created.sql (SQLite):
-- the amount range's matches sorted by creation from the index alone.
DROP INDEX payouts_amount;
CREATE INDEX payouts_amount ON payouts(currency, amount, created_at, id);
