package store

import (
	"context"
	"fmt"
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

// SameDestination picks the payouts that count with one being decided: to
// the same destination in the same currency, created since Since, in none of
// the Ended states. The destination is a bank account when BankAccountID is
// set: that account by its identity (its country, scheme and numbers), so the
// same account saved again, or for another recipient, is the same account.
// Otherwise it is a card: brand, last four and recipient name, saved or typed
// alike.
type SameDestination struct {
	Since         time.Time
	Currency      string
	BankAccountID int64
	Brand         string
	Last4         string
	FullName      string // compared case-insensitively
	ExcludeID     int64  // the payout being decided
	Ended         []string
}

// SameDestinationTotal returns how many payouts q picks and their total amount.
func (t *Tx) SameDestinationTotal(ctx context.Context, q SameDestination) (count int, total int64, err error) {
	return sameDestinationTotal(ctx, t.tx, q)
}

// SameDestinationTotal is Tx.SameDestinationTotal outside a transaction, for pages.
func (d *DB) SameDestinationTotal(ctx context.Context, q SameDestination) (count int, total int64, err error) {
	return sameDestinationTotal(ctx, d.db, q)
}

func sameDestinationTotal(ctx context.Context, db querier, q SameDestination) (int, int64, error) {
	var query string
	var args []any
	if q.BankAccountID > 0 {
		// bank_accounts_identity finds the account's other rows, and
		// payouts_bank_account their recent payouts.
		query = `SELECT count(*), coalesce(sum(p.amount), 0) FROM payouts p JOIN bank_accounts b ON b.id = p.bank_account_id
			WHERE b.identity = (SELECT identity FROM bank_accounts WHERE id = ?) AND p.created_at >= ? AND p.id != ? AND p.currency = ?`
		args = []any{q.BankAccountID, formatTime(q.Since), q.ExcludeID, q.Currency}
	} else {
		// payouts_last4 (card_last4, created_at, id) finds the card's recent rows.
		query = `SELECT count(*), coalesce(sum(p.amount), 0) FROM payouts p WHERE p.card_last4 = ? AND p.created_at >= ? AND p.id != ?
			AND p.currency = ? AND p.method = 'card' AND lower(p.card_brand) = lower(?) AND lower(p.full_name) = lower(?)`
		args = []any{q.Last4, formatTime(q.Since), q.ExcludeID, q.Currency, q.Brand, q.FullName}
	}
	if len(q.Ended) > 0 {
		query += ` AND p.state NOT IN (?` + repeat(",?", len(q.Ended)-1) + `)`
		for _, s := range q.Ended {
			args = append(args, s)
		}
	}
	var n int
	var total int64
	if err := db.QueryRowContext(ctx, query, args...).Scan(&n, &total); err != nil {
		return 0, 0, fmt.Errorf("payouts to the same destination: %w", err)
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
