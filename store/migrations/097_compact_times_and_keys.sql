-- A payout's rows, smaller (about 1,000 of its 5,235 bytes at a million):
--
--   - the three largest tables keep their times as integers of microseconds
--     since 1970 (dialect.instant): 8 bytes instead of 27 characters of
--     text, in each audit entry, webhook event and provider call and in
--     audit_at;
--   - an audit entry's action, one of a few dozen words, is kept once in
--     audit_actions and referred to by its number, in the entry and in
--     audit_action: 21 characters an entry on average;
--   - a webhook event's key, the hex of a SHA-256, is kept as its 32 bytes,
--     in the table and in its unique index;
--   - a webhook event no longer keeps its detail: the same words are in its
--     audit entry (webhook.<type> or webhook.unknown_session), and nothing
--     read them from the event;
--   - the balance readings are copied into pages they fill: migration 090
--     thinned them to one in three and SQLite left the pages as they were
--     (117 MB of pages for 50 MB of rows).
--
-- SQLite cannot change a column's type, so the tables are rebuilt with the
-- indexes and triggers they had (migrations 002, 072, 073, 090 and 094).
-- Nothing refers to them, so no foreign key needs to be switched off. A time
-- that is not in formatTime's layout, or a key that is not 64 hex
-- characters (only a tampered row has one), is kept as it was, so that
-- verification still reports the row instead of the migration failing.

-- The actions, listed along audit_action by hopping from one to the next:
-- a probe per action, whatever the log's length. Append-only like the log:
-- a changed word would change what every entry with it says.
CREATE TABLE audit_actions (
	id      INTEGER PRIMARY KEY,
	action  TEXT NOT NULL UNIQUE
);
INSERT INTO audit_actions (action)
	WITH RECURSIVE a(action) AS (
		SELECT min(action) FROM audit_log
		UNION ALL
		SELECT (SELECT min(action) FROM audit_log WHERE action > a.action) FROM a WHERE a.action IS NOT NULL)
	SELECT action FROM a WHERE action IS NOT NULL;
CREATE TRIGGER audit_actions_no_update BEFORE UPDATE ON audit_actions BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_actions_no_delete BEFORE DELETE ON audit_actions BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TABLE audit_log_new (
	id           INTEGER PRIMARY KEY,
	at           INTEGER NOT NULL,
	actor_id     INTEGER,
	actor        TEXT NOT NULL,
	action_id    INTEGER NOT NULL REFERENCES audit_actions(id),
	object_type  TEXT NOT NULL DEFAULT '',
	object_id    TEXT NOT NULL DEFAULT '',
	ip           TEXT NOT NULL DEFAULT '',
	outcome      TEXT NOT NULL,
	detail       TEXT NOT NULL DEFAULT '',
	hash         BLOB NOT NULL
);
INSERT INTO audit_log_new (id, at, actor_id, actor, action_id, object_type, object_id, ip, outcome, detail, hash)
	SELECT id,
		CASE WHEN at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
			THEN coalesce(unixepoch(substr(at, 1, 19)) * 1000000 + CAST(substr(at, 21, 6) AS INTEGER), at)
			ELSE at END,
		actor_id, actor, (SELECT x.id FROM audit_actions x WHERE x.action = audit_log.action), object_type, object_id, ip, outcome, detail, hash
	FROM audit_log ORDER BY id;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_object ON audit_log(object_type, object_id, id);
CREATE INDEX audit_action ON audit_log(action_id, id);
CREATE INDEX audit_at ON audit_log(at, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE webhook_events_new (
	id           INTEGER PRIMARY KEY,
	event_key    BLOB NOT NULL UNIQUE,
	type         TEXT NOT NULL,
	session_id   TEXT NOT NULL,
	payout_id    INTEGER REFERENCES payouts(id),
	outcome      TEXT NOT NULL,
	body         TEXT NOT NULL,
	received_at  INTEGER NOT NULL,
	body_packed  BLOB
);
INSERT INTO webhook_events_new (id, event_key, type, session_id, payout_id, outcome, body, received_at, body_packed)
	SELECT id,
		CASE WHEN length(event_key) = 64 AND event_key NOT GLOB '*[^0-9a-f]*' THEN unhex(event_key) ELSE CAST(event_key AS BLOB) END,
		type, session_id, payout_id, outcome, body,
		CASE WHEN received_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
			THEN coalesce(unixepoch(substr(received_at, 1, 19)) * 1000000 + CAST(substr(received_at, 21, 6) AS INTEGER), received_at)
			ELSE received_at END,
		body_packed
	FROM webhook_events ORDER BY id;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;
CREATE INDEX webhook_events_payout ON webhook_events(payout_id, id);

CREATE TABLE provider_calls_new (
	id                 INTEGER PRIMARY KEY,
	payout_id          INTEGER NOT NULL REFERENCES payouts(id),
	action             TEXT NOT NULL,
	idempotency_key    TEXT NOT NULL,
	outcome            TEXT NOT NULL DEFAULT 'intent',
	error_code         TEXT NOT NULL DEFAULT '',
	error_description  TEXT NOT NULL DEFAULT '',
	actor_id           INTEGER REFERENCES users(id),
	started_at         INTEGER NOT NULL,
	finished_at        INTEGER
);
INSERT INTO provider_calls_new (id, payout_id, action, idempotency_key, outcome, error_code, error_description, actor_id, started_at, finished_at)
	SELECT id, payout_id, action, idempotency_key, outcome, error_code, error_description, actor_id,
		CASE WHEN started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
			THEN coalesce(unixepoch(substr(started_at, 1, 19)) * 1000000 + CAST(substr(started_at, 21, 6) AS INTEGER), started_at)
			ELSE started_at END,
		CASE WHEN finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'
			THEN coalesce(unixepoch(substr(finished_at, 1, 19)) * 1000000 + CAST(substr(finished_at, 21, 6) AS INTEGER), finished_at)
			ELSE finished_at END
	FROM provider_calls ORDER BY id;
DROP TABLE provider_calls;
ALTER TABLE provider_calls_new RENAME TO provider_calls;
CREATE INDEX provider_calls_payout ON provider_calls(payout_id, id);
CREATE INDEX provider_calls_open ON provider_calls(outcome) WHERE outcome = 'intent';

CREATE TABLE balance_snapshots_new (
	id          INTEGER PRIMARY KEY,
	currency    TEXT NOT NULL,
	amount      INTEGER NOT NULL,
	read_at     TEXT NOT NULL,
	checked_at  TEXT
);
INSERT INTO balance_snapshots_new (id, currency, amount, read_at, checked_at)
	SELECT id, currency, amount, read_at, checked_at FROM balance_snapshots ORDER BY id;
DROP TABLE balance_snapshots;
ALTER TABLE balance_snapshots_new RENAME TO balance_snapshots;
CREATE INDEX balance_snapshots_currency ON balance_snapshots(currency, read_at);
CREATE TRIGGER balance_hours_keep AFTER INSERT ON balance_snapshots BEGIN
	INSERT INTO balance_hours (currency, hour, snapshot_id, amount, read_at)
		VALUES (new.currency, substr(new.read_at, 1, 13), new.id, new.amount, new.read_at)
		ON CONFLICT (currency, hour) DO UPDATE SET snapshot_id = excluded.snapshot_id, amount = excluded.amount, read_at = excluded.read_at
		WHERE excluded.read_at >= balance_hours.read_at;
END;
