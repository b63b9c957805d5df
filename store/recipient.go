package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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

// fewMatches is how many rows a trigram search (recipients, payout names)
// may match and still be read from the trigram index and sorted; a search
// that matches more is common enough that walking the list in its own order
// fills a page sooner.
const fewMatches = 2000

// recipientSearch says how to find the recipients whose name, customer
// reference or email contains s (ignoring case), or whose two-letter country
// s is: a table to read from and a condition. At fifty thousand recipients
// a walk of the book in name order reads all of it for a rare search, so
// SQLite first asks recipient_search, the FTS5 trigram index of those
// columns, how many match (three characters or more, as a quoted phrase: a
// substring, whatever it holds); up to fewMatches, the page is read from
// the matches and sorted. A country has two letters, so the trigrams never
// answer one. PostgreSQL's ILIKE uses the columns' trigram indexes by itself.
func (d *DB) recipientSearch(ctx context.Context, s string) (from, cond string, args []any, err error) {
	pat := likePattern(s)
	from, cond, args = `recipients`, `(full_name LIKE ? ESCAPE '\' OR customer_reference LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\' OR country = upper(?))`, []any{pat, pat, pat, s}
	if d.dialect.postgres || utf8.RuneCountInString(s) < 3 {
		return from, cond, args, nil
	}
	phrase := ftsPhrase(s)
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM recipient_search WHERE recipient_search MATCH ? LIMIT ?)`, phrase, fewMatches+1).Scan(&n); err != nil {
		return "", "", nil, fmt.Errorf("recipients: %w", err)
	}
	if n > fewMatches {
		return from, cond, args, nil
	}
	// CROSS JOIN keeps the matches outermost: SQLite would otherwise walk
	// recipients_name for the ORDER BY and test every recipient.
	return `(SELECT rowid AS match_id FROM recipient_search WHERE recipient_search MATCH ?) CROSS JOIN recipients ON id = match_id`, ``, []any{phrase}, nil
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
// matches few reads its matches instead (see recipientSearch).
func (d *DB) Recipients(ctx context.Context, f RecipientFilter) ([]*Recipient, error) {
	from := `recipients`
	var conds []string
	var args []any
	if search := strings.TrimSpace(f.Search); search != "" {
		var cond string
		var err error
		if from, cond, args, err = d.recipientSearch(ctx, search); err != nil {
			return nil, err
		}
		if cond != "" {
			conds = append(conds, cond)
		}
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
	q := `SELECT ` + recipientColumns + ` FROM ` + from
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
