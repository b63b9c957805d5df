-- PostgreSQL's form of migrations/095_payable_pickers.sql (SQLite): the
-- pickers' payable cards and bank accounts from the index alone.
CREATE INDEX cards_payable ON cards(recipient_id, id, brand, last4, verified_at, removed_at)
	WHERE verified_at IS NOT NULL AND removed_at IS NULL;
CREATE INDEX bank_accounts_payable ON bank_accounts(recipient_id, id, masked, country, currency, verified_at, removed_at)
	WHERE verified_at IS NOT NULL AND removed_at IS NULL;
