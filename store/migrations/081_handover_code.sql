-- A sign-in link is one of two pieces (split knowledge, dual control): the
-- link goes to the admin who approved the change, and a handover code to the
-- admin who proposed it, who takes it (once) from the approved change. Only
-- the code's hash is kept, like the link's; wrong codes are counted, and a
-- few burn the link.
ALTER TABLE signin_links ADD COLUMN handover_hash TEXT;
ALTER TABLE signin_links ADD COLUMN handover_at TEXT;
ALTER TABLE signin_links ADD COLUMN handover_failures INTEGER NOT NULL DEFAULT 0;
CREATE INDEX signin_links_change ON signin_links(change_id);
