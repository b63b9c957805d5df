-- PostgreSQL's form of migrations/094_audit_log_compact.sql (SQLite): the
-- audit log's hash as its 32 bytes, no prev_hash (a copy of the previous
-- row's hash). The chain does not change. ALTER TABLE fires no row trigger,
-- so the append-only triggers stay as they are; changing the type rewrites
-- the table, which also frees the dropped column's space. A hash that is not
-- 64 lower-case hex characters (only a tampered row has one) is kept as its
-- bytes, so that verification still reports the row.
ALTER TABLE audit_log
	DROP COLUMN prev_hash,
	ALTER COLUMN hash TYPE bytea USING
		CASE WHEN hash ~ '^[0-9a-f]{64}$' THEN decode(hash, 'hex') ELSE convert_to(hash, 'UTF8') END;
