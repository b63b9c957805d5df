package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// querier is what *sql.DB and *sql.Tx share, so reads work inside and outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Payout is one payout as we know it: to a bank card (Method "card", the
// Card fields) or to a bank account (Method "bank_account", the Account
// fields). State holds a payout.State value.
type Payout struct {
	ID                int64
	State             string
	Version           int64
	MakerID           int64
	MakerName         string // read-only, joined from users
	RecipientID       int64
	FullName          string
	Amount            int64 // minor units
	Currency          string
	Method            string // "card" or "bank_account"
	CardID            int64  // saved card, 0 for a typed one
	CardLast4         string
	CardBrand         string
	CardFingerprint   string // keyed fingerprint of a typed card's number; "" for saved cards and bank accounts
	BankAccountID     int64  // the saved bank account of a bank-account payout
	AccountLabel      string // that account masked, as it was when the payout was prepared
	AccountCountry    string // its ISO 3166-1 alpha-3 country
	CustomerReference string
	Note              string
	Purpose           string // a bank-account payout's remittance purpose code (old card payouts: free text)
	ProviderSessionID string
	ProviderPayoutID  string
	ConfirmAttempted  bool
	FailureCode       string
	FailureReason     string
	CancelReason      string
	ReadyAt           time.Time
	DeadlineAt        time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	FinishedAt        time.Time
	// A return by the receiving bank, recorded by a person (never by the
	// provider): when it was recorded, by whom, the date the bank returned
	// the money, and why. Zero when the payout was not returned.
	ReturnedAt   time.Time
	ReturnedBy   int64
	ReturnedOn   string // YYYY-MM-DD
	ReturnReason string
}

// Returned reports whether someone recorded that the receiving bank sent the payout back.
func (p *Payout) Returned() bool { return !p.ReturnedAt.IsZero() }

const payoutColumns = `p.id, p.state, p.version, p.maker_id, u.name, coalesce(p.recipient_id, 0), p.full_name, p.amount, p.currency,
	p.method, coalesce(p.card_id, 0), p.card_last4, p.card_brand, coalesce(p.bank_account_id, 0), p.account_label, p.account_country,
	p.customer_reference, p.note, p.purpose, coalesce(p.provider_session_id, ''),
	p.provider_payout_id, p.confirm_attempted, p.failure_code, p.failure_reason, p.cancel_reason, p.ready_at, p.deadline_at,
	p.created_at, p.updated_at, p.finished_at, p.returned_at, coalesce(p.returned_by, 0), p.returned_on, p.return_reason,
	coalesce(p.card_fingerprint, '')`

const payoutFrom = ` FROM payouts p JOIN users u ON u.id = p.maker_id`

func scanPayout(row interface{ Scan(...any) error }) (*Payout, error) {
	var p Payout
	var ready, deadline, finished, returned sql.NullString
	var created, updated string
	err := row.Scan(&p.ID, &p.State, &p.Version, &p.MakerID, &p.MakerName, &p.RecipientID, &p.FullName, &p.Amount, &p.Currency,
		&p.Method, &p.CardID, &p.CardLast4, &p.CardBrand, &p.BankAccountID, &p.AccountLabel, &p.AccountCountry,
		&p.CustomerReference, &p.Note, &p.Purpose, &p.ProviderSessionID,
		&p.ProviderPayoutID, &p.ConfirmAttempted, &p.FailureCode, &p.FailureReason, &p.CancelReason, &ready, &deadline,
		&created, &updated, &finished, &returned, &p.ReturnedBy, &p.ReturnedOn, &p.ReturnReason, &p.CardFingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("payout")
	}
	if err != nil {
		return nil, err
	}
	p.ReadyAt, p.DeadlineAt, p.FinishedAt = nullTime(ready), nullTime(deadline), nullTime(finished)
	p.CreatedAt, p.UpdatedAt, p.ReturnedAt = parseTime(created), parseTime(updated), nullTime(returned)
	return &p, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreatePayout records a new payout at version 1. An empty Method is a card payout.
func (t *Tx) CreatePayout(ctx context.Context, p *Payout) error {
	p.Version, p.CreatedAt, p.UpdatedAt = 1, t.now, t.now
	if p.Method == "" {
		p.Method = "card"
	}
	err := t.tx.QueryRowContext(ctx, `INSERT INTO payouts (state, version, maker_id, recipient_id, full_name, amount, currency, method, card_id,
		card_last4, card_brand, bank_account_id, account_label, account_country, customer_reference, note, purpose, created_at, updated_at, card_fingerprint)
		VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.State, p.MakerID, nullID(p.RecipientID), p.FullName, p.Amount, p.Currency, p.Method, nullID(p.CardID), p.CardLast4, p.CardBrand,
		nullID(p.BankAccountID), p.AccountLabel, p.AccountCountry, p.CustomerReference, p.Note, p.Purpose, formatTime(t.now), formatTime(t.now),
		nullString(p.CardFingerprint)).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("create payout: %w", err)
	}
	return nil
}

const sqlSavePayout = `UPDATE payouts SET state = ?, version = version + 1, provider_session_id = ?, provider_payout_id = ?,
		confirm_attempted = ?, failure_code = ?, failure_reason = ?, cancel_reason = ?, ready_at = ?, deadline_at = ?, updated_at = ?, finished_at = ?
		WHERE id = ? AND version = ?`

// SavePayout writes every mutable field of p, but only if the stored payout is
// still at p.Version; it then bumps the version. This conditional update is how
// a payout is claimed: of many concurrent callers exactly one wins, the others
// get ErrConflict.
func (t *Tx) SavePayout(ctx context.Context, p *Payout) error {
	res, err := t.execPrepared(ctx, sqlSavePayout,
		p.State, nullString(p.ProviderSessionID), p.ProviderPayoutID, p.ConfirmAttempted, p.FailureCode, p.FailureReason, p.CancelReason,
		timeOrNull(p.ReadyAt), timeOrNull(p.DeadlineAt), formatTime(t.now), timeOrNull(p.FinishedAt), p.ID, p.Version)
	if err != nil {
		return fmt.Errorf("save payout %d: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	p.Version++
	p.UpdatedAt = t.now
	return nil
}

// RecordReturn records on p that the receiving bank sent it back on the date
// on (YYYY-MM-DD), for reason, as recorded by userID; it bumps the version.
// Whether the payout may be returned is the payout service's rule; here a
// payout changed since p was read, or already returned, gives ErrConflict.
func (t *Tx) RecordReturn(ctx context.Context, p *Payout, userID int64, on, reason string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE payouts SET returned_at = ?, returned_by = ?, returned_on = ?, return_reason = ?,
		version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND returned_at IS NULL`,
		formatTime(t.now), userID, on, reason, formatTime(t.now), p.ID, p.Version)
	if err != nil {
		return fmt.Errorf("record return of payout %d: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	p.Version++
	p.ReturnedAt, p.ReturnedBy, p.ReturnedOn, p.ReturnReason, p.UpdatedAt = t.now, userID, on, reason, t.now
	return nil
}

func payoutByID(ctx context.Context, q querier, id int64) (*Payout, error) {
	return scanPayout(q.QueryRowContext(ctx, `SELECT `+payoutColumns+payoutFrom+` WHERE p.id = ?`, id))
}

// PayoutByID returns one payout.
func (d *DB) PayoutByID(ctx context.Context, id int64) (*Payout, error) {
	return payoutByID(ctx, d.db, id)
}

// PayoutByID returns one payout as this transaction sees it.
func (t *Tx) PayoutByID(ctx context.Context, id int64) (*Payout, error) {
	return payoutByID(ctx, t.tx, id)
}

const sqlPayoutBySessionID = `SELECT ` + payoutColumns + payoutFrom + ` WHERE p.provider_session_id = ?`

// PayoutBySessionID returns the payout that owns a provider session.
func (t *Tx) PayoutBySessionID(ctx context.Context, sessionID string) (*Payout, error) {
	row, err := t.queryRowPrepared(ctx, sqlPayoutBySessionID, sessionID)
	if err != nil {
		return nil, err
	}
	return scanPayout(row)
}

// PayoutsBySessionIDs returns the payouts that own the given provider
// sessions, by session id, in one query (sessions no payout owns are
// absent): a group of webhooks reads its payouts together.
func (t *Tx) PayoutsBySessionIDs(ctx context.Context, sessionIDs []string) (map[string]*Payout, error) {
	out := map[string]*Payout{}
	if len(sessionIDs) == 0 {
		return out, nil
	}
	list, args := inList(sessionIDs)
	ps, err := queryPayouts(ctx, t.db.db.reading(t.tx), `SELECT `+payoutColumns+payoutFrom+` WHERE p.provider_session_id IN `+list, args...)
	if err != nil {
		return nil, fmt.Errorf("payouts by session: %w", err)
	}
	for _, p := range ps {
		out[p.ProviderSessionID] = p
	}
	return out, nil
}

// inList is "(?, …)" for xs and its arguments, the list padded to the next
// power of two by repeating the last value (which changes nothing an IN
// asks): the webhook writer asks about groups of any size up to 512, and a
// text of each size was compiled anew in every group's transaction: a third
// of its reads at a million payouts. Ten sizes are ten texts the pool keeps
// prepared. xs must not be empty.
func inList[T any](xs []T) (string, []any) {
	n := 1
	for n < len(xs) {
		n *= 2
	}
	args := make([]any, n)
	for i := range args {
		args[i] = xs[min(i, len(xs)-1)]
	}
	return `(?` + repeat(",?", n-1) + `)`, args
}

// PayoutsInStates returns payouts whose state is one of states, oldest deadline first.
func (d *DB) PayoutsInStates(ctx context.Context, states ...string) ([]*Payout, error) {
	if len(states) == 0 {
		return nil, nil
	}
	q := `SELECT ` + payoutColumns + payoutFrom + ` WHERE p.state IN (?` + repeat(",?", len(states)-1) + `) ORDER BY p.deadline_at IS NULL, p.deadline_at, p.id`
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = s
	}
	return queryPayouts(ctx, d.db, q, args...)
}

// PayoutsDueBefore returns the payouts in state whose deadline is before
// before, soonest first, at most limit of them: along payouts_state (state,
// deadline_at), never every payout in the state.
func (d *DB) PayoutsDueBefore(ctx context.Context, state string, before time.Time, limit int) ([]*Payout, error) {
	return queryPayouts(ctx, d.db, `SELECT `+payoutColumns+payoutFrom+` WHERE p.state = ? AND p.deadline_at < ?
		ORDER BY p.deadline_at, p.id LIMIT ?`, state, formatTime(before), limit)
}

func queryPayouts(ctx context.Context, q querier, query string, args ...any) ([]*Payout, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("payouts: %w", err)
	}
	defer rows.Close()
	var out []*Payout
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// Approval is one approver's yes to one version of a payout, with what the
// approver is now: an approval counts only while they are active and hold
// the approver role.
type Approval struct {
	PayoutID int64
	UserID   int64
	UserName string
	Version  int64
	At       time.Time
	// The approver's account as it stands, read with the approval.
	UserActive bool
	UserRoles  []string
}

// AddApproval records an approval of the payout's current version.
// It returns ErrConflict if that user already approved that version.
func (t *Tx) AddApproval(ctx context.Context, a Approval) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO approvals (payout_id, user_id, version, at) VALUES (?, ?, ?, ?)`,
		a.PayoutID, a.UserID, a.Version, formatTime(t.now))
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("add approval: %w", err)
	}
	return nil
}

func approvals(ctx context.Context, q querier, payoutID int64) ([]Approval, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.payout_id, a.user_id, u.name, a.version, a.at, u.active, u.roles FROM approvals a JOIN users u ON u.id = a.user_id
		WHERE a.payout_id = ? ORDER BY a.at, a.user_id`, payoutID)
	if err != nil {
		return nil, fmt.Errorf("approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var a Approval
		var at, roles string
		if err := rows.Scan(&a.PayoutID, &a.UserID, &a.UserName, &a.Version, &at, &a.UserActive, &roles); err != nil {
			return nil, err
		}
		a.At, a.UserRoles = parseTime(at), splitRoles(roles)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Approvals returns every approval of a payout, of any version, oldest first.
func (d *DB) Approvals(ctx context.Context, payoutID int64) ([]Approval, error) {
	return approvals(ctx, d.db, payoutID)
}

// Approvals returns every approval of a payout as this transaction sees it.
func (t *Tx) Approvals(ctx context.Context, payoutID int64) ([]Approval, error) {
	return approvals(ctx, t.tx, payoutID)
}
