package store

import (
	"context"
	"time"
)

// SimilarPayouts returns payouts created at or after since with the same
// amount, currency and destination as p that were not rejected, newest first:
// what the duplicate warning lists. A bank account or a saved card matches by
// id; a typed card, which has no id, matches typed cards by last4 and brand.
func (t *Tx) SimilarPayouts(ctx context.Context, since time.Time, p *Payout) ([]*Payout, error) {
	q := `SELECT ` + payoutColumns + payoutFrom + ` WHERE p.created_at >= ? AND p.amount = ? AND p.currency = ? AND p.state != 'rejected' AND `
	args := []any{formatTime(since), p.Amount, p.Currency}
	cardID, last4, brand := p.CardID, p.CardLast4, p.CardBrand
	switch {
	case p.BankAccountID > 0:
		q += `p.bank_account_id = ?`
		args = append(args, p.BankAccountID)
	case cardID > 0:
		q += `p.card_id = ?`
		args = append(args, cardID)
	default:
		q += `p.card_id IS NULL AND p.bank_account_id IS NULL AND p.card_last4 = ? AND p.card_brand = ?`
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
