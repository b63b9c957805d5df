package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The states of an admin change.
const (
	ChangePending   = "pending"
	ChangeApproved  = "approved"
	ChangeRejected  = "rejected"
	ChangeWithdrawn = "withdrawn"
)

// AdminChange is a change to users or settings waiting for (or decided by) a
// second admin. Payload is the change's JSON, read by the admin service.
type AdminChange struct {
	ID             int64
	Kind           string
	TargetUserID   int64 // 0 for settings and for an account not created yet
	TargetName     string
	Payload        string
	Summary        string
	State          string
	ProposedBy     int64
	ProposedByName string
	ProposedAt     time.Time
	DecidedBy      int64
	DecidedByName  string
	DecidedAt      time.Time
	Reason         string
}

const adminChangeColumns = `c.id, c.kind, coalesce(c.target_user_id, 0), coalesce(t.name, ''), c.payload, c.summary, c.state,
	c.proposed_by, p.name, c.proposed_at, coalesce(c.decided_by, 0), coalesce(d.name, ''), c.decided_at, c.reason`

const adminChangeFrom = ` FROM admin_changes c JOIN users p ON p.id = c.proposed_by
	LEFT JOIN users t ON t.id = c.target_user_id LEFT JOIN users d ON d.id = c.decided_by`

func scanAdminChange(row interface{ Scan(...any) error }) (*AdminChange, error) {
	var c AdminChange
	var proposed string
	var decided sql.NullString
	err := row.Scan(&c.ID, &c.Kind, &c.TargetUserID, &c.TargetName, &c.Payload, &c.Summary, &c.State,
		&c.ProposedBy, &c.ProposedByName, &proposed, &c.DecidedBy, &c.DecidedByName, &decided, &c.Reason)
	if err != nil {
		return nil, asNotFound(err, "change")
	}
	c.ProposedAt, c.DecidedAt = parseTime(proposed), nullTime(decided)
	return &c, nil
}

// CreateAdminChange records a proposed change, pending.
func (t *Tx) CreateAdminChange(ctx context.Context, c *AdminChange) error {
	c.State, c.ProposedAt = ChangePending, t.now
	err := t.tx.QueryRowContext(ctx, `INSERT INTO admin_changes (kind, target_user_id, payload, summary, state, proposed_by, proposed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.Kind, nullID(c.TargetUserID), c.Payload, c.Summary, c.State, c.ProposedBy, formatTime(t.now)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("create admin change: %w", err)
	}
	return nil
}

// AdminChangeByID returns one change as this transaction sees it.
func (t *Tx) AdminChangeByID(ctx context.Context, id int64) (*AdminChange, error) {
	return scanAdminChange(t.tx.QueryRowContext(ctx, `SELECT `+adminChangeColumns+adminChangeFrom+` WHERE c.id = ?`, id))
}

// AdminChangeByID returns one change.
func (d *DB) AdminChangeByID(ctx context.Context, id int64) (*AdminChange, error) {
	return scanAdminChange(d.db.QueryRowContext(ctx, `SELECT `+adminChangeColumns+adminChangeFrom+` WHERE c.id = ?`, id))
}

// AdminChanges returns the changes in state (all if ""), newest first, at most limit (0: all).
func (d *DB) AdminChanges(ctx context.Context, state string, limit int) ([]*AdminChange, error) {
	q := `SELECT ` + adminChangeColumns + adminChangeFrom
	var args []any
	if state != "" {
		q += ` WHERE c.state = ?`
		args = append(args, state)
	}
	q += ` ORDER BY c.id DESC`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("admin changes: %w", err)
	}
	defer rows.Close()
	var out []*AdminChange
	for rows.Next() {
		c, err := scanAdminChange(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountAdminChanges returns how many changes are in state.
func (d *DB) CountAdminChanges(ctx context.Context, state string) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM admin_changes WHERE state = ?`, state).Scan(&n)
	return n, err
}

// DecideAdminChange moves a pending change to state, recording who decided
// and why. It returns ErrConflict if the change is no longer pending: of two
// admins deciding at once, exactly one wins.
func (t *Tx) DecideAdminChange(ctx context.Context, id int64, state string, by int64, reason string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE admin_changes SET state = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ? AND state = ?`,
		state, by, formatTime(t.now), reason, id, ChangePending)
	if err != nil {
		return fmt.Errorf("decide admin change: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// SigninLink is a one-time link that lets a person choose their password.
type SigninLink struct {
	UserID    int64
	Purpose   string
	ChangeID  int64
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// CreateSigninLink stores a link by the hash of its token, valid until
// expires. Any other unused link of the user stops working: only the newest
// link is good.
func (t *Tx) CreateSigninLink(ctx context.Context, tokenHash string, userID int64, purpose string, changeID int64, expires time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM signin_links WHERE user_id = ? AND used_at IS NULL`, userID); err != nil {
		return fmt.Errorf("retire sign-in links: %w", err)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO signin_links (token_hash, user_id, purpose, change_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		tokenHash, userID, purpose, nullID(changeID), formatTime(t.now), formatTime(expires))
	if err != nil {
		return fmt.Errorf("create sign-in link: %w", err)
	}
	return nil
}

const signinLinkColumns = `user_id, purpose, coalesce(change_id, 0), created_at, expires_at, used_at`

func scanSigninLink(row interface{ Scan(...any) error }) (*SigninLink, error) {
	var l SigninLink
	var created, expires string
	var used sql.NullString
	if err := row.Scan(&l.UserID, &l.Purpose, &l.ChangeID, &created, &expires, &used); err != nil {
		return nil, asNotFound(err, "sign-in link")
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = parseTime(created), parseTime(expires), nullTime(used)
	return &l, nil
}

// SigninLinkByHash returns the link with that token hash, used or not.
func (d *DB) SigninLinkByHash(ctx context.Context, tokenHash string) (*SigninLink, error) {
	return scanSigninLink(d.db.QueryRowContext(ctx, `SELECT `+signinLinkColumns+` FROM signin_links WHERE token_hash = ?`, tokenHash))
}

// UseSigninLink marks a link used, if it is unused and unexpired, and
// returns it; otherwise ErrNotFound. Of two requests with one link, one wins.
func (t *Tx) UseSigninLink(ctx context.Context, tokenHash string) (*SigninLink, error) {
	return scanSigninLink(t.tx.QueryRowContext(ctx, `UPDATE signin_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING `+signinLinkColumns, formatTime(t.now), tokenHash, formatTime(t.now)))
}
