-- PostgreSQL's form of migrations/081_handover_code.sql (SQLite): the
-- handover code that a sign-in link also needs, by its hash.
ALTER TABLE signin_links ADD COLUMN handover_hash TEXT;
ALTER TABLE signin_links ADD COLUMN handover_at timestamptz;
ALTER TABLE signin_links ADD COLUMN handover_failures INTEGER NOT NULL DEFAULT 0;
CREATE INDEX signin_links_change ON signin_links(change_id);
