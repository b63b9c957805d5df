-- Indexes no query uses, which cost space and a write with every row (at a
-- million payouts audit_actor and audit_action were 358 MB together; audit_action
-- stays: the action filter walks it, see store.AuditEntries):
-- audit_actor: the audit filter matches the actor's name as text, never actor_id;
-- webhook_events_outcome: stored events are listed by payout, or all of them.
DROP INDEX audit_actor;
DROP INDEX webhook_events_outcome;
