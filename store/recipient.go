package store

import (
	"context"
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

// Recipients returns recipients whose name, customer reference or email
// contains search (case-insensitive; "" matches all), by name.
func (d *DB) Recipients(ctx context.Context, search string) ([]*Recipient, error) {
	pat := likePattern(strings.TrimSpace(search))
	rows, err := d.db.QueryContext(ctx, `SELECT `+recipientColumns+` FROM recipients
		WHERE full_name LIKE ? ESCAPE '\' OR customer_reference LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\' OR country = upper(?)
		ORDER BY full_name COLLATE NOCASE, id`, pat, pat, pat, strings.TrimSpace(search))
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
