-- PostgreSQL's form of migrations/073_unused_indexes.sql (SQLite): indexes no
-- query uses, which cost space and a write with every row:
-- audit_actor: the audit filter matches the actor's name as text, never actor_id;
-- webhook_events_outcome: stored events are listed by payout, or all of them.
DROP INDEX audit_actor;
DROP INDEX webhook_events_outcome;
