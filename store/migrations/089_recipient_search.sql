-- The recipient book's search ("name, reference or email contains") at
-- fifty thousand recipients: LIKE '%x%' walked the whole book in name order
-- when few matched. FTS5's trigram tokenizer finds the recipients that
-- contain three characters or more from an index of the trigrams, case
-- insensitively. External content: the text stays in recipients.
CREATE VIRTUAL TABLE recipient_search USING fts5(full_name, customer_reference, email, content='recipients', content_rowid='id', tokenize='trigram');
INSERT INTO recipient_search (recipient_search) VALUES ('rebuild');
CREATE TRIGGER recipient_search_insert AFTER INSERT ON recipients BEGIN
	INSERT INTO recipient_search (rowid, full_name, customer_reference, email) VALUES (new.id, new.full_name, new.customer_reference, new.email);
END;
CREATE TRIGGER recipient_search_update AFTER UPDATE OF full_name, customer_reference, email ON recipients BEGIN
	INSERT INTO recipient_search (recipient_search, rowid, full_name, customer_reference, email) VALUES ('delete', old.id, old.full_name, old.customer_reference, old.email);
	INSERT INTO recipient_search (rowid, full_name, customer_reference, email) VALUES (new.id, new.full_name, new.customer_reference, new.email);
END;
CREATE TRIGGER recipient_search_delete AFTER DELETE ON recipients BEGIN
	INSERT INTO recipient_search (recipient_search, rowid, full_name, customer_reference, email) VALUES ('delete', old.id, old.full_name, old.customer_reference, old.email);
END;
