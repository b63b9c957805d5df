-- The second factor (TOTP, RFC 6238). users.totp_secret (from 001) holds the
-- confirmed secret and totp_pending one being enrolled, both sealed with a key
-- kept outside the database. totp_last_step is the time step of the last code
-- accepted: a code is good once per account, whichever session sends it.
-- Wrong codes count in totp_failures; enough of them lock decisions until
-- totp_locked_until.
ALTER TABLE users ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enrolled_at TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_locked_until TEXT;
