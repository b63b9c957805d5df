CREATE TABLE users (
	id             INTEGER PRIMARY KEY,
	email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
	name           TEXT NOT NULL,
	password_hash  TEXT NOT NULL,
	roles          TEXT NOT NULL DEFAULT '',
	active         INTEGER NOT NULL DEFAULT 1,
	failed_logins  INTEGER NOT NULL DEFAULT 0,
	locked_until   TEXT,
	totp_secret    TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL
);

-- The cookie carries a random token; only its SHA-256 is kept, so a copy of the
-- database does not hand out live sessions.
CREATE TABLE sessions (
	id_hash       TEXT PRIMARY KEY,
	user_id       INTEGER REFERENCES users(id) ON DELETE CASCADE,
	data          BLOB NOT NULL,
	created_at    TEXT NOT NULL,
	last_seen_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Append-only: each row carries the hash of the one before, so an edited or
-- removed row breaks the chain (countersign audit verify).
CREATE TABLE audit_log (
	id           INTEGER PRIMARY KEY,
	at           TEXT NOT NULL,
	actor_id     INTEGER,
	actor        TEXT NOT NULL,
	action       TEXT NOT NULL,
	object_type  TEXT NOT NULL DEFAULT '',
	object_id    TEXT NOT NULL DEFAULT '',
	ip           TEXT NOT NULL DEFAULT '',
	outcome      TEXT NOT NULL,
	detail       TEXT NOT NULL DEFAULT '',
	prev_hash    TEXT NOT NULL,
	hash         TEXT NOT NULL
);
CREATE INDEX audit_object ON audit_log(object_type, object_id, id);
CREATE INDEX audit_actor ON audit_log(actor_id, id);
CREATE INDEX audit_action ON audit_log(action, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE settings (
	key    TEXT PRIMARY KEY,
	value  TEXT NOT NULL
);
