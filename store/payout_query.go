package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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
// the same destination, in any currency, created since Since, in none of the
// Ended states. The destination is a bank account when BankAccountID is set:
// that account by its identity (its country, scheme and numbers), so the same
// account saved again, or for another recipient, is the same account.
// Otherwise it is a card, whatever name the payouts carry:
//   - a typed card by its number's keyed fingerprint (Fingerprint);
//   - a saved card (CardID) by the provider's token of its number, so the
//     same card saved for two recipients is one card.
//
// A saved card's number never reaches us, so a typed payout and a saved card
// cannot be matched by number: one counts with the other when brand and last
// four agree. That may count two different cards together (two approvers
// where one would do), never the other way round. A typed payout without a
// fingerprint (prepared before fingerprints existed) is matched the same way.
type SameDestination struct {
	Since         time.Time
	BankAccountID int64
	CardID        int64  // a saved card
	Fingerprint   string // a typed card
	Brand         string
	Last4         string
	ExcludeID     int64 // the payout being decided
	Ended         []string
}

// CurrencyTotal is how many payouts, and how much, in one currency.
type CurrencyTotal struct {
	Currency string
	Count    int
	Amount   int64
}

// SameDestinationTotals returns how many payouts q picks and their total, per currency.
func (t *Tx) SameDestinationTotals(ctx context.Context, q SameDestination) ([]CurrencyTotal, error) {
	return sameDestinationTotals(ctx, t.tx, q)
}

// SameDestinationTotals is Tx.SameDestinationTotals outside a transaction, for pages.
func (d *DB) SameDestinationTotals(ctx context.Context, q SameDestination) ([]CurrencyTotal, error) {
	return sameDestinationTotals(ctx, d.db, q)
}

func sameDestinationTotals(ctx context.Context, db querier, q SameDestination) ([]CurrencyTotal, error) {
	out, err := sameDestinationTotalsOf(ctx, db, []SameDestination{q})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// SameDestinationIDs returns the ids of the payouts q picks that are in
// state: after a payout ends, the ones waiting beside it whose rule may have
// eased.
func (d *DB) SameDestinationIDs(ctx context.Context, q SameDestination, state string) ([]int64, error) {
	arm, args := sameDestinationArm(q)
	rows, err := d.db.QueryContext(ctx, `SELECT p.id`+arm+` AND p.state = ? ORDER BY p.id`, append(args, state)...)
	if err != nil {
		return nil, fmt.Errorf("payouts to the same destination: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("payouts to the same destination: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SameDestinationTotalsOf is SameDestinationTotals for several payouts at
// once (a page of the queue): the i-th answer is qs[i]'s.
//
// On PostgreSQL it is one query, one round trip for the page. On SQLite,
// where a query costs no round trip, each payout is weighed by the kept
// statement of its kind of destination: a page's query of fifty arms is
// 18 KB of SQL, too long to keep, and compiling it was half its 3.6 ms at
// a million payouts; fifty kept ones take 2.2 ms.
func (d *DB) SameDestinationTotalsOf(ctx context.Context, qs []SameDestination) ([][]CurrencyTotal, error) {
	if d.db.reads == nil {
		return sameDestinationTotalsOf(ctx, d.db, qs)
	}
	out := make([][]CurrencyTotal, len(qs))
	for i, q := range qs {
		var err error
		if out[i], err = sameDestinationTotals(ctx, d.db, q); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sameDestinationArms is how many payouts one query weighs at most: each
// is an arm of a UNION ALL, and SQLite takes at most 500 arms.
const sameDestinationArms = 100

func sameDestinationTotalsOf(ctx context.Context, db querier, qs []SameDestination) ([][]CurrencyTotal, error) {
	out := make([][]CurrencyTotal, len(qs))
	for start := 0; start < len(qs); start += sameDestinationArms {
		end := min(start+sameDestinationArms, len(qs))
		var arms []string
		var args []any
		for i := start; i < end; i++ {
			arm, a := sameDestinationArm(qs[i])
			// The arm's number is ours, never typed by anyone.
			arms = append(arms, `SELECT `+strconv.Itoa(i)+` AS q, p.currency, count(*), coalesce(sum(p.amount), 0)`+arm+` GROUP BY p.currency`)
			args = append(args, a...)
		}
		rows, err := db.QueryContext(ctx, strings.Join(arms, ` UNION ALL `)+` ORDER BY 1, 2`, args...)
		if err != nil {
			return nil, fmt.Errorf("payouts to the same destination: %w", err)
		}
		for rows.Next() {
			var i int
			var t CurrencyTotal
			if err := rows.Scan(&i, &t.Currency, &t.Count, &t.Amount); err != nil {
				rows.Close()
				return nil, fmt.Errorf("payouts to the same destination: %w", err)
			}
			out[i] = append(out[i], t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("payouts to the same destination: %w", err)
		}
	}
	return out, nil
}

// sameDestinationArm is the FROM and WHERE of the payouts q picks.
func sameDestinationArm(q SameDestination) (string, []any) {
	var query string
	var args []any
	switch {
	case q.BankAccountID > 0:
		// bank_accounts_identity finds the account's other rows, and
		// payouts_bank_account their recent payouts.
		query = ` FROM payouts p JOIN bank_accounts b ON b.id = p.bank_account_id
			WHERE b.identity = (SELECT identity FROM bank_accounts WHERE id = ?) AND p.created_at >= ? AND p.id != ?`
		args = []any{q.BankAccountID, formatTime(q.Since), q.ExcludeID}
	default:
		// payouts_last4 (card_last4, created_at, id) finds the card's recent
		// rows. The method is compared as an expression so that SQLite, which
		// has no statistics to tell the two apart, does not walk
		// payouts_method (method, created_at, id) instead: every card payout
		// of the last day, for each payout weighed.
		query = ` FROM payouts p LEFT JOIN cards c ON c.id = p.card_id
			WHERE p.card_last4 = ? AND p.created_at >= ? AND p.id != ? AND p.method || '' = 'card' AND `
		args = []any{q.Last4, formatTime(q.Since), q.ExcludeID}
		typedLikeThis := `(p.card_id IS NULL AND lower(p.card_brand) = lower(?))`
		savedLikeThis := `(p.card_id IS NOT NULL AND lower(p.card_brand) = lower(?))`
		switch {
		case q.CardID > 0:
			query += `(c.number_hash = (SELECT number_hash FROM cards WHERE id = ?) OR ` + typedLikeThis + `)`
			args = append(args, q.CardID, q.Brand)
		case q.Fingerprint != "":
			query += `(p.card_fingerprint = ? OR ` + savedLikeThis + ` OR (p.card_fingerprint IS NULL AND ` + typedLikeThis + `))`
			args = append(args, q.Fingerprint, q.Brand, q.Brand)
		default: // a typed card without a fingerprint: anything alike
			query += `lower(p.card_brand) = lower(?)`
			args = append(args, q.Brand)
		}
	}
	if len(q.Ended) > 0 {
		query += ` AND p.state NOT IN (?` + repeat(",?", len(q.Ended)-1) + `)`
		for _, s := range q.Ended {
			args = append(args, s)
		}
	}
	return query, args
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
