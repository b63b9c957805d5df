package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one line of the append-only audit log: who did what, when, from
// where, to which object, with what outcome. Detail must never hold a card number,
// a password or a secret.
type AuditEntry struct {
	ID         int64
	At         time.Time
	ActorID    int64  // 0 for the system or an anonymous caller
	Actor      string // email, "system", "provider" or what an anonymous caller typed
	Action     string // e.g. "login.ok", "payout.approve"
	ObjectType string
	ObjectID   string
	IP         string
	Outcome    string // "ok", "denied", "failed", ...
	Detail     string
	PrevHash   string
	Hash       string
}

// Audit appends an entry in its own transaction.
func (d *DB) Audit(ctx context.Context, e AuditEntry) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.Audit(ctx, e) })
}

// Audit appends an entry as part of the transaction, so that the record of an
// action commits together with the action.
func (t *Tx) Audit(ctx context.Context, e AuditEntry) error {
	e.At = t.now
	err := t.tx.QueryRowContext(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&e.PrevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: %w", err)
	}
	e.Hash = auditHash(e)
	var actorID any
	if e.ActorID != 0 {
		actorID = e.ActorID
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id, ip, outcome, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		formatTime(e.At), actorID, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// auditHash chains an entry to the one before it. Fields are length-prefixed so
// that moving text from one field to the next changes the hash.
func auditHash(e AuditEntry) string {
	h := sha256.New()
	for _, f := range []string{e.PrevHash, formatTime(e.At), strconv.FormatInt(e.ActorID, 10), e.Actor, e.Action,
		e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

const auditColumns = `id, at, coalesce(actor_id, 0), actor, action, object_type, object_id, ip, outcome, detail, prev_hash, hash`

func scanAudit(rows *sql.Rows) (AuditEntry, error) {
	var e AuditEntry
	var at string
	err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &e.IP, &e.Outcome, &e.Detail, &e.PrevHash, &e.Hash)
	e.At = parseTime(at)
	return e, err
}

// AuditFilter narrows an audit query. Zero values match everything.
type AuditFilter struct {
	Actor      string // contains, case-insensitive
	Action     string // prefix, e.g. "payout." or "login"
	ObjectType string
	ObjectID   string
	From, To   time.Time
	BeforeID   int64 // keyset pagination: entries older than this id
	Limit      int
	Ascending  bool // oldest first (a payout's timeline)
}

// AuditEntries returns matching entries, newest first unless Ascending.
func (d *DB) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where, args = append(where, `actor LIKE ? ESCAPE '\'`), append(args, likePattern(f.Actor))
	}
	if f.Action != "" {
		where, args = append(where, `action LIKE ? ESCAPE '\'`), append(args, escapeLike(f.Action)+"%")
	}
	if f.ObjectType != "" {
		where, args = append(where, `object_type = ?`), append(args, f.ObjectType)
	}
	if f.ObjectID != "" {
		where, args = append(where, `object_id = ?`), append(args, f.ObjectID)
	}
	if !f.From.IsZero() {
		where, args = append(where, `at >= ?`), append(args, formatTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, `at < ?`), append(args, formatTime(f.To))
	}
	if f.BeforeID > 0 {
		where, args = append(where, `id < ?`), append(args, f.BeforeID)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	if f.Ascending {
		q += ` ORDER BY id`
	} else {
		q += ` ORDER BY id DESC`
	}
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit)
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditBreak describes the first place where the chain does not hold.
type AuditBreak struct {
	ID     int64
	Reason string
}

// VerifyAudit walks the whole log in order and reports the first broken link, or
// nil if every entry hashes to what it says and points at the one before it.
func (d *DB) VerifyAudit(ctx context.Context) (checked int, brk *AuditBreak, err error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, nil, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev := ""
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return checked, nil, err
		}
		switch {
		case e.PrevHash != prev:
			return checked, &AuditBreak{e.ID, "does not follow the entry before it (an entry was removed or inserted)"}, nil
		case auditHash(e) != e.Hash:
			return checked, &AuditBreak{e.ID, "its content does not match its hash (the entry was edited)"}, nil
		}
		prev = e.Hash
		checked++
	}
	return checked, nil, rows.Err()
}
