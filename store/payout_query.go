package store

import (
	"context"
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
