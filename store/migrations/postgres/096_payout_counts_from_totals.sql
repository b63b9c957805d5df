-- PostgreSQL's form of migrations/096_payout_counts_from_totals.sql
-- (SQLite): the payouts in each state are summed from payout_totals, and
-- payout_state_counts, which kept them a second time, goes.
DROP TRIGGER payout_counts_insert ON payouts;
DROP TRIGGER payout_counts_update ON payouts;
DROP TRIGGER payout_counts_delete ON payouts;
DROP FUNCTION payout_counts();
DROP TABLE payout_state_counts;
