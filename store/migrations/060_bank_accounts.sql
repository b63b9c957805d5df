-- A recipient's bank account, as package bank's field table for its country
-- asks for it. details holds the country's fields (Field.Key -> value) as JSON,
-- normalised by bank.Check; masked is how the account is shown everywhere but
-- the verify step ("Barclays ••••5678", "GB•• •••• •••• 1234 56"). identity
-- names the account by its identifiers only (country, scheme and the numbers),
-- so that one recipient cannot hold the same account twice while it is in use.
CREATE TABLE bank_accounts (
	id            INTEGER PRIMARY KEY,
	recipient_id  INTEGER NOT NULL REFERENCES recipients(id),
	country       TEXT NOT NULL,
	currency      TEXT NOT NULL,
	scheme        TEXT NOT NULL DEFAULT '',
	bank_name     TEXT NOT NULL,
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	details       TEXT NOT NULL,
	masked        TEXT NOT NULL,
	identity      TEXT NOT NULL,
	added_by      INTEGER NOT NULL REFERENCES users(id),
	added_at      TEXT NOT NULL,
	verified_by   INTEGER REFERENCES users(id),
	verified_at   TEXT,
	removed_by    INTEGER REFERENCES users(id),
	removed_at    TEXT
);
CREATE INDEX bank_accounts_recipient ON bank_accounts(recipient_id, id);
CREATE UNIQUE INDEX bank_accounts_in_use ON bank_accounts(recipient_id, identity) WHERE removed_at IS NULL;

-- How a payout is paid: 'card' (card_* columns) or 'bank_account'
-- (bank_account_id; account_label is the account masked as it was when the
-- payout was prepared, account_country its ISO 3166-1 alpha-3 country).
-- purpose holds the remittance purpose code of a bank-account payout.
ALTER TABLE payouts ADD COLUMN method TEXT NOT NULL DEFAULT 'card';
ALTER TABLE payouts ADD COLUMN bank_account_id INTEGER REFERENCES bank_accounts(id);
ALTER TABLE payouts ADD COLUMN account_label TEXT NOT NULL DEFAULT '';
ALTER TABLE payouts ADD COLUMN account_country TEXT NOT NULL DEFAULT '';

-- A succeeded bank-account payout that the receiving bank sent back. The
-- provider announces no return: a person records it. It is a fact about a
-- succeeded payout, not a state: the state stays succeeded (as the provider's
-- does), so states still only move forward. returned_on is the date the bank
-- returned it (YYYY-MM-DD); returned_at is when it was recorded.
ALTER TABLE payouts ADD COLUMN returned_at TEXT;
ALTER TABLE payouts ADD COLUMN returned_by INTEGER REFERENCES users(id);
ALTER TABLE payouts ADD COLUMN returned_on TEXT NOT NULL DEFAULT '';
ALTER TABLE payouts ADD COLUMN return_reason TEXT NOT NULL DEFAULT '';

-- History filters by method and by the account's country, newest first. A
-- method is a third or more of all payouts: its totals walk their own index in
-- currency order rather than sort that many rows. A country is few: with
-- currency and amount its index covers its totals.
CREATE INDEX payouts_method ON payouts(method, created_at, id);
CREATE INDEX payouts_method_money ON payouts(method, currency, amount);
CREATE INDEX payouts_account_country ON payouts(account_country, created_at, id, currency, amount);
-- The duplicate warning looks for the same account, amount and currency.
CREATE INDEX payouts_bank_account ON payouts(bank_account_id, created_at);
-- Totals of returned payouts read the few returned rows only.
CREATE INDEX payouts_returned ON payouts(currency, amount) WHERE returned_at IS NOT NULL;
