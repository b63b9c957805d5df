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

// Payout is one payout to a bank card as we know it. State holds a payout.State value.
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
	CardID            int64 // saved card, 0 for a typed one
	CardLast4         string
	CardBrand         string
	CustomerReference string
	Note              string
	Purpose           string
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
}

const payoutColumns = `p.id, p.state, p.version, p.maker_id, u.name, coalesce(p.recipient_id, 0), p.full_name, p.amount, p.currency,
	coalesce(p.card_id, 0), p.card_last4, p.card_brand, p.customer_reference, p.note, p.purpose, coalesce(p.provider_session_id, ''),
	p.provider_payout_id, p.confirm_attempted, p.failure_code, p.failure_reason, p.cancel_reason, p.ready_at, p.deadline_at,
	p.created_at, p.updated_at, p.finished_at`

const payoutFrom = ` FROM payouts p JOIN users u ON u.id = p.maker_id`

func scanPayout(row interface{ Scan(...any) error }) (*Payout, error) {
	var p Payout
	var ready, deadline, finished sql.NullString
	var created, updated string
	err := row.Scan(&p.ID, &p.State, &p.Version, &p.MakerID, &p.MakerName, &p.RecipientID, &p.FullName, &p.Amount, &p.Currency,
		&p.CardID, &p.CardLast4, &p.CardBrand, &p.CustomerReference, &p.Note, &p.Purpose, &p.ProviderSessionID,
		&p.ProviderPayoutID, &p.ConfirmAttempted, &p.FailureCode, &p.FailureReason, &p.CancelReason, &ready, &deadline,
		&created, &updated, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("payout")
	}
	if err != nil {
		return nil, err
	}
	p.ReadyAt, p.DeadlineAt, p.FinishedAt = nullTime(ready), nullTime(deadline), nullTime(finished)
	p.CreatedAt, p.UpdatedAt = parseTime(created), parseTime(updated)
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

// CreatePayout records a new payout at version 1.
func (t *Tx) CreatePayout(ctx context.Context, p *Payout) error {
	p.Version, p.CreatedAt, p.UpdatedAt = 1, t.now, t.now
	res, err := t.tx.ExecContext(ctx, `INSERT INTO payouts (state, version, maker_id, recipient_id, full_name, amount, currency, card_id,
		card_last4, card_brand, customer_reference, note, purpose, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.State, p.MakerID, nullID(p.RecipientID), p.FullName, p.Amount, p.Currency, nullID(p.CardID), p.CardLast4, p.CardBrand,
		p.CustomerReference, p.Note, p.Purpose, formatTime(t.now), formatTime(t.now))
	if err != nil {
		return fmt.Errorf("create payout: %w", err)
	}
	p.ID, _ = res.LastInsertId()
	return nil
}

// SavePayout writes every mutable field of p, but only if the stored payout is
// still at p.Version; it then bumps the version. This conditional update is how
// a payout is claimed: of many concurrent callers exactly one wins, the others
// get ErrConflict.
func (t *Tx) SavePayout(ctx context.Context, p *Payout) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE payouts SET state = ?, version = version + 1, provider_session_id = ?, provider_payout_id = ?,
		confirm_attempted = ?, failure_code = ?, failure_reason = ?, cancel_reason = ?, ready_at = ?, deadline_at = ?, updated_at = ?, finished_at = ?
		WHERE id = ? AND version = ?`,
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

// PayoutBySessionID returns the payout that owns a provider session.
func (t *Tx) PayoutBySessionID(ctx context.Context, sessionID string) (*Payout, error) {
	return scanPayout(t.tx.QueryRowContext(ctx, `SELECT `+payoutColumns+payoutFrom+` WHERE p.provider_session_id = ?`, sessionID))
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
