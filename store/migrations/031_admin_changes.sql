-- Dual control over administration: a change that grants or moves power
-- waits here until a different admin approves it (or it is rejected or
-- withdrawn). payload is the change's JSON, summary its words for people.
-- A decision is a conditional update on state = 'pending', so exactly one
-- decision wins.
CREATE TABLE admin_changes (
	id              INTEGER PRIMARY KEY,
	kind            TEXT NOT NULL,
	target_user_id  INTEGER REFERENCES users(id),
	payload         TEXT NOT NULL,
	summary         TEXT NOT NULL,
	state           TEXT NOT NULL DEFAULT 'pending',
	proposed_by     INTEGER NOT NULL REFERENCES users(id),
	proposed_at     TEXT NOT NULL,
	decided_by      INTEGER REFERENCES users(id),
	decided_at      TEXT,
	reason          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX admin_changes_state ON admin_changes(state, id);

-- One-time sign-in links: a new account's first password and a password
-- reset are chosen by the person, never by an admin. Only the token's
-- SHA-256 is kept; a link works once, until expires_at.
CREATE TABLE signin_links (
	token_hash  TEXT PRIMARY KEY,
	user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose     TEXT NOT NULL,
	change_id   INTEGER REFERENCES admin_changes(id),
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL,
	used_at     TEXT
);
CREATE INDEX signin_links_user ON signin_links(user_id);
