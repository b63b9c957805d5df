package store

import (
	"context"
	"fmt"
	"time"
)

// SimilarPayouts returns payouts created at or after since with the same
// amount, currency and card that were not rejected, newest first: what the
// duplicate warning lists. A saved card (cardID > 0) matches by id; a typed
// card, which has no id, matches typed cards by last4 and brand.
func (t *Tx) SimilarPayouts(ctx context.Context, since time.Time, amount int64, currency string, cardID int64, last4, brand string) ([]*Payout, error) {
	q := `SELECT ` + payoutColumns + payoutFrom + ` WHERE p.created_at >= ? AND p.amount = ? AND p.currency = ? AND p.state != 'rejected' AND `
	args := []any{formatTime(since), amount, currency}
	if cardID > 0 {
		q += `p.card_id = ?`
		args = append(args, cardID)
	} else {
		q += `p.card_id IS NULL AND p.card_last4 = ? AND p.card_brand = ?`
		args = append(args, last4, brand)
	}
	return queryPayouts(ctx, t.tx, q+` ORDER BY p.created_at DESC, p.id DESC`, args...)
}

// SameCard picks the payouts that count with one being decided: to the same
// card (brand, last four and recipient name: saved or typed alike) in the
// same currency, created since Since, in none of the Ended states.
type SameCard struct {
	Since     time.Time
	Currency  string
	Brand     string
	Last4     string
	FullName  string // compared case-insensitively
	ExcludeID int64  // the payout being decided
	Ended     []string
}

// SameCardTotal returns how many payouts q picks and their total amount.
func (t *Tx) SameCardTotal(ctx context.Context, q SameCard) (count int, total int64, err error) {
	return sameCardTotal(ctx, t.tx, q)
}

// SameCardTotal is Tx.SameCardTotal outside a transaction, for pages.
func (d *DB) SameCardTotal(ctx context.Context, q SameCard) (count int, total int64, err error) {
	return sameCardTotal(ctx, d.db, q)
}

func sameCardTotal(ctx context.Context, db querier, q SameCard) (int, int64, error) {
	// payouts_last4 (card_last4, created_at, id) finds the card's recent rows.
	query := `SELECT count(*), coalesce(sum(amount), 0) FROM payouts WHERE card_last4 = ? AND created_at >= ? AND id != ?
		AND currency = ? AND lower(card_brand) = lower(?) AND lower(full_name) = lower(?)`
	args := []any{q.Last4, formatTime(q.Since), q.ExcludeID, q.Currency, q.Brand, q.FullName}
	if len(q.Ended) > 0 {
		query += ` AND state NOT IN (?` + repeat(",?", len(q.Ended)-1) + `)`
		for _, s := range q.Ended {
			args = append(args, s)
		}
	}
	var n int
	var total int64
	if err := db.QueryRowContext(ctx, query, args...).Scan(&n, &total); err != nil {
		return 0, 0, fmt.Errorf("payouts to the same card: %w", err)
	}
	return n, total, nil
}

// ProviderCalls returns every provider call made for a payout, in order, as
// this transaction sees them.
func (t *Tx) ProviderCalls(ctx context.Context, payoutID int64) ([]ProviderCall, error) {
	return queryProviderCalls(ctx, t.tx, `payout_id = ?`, payoutID)
}

// ProviderCallByID returns one provider call as this transaction sees it.
func (t *Tx) ProviderCallByID(ctx context.Context, id int64) (ProviderCall, error) {
	calls, err := queryProviderCalls(ctx, t.tx, `id = ?`, id)
	if err != nil {
		return ProviderCall{}, err
	}
	if len(calls) == 0 {
		return ProviderCall{}, notFound("provider call")
	}
	return calls[0], nil
}
