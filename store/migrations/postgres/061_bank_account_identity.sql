-- PostgreSQL's form of migrations/061_bank_account_identity.sql (SQLite):
-- the same bank account found by its identity, for the no-splitting rule.
CREATE INDEX bank_accounts_identity ON bank_accounts(identity);
