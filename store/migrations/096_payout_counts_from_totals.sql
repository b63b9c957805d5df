-- The payouts in each state, for the metrics, are summed from
-- payout_totals (migration 071), which triggers keep per currency and state
-- as payouts are written: a few dozen rows. payout_state_counts kept the same
-- numbers a second time, with two more statements in every change of a
-- payout's state, the webhook writer's most frequent write.
DROP TRIGGER payout_counts_insert;
DROP TRIGGER payout_counts_update;
DROP TRIGGER payout_counts_delete;
DROP TABLE payout_state_counts;
