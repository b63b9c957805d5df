package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PayoutFilter selects payouts for the history page and its export. Zero
// fields do not filter. Rows come newest first: created_at desc, id desc.
type PayoutFilter struct {
	States      []string
	From, To    time.Time // created_at in [From, To)
	MakerID     int64
	ApproverID  int64 // approved any version of the payout
	RecipientID int64
	Recipient   string // the payout's recipient name contains this, ignoring case
	Currency    string
	MinAmount   int64 // minor units, inclusive
	MaxAmount   int64 // minor units, inclusive
	Last4       string
	Method      string // "card" or "bank_account"
	Country     string // the bank account's ISO 3166-1 alpha-3 country
	Returned    Returned
	// After continues a listing: only rows that come after this key in the
	// order above (keyset pagination: stable while new payouts arrive).
	After PayoutKey
	Limit int // 0 is no limit

	byApprover bool      // arm: the approver is the driving table's key, not a condition
	through    PayoutKey // ends a listing at this key, inclusive (an export's batch, see EachPayout)
	manyNames  bool      // the name search matches more than fewMatches payouts (see DB.WeighName)
	weighed    bool      // manyNames is known
}

// WeighName sets f.manyNames: whether more than fewMatches payouts have
// names that contain f.Recipient, counted in payout_names (SQLite, three
// characters or more), so that a page of a rare name reads its matches and
// a page of a common one walks the payouts in order (see nameContains).
// Every read of a filter weighs it unless it was weighed: a caller that
// reads one filter several times (a history page, its rows and its totals)
// weighs it once first.
func (d *DB) WeighName(ctx context.Context, f *PayoutFilter) error {
	s := strings.TrimSpace(f.Recipient)
	if f.weighed || d.dialect.postgres || utf8.RuneCountInString(s) < 3 {
		return nil
	}
	f.weighed = true
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM payout_names WHERE payout_names MATCH ? LIMIT ?)`, ftsPhrase(s), fewMatches+1).Scan(&n)
	if err != nil {
		return fmt.Errorf("payouts by name: %w", err)
	}
	f.manyNames = n > fewMatches
	return nil
}

// Returned filters payouts by whether the receiving bank sent them back.
type Returned int

// Values of PayoutFilter.Returned.
const (
	AnyReturned Returned = iota // returned or not
	OnlyReturned
	NotReturned
)

// PayoutKey is a payout's place in the newest-first order.
type PayoutKey struct {
	CreatedAt time.Time
	ID        int64
}

// IsZero reports whether the key is unset.
func (k PayoutKey) IsZero() bool { return k.ID == 0 }

// String encodes the key for a URL; ParsePayoutKey reads it back.
func (k PayoutKey) String() string {
	if k.IsZero() {
		return ""
	}
	return formatTime(k.CreatedAt) + "_" + strconv.FormatInt(k.ID, 10)
}

// ErrBadKey is returned by ParsePayoutKey for anything String did not make.
var ErrBadKey = errors.New("bad page key")

// ParsePayoutKey reads a key made by PayoutKey.String.
func ParsePayoutKey(s string) (PayoutKey, error) {
	at, id, ok := strings.Cut(s, "_")
	t, err := time.Parse(timeLayout, at)
	n, nerr := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || nerr != nil || n <= 0 {
		return PayoutKey{}, ErrBadKey
	}
	return PayoutKey{CreatedAt: t, ID: n}, nil
}

// Key is the payout's place in the newest-first order.
func (p *Payout) Key() PayoutKey { return PayoutKey{CreatedAt: p.CreatedAt, ID: p.ID} }

// PayoutRow is a payout as the history lists it: with who approved it.
type PayoutRow struct {
	*Payout
	Approvers string // names of everyone who approved any version, comma-separated
}

// where builds the filter's WHERE clause (without the keyset) and its
// arguments, for the dialect's engine.
func (f PayoutFilter) where(dl dialect) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) { conds = append(conds, cond); args = append(args, a...) }
	if len(f.States) > 0 {
		cond := `p.state IN (?` + repeat(",?", len(f.States)-1) + `)`
		var a []any
		for _, s := range f.States {
			a = append(a, s)
		}
		add(cond, a...)
	}
	if !f.From.IsZero() {
		add(`p.created_at >= ?`, formatTime(f.From))
	}
	if !f.To.IsZero() {
		add(`p.created_at < ?`, formatTime(f.To))
	}
	if f.MakerID != 0 {
		add(`p.maker_id = ?`, f.MakerID)
	}
	if f.ApproverID != 0 && !f.byApprover {
		add(`p.id IN (SELECT payout_id FROM payout_approvers WHERE user_id = ?)`, f.ApproverID)
	}
	if f.RecipientID != 0 {
		add(`p.recipient_id = ?`, f.RecipientID)
	}
	if s := strings.TrimSpace(f.Recipient); s != "" {
		add(dl.nameContains(s, f.manyNames))
	}
	if f.Currency != "" {
		add(`p.currency = ?`, strings.ToUpper(f.Currency))
	}
	if f.MinAmount != 0 {
		add(`p.amount >= ?`, f.MinAmount)
	}
	if f.MaxAmount != 0 {
		add(`p.amount <= ?`, f.MaxAmount)
	}
	if f.Last4 != "" {
		add(`p.card_last4 = ?`, f.Last4)
	}
	if f.Method != "" {
		add(`p.method = ?`, f.Method)
	}
	if f.Country != "" {
		add(`p.account_country = ?`, strings.ToUpper(f.Country))
	}
	switch f.Returned {
	case OnlyReturned:
		add(`p.returned_at IS NOT NULL`)
	case NotReturned:
		add(`p.returned_at IS NULL`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(conds, " AND "), args
}

// listQuery is the page query of a filter: keyset, order and limit included.
//
// Several states are asked as one arm per state, merged: each arm walks
// payouts_state_created in the page's order and the merge stops after a page.
// "state IN (…)" instead would sort every matching row first, and "failed or
// succeeded" is nearly every row.
func (f PayoutFilter) listQuery(dl dialect) (string, []any) {
	q, args := f.keysQuery(dl)
	return withApprovers(q), args
}

// keysQuery is the page of a filter as keys (key_at, key_id) only.
func (f PayoutFilter) keysQuery(dl dialect) (string, []any) {
	var states []string
	for _, s := range f.States {
		if !slices.Contains(states, s) {
			states = append(states, s) // an arm per state: a repeated state would list its rows twice
		}
	}
	if len(states) < 2 {
		q, args := f.arm(dl)
		q += ` ORDER BY key_at DESC, key_id DESC`
		if f.Limit > 0 {
			q += ` LIMIT ?`
			args = append(args, f.Limit)
		}
		return q, args
	}
	var arms []string
	var args []any
	for _, s := range states {
		one := f
		one.States = []string{s}
		q, a := one.arm(dl)
		arms = append(arms, q)
		args = append(args, a...)
	}
	q := strings.Join(arms, ` UNION ALL `) + ` ORDER BY key_at DESC, key_id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return q, args
}

// withApprovers turns a page of keys into the page's rows, with the names of
// their approvers. The filter, sort and limit work on the narrow keys only, and
// the wide columns and the names are read for the page's rows alone: SQLite
// computes result columns before it sorts, so a filter that sorts (by
// approver, by name) would otherwise build every matching row in full.
func withApprovers(page string) string {
	return `SELECT ` + payoutColumns + `, k.key_at, k.key_id, coalesce((SELECT string_agg(au.name, ', ') FROM users au
		WHERE au.id IN (SELECT a.user_id FROM approvals a WHERE a.payout_id = p.id)), '')
		FROM (` + page + `) k JOIN payouts p ON p.id = k.key_id JOIN users u ON u.id = p.maker_id
		ORDER BY k.key_at DESC, k.key_id DESC`
}

// arm is the SELECT of a filter with its keyset, without order or limit.
//
// Filtered by approver, it starts from payout_approvers, whose key is in the
// page's order: the page walks it backwards from the keyset and stops after
// a page, where the payouts' own index would have to sort all of the
// approver's payouts first.
func (f PayoutFilter) arm(dl dialect) (string, []any) {
	from, keyAt, keyID := ` FROM payouts p`, `p.created_at`, `p.id`
	var args []any
	if f.ApproverID != 0 {
		from = ` FROM payout_approvers pa JOIN payouts p ON p.id = pa.payout_id`
		keyAt, keyID = `pa.created_at`, `pa.payout_id`
		args = append(args, f.ApproverID)
		f.byApprover = true
	}
	where, a := f.where(dl)
	args = append(args, a...)
	var conds []string
	if where != "" {
		conds = append(conds, strings.TrimPrefix(where, ` WHERE `))
	}
	if f.ApproverID != 0 {
		conds = append([]string{`pa.user_id = ?`}, conds...)
	}
	if !f.After.IsZero() {
		// A row value comparison: SQLite walks the (…, created_at, id) index from the key.
		conds = append(conds, `(`+keyAt+`, `+keyID+`) < (?, ?)`)
		args = append(args, formatTime(f.After.CreatedAt), f.After.ID)
	}
	if !f.through.IsZero() {
		conds = append(conds, `(`+keyAt+`, `+keyID+`) >= (?, ?)`)
		args = append(args, formatTime(f.through.CreatedAt), f.through.ID)
	}
	q := `SELECT ` + keyAt + ` AS key_at, ` + keyID + ` AS key_id` + from
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	return q, args
}

// Payouts returns the payouts that match the filter, newest first, at most
// f.Limit of them, after f.After.
func (d *DB) Payouts(ctx context.Context, f PayoutFilter) ([]*PayoutRow, error) {
	var out []*PayoutRow
	err := d.eachPayoutPage(ctx, f, func(r *PayoutRow) error { out = append(out, r); return nil })
	return out, err
}

func (d *DB) eachPayoutPage(ctx context.Context, f PayoutFilter, fn func(*PayoutRow) error) error {
	if err := d.WeighName(ctx, &f); err != nil {
		return err
	}
	q, args := f.listQuery(d.dialect)
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("payouts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r PayoutRow
		var p *Payout
		var keyAt string
		var keyID int64
		p, err = scanPayout(scanExtra{rows, []any{&keyAt, &keyID, &r.Approvers}})
		if err != nil {
			return err
		}
		r.Payout = p
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanExtra scans a payout row that carries more columns at the end.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (s scanExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }

// Total is how many payouts, and how much money, in one currency and state;
// and of those, how many the receiving bank sent back, and how much.
type Total struct {
	Currency       string
	State          string
	Count          int64
	Amount         int64 // minor units
	ReturnedCount  int64
	ReturnedAmount int64
}

// PayoutTotals sums the payouts that match the filter per currency and state
// (ignoring After and Limit), by currency then state: money that was paid,
// money that failed and money still waiting are never added together.
//
// The returned payouts are summed by a second query: the first then still
// reads only the columns its filter's covering index holds, and returns are
// few, so the second starts from payouts_returned (partial: returned rows
// only) and checks the filter on each.
func (d *DB) PayoutTotals(ctx context.Context, f PayoutFilter) ([]Total, error) {
	if f.totalsKept() {
		return d.keptTotals(ctx, f)
	}
	return d.summedTotals(ctx, f)
}

// PayoutTotalsUpTo is PayoutTotals for a page that must stay fast whatever
// the filter: the totals payout_totals keeps, or the sum of the matching
// payouts when at most n match. When more match it returns complete false
// and no totals, having read n+1 of their keys: the page walks the filter's
// index for them as it does for its rows, never the whole matching set (a
// million payouts by one country would take the page seconds). Totals of a
// larger set are PayoutTotals, summed when someone asks.
func (d *DB) PayoutTotalsUpTo(ctx context.Context, f PayoutFilter, n int) (totals []Total, complete bool, err error) {
	if f.totalsKept() {
		totals, err := d.keptTotals(ctx, f)
		return totals, err == nil, err
	}
	f.After, f.Limit = PayoutKey{}, n+1
	if err := d.WeighName(ctx, &f); err != nil {
		return nil, false, err
	}
	if f.manyNames && n < fewMatches && f.byNameAlone() {
		// More than fewMatches payouts hold the name and nothing else
		// narrows them: walking the payouts to find n+1 of a common name
		// would only learn what the count already says.
		return nil, false, nil
	}
	keys, args := f.keysQuery(d.dialect)
	// The keys are counted first: when more than n match, no totals are
	// shown, and summing the n+1 read would look up n+1 payouts' rows for
	// nothing (at a million payouts, an amount range in a currency matches
	// thousands: 20 ms of rows against 2 of keys).
	var matched int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM (`+keys+`) k`, args...).Scan(&matched); err != nil {
		return nil, false, fmt.Errorf("payout totals: %w", err)
	}
	if matched > n {
		return nil, false, nil
	}
	rows, err := d.db.QueryContext(ctx, `SELECT p.currency, p.state, count(*), sum(p.amount), count(p.returned_at),
		coalesce(sum(CASE WHEN p.returned_at IS NOT NULL THEN p.amount END), 0)
		FROM (`+keys+`) k JOIN payouts p ON p.id = k.key_id GROUP BY p.currency, p.state ORDER BY p.currency, p.state`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("payout totals: %w", err)
	}
	defer rows.Close()
	var read int64
	for rows.Next() {
		var t Total
		if err := rows.Scan(&t.Currency, &t.State, &t.Count, &t.Amount, &t.ReturnedCount, &t.ReturnedAmount); err != nil {
			return nil, false, err
		}
		read += t.Count
		totals = append(totals, t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if read > int64(n) { // more came in since they were counted
		return nil, false, nil
	}
	return totals, true, nil
}

// summedTotals is PayoutTotals summed from the payouts that match.
func (d *DB) summedTotals(ctx context.Context, f PayoutFilter) ([]Total, error) {
	where, args := f.where(d.dialect)
	var out []Total
	err := d.sumByCurrencyAndState(ctx, `SELECT p.currency, p.state, count(*), sum(p.amount) FROM payouts p`+where+
		` GROUP BY p.currency, p.state ORDER BY p.currency, p.state`, args, func(cur, state string, n, amount int64) {
		out = append(out, Total{Currency: cur, State: state, Count: n, Amount: amount})
	})
	if err != nil || f.Returned == NotReturned {
		return out, err
	}
	// The few returned rows first (CROSS JOIN keeps SQLite from starting
	// with the filter's index instead), then the filter on each.
	conds := strings.TrimPrefix(where, ` WHERE `)
	if conds != "" {
		conds = ` AND ` + conds
	}
	err = d.sumByCurrencyAndState(ctx, `SELECT p.currency, p.state, count(*), sum(p.amount) FROM (SELECT id FROM payouts WHERE returned_at IS NOT NULL) r
		CROSS JOIN payouts p WHERE p.id = r.id`+conds+` GROUP BY p.currency, p.state`,
		args, func(cur, state string, n, amount int64) {
			for i := range out {
				if out[i].Currency == cur && out[i].State == state {
					out[i].ReturnedCount, out[i].ReturnedAmount = n, amount
				}
			}
		})
	return out, err
}

// totalsKept reports whether the filter asks for states, a currency and
// whether the bank returned the payout at most, so that its totals are
// payout_totals' rows (which count the returned ones apart).
func (f PayoutFilter) totalsKept() bool {
	g := PayoutFilter{States: f.States, Currency: f.Currency, Returned: f.Returned, After: f.After, Limit: f.Limit}
	return reflect.DeepEqual(f, g)
}

// byNameAlone reports whether the filter asks for a recipient name and
// nothing else.
func (f PayoutFilter) byNameAlone() bool {
	g := PayoutFilter{Recipient: f.Recipient, After: f.After, Limit: f.Limit, manyNames: f.manyNames, weighed: f.weighed}
	return reflect.DeepEqual(f, g)
}

// keptTotals reads the totals payout_totals keeps (migration 071), by
// currency then state.
func (d *DB) keptTotals(ctx context.Context, f PayoutFilter) ([]Total, error) {
	// Count, amount, returned count and amount: of every payout, or of the
	// returned ones or the others when the filter says so.
	cols := []string{`payouts`, `amount`, `returned`, `returned_amount`}
	switch f.Returned {
	case OnlyReturned:
		cols = []string{`returned`, `returned_amount`, `returned`, `returned_amount`}
	case NotReturned:
		cols = []string{`payouts - returned`, `amount - returned_amount`, `0`, `0`}
	}
	q := `SELECT currency, state, ` + strings.Join(cols, `, `) + ` FROM payout_totals WHERE ` + cols[0] + ` > 0`
	var args []any
	if f.Currency != "" {
		q += ` AND currency = ?`
		args = append(args, strings.ToUpper(f.Currency))
	}
	if len(f.States) > 0 {
		q += ` AND state IN (?` + repeat(",?", len(f.States)-1) + `)`
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	rows, err := d.db.QueryContext(ctx, q+` ORDER BY currency, state`, args...)
	if err != nil {
		return nil, fmt.Errorf("payout totals: %w", err)
	}
	defer rows.Close()
	var out []Total
	for rows.Next() {
		var t Total
		if err := rows.Scan(&t.Currency, &t.State, &t.Count, &t.Amount, &t.ReturnedCount, &t.ReturnedAmount); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// sumByCurrencyAndState runs a query of (currency, state, count, sum) rows
// and hands each to fn.
func (d *DB) sumByCurrencyAndState(ctx context.Context, query string, args []any, fn func(cur, state string, n, amount int64)) error {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("payout totals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cur, state string
		var n, amount int64
		if err := rows.Scan(&cur, &state, &n, &amount); err != nil {
			return err
		}
		fn(cur, state, n, amount)
	}
	return rows.Err()
}

// Outflow is the money paid out (payouts that succeeded) in one currency
// within one span of the bounds Outflows was given.
type Outflow struct {
	Span     int // i: finished within [bounds[i], bounds[i+1])
	Currency string
	Count    int64
	Amount   int64
}

// Outflows returns the succeeded payouts per span and currency, for the
// spans [bounds[i], bounds[i+1]) of increasing bounds an hour or more apart
// (the days of a chart in someone's time zone), by span then currency;
// spans without any are left out. The sums are made by the database, so a
// month's chart reads a row per day and currency, not one per hour. At
// most 500 spans (SQLite's arms of a compound query).
//
// Whole hours come from outflow_hours, the roll-up the triggers keep
// (migration 088; its hour is text, YYYY-MM-DDTHH, on both engines), each
// counted in the span its start falls in: a bound on the hour is exact, one
// 30 or 45 minutes off it (such a time zone's midnight) counts its whole
// hour before it. When bounds[0] is not on the
// hour, the part of its hour from bounds[0] on is summed from the payouts
// into span 0: at most an hour's, along payouts_finished.
func (d *DB) Outflows(ctx context.Context, bounds []time.Time) ([]Outflow, error) {
	if len(bounds) < 2 {
		return nil, nil
	}
	since := bounds[0].UTC()
	whole := ceilHour(since)
	var first []Outflow // span 0's part hour
	if whole.After(since) {
		rows, err := d.db.QueryContext(ctx, `SELECT 0, currency, count(*), sum(amount) FROM payouts
			WHERE state = 'succeeded' AND finished_at >= ? AND finished_at < ? GROUP BY currency ORDER BY currency`,
			formatTime(since), formatTime(whole))
		if first, err = scanOutflows(rows, err); err != nil {
			return nil, err
		}
	}
	// One arm per span, each a walk of the roll-up's key between its
	// hours: a month's chart is a tenth of the work of testing every hour
	// against each bound. The span numbers are ours, never typed by anyone.
	arms := make([]string, 0, len(bounds)-1)
	var args []any
	for i := range len(bounds) - 1 {
		from, to := ceilHour(bounds[i]), ceilHour(bounds[i+1])
		// Short, so that a month's query stays one the pool keeps prepared
		// (maxReadStatementText); hours whose payouts all failed since sum
		// to 0 and are dropped below.
		arms = append(arms, `SELECT `+strconv.Itoa(i)+`,currency,sum(payouts),sum(amount) FROM outflow_hours WHERE hour>=? AND hour<? GROUP BY currency`)
		args = append(args, from.Format(hourLayout), to.Format(hourLayout))
	}
	rows, err := d.db.QueryContext(ctx, strings.Join(arms, ` UNION ALL `)+` ORDER BY 1, 2`, args...)
	out, err := scanOutflows(rows, err)
	if err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(o Outflow) bool { return o.Count == 0 })
	for _, f := range first {
		i := slices.IndexFunc(out, func(o Outflow) bool { return o.Span == 0 && o.Currency == f.Currency })
		if i < 0 {
			i = len(out)
			out = append(out, Outflow{Currency: f.Currency})
		}
		out[i].Count, out[i].Amount = out[i].Count+f.Count, out[i].Amount+f.Amount
	}
	slices.SortFunc(out, func(a, b Outflow) int {
		if a.Span != b.Span {
			return a.Span - b.Span
		}
		return strings.Compare(a.Currency, b.Currency)
	})
	return out, nil
}

// scanOutflows reads rows of span, currency, count, amount.
func scanOutflows(rows *sql.Rows, err error) ([]Outflow, error) {
	if err != nil {
		return nil, fmt.Errorf("outflow: %w", err)
	}
	defer rows.Close()
	var out []Outflow
	for rows.Next() {
		var o Outflow
		if err := rows.Scan(&o.Span, &o.Currency, &o.Count, &o.Amount); err != nil {
			return nil, fmt.Errorf("outflow: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outflow: %w", err)
	}
	return out, nil
}

// ceilHour is the first start of a UTC hour at or after t.
func ceilHour(t time.Time) time.Time {
	h := t.UTC().Truncate(time.Hour)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h
}

// CardChoice is a saved card someone may pay to: verified, not removed.
type CardChoice struct {
	CardID        int64
	RecipientID   int64
	RecipientName string
	Brand         string
	Last4         string
}

// pickerWalk is how many recipients, in name order, a picker walks for
// their payable cards or accounts before it sorts the payable ones instead.
// Walking finds the first 500 in about 500 look-ups where most recipients
// have one; where few do, it read every recipient to find a handful (8-9 ms
// with 50,000 recipients and 100 cards, growing with the recipients), which
// the bounded walk and the sort find in 1.5 ms.
const pickerWalk = 5000

// Picker orders: walk the recipients by name and look up each one's rows,
// or take every payable row and sort them by their recipients' names.
const (
	walkRecipients = iota
	sortPayable
)

// payableQuery selects cols of the payable (verified, not removed) rows of
// table (cards or bank_accounts, named as alias) with their recipients, by
// recipient name, at most limit (0: no limit): of one recipient when
// recipientID is not 0; else in the given order, a walk stopping at the
// recipients named up to through when through is not "". See payable.
func payableQuery(cols, table, alias string, order int, through string, recipientID int64, limit int) (string, []any) {
	from := `recipients r CROSS JOIN ` + table
	if order == sortPayable {
		from = table + ` CROSS JOIN recipients r`
	}
	q := `SELECT ` + cols + ` FROM ` + from + `
		WHERE ` + alias + `.recipient_id = r.id AND ` + alias + `.verified_at IS NOT NULL AND ` + alias + `.removed_at IS NULL`
	var args []any
	if recipientID != 0 {
		q += ` AND ` + alias + `.recipient_id = ?`
		args = append(args, recipientID)
	}
	if through != "" {
		q += ` AND r.full_name COLLATE NOCASE <= ?`
		args = append(args, through)
	}
	q += ` ORDER BY r.full_name COLLATE NOCASE, r.id, ` + alias + `.id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return q, args
}

// payable lists the payable rows of table for a picker (see payableQuery),
// each read by scan. A bounded list of all recipients walks the first
// pickerWalk recipients by name (the walk, in name order, sorts nothing);
// when that finds fewer than limit, the payable rows are few next to the
// recipients, and it sorts them instead. A recipient's own, or an unbounded
// list, is one query.
func payable[T any](ctx context.Context, d *DB, cols, table, alias string, recipientID int64, limit int, scan func(*sql.Rows) (T, error)) ([]T, error) {
	list := func(order int, through string) ([]T, error) {
		q, args := payableQuery(cols, table, alias, order, through, recipientID, limit)
		rows, err := d.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("payable %s: %w", table, err)
		}
		defer rows.Close()
		var out []T
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, fmt.Errorf("payable %s: %w", table, err)
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
	if recipientID != 0 || limit == 0 {
		return list(walkRecipients, "")
	}
	var through string
	err := d.db.QueryRowContext(ctx, `SELECT full_name FROM recipients ORDER BY full_name COLLATE NOCASE, id LIMIT 1 OFFSET ?`,
		pickerWalk-1).Scan(&through)
	if errors.Is(err, sql.ErrNoRows) { // fewer recipients than a walk
		return list(walkRecipients, "")
	}
	if err != nil {
		return nil, fmt.Errorf("payable %s: %w", table, err)
	}
	out, err := list(walkRecipients, through)
	if err != nil || len(out) >= limit {
		return out, err
	}
	return list(sortPayable, "")
}

// PayableCards lists the verified, not removed cards, by recipient name; of
// one recipient when recipientID is not 0. At most limit (0: no limit).
//
// The recipients come first, walked in their name index, so that the first
// limit cards cost limit look-ups, each one entry of cards_payable (migration
// 095): joined the other way SQLite read and sorted all 50,000 cards of the
// benchmark's dataset to show 500. Where few recipients have a card, the
// cards are sorted instead (see payable).
func (d *DB) PayableCards(ctx context.Context, recipientID int64, limit int) ([]CardChoice, error) {
	return payable(ctx, d, `c.id, r.id, r.full_name, c.brand, c.last4`, "cards c", "c", recipientID, limit,
		func(rows *sql.Rows) (CardChoice, error) {
			var c CardChoice
			err := rows.Scan(&c.CardID, &c.RecipientID, &c.RecipientName, &c.Brand, &c.Last4)
			return c, err
		})
}
