-- PostgreSQL's form of migrations/086_audit_at.sql (SQLite): the audit log's
-- date filter walks the range in (at, id) order.
CREATE INDEX audit_at ON audit_log(at, id);
