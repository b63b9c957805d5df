-- PostgreSQL's form of migrations/003_payout_history.sql (SQLite): the
-- history page's indexes, each ending in (created_at, id) so that a page is
-- read backwards from its key without a sort.
DROP INDEX payouts_maker;
CREATE INDEX payouts_maker ON payouts(maker_id, created_at, id, currency, amount);
DROP INDEX payouts_currency;
CREATE INDEX payouts_currency ON payouts(currency, created_at, id);
DROP INDEX payouts_last4;
CREATE INDEX payouts_last4 ON payouts(card_last4, created_at, id);
DROP INDEX payouts_recipient;
CREATE INDEX payouts_recipient ON payouts(recipient_id, created_at, id);
CREATE INDEX payouts_state_created ON payouts(state, created_at, id);
CREATE INDEX payouts_name_money ON payouts(currency, full_name, amount);
CREATE INDEX payouts_amount ON payouts(currency, amount);
CREATE INDEX payouts_finished ON payouts(state, finished_at, currency, amount);
