-- What needs a person's look, in one place: flagged webhooks, successes we
-- did not expect, payouts the provider will not tell us about, cancels it
-- keeps refusing. An item stays on the dashboard until someone acknowledges
-- it. payout_id is NULL for a webhook about no payout of ours.
CREATE TABLE attention_items (
	id               INTEGER PRIMARY KEY,
	kind             TEXT NOT NULL,
	payout_id        INTEGER REFERENCES payouts(id),
	detail           TEXT NOT NULL,
	raised_at        TEXT NOT NULL,
	acknowledged_by  INTEGER REFERENCES users(id),
	acknowledged_at  TEXT
);
CREATE INDEX attention_open ON attention_items(acknowledged_at, id);
CREATE INDEX attention_payout ON attention_items(payout_id, kind);

-- How often the reconciler met a refusal for a payout: session/status
-- refused (the session is not found), or a cancel that had to be sent again.
-- Past a few, the payout waits for a person instead of being asked about on
-- every pass.
CREATE TABLE reconcile_counts (
	payout_id        INTEGER PRIMARY KEY REFERENCES payouts(id),
	status_refusals  INTEGER NOT NULL DEFAULT 0,
	cancel_reissues  INTEGER NOT NULL DEFAULT 0
);

-- One open item per kind and payout: raising it again while it waits adds nothing.
CREATE UNIQUE INDEX attention_open_once ON attention_items(kind, payout_id) WHERE acknowledged_at IS NULL;
