package store

import (
	"context"
	"fmt"
	"time"
)

// Outcomes of a provider call.
const (
	CallIntent  = "intent"  // committed before the call; still so after a crash
	CallOK      = "ok"      // the provider accepted
	CallRefused = "refused" // the provider said no
	CallUnknown = "unknown" // timeout, reset, 5xx: we do not know
)

// ProviderCall records one call to the provider about a payout.
type ProviderCall struct {
	ID               int64
	PayoutID         int64
	Action           string // "session/create", "session/start/payout", "session/confirm", ...
	IdempotencyKey   string
	Outcome          string
	ErrorCode        string
	ErrorDescription string
	ActorID          int64
	StartedAt        time.Time
	FinishedAt       time.Time
}

// StartProviderCall commits the intent to call the provider; the call happens after this transaction.
func (t *Tx) StartProviderCall(ctx context.Context, c *ProviderCall) error {
	c.Outcome, c.StartedAt = CallIntent, t.now
	err := t.tx.QueryRowContext(ctx, `INSERT INTO provider_calls (payout_id, action, idempotency_key, outcome, actor_id, started_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		c.PayoutID, c.Action, c.IdempotencyKey, c.Outcome, nullID(c.ActorID), t.db.dialect.instant(t.now)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("record provider call: %w", err)
	}
	return nil
}

// FinishProviderCall records what a call's outcome was.
func (t *Tx) FinishProviderCall(ctx context.Context, id int64, outcome, code, description string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE provider_calls SET outcome = ?, error_code = ?, error_description = ?, finished_at = ? WHERE id = ?`,
		outcome, code, description, t.db.dialect.instant(t.now), id)
	if err != nil {
		return fmt.Errorf("finish provider call: %w", err)
	}
	return nil
}

const providerCallColumns = `id, payout_id, action, idempotency_key, outcome, error_code, error_description, coalesce(actor_id, 0), started_at, finished_at`

func queryProviderCalls(ctx context.Context, q querier, where string, args ...any) ([]ProviderCall, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+providerCallColumns+` FROM provider_calls WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("provider calls: %w", err)
	}
	defer rows.Close()
	var out []ProviderCall
	for rows.Next() {
		var c ProviderCall
		var started, finished any
		if err := rows.Scan(&c.ID, &c.PayoutID, &c.Action, &c.IdempotencyKey, &c.Outcome, &c.ErrorCode, &c.ErrorDescription, &c.ActorID, &started, &finished); err != nil {
			return nil, err
		}
		c.StartedAt, c.FinishedAt = instantOf(started), instantOf(finished)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ProviderCalls returns every provider call made for a payout, in order.
func (d *DB) ProviderCalls(ctx context.Context, payoutID int64) ([]ProviderCall, error) {
	return queryProviderCalls(ctx, d.db, `payout_id = ?`, payoutID)
}

// OpenProviderCalls returns calls whose outcome was never recorded (the process
// stopped between intent and outcome) and that started before `before`.
func (d *DB) OpenProviderCalls(ctx context.Context, before time.Time) ([]ProviderCall, error) {
	return queryProviderCalls(ctx, d.db, `outcome = 'intent' AND started_at < ?`, d.dialect.instant(before))
}

// PayoutsWithCallsUnderWay returns the ids of the payouts with a call whose
// intent is committed but whose outcome is not, started at or after since:
// a call under way in some instance of the console (the rows are the only
// record every instance shares).
func (d *DB) PayoutsWithCallsUnderWay(ctx context.Context, since time.Time) (map[int64]bool, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT DISTINCT payout_id FROM provider_calls WHERE outcome = 'intent' AND started_at >= ?`, d.dialect.instant(since))
	if err != nil {
		return nil, fmt.Errorf("calls under way: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
