-- PostgreSQL's form of migrations/082_card_fingerprint.sql (SQLite): the
-- keyed fingerprint of a typed card number.
ALTER TABLE payouts ADD COLUMN card_fingerprint TEXT;
