package store

import (
	"context"
	"crypto/hmac"
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
	// PrevHash is the hash of the entry before this one, "" for the first.
	// It is not stored with the entry (it would be a copy of the previous
	// row's hash): verification carries it along, and a read fills it in
	// only when AuditFilter.PrevHash asks for it.
	PrevHash string
	// Hash is the entry's chain hash as lower-case hex, the text the next
	// entry's hash covers; the table keeps its 32 bytes.
	Hash string
}

// AuditChainKeyed is the action of the switch-over entry: from it on, entries
// are chained with HMAC-SHA-256 under the secret key; before it (a log that
// was started before the key existed), with plain SHA-256.
const AuditChainKeyed = "audit.chain_keyed"

// ErrAuditKeyNeeded refuses an append without the key to a log that is keyed:
// an entry chained without it would break the chain.
var ErrAuditKeyNeeded = errors.New("the audit log is chained under the secret key, and this process has none")

// ErrAuditKeyMismatch refuses a key the log was not chained with: entries
// chained under it would break the chain (and second-factor secrets sealed
// under another key could not be read). Several instances on one database
// must share one key file.
var ErrAuditKeyMismatch = errors.New("the secret key is not the one this database's audit log is chained with: " +
	"every instance (and every command) on one database must use the same key file")

// ErrAuditDowngraded refuses a log that should be chained under the key from
// an entry the key file records (or, for an older key file, from some entry)
// but has no keyed part there: someone without the key removed the
// switch-over and recomputed the chain with plain hashes, or the key file
// belongs to another database. Appending a new switch-over would make such a
// log verify again, so start stops instead.
var ErrAuditDowngraded = errors.New("the audit log does not start its keyed chain where the secret key file says: " +
	"it was rewritten without the key, or the key file belongs to another database; " +
	"run countersign audit verify and compare the log with its checkpoints")

// AuditStart is what the key file says about the log it keys.
type AuditStart struct {
	// From is the entry from which the log is chained under the key, as the
	// key file records it (0: a file written before this was recorded).
	From int64
	// Created: the key file was made by this start, for this database, with
	// From its next entry. Only then may a switch-over be appended to a
	// log that has entries.
	Created bool
}

// UseAuditKey makes every later entry chain under key (HMAC-SHA-256). A log
// meets its key once: the key file is created with the entry from which
// the log is keyed (entry 1 for a new installation), and this appends the
// switch-over there, so that verification knows where the plain hashes
// end. Afterwards the switch-over must be where the key file says and the
// newest entry must verify under key; a log chained under another key is
// refused (ErrAuditKeyMismatch), and so is a log that lost its keyed start
// (ErrAuditDowngraded): no second switch-over is ever appended.
func (d *DB) UseAuditKey(ctx context.Context, key []byte, start AuditStart) error {
	if len(key) == 0 {
		return errors.New("audit key is empty")
	}
	return d.InTx(ctx, func(tx *Tx) error {
		keyedFrom, err := tx.auditKeyedFrom(ctx)
		if err != nil {
			return err
		}
		if keyedFrom != 0 {
			if start.From != 0 && start.From != keyedFrom {
				return fmt.Errorf("%w (the key file says entry %d; the log's switch-over is entry %d)", ErrAuditDowngraded, start.From, keyedFrom)
			}
			rows, err := tx.tx.QueryContext(ctx, `SELECT `+auditColumns+`, `+auditPrevHash+` FROM audit_log a ORDER BY id DESC LIMIT 1`)
			if err != nil {
				return err
			}
			defer rows.Close()
			if !rows.Next() {
				return rows.Err()
			}
			head, err := scanAudit(rows, true)
			if err != nil {
				return err
			}
			if !hmac.Equal([]byte(auditMAC(key, head)), []byte(head.Hash)) {
				return ErrAuditKeyMismatch
			}
			d.auditKey.Store(&key)
			return nil
		}
		var head int64
		if err := tx.tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM audit_log`).Scan(&head); err != nil {
			return fmt.Errorf("audit head: %w", err)
		}
		// A log with entries is keyed only by the start that made its key
		// file; an empty one by any key whose file says entry 1 or nothing
		// (a second instance of a new installation, a key file made by hand).
		fresh := head == 0 && start.From <= 1
		if !fresh && !(start.Created && start.From == head+1) {
			if start.From == 0 {
				return fmt.Errorf("%w (the log has %d entries and none is keyed)", ErrAuditDowngraded, head)
			}
			return fmt.Errorf("%w (the key file says entry %d; the log has %d entries and none is keyed)", ErrAuditDowngraded, start.From, head)
		}
		d.auditKey.Store(&key)
		tx.auditKey = key
		return tx.Audit(ctx, AuditEntry{Actor: "system", Action: AuditChainKeyed, Outcome: "ok",
			Detail: "entries from here on are chained with HMAC-SHA-256 under the secret key"})
	})
}

// auditKeyedFrom returns the log's switch-over entry, 0 if it has none.
func (t *Tx) auditKeyedFrom(ctx context.Context) (int64, error) {
	var id int64
	err := t.tx.QueryRowContext(ctx, `SELECT id FROM audit_log
		WHERE action_id = (SELECT id FROM audit_actions WHERE action = ?) ORDER BY id LIMIT 1`, AuditChainKeyed).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// Audit appends an entry in its own transaction.
func (d *DB) Audit(ctx context.Context, e AuditEntry) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.Audit(ctx, e) })
}

// Audit appends an entry as part of the transaction, so that the record of an
// action commits together with the action.
//
// Appends are serialised by the database, not by this process: the write
// transaction that reads the head and inserts after it holds the write lock
// (SQLite's immediate transactions; on PostgreSQL the advisory lock every
// write transaction takes first, see dialect), so two processes on one
// database still make one chain. For the same reason the head is read once
// per transaction and then carried along: a group of webhooks appends
// hundreds of entries and reads the head once. The id is the head's plus one
// and is part of a keyed hash, so a checkpoint's entry number pins one entry.
func (t *Tx) Audit(ctx context.Context, e AuditEntry) error {
	e.At = t.now
	if t.head == nil {
		var head auditLink
		var hash []byte
		err := t.tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&head.id, &hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("audit: %w", err)
		}
		head.hash = hex.EncodeToString(hash)
		t.head = &head
	}
	e.ID, e.PrevHash = t.head.id+1, t.head.hash
	if t.auditKey == nil {
		keyedFrom, err := t.auditKeyedFrom(ctx)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if keyedFrom != 0 {
			return ErrAuditKeyNeeded
		}
		e.Hash = auditHash(e)
	} else {
		e.Hash = auditMAC(t.auditKey, e)
	}
	var actorID any
	if e.ActorID != 0 {
		actorID = e.ActorID
	}
	actionID, err := t.auditActionID(ctx, e.Action)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	_, err = t.execPrepared(ctx, sqlInsertAudit,
		e.ID, t.db.dialect.instant(e.At), actorID, e.Actor, actionID, e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail, packAuditHash(e.Hash))
	if err != nil {
		// The statement may have failed after the row went in (it did
		// not, on either engine, but the head is cheap to read again).
		t.head = nil
		return fmt.Errorf("audit: %w", err)
	}
	t.head = &auditLink{e.ID, e.Hash}
	return nil
}

const sqlInsertAudit = `INSERT INTO audit_log (id, at, actor_id, actor, action_id, object_type, object_id, ip, outcome, detail, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// auditActionID is action's number in audit_actions, which keeps each of
// the few dozen actions once (migration 097: 21 characters an entry, and
// the index on them, were a tenth of the log). A new action is added the
// first time an entry has it. The transaction remembers the numbers it
// asked for: a group of webhooks appends hundreds of entries with two or
// three actions. Writers are serialised, so no one adds the same action
// meanwhile.
func (t *Tx) auditActionID(ctx context.Context, action string) (int64, error) {
	if id, ok := t.actions[action]; ok {
		return id, nil
	}
	row, err := t.queryRowPrepared(ctx, `SELECT id FROM audit_actions WHERE action = ?`, action)
	if err != nil {
		return 0, err
	}
	var id int64
	err = row.Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.tx.QueryRowContext(ctx, `INSERT INTO audit_actions (action) VALUES (?) RETURNING id`, action).Scan(&id)
	}
	if err != nil {
		return 0, err
	}
	if t.actions == nil {
		t.actions = map[string]int64{}
	}
	t.actions[action] = id
	return id, nil
}

// packAuditHash is the stored form of a hash the chain computed: its 32
// bytes, half the size of the hex text (two of them, with the copy of the
// previous hash the table no longer keeps, were 128 of an entry's 313 bytes).
func packAuditHash(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic("audit: the chain computed a hash that is not hex: " + h)
	}
	return b
}

// auditLink is an entry's place in the chain: its id and hash.
type auditLink struct {
	id   int64
	hash string
}

// auditFields are an entry's chained fields, in order.
func auditFields(e AuditEntry) []string {
	return []string{e.PrevHash, formatTime(e.At), strconv.FormatInt(e.ActorID, 10), e.Actor, e.Action,
		e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail}
}

// auditHash chains an entry of the plain (pre-key) part of the log to the one
// before it. Fields are length-prefixed so that moving text from one field to
// the next changes the hash.
func auditHash(e AuditEntry) string {
	h := sha256.New()
	for _, f := range auditFields(e) {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// auditMAC chains an entry of the keyed part: HMAC-SHA-256 over its id and
// fields, so that nobody without the key can recompute a chain that verifies.
func auditMAC(key []byte, e AuditEntry) string {
	h := hmac.New(sha256.New, key)
	for _, f := range append([]string{"v2", strconv.FormatInt(e.ID, 10)}, auditFields(e)...) {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

const auditColumns = `id, at, coalesce(actor_id, 0), actor, (SELECT x.action FROM audit_actions x WHERE x.id = action_id),
	object_type, object_id, ip, outcome, detail, hash`

// auditPrevHash is the column of the hash of the entry before a (the
// outer audit_log's alias), empty for the first: the greatest id below
// a's, so that gaps in ids an older version left do not matter. It costs
// an index probe per entry, so only the reads that show it ask for it.
const auditPrevHash = `coalesce((SELECT p.hash FROM audit_log p WHERE p.id < a.id ORDER BY p.id DESC LIMIT 1), '')`

// scanAudit reads a row of auditColumns, followed by auditPrevHash if
// withPrev. Stored hashes are bytes; the entry carries them as hex.
func scanAudit(rows *sql.Rows, withPrev bool) (AuditEntry, error) {
	var e AuditEntry
	var at any
	var hash, prev []byte
	dest := []any{&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &e.IP, &e.Outcome, &e.Detail, &hash}
	if withPrev {
		dest = append(dest, &prev)
	}
	err := rows.Scan(dest...)
	e.At, e.Hash, e.PrevHash = instantOf(at), hex.EncodeToString(hash), hex.EncodeToString(prev)
	return e, err
}

// AuditFilter narrows an audit query. Zero values match everything.
type AuditFilter struct {
	Actor      string // contains, case-insensitive
	Action     string // prefix, e.g. "payout." or "login"
	ObjectType string
	ObjectID   string
	From, To   time.Time
	BeforeID   int64 // keyset pagination: entries after this one in the page's order
	AfterID    int64 // and, oldest first, entries after this one
	// With From or To, entries come in time order (at, then id) and the
	// keyset is the cursor entry's place in it; otherwise in id order.
	Limit     int
	Ascending bool // oldest first (a payout's timeline)
	// PrevHash fills in each entry's PrevHash (the export shows it); the
	// page and the timelines do not, and do not pay for the look-up.
	PrevHash bool
}

// AuditEntries returns matching entries, newest first unless Ascending.
func (d *DB) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where, args = append(where, `actor LIKE ? ESCAPE '\'`), append(args, likePattern(f.Actor))
	}
	if f.ObjectType != "" {
		where, args = append(where, `object_type = ?`), append(args, f.ObjectType)
	}
	if f.ObjectID != "" {
		where, args = append(where, `object_id = ?`), append(args, f.ObjectID)
	}
	// A date range is listed in time order, (at, id), along audit_at: the
	// page walks the range from its end and stops after a page. In id order
	// it would have to sort the whole range first, and ids and times do not
	// agree across instances (each stamps its own clock), so an id cursor
	// could skip or repeat entries of a time-ordered page.
	byTime := !f.From.IsZero() || !f.To.IsZero()
	if byTime {
		conds, a, err := d.auditTimeRange(ctx, f)
		if err != nil || conds == nil {
			return nil, err
		}
		where, args = append(where, conds...), append(args, a...)
	} else {
		if f.BeforeID > 0 {
			where, args = append(where, `id < ?`), append(args, f.BeforeID)
		}
		if f.AfterID > 0 {
			where, args = append(where, `id > ?`), append(args, f.AfterID)
		}
	}
	// An action prefix is asked as one arm per action it covers, merged in
	// id order: each arm walks audit_action (action_id, id) from the newest
	// and the merge stops after a page. A LIKE prefix instead walked the
	// whole log for a rare action (a case-insensitive LIKE cannot use the index).
	arms := []string{``}
	var armArgs [][]any
	if f.Action != "" {
		actions, err := d.auditActions(ctx, f.Action)
		if err != nil || len(actions) == 0 {
			return nil, err
		}
		arms = arms[:0]
		for _, id := range actions {
			arms = append(arms, `action_id = ?`)
			armArgs = append(armArgs, []any{id})
		}
	}
	var parts []string
	var all []any
	for i, arm := range arms {
		conds := where
		var a []any
		if arm != "" {
			conds = append([]string{arm}, where...)
			a = append(a, armArgs[i]...)
		}
		q := `SELECT ` + auditColumns + ` FROM audit_log`
		if f.PrevHash {
			q = `SELECT ` + auditColumns + `, ` + auditPrevHash + ` FROM audit_log a`
		}
		if len(conds) > 0 {
			q += ` WHERE ` + strings.Join(conds, ` AND `)
		}
		parts = append(parts, q)
		all = append(append(all, a...), args...)
	}
	q := strings.Join(parts, ` UNION ALL `)
	switch {
	case byTime && f.Ascending:
		q += ` ORDER BY at, id`
	case byTime:
		q += ` ORDER BY at DESC, id DESC`
	case f.Ascending:
		q += ` ORDER BY id`
	default:
		q += ` ORDER BY id DESC`
	}
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit)
	}
	rows, err := d.db.QueryContext(ctx, q, all...)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows, f.PrevHash)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// auditTimeRange is the conditions of a date-filtered listing: the range,
// and the keyset (BeforeID, AfterID) as the cursor entry's place in (at, id)
// order. Each end of the range is bounded once, by the range or by the
// cursor, whichever is nearer: SQLite seeks audit_at by one bound per end, and
// with two it may take the range's and walk every entry up to the cursor.
// nil conditions: the cursor names no entry, so nothing follows it.
func (d *DB) auditTimeRange(ctx context.Context, f AuditFilter) ([]string, []any, error) {
	cursor := func(id int64) (time.Time, bool, error) {
		var at any
		err := d.db.QueryRowContext(ctx, `SELECT at FROM audit_log WHERE id = ?`, id).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("audit entries: %w", err)
		}
		return instantOf(at), true, nil
	}
	conds, args := []string{}, []any{}
	from, to := f.From, f.To
	if f.BeforeID > 0 {
		at, ok, err := cursor(f.BeforeID)
		if err != nil || !ok {
			return nil, nil, err
		}
		if to.IsZero() || at.Before(to) {
			conds, args = append(conds, `(at, id) < (?, ?)`), append(args, d.dialect.instant(at), f.BeforeID)
			to = time.Time{}
		}
	}
	if f.AfterID > 0 {
		at, ok, err := cursor(f.AfterID)
		if err != nil || !ok {
			return nil, nil, err
		}
		if from.IsZero() || !at.Before(from) {
			conds, args = append(conds, `(at, id) > (?, ?)`), append(args, d.dialect.instant(at), f.AfterID)
			from = time.Time{}
		}
	}
	if !from.IsZero() {
		conds, args = append(conds, `at >= ?`), append(args, d.dialect.instant(from))
	}
	if !to.IsZero() {
		conds, args = append(conds, `at < ?`), append(args, d.dialect.instant(to))
	}
	return conds, args, nil
}

// auditActions returns the numbers of the actions that start with prefix,
// ignoring the case of ASCII letters as LIKE does, from audit_actions: a few
// dozen rows, whatever the log's length.
func (d *DB) auditActions(ctx context.Context, prefix string) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, action FROM audit_actions`)
	if err != nil {
		return nil, fmt.Errorf("audit actions: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		var a string
		if err := rows.Scan(&id, &a); err != nil {
			return nil, err
		}
		if len(a) >= len(prefix) && asciiLower(a[:len(prefix)]) == asciiLower(prefix) {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

// asciiLower folds ASCII letters only, as SQLite's LIKE does.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// EachAuditEntry calls fn with every entry f matches, oldest first, reading
// them a page at a time: an export of the whole log never holds it in memory
// or keeps one query open while the client reads slowly.
func (d *DB) EachAuditEntry(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) error {
	f.Ascending, f.BeforeID, f.Limit = true, 0, 1000
	for {
		page, err := d.AuditEntries(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < f.Limit {
			return nil
		}
		f.AfterID = page[len(page)-1].ID
	}
}

// AuditBreak describes the first place where the chain does not hold.
type AuditBreak struct {
	ID     int64
	Reason string
}

// AuditCheck is what VerifyAudit found.
type AuditCheck struct {
	Checked   int         // entries that verified, in order from the first
	LastID    int64       // the last entry read (0 for an empty log)
	Head      string      // its hash
	KeyedFrom int64       // the switch-over entry, 0 if the log was never keyed
	Break     *AuditBreak // the first broken link, nil if none
	// MarkHash is the hash of the entry whose id was passed as mark ("" if
	// the walk did not reach it), to compare with a checkpoint.
	MarkHash string
}

// VerifyAudit walks the whole log in order and reports the first broken link:
// an entry whose hash does not match its content and the hash of the entry
// before it, which the walk carries along. So an entry edited breaks at
// itself, and one removed or inserted at the entry after the gap (the first
// that was chained to something else). From the switch-over entry on, hashes
// are HMACs under key over the entry's id too, so a chain recomputed without
// the key breaks there; without key such a log cannot be verified.
func (d *DB) VerifyAudit(ctx context.Context, key []byte, mark int64) (AuditCheck, error) {
	var c AuditCheck
	rows, err := d.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return c, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows, false)
		if err != nil {
			return c, err
		}
		e.PrevHash = c.Head
		if c.KeyedFrom == 0 && e.Action == AuditChainKeyed {
			if len(key) == 0 {
				return c, fmt.Errorf("verify audit: the log is chained under the secret key from entry %d: give the key file", e.ID)
			}
			c.KeyedFrom = e.ID
		}
		var intact bool
		if c.KeyedFrom == 0 {
			intact = auditHash(e) == e.Hash
		} else {
			intact = hmac.Equal([]byte(auditMAC(key, e)), []byte(e.Hash))
		}
		// Which change it was, the hash cannot say: a gap in the ids
		// (appends number entries one after the other) points at a
		// removal or an insertion.
		switch {
		case intact:
		case e.ID != c.LastID+1:
			c.Break = &AuditBreak{e.ID, "does not follow the entry before it (an entry was removed or inserted, or this one was edited)"}
		case c.KeyedFrom == 0:
			c.Break = &AuditBreak{e.ID, "its content does not match its hash (the entry was edited, or the one before it was removed or rewritten)"}
		default:
			c.Break = &AuditBreak{e.ID, "its content does not match its keyed hash (the entry was edited, or the chain was recomputed without the key)"}
		}
		if c.Break != nil {
			return c, nil
		}
		c.Checked++
		c.LastID, c.Head = e.ID, e.Hash
		if e.ID == mark {
			c.MarkHash = e.Hash
		}
	}
	return c, rows.Err()
}

// AuditHead returns the newest entry's id and hash (0 and "" for an empty log).
func (d *DB) AuditHead(ctx context.Context) (int64, string, error) {
	var id int64
	var hash []byte
	err := d.db.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return id, hex.EncodeToString(hash), nil
}
