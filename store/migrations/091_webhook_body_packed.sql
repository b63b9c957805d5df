-- A webhook's signed body is stored packed (store/webhook_body.go): body is
-- '' and body_packed holds it. The bodies stored before are packed once by
-- the store when it opens (packStoredBodies), which then records
-- "091_webhook_body_packed.go" in the migrations table.
ALTER TABLE webhook_events ADD COLUMN body_packed BLOB;
