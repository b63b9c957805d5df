-- PostgreSQL's form of migrations/040_login_failures.sql (SQLite): failed
-- sign-ins counted per account and per address, before the password check.
CREATE TABLE login_failures (
	user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	address       TEXT NOT NULL,
	failures      INTEGER NOT NULL,
	locked_until  timestamptz,
	last_at       timestamptz NOT NULL,
	PRIMARY KEY (user_id, address)
);
CREATE INDEX login_failures_last ON login_failures(last_at);
