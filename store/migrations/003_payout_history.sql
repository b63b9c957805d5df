-- The history page lists payouts newest first (created_at DESC, id DESC) under
-- one or more filters, a page at a time from a key. For each filter that picks
-- rows by equality there is an index that ends in (created_at, id), so SQLite
-- walks it backwards from the key and stops after a page, without sorting.
-- These replace 002's (column, id) versions, which needed a sort.
DROP INDEX payouts_maker;
-- With currency and amount, a maker's totals never touch the table.
CREATE INDEX payouts_maker ON payouts(maker_id, created_at, id, currency, amount);
DROP INDEX payouts_currency;
CREATE INDEX payouts_currency ON payouts(currency, created_at, id);
DROP INDEX payouts_last4;
CREATE INDEX payouts_last4 ON payouts(card_last4, created_at, id);
DROP INDEX payouts_recipient;
CREATE INDEX payouts_recipient ON payouts(recipient_id, created_at, id);
CREATE INDEX payouts_state_created ON payouts(state, created_at, id);

-- "Name contains" cannot seek; its totals scan this (in currency order, as they
-- are grouped) instead of looking up every row of the table.
CREATE INDEX payouts_name_money ON payouts(currency, full_name, amount);

-- Amount ranges are asked within a currency (an amount means nothing without one).
CREATE INDEX payouts_amount ON payouts(currency, amount);

-- Money that left: paid today, this week, daily outflow, and what finished since
-- the latest balance reading. Covering, so the sums never touch the table.
CREATE INDEX payouts_finished ON payouts(state, finished_at, currency, amount);

-- The approver filter reads approvals by user: approvals_user (user_id, payout_id) from 002.
-- The chart reads balance_snapshots by (currency, read_at): balance_snapshots_currency from 002.
