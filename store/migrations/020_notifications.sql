-- The notification outbox. A row is written in the same transaction as the
-- event it tells about (one insert, never on the money path's critical part);
-- the sender later expands it into one delivery per person and channel.
-- user_id: only this person (the maker of a payout); NULL: everyone who holds
-- the kind's role. skip_user_id: never this person (the maker of a payout
-- that approvers are asked to approve). path: the page the message links to,
-- joined to the public URL when it is sent.
CREATE TABLE notifications (
	id            INTEGER PRIMARY KEY,
	kind          TEXT NOT NULL,
	user_id       INTEGER REFERENCES users(id),
	skip_user_id  INTEGER REFERENCES users(id),
	subject       TEXT NOT NULL,
	body          TEXT NOT NULL,
	path          TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	expanded_at   TEXT
);
CREATE INDEX notifications_unexpanded ON notifications(id) WHERE expanded_at IS NULL;
CREATE INDEX notifications_expanded ON notifications(expanded_at);

-- One message to send: an email to one address, or the event's one post to
-- the chat webhook (address ''). Claimed by a conditional update that sets
-- state 'sending' and a lease; a claim whose sender died is taken again once
-- its lease has passed. attempts counts claims and fences a late sender.
CREATE TABLE notification_deliveries (
	id               INTEGER PRIMARY KEY,
	notification_id  INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
	channel          TEXT NOT NULL,
	address          TEXT NOT NULL DEFAULT '',
	user_id          INTEGER REFERENCES users(id),
	state            TEXT NOT NULL DEFAULT 'pending',
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_at          TEXT NOT NULL,
	lease_until      TEXT,
	last_error       TEXT NOT NULL DEFAULT '',
	sent_at          TEXT,
	UNIQUE (notification_id, channel, address)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries(state, next_at);

-- Kinds a person chose not to get. Only opt-outs are stored, so a new kind
-- (or a new role) reaches people until they say otherwise.
CREATE TABLE notification_optouts (
	user_id  INTEGER NOT NULL REFERENCES users(id),
	kind     TEXT NOT NULL,
	PRIMARY KEY (user_id, kind)
);

-- Things told once: "deadline:12" (payout 12's deadline reminder went out),
-- "balance_low:USD" (USD is under its low mark and admins were told; removed
-- when it is back above, so the next crossing is told again). Inserting the
-- mark is the claim: of two watchers only one inserts it.
CREATE TABLE notification_marks (
	key     TEXT PRIMARY KEY,
	set_at  TEXT NOT NULL
);
