package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Recipient is a person or company we pay out to.
type Recipient struct {
	ID                int64
	FullName          string
	CustomerReference string
	Email             string
	Country           string
	CreatedBy         int64
	CreatedAt         time.Time
}

const recipientColumns = `id, full_name, customer_reference, email, country, created_by, created_at`

func scanRecipient(row interface{ Scan(...any) error }) (*Recipient, error) {
	var r Recipient
	var created string
	if err := row.Scan(&r.ID, &r.FullName, &r.CustomerReference, &r.Email, &r.Country, &r.CreatedBy, &created); err != nil {
		return nil, asNotFound(err, "recipient")
	}
	r.CreatedAt = parseTime(created)
	return &r, nil
}

// CreateRecipient records a new recipient.
func (t *Tx) CreateRecipient(ctx context.Context, r *Recipient) error {
	r.CreatedAt = t.now
	err := t.tx.QueryRowContext(ctx, `INSERT INTO recipients (full_name, customer_reference, email, country, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, r.FullName, r.CustomerReference, r.Email, r.Country, r.CreatedBy, formatTime(t.now)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("create recipient: %w", err)
	}
	return nil
}

func recipientByID(ctx context.Context, q querier, id int64) (*Recipient, error) {
	return scanRecipient(q.QueryRowContext(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE id = ?`, id))
}

// RecipientByID returns one recipient.
func (d *DB) RecipientByID(ctx context.Context, id int64) (*Recipient, error) {
	return recipientByID(ctx, d.db, id)
}

// RecipientByID returns one recipient as this transaction sees it.
func (t *Tx) RecipientByID(ctx context.Context, id int64) (*Recipient, error) {
	return recipientByID(ctx, t.tx, id)
}

// RecipientFilter picks a page of the recipient book. Zero fields do not filter.
type RecipientFilter struct {
	// Search: the name, customer reference or email contains it
	// (case-insensitive), or it is the two-letter country.
	Search  string
	Country string // the two-letter country, exactly
	AfterID int64  // keyset: recipients after this one, in the book's order
	Limit   int    // 0 is no limit
}

// Recipients returns the recipients f picks, by name (ignoring case), then
// id: at most f.Limit of them, after f.AfterID. The page walks
// recipients_name from the cursor and stops after a page; a search that
// matches few reads further, never more than the book.
func (d *DB) Recipients(ctx context.Context, f RecipientFilter) ([]*Recipient, error) {
	var conds []string
	var args []any
	if search := strings.TrimSpace(f.Search); search != "" {
		pat := likePattern(search)
		conds = append(conds, `(full_name LIKE ? ESCAPE '\' OR customer_reference LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\' OR country = upper(?))`)
		args = append(args, pat, pat, pat, search)
	}
	if f.Country != "" {
		conds, args = append(conds, `country = ?`), append(args, strings.ToUpper(f.Country))
	}
	if f.AfterID > 0 {
		var name string
		err := d.db.QueryRowContext(ctx, `SELECT full_name FROM recipients WHERE id = ?`, f.AfterID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil // nothing follows a recipient that is not there
		}
		if err != nil {
			return nil, fmt.Errorf("recipients: %w", err)
		}
		// The plain bound is what SQLite seeks recipients_name by; the row
		// value alone it would only check on every row from the start.
		conds = append(conds, `full_name COLLATE NOCASE >= ?`, `(full_name COLLATE NOCASE, id) > (?, ?)`)
		args = append(args, name, name, f.AfterID)
	}
	q := `SELECT ` + recipientColumns + ` FROM recipients`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	q += ` ORDER BY full_name COLLATE NOCASE, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	defer rows.Close()
	var out []*Recipient
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
