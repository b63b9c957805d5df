package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Webhook event outcomes.
const (
	WebhookApplied        = "applied"         // moved the payout
	WebhookStale          = "stale"           // older news than what we know; kept, changed nothing
	WebhookUnknownSession = "unknown_session" // no payout has that session: kept and flagged
	WebhookMismatch       = "mismatch"        // amount or currency differ from our record: flagged
	WebhookRefused        = "refused"         // would move the payout in a way no webhook may (e.g. confirm it)
)

// WebhookEvent is one stored provider webhook.
type WebhookEvent struct {
	ID         int64
	Key        string // SHA-256 of the signed body, in hex: a retry of the same delivery has the same key
	Type       string
	SessionID  string
	PayoutID   int64
	Outcome    string // what it did; the words are in its audit entry
	Body       string // exactly as signed (stored packed: see PackWebhookBody)
	Packed     []byte // Body packed, when the caller packed it already; nil: InsertWebhookEvent packs it
	ReceivedAt time.Time
}

// WebhookEventsSeen returns which of keys are stored, in one query. Writers
// are serialised (see lockWriter and dialect.lockWrites), so in a write
// transaction the answer still holds when it commits.
func (t *Tx) WebhookEventsSeen(ctx context.Context, keys []string) (map[string]bool, error) {
	seen := map[string]bool{}
	if len(keys) == 0 {
		return seen, nil
	}
	packed := make([][]byte, len(keys))
	for i, k := range keys {
		var err error
		if packed[i], err = packWebhookKey(k); err != nil {
			return nil, fmt.Errorf("webhooks seen: %w", err)
		}
	}
	list, args := inList(packed)
	rows, err := t.db.db.reading(t.tx).QueryContext(ctx, `SELECT event_key FROM webhook_events WHERE event_key IN `+list, args...)
	if err != nil {
		return nil, fmt.Errorf("webhooks seen: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("webhooks seen: %w", err)
		}
		seen[hex.EncodeToString(k)] = true
	}
	return seen, rows.Err()
}

// packWebhookKey is the stored form of an event's key, the hex of a SHA-256:
// its 32 bytes, half the size of the text, in the table and in its unique
// index (migration 097).
func packWebhookKey(key string) ([]byte, error) {
	b, err := hex.DecodeString(key)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("webhook key %q is not the hex of a SHA-256", key)
	}
	return b, nil
}

const sqlInsertWebhookEvent = `INSERT INTO webhook_events (event_key, type, session_id, payout_id, outcome, body, body_packed, received_at)
		VALUES (?, ?, ?, ?, ?, '', ?, ?) ON CONFLICT (event_key) DO NOTHING RETURNING id`

// InsertWebhookEvent stores an event, with its outcome, unless one with the
// same key exists; it reports whether it was new. The row is written once,
// when what the event did is known: ask WebhookEventsSeen first, apply the
// event, then insert it.
func (t *Tx) InsertWebhookEvent(ctx context.Context, e *WebhookEvent) (bool, error) {
	e.ReceivedAt = t.now
	packed := e.Packed
	if packed == nil {
		packed = PackWebhookBody(e.Body)
	}
	key, err := packWebhookKey(e.Key)
	if err != nil {
		return false, fmt.Errorf("store webhook: %w", err)
	}
	row, err := t.queryRowPrepared(ctx, sqlInsertWebhookEvent,
		key, e.Type, e.SessionID, nullID(e.PayoutID), e.Outcome, packed, t.db.dialect.instant(t.now))
	if err != nil {
		return false, fmt.Errorf("store webhook: %w", err)
	}
	err = row.Scan(&e.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // stored already: a duplicate
	}
	if err != nil {
		return false, fmt.Errorf("store webhook: %w", err)
	}
	return true, nil
}

// WebhookEvents returns stored events for a payout (payoutID > 0) or with an outcome, newest first.
func (d *DB) WebhookEvents(ctx context.Context, payoutID int64, outcome string, limit int) ([]WebhookEvent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, event_key, type, session_id, coalesce(payout_id, 0), outcome, body, body_packed, received_at
		FROM webhook_events WHERE (? = 0 OR payout_id = ?) AND (? = '' OR outcome = ?) ORDER BY id DESC LIMIT ?`,
		payoutID, payoutID, outcome, outcome, limit)
	if err != nil {
		return nil, fmt.Errorf("webhook events: %w", err)
	}
	defer rows.Close()
	var out []WebhookEvent
	for rows.Next() {
		var e WebhookEvent
		var at any
		var key, packed []byte
		if err := rows.Scan(&e.ID, &key, &e.Type, &e.SessionID, &e.PayoutID, &e.Outcome, &e.Body, &packed, &at); err != nil {
			return nil, err
		}
		body, err := unpackBody(e.Body, packed)
		if err != nil {
			return nil, fmt.Errorf("webhook event %d: %w", e.ID, err)
		}
		e.Key, e.Body, e.ReceivedAt = hex.EncodeToString(key), body, instantOf(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CountWebhookEvents reports how many webhook deliveries are stored.
func (d *DB) CountWebhookEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count webhook events: %w", err)
	}
	return n, nil
}
