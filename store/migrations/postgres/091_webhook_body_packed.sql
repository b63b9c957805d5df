-- PostgreSQL's form of migrations/091_webhook_body_packed.sql (SQLite): the
-- signed body stored packed, the bodies stored before packed by the store.
ALTER TABLE webhook_events ADD COLUMN body_packed bytea;
