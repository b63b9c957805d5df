-- Messages for the next page a session shows ("Saved Ann."), each its own
-- row, so that two requests of one session never overwrite each other's. A
-- page takes its session's rows and deletes them in one statement.
CREATE TABLE flashes (
	id            INTEGER PRIMARY KEY,
	session_hash  TEXT NOT NULL REFERENCES sessions(id_hash) ON DELETE CASCADE,
	kind          TEXT NOT NULL,
	text          TEXT NOT NULL,
	created_at    TEXT NOT NULL
);
CREATE INDEX flashes_session ON flashes(session_hash, id);
