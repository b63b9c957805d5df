CREATE TABLE recipients (
	id                  INTEGER PRIMARY KEY,
	full_name           TEXT NOT NULL,
	customer_reference  TEXT NOT NULL DEFAULT '',
	email               TEXT NOT NULL DEFAULT '',
	country             TEXT NOT NULL DEFAULT '',
	created_by          INTEGER NOT NULL REFERENCES users(id),
	created_at          TEXT NOT NULL
);
CREATE INDEX recipients_name ON recipients(full_name COLLATE NOCASE);

-- A saved card is only the provider's token; last4 and brand come from token/info.
CREATE TABLE cards (
	id            INTEGER PRIMARY KEY,
	recipient_id  INTEGER NOT NULL REFERENCES recipients(id),
	number_hash   TEXT NOT NULL,
	last4         TEXT NOT NULL,
	brand         TEXT NOT NULL,
	added_by      INTEGER NOT NULL REFERENCES users(id),
	added_at      TEXT NOT NULL,
	verified_by   INTEGER REFERENCES users(id),
	verified_at   TEXT,
	removed_by    INTEGER REFERENCES users(id),
	removed_at    TEXT,
	UNIQUE (recipient_id, number_hash)
);

CREATE TABLE payouts (
	id                   INTEGER PRIMARY KEY,
	state                TEXT NOT NULL,
	version              INTEGER NOT NULL DEFAULT 1,
	maker_id             INTEGER NOT NULL REFERENCES users(id),
	recipient_id         INTEGER REFERENCES recipients(id),
	full_name            TEXT NOT NULL,
	amount               INTEGER NOT NULL CHECK (amount > 0),
	currency             TEXT NOT NULL,
	card_id              INTEGER REFERENCES cards(id),
	card_last4           TEXT NOT NULL,
	card_brand           TEXT NOT NULL,
	customer_reference   TEXT NOT NULL DEFAULT '',
	note                 TEXT NOT NULL DEFAULT '',
	purpose              TEXT NOT NULL DEFAULT '',
	provider_session_id  TEXT UNIQUE,
	provider_payout_id   TEXT NOT NULL DEFAULT '',
	confirm_attempted    INTEGER NOT NULL DEFAULT 0,
	failure_code         TEXT NOT NULL DEFAULT '',
	failure_reason       TEXT NOT NULL DEFAULT '',
	cancel_reason        TEXT NOT NULL DEFAULT '',
	ready_at             TEXT,
	deadline_at          TEXT,
	created_at           TEXT NOT NULL,
	updated_at           TEXT NOT NULL,
	finished_at          TEXT
);
CREATE INDEX payouts_state ON payouts(state, deadline_at);
CREATE INDEX payouts_created ON payouts(created_at, id);
CREATE INDEX payouts_maker ON payouts(maker_id, id);
CREATE INDEX payouts_currency ON payouts(currency, id);
CREATE INDEX payouts_last4 ON payouts(card_last4, id);
CREATE INDEX payouts_recipient ON payouts(recipient_id, id);
CREATE INDEX payouts_name ON payouts(full_name COLLATE NOCASE, id);

-- An approval counts only for the version of the payout the approver saw.
CREATE TABLE approvals (
	payout_id  INTEGER NOT NULL REFERENCES payouts(id),
	user_id    INTEGER NOT NULL REFERENCES users(id),
	version    INTEGER NOT NULL,
	at         TEXT NOT NULL,
	PRIMARY KEY (payout_id, user_id, version)
);
CREATE INDEX approvals_user ON approvals(user_id, payout_id);

-- Intent before action: a row is committed before every provider call and
-- completed after it. A row still at 'intent' after a crash is reconciled.
CREATE TABLE provider_calls (
	id                 INTEGER PRIMARY KEY,
	payout_id          INTEGER NOT NULL REFERENCES payouts(id),
	action             TEXT NOT NULL,
	idempotency_key    TEXT NOT NULL,
	outcome            TEXT NOT NULL DEFAULT 'intent',
	error_code         TEXT NOT NULL DEFAULT '',
	error_description  TEXT NOT NULL DEFAULT '',
	actor_id           INTEGER REFERENCES users(id),
	started_at         TEXT NOT NULL,
	finished_at        TEXT
);
CREATE INDEX provider_calls_payout ON provider_calls(payout_id, id);
CREATE INDEX provider_calls_open ON provider_calls(outcome) WHERE outcome = 'intent';

-- Each webhook delivery is stored once, keyed by the hash of its signed body, in
-- the same transaction as the change it causes.
CREATE TABLE webhook_events (
	id           INTEGER PRIMARY KEY,
	event_key    TEXT NOT NULL UNIQUE,
	type         TEXT NOT NULL,
	session_id   TEXT NOT NULL,
	payout_id    INTEGER REFERENCES payouts(id),
	outcome      TEXT NOT NULL,
	detail       TEXT NOT NULL DEFAULT '',
	body         TEXT NOT NULL,
	received_at  TEXT NOT NULL
);
CREATE INDEX webhook_events_payout ON webhook_events(payout_id, id);
CREATE INDEX webhook_events_outcome ON webhook_events(outcome, id);

CREATE TABLE balance_snapshots (
	id        INTEGER PRIMARY KEY,
	currency  TEXT NOT NULL,
	amount    INTEGER NOT NULL,
	read_at   TEXT NOT NULL
);
CREATE INDEX balance_snapshots_currency ON balance_snapshots(currency, read_at);
