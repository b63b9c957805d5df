-- PostgreSQL's form of migrations/073_unused_indexes.sql (SQLite): indexes no
-- query uses, which cost space and a write with every row:
-- audit_actor: the audit filter matches the actor's name as text, never actor_id;
-- audit_action: the action filter is a case-insensitive prefix (ILIKE), which
--   a plain index cannot answer;
-- webhook_events_outcome: stored events are listed by payout, or all of them.
DROP INDEX audit_actor;
DROP INDEX audit_action;
DROP INDEX webhook_events_outcome;
