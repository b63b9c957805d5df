-- The history's two slow filters at a million payouts.
--
-- By approver: the payouts an approver approved, in the page's order
-- (created_at DESC, id DESC), so a page walks this table's key backwards
-- from the keyset and stops after a page, instead of collecting every
-- approval of theirs and sorting. Kept by a trigger; approvals are never
-- removed and a payout's created_at never changes. WITHOUT ROWID: the key is
-- the whole row.
CREATE TABLE payout_approvers (
	user_id    INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	payout_id  INTEGER NOT NULL,
	PRIMARY KEY (user_id, created_at, payout_id)
) WITHOUT ROWID;
INSERT INTO payout_approvers (user_id, created_at, payout_id)
	SELECT DISTINCT a.user_id, p.created_at, p.id FROM approvals a JOIN payouts p ON p.id = a.payout_id WHERE true
	ON CONFLICT DO NOTHING;
CREATE TRIGGER payout_approvers_insert AFTER INSERT ON approvals BEGIN
	INSERT INTO payout_approvers (user_id, created_at, payout_id)
		SELECT new.user_id, created_at, id FROM payouts WHERE id = new.payout_id
		ON CONFLICT DO NOTHING;
END;

-- Recipient name contains: FTS5's trigram tokenizer answers LIKE '%abc%'
-- (three characters or more) from an index of the names' trigrams, case
-- insensitively as LIKE is. External content: the names stay in payouts.
CREATE VIRTUAL TABLE payout_names USING fts5(full_name, content='payouts', content_rowid='id', tokenize='trigram');
INSERT INTO payout_names (payout_names) VALUES ('rebuild');
CREATE TRIGGER payout_names_insert AFTER INSERT ON payouts BEGIN
	INSERT INTO payout_names (rowid, full_name) VALUES (new.id, new.full_name);
END;
CREATE TRIGGER payout_names_update AFTER UPDATE OF full_name ON payouts WHEN old.full_name != new.full_name BEGIN
	INSERT INTO payout_names (payout_names, rowid, full_name) VALUES ('delete', old.id, old.full_name);
	INSERT INTO payout_names (rowid, full_name) VALUES (new.id, new.full_name);
END;
CREATE TRIGGER payout_names_delete AFTER DELETE ON payouts BEGIN
	INSERT INTO payout_names (payout_names, rowid, full_name) VALUES ('delete', old.id, old.full_name);
END;
-- The name index it replaces: nothing else looks payouts up by name.
DROP INDEX payouts_name;
