-- The audit log's date filter walks the entries of the range in time order
-- instead of the whole log from the newest id. (at, id): entries of one
-- moment keep a fixed order, so the page's keyset is exact. Ids and times
-- are not in the same order across instances (each stamps its own clock),
-- so a date-filtered page is in time order, see store.AuditEntries.
CREATE INDEX audit_at ON audit_log(at, id);
