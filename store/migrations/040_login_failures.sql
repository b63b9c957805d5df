-- Failed sign-ins counted per account and per address the attempts came from.
-- An attempt is counted here before its password is checked (a reservation),
-- so that parallel guesses cannot all be checked against one stale count.
-- One address may add only a few failures to an account before it is locked
-- out of that account; the account itself locks only after more failures
-- than one address may add, so that nobody can lock a known account out from
-- one address.
CREATE TABLE login_failures (
	user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	address       TEXT NOT NULL,
	failures      INTEGER NOT NULL,
	locked_until  TEXT,
	last_at       TEXT NOT NULL,
	PRIMARY KEY (user_id, address)
);
CREATE INDEX login_failures_last ON login_failures(last_at);
