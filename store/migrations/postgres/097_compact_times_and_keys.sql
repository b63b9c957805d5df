-- PostgreSQL's form of migrations/097_compact_times_and_keys.sql (SQLite).
-- PostgreSQL already keeps the times in 8 bytes (timestamptz), so
-- only the webhook events change: an event's key, the hex of a SHA-256,
-- becomes its 32 bytes, in the table and in its unique index (a key that is
-- not 64 hex characters, which only a tampered row has, is kept as its
-- bytes), and the event's detail goes: the same words are in its audit
-- entry. Changing the type rewrites the table, which also frees the dropped
-- column's space. The balance readings need nothing: PostgreSQL's vacuum
-- hands the space of the rows 090 deleted to new ones.
ALTER TABLE webhook_events
	DROP COLUMN detail,
	ALTER COLUMN event_key TYPE bytea USING
	CASE WHEN event_key ~ '^[0-9a-f]{64}$' THEN decode(event_key, 'hex') ELSE convert_to(event_key, 'UTF8') END;
