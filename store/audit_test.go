package store

import (
	"context"
	"countersign/store/pgtest"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openTest opens a new database of the engine the tests run on (pgtest.DSN)
// and returns it with what it was opened from.
func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

// openPostgresTest opens a new PostgreSQL database, whatever engine the
// other tests run on: for what only PostgreSQL does (instances that share it).
func openPostgresTest(t *testing.T) (*DB, string) {
	t.Helper()
	dsn := pgtest.Database(t)
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

func appendSome(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := range n {
		if err := db.Audit(t.Context(), AuditEntry{Actor: "a@example.com", Action: "login.ok", Outcome: "ok", ObjectType: "user", ObjectID: string(rune('0' + i))}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	db, _ := openTest(t)
	appendSome(t, db, 2)
	if _, err := db.db.Exec(`UPDATE audit_log SET actor = 'someone else' WHERE id = 1`); err == nil {
		t.Error("UPDATE of an audit entry succeeded")
	}
	if _, err := db.db.Exec(`DELETE FROM audit_log WHERE id = 1`); err == nil {
		t.Error("DELETE of an audit entry succeeded")
	}
	// The words of an action are kept once for every entry that has it.
	if _, err := db.db.Exec(`UPDATE audit_actions SET action = 'logout' WHERE action = 'login.ok'`); err == nil {
		t.Error("UPDATE of an audit action succeeded")
	}
	if _, err := db.db.Exec(`DELETE FROM audit_actions WHERE action = 'login.ok'`); err == nil {
		t.Error("DELETE of an audit action succeeded")
	}
}

// TestAnActionAddedInAnUndonePieceIsAddedAgain: a piece of a transaction
// that appended the first entry with an action and then failed took the
// action with it; the next entry with it in the same transaction adds it
// again instead of pointing at a number that no longer exists.
func TestAnActionAddedInAnUndonePieceIsAddedAgain(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	appendSome(t, db, 1)
	err := db.InTx(ctx, func(tx *Tx) error {
		failed := tx.Savepoint(ctx, func() error {
			if err := tx.Audit(ctx, AuditEntry{Actor: "system", Action: "payout.release", Outcome: "ok"}); err != nil {
				return err
			}
			return errors.New("the piece fails after its entry")
		})
		if failed == nil {
			t.Fatal("the failing piece reported no error")
		}
		return tx.Audit(ctx, AuditEntry{Actor: "system", Action: "payout.release", Outcome: "ok", Detail: "second try"})
	})
	if err != nil {
		t.Fatal(err)
	}
	es, err := db.AuditEntries(ctx, AuditFilter{Action: "payout.release"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != "payout.release" || es[0].Detail != "second try" {
		t.Errorf("entries with payout.release: %+v; want the second try alone", es)
	}
	if c, err := db.VerifyAudit(ctx, nil, 0); err != nil || c.Break != nil || c.Checked != 2 {
		t.Errorf("verify: %+v err=%v; want 2 intact entries", c, err)
	}
}

var testAuditKey = []byte("0123456789abcdef0123456789abcdef")

// tamperWith runs statements against the database the way an intruder with
// write access would, turning the append-only triggers off first.
func tamperWith(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	driver, source, off := "sqlite", "file:"+dsn, []string{`DROP TRIGGER IF EXISTS audit_no_update`, `DROP TRIGGER IF EXISTS audit_no_delete`}
	if IsPostgres(dsn) {
		driver, source, off = "pgx", dsn, []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range append(off, stmts...) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// hashLiteral is a hash in hex as the SQL literal of the bytes the audit
// log stores.
func hashLiteral(dsn, h string) string {
	if IsPostgres(dsn) {
		return `'\x` + h + `'::bytea`
	}
	return `X'` + h + `'`
}

// TestAuditChainDetectsTampering edits the file and expects the chain to
// break at the right entry, in a log from before the key (plain hashes) and
// in a keyed one. Keyed: entry 1 is the switch-over, 2..6 the five appended.
func TestAuditChainDetectsTampering(t *testing.T) {
	tamper := []struct {
		name  string
		sql   string
		plain int64 // where a plain log breaks
		keyed int64 // where a keyed log breaks
	}{
		{"edited detail", `UPDATE audit_log SET detail = 'nothing to see' WHERE id = 3`, 3, 3},
		{"edited actor", `UPDATE audit_log SET actor = 'x@example.com' WHERE id = 2`, 2, 2},
		{"removed entry", `DELETE FROM audit_log WHERE id = 3`, 4, 4},
		{"inserted entry", `INSERT INTO audit_log (id, at, actor, action_id, outcome, hash) SELECT 100, at, actor, action_id, outcome, hash FROM audit_log WHERE id = 4`, 100, 100},
		{"rehashed entry", `UPDATE audit_log SET outcome = 'denied', hash = 'ab' WHERE id = 2`, 2, 2},
	}
	for _, keyed := range []bool{false, true} {
		for _, tt := range tamper {
			t.Run(fmt.Sprintf("keyed=%v/%s", keyed, tt.name), func(t *testing.T) {
				db, path := openTest(t)
				want := tt.plain
				var key []byte
				if keyed {
					key, want = testAuditKey, tt.keyed
					if err := db.UseAuditKey(t.Context(), key, AuditStart{}); err != nil {
						t.Fatal(err)
					}
				}
				appendSome(t, db, 5)
				c, err := db.VerifyAudit(t.Context(), key, 0)
				if err != nil || c.Break != nil || c.Checked != int(c.LastID) || c.LastID < 5 {
					t.Fatalf("before tampering: %+v err=%v, want all intact", c, err)
				}
				tamperWith(t, path, tt.sql)
				c, err = db.VerifyAudit(t.Context(), key, 0)
				if err != nil {
					t.Fatal(err)
				}
				if c.Break == nil || c.Break.ID != want {
					t.Errorf("break = %+v, want at entry %d", c.Break, want)
				}
			})
		}
	}
}

// TestAuditChainRecomputedWithoutTheKey: someone who can write the database
// but has no key edits an entry and recomputes every hash after it, with the
// plain hash or with a key of their own. Both break at the edited entry.
func TestAuditChainRecomputedWithoutTheKey(t *testing.T) {
	for name, forge := range map[string]func(AuditEntry) string{
		"plain SHA-256": auditHash,
		"another key":   func(e AuditEntry) string { return auditMAC([]byte("not the key, but 32 bytes long!!"), e) },
	} {
		t.Run(name, func(t *testing.T) {
			db, path := openTest(t)
			if err := db.UseAuditKey(t.Context(), testAuditKey, AuditStart{From: 1}); err != nil {
				t.Fatal(err)
			}
			appendSome(t, db, 4)
			entries, err := db.AuditEntries(t.Context(), AuditFilter{Ascending: true})
			if err != nil {
				t.Fatal(err)
			}
			var stmts []string
			prev := entries[1].Hash
			for _, e := range entries[2:] {
				e.PrevHash = prev
				if e.ID == 3 {
					e.Detail = "nothing happened"
				}
				e.Hash = forge(e)
				prev = e.Hash
				stmts = append(stmts, fmt.Sprintf(`UPDATE audit_log SET detail = '%s', hash = %s WHERE id = %d`, e.Detail, hashLiteral(path, e.Hash), e.ID))
			}
			tamperWith(t, path, stmts...)
			c, err := db.VerifyAudit(t.Context(), testAuditKey, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.Break == nil || c.Break.ID != 3 || !strings.Contains(c.Break.Reason, "without the key") {
				t.Errorf("break = %+v, want entry 3, recomputed without the key", c.Break)
			}
		})
	}
}

// TestAKeyedLogIsNeverKeyedAgain: once the switch-over is gone (renamed,
// the chain recomputed with plain hashes), no start appends another, with a
// key file that records the start or one that does not; nor does a key file
// whose start differs from the log's, or a new key file that is not for the
// database's next entry.
func TestAKeyedLogIsNeverKeyedAgain(t *testing.T) {
	db, path := openTest(t)
	if err := db.UseAuditKey(t.Context(), testAuditKey, AuditStart{From: 1, Created: true}); err != nil {
		t.Fatal(err)
	}
	appendSome(t, db, 3)
	if err := db.UseAuditKey(t.Context(), testAuditKey, AuditStart{From: 2}); !errors.Is(err, ErrAuditDowngraded) {
		t.Errorf("a key file that says entry 2: %v; want ErrAuditDowngraded", err)
	}
	entries, err := db.AuditEntries(t.Context(), AuditFilter{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`INSERT INTO audit_actions (action) VALUES ('login.ok') ON CONFLICT DO NOTHING`,
		`UPDATE audit_log SET action_id = (SELECT id FROM audit_actions WHERE action = 'login.ok') WHERE id = 1`}
	prev := ""
	for _, e := range entries {
		e.PrevHash = prev
		if e.ID == 1 {
			e.Action = "login.ok"
		}
		e.Hash = auditHash(e)
		prev = e.Hash
		stmts = append(stmts, fmt.Sprintf(`UPDATE audit_log SET hash = %s WHERE id = %d`, hashLiteral(path, e.Hash), e.ID))
	}
	tamperWith(t, path, stmts...)
	for _, start := range []AuditStart{{From: 1}, {}, {From: 1, Created: true}, {From: 3, Created: true}} {
		if err := db.UseAuditKey(t.Context(), testAuditKey, start); !errors.Is(err, ErrAuditDowngraded) {
			t.Errorf("%+v: %v; want ErrAuditDowngraded", start, err)
		}
	}
	if id, _, _ := db.AuditHead(t.Context()); id != 4 {
		t.Errorf("head %d; want 4, nothing appended", id)
	}
}

// TestAuditSwitchOver: a log started before the key keeps its plain hashes up
// to the switch-over entry and is keyed after it; once keyed, a process
// without the key may not append, and verification needs the key.
func TestAuditSwitchOver(t *testing.T) {
	db, path := openTest(t)
	appendSome(t, db, 3)
	if err := db.UseAuditKey(t.Context(), testAuditKey, AuditStart{From: 4, Created: true}); err != nil {
		t.Fatal(err)
	}
	if err := db.UseAuditKey(t.Context(), testAuditKey, AuditStart{From: 4}); err != nil { // a restart
		t.Fatal(err)
	}
	appendSome(t, db, 2)
	c, err := db.VerifyAudit(t.Context(), testAuditKey, 2)
	if err != nil || c.Break != nil {
		t.Fatalf("VerifyAudit = %+v, %v", c, err)
	}
	if c.KeyedFrom != 4 || c.LastID != 6 || c.Checked != 6 || c.MarkHash == "" {
		t.Errorf("check = %+v; want keyed from 4 (one switch-over), 6 entries, the hash of entry 2", c)
	}
	if _, err := db.VerifyAudit(t.Context(), nil, 0); err == nil {
		t.Error("a keyed log verified without the key")
	}
	if _, err := db.VerifyAudit(t.Context(), []byte("not the key, but 32 bytes long!!"), 0); err != nil {
		t.Fatal(err)
	} else if c, _ := db.VerifyAudit(t.Context(), []byte("not the key, but 32 bytes long!!"), 0); c.Break == nil || c.Break.ID != 4 {
		t.Errorf("with the wrong key: break %+v; want at the switch-over, 4", c.Break)
	}

	// Another process opens the same file without the key.
	keyless, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer keyless.Close()
	if err := keyless.Audit(t.Context(), AuditEntry{Actor: "cli", Action: "user.create", Outcome: "ok"}); !errors.Is(err, ErrAuditKeyNeeded) {
		t.Errorf("keyless append: %v; want ErrAuditKeyNeeded", err)
	}
}

func TestSavePayoutIsConditional(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	u := &User{Email: "m@example.com", Name: "M", PasswordHash: "x", Roles: []string{"maker"}, Active: true}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	p := &Payout{State: "pending_approval", MakerID: u.ID, FullName: "J", Amount: 100, Currency: "USD", CardLast4: "4242", CardBrand: "visa"}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreatePayout(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	a, b := *p, *p
	a.State, b.State = "confirming", "cancelling"
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.SavePayout(ctx, &a) }); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.SavePayout(ctx, &b) }); err != ErrConflict {
		t.Fatalf("second claim on the same version: %v, want ErrConflict", err)
	}
	got, err := db.PayoutByID(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "confirming" || got.Version != 2 {
		t.Errorf("payout = %s v%d, want confirming v2", got.State, got.Version)
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	db, _ := openTest(t)
	if db.Postgres() {
		t.Skip("SQLite's pragmas")
	}
	ctx := context.Background()
	// Hold several connections at once so the pool has to open more than one.
	var conns []*sql.Conn
	for range 4 {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var fk, timeout, temp int
		var mode string
		c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
		c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout)
		c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)
		c.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&temp) // 2: memory
		if fk != 1 || timeout < 5000 || mode != "wal" || temp != 2 {
			t.Errorf("connection %d: foreign_keys=%d busy_timeout=%d journal_mode=%s temp_store=%d", i, fk, timeout, mode, temp)
		}
		c.Close()
	}
}

func TestDeleteStaleSessions(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	base := db.Now()
	for _, s := range []SessionRow{
		{IDHash: "fresh", Data: []byte{}, CreatedAt: base.Add(-time.Hour), LastSeenAt: base.Add(-time.Minute)},
		{IDHash: "idle", Data: []byte{}, CreatedAt: base.Add(-time.Hour), LastSeenAt: base.Add(-20 * time.Minute)},
		{IDHash: "old", Data: []byte{}, CreatedAt: base.Add(-9 * time.Hour), LastSeenAt: base.Add(-time.Minute)},
	} {
		if err := db.StartSession(ctx, "", &s, AuditEntry{Actor: "test", Action: "login.ok", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteStaleSessions(ctx, base.Add(-15*time.Minute), base.Add(-8*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"fresh": true, "idle": false, "old": false} {
		_, err := db.SessionByHash(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("session %s kept = %v, want %v", id, got, want)
		}
	}
}

// TestAnotherKeyIsRefused: an instance (or a command) given another key
// than the one the log is chained with is refused before it appends
// anything: every entry it chained would break the chain.
func TestAnotherKeyIsRefused(t *testing.T) {
	db, dsn := openTest(t)
	if err := db.UseAuditKey(t.Context(), testAuditKey, AuditStart{From: 1}); err != nil {
		t.Fatal(err)
	}
	appendSome(t, db, 2)
	other, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.UseAuditKey(t.Context(), []byte("not the key, but 32 bytes long!!"), AuditStart{From: 1}); !errors.Is(err, ErrAuditKeyMismatch) {
		t.Errorf("another key: %v; want ErrAuditKeyMismatch", err)
	}
	if err := other.UseAuditKey(t.Context(), testAuditKey, AuditStart{From: 1}); err != nil {
		t.Errorf("the same key: %v", err)
	}
	appendSome(t, other, 1)
	if c, err := db.VerifyAudit(t.Context(), testAuditKey, 0); err != nil || c.Break != nil {
		t.Errorf("verify: %+v, %v", c, err)
	}
}

// TestAuditActionPrefix: an action prefix matches every action that starts
// with it, ignoring case, newest first across actions, a page at a time,
// together with the other filters; a prefix nothing starts with matches
// nothing. On SQLite each action is read from audit_action in id order.
func TestAuditActionPrefix(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	actions := []string{"payout.approve", "login.ok", "payout.cancel", "card.verify", "payout.approve", "payouts.other", "payout.cancel"}
	for i, a := range actions {
		if err := db.Audit(ctx, AuditEntry{Actor: fmt.Sprintf("p%d@example.com", i%2), Action: a, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	got := func(f AuditFilter) []string {
		t.Helper()
		es, err := db.AuditEntries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%d:%s", e.ID, e.Action))
		}
		return out
	}
	all := got(AuditFilter{Action: "PAYOUT."})
	if want := []string{"7:payout.cancel", "5:payout.approve", "3:payout.cancel", "1:payout.approve"}; !slices.Equal(all, want) {
		t.Errorf("prefix PAYOUT.: %v, want %v", all, want)
	}
	page := got(AuditFilter{Action: "payout", Limit: 2})
	next := got(AuditFilter{Action: "payout", Limit: 2, BeforeID: 5})
	if !slices.Equal(page, []string{"7:payout.cancel", "6:payouts.other"}) || !slices.Equal(next, []string{"3:payout.cancel", "1:payout.approve"}) {
		t.Errorf("pages of prefix payout: %v then %v", page, next)
	}
	if old := got(AuditFilter{Action: "payout.", Ascending: true, Actor: "p0@"}); !slices.Equal(old, []string{"1:payout.approve", "3:payout.cancel", "5:payout.approve", "7:payout.cancel"}) {
		// actions 1, 3, 5, 7 are entries 0, 2, 4, 6: written by p0
		t.Errorf("oldest first, by p0: %v", old)
	}
	if none := got(AuditFilter{Action: "zzz"}); len(none) != 0 {
		t.Errorf("prefix zzz: %v", none)
	}
	if db.Postgres() {
		return
	}
	plan := explain(t, db, `SELECT id FROM audit_log WHERE action_id = ? UNION ALL SELECT id FROM audit_log WHERE action_id = ? ORDER BY id DESC LIMIT 50`, 1, 2)
	if !strings.Contains(plan, "audit_action") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("the arms do not walk audit_action in order:\n%s", plan)
	}
}

// TestAuditDateRangeInTimeOrder: two instances stamp entries with their own
// clocks, so ids and times disagree; a date-filtered listing is in time
// order and its pages, either way, hold every entry of the range once.
func TestAuditDateRangeInTimeOrder(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Minutes after base of entries 1, 2, 3, …: two clocks, one behind.
	minutes := []int{5, 1, 6, 2, 6, 3, 40, 4, -10, 1}
	for _, m := range minutes {
		db.Now = func() time.Time { return base.Add(time.Duration(m) * time.Minute) }
		if err := db.Audit(ctx, AuditEntry{Actor: "a@example.com", Action: "login.ok", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	from, to := base, base.Add(30*time.Minute)
	// In the range, newest first by time, then by id: entries 3 and 5 share
	// minute 6, entries 2 and 10 minute 1.
	want := []int64{5, 3, 1, 8, 6, 4, 10, 2}
	page := func(f AuditFilter) []int64 {
		t.Helper()
		es, err := db.AuditEntries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, e := range es {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if got := page(AuditFilter{From: from, To: to}); !slices.Equal(got, want) {
		t.Errorf("one page: %v, want %v", got, want)
	}
	var paged []int64
	f := AuditFilter{From: from, To: to, Limit: 3}
	for range len(want) {
		p := page(f)
		paged = append(paged, p...)
		if len(p) < f.Limit {
			break
		}
		f.BeforeID = p[len(p)-1]
	}
	if !slices.Equal(paged, want) {
		t.Errorf("pages of 3: %v, want %v", paged, want)
	}
	// Only a start: entry 7 (minute 40) comes first.
	if got := page(AuditFilter{From: from, Limit: 2}); !slices.Equal(got, []int64{7, 5}) {
		t.Errorf("from only: %v, want [7 5]", got)
	}
	var oldest []int64
	if err := db.EachAuditEntry(ctx, AuditFilter{From: from, To: to}, func(e AuditEntry) error {
		oldest = append(oldest, e.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	back := slices.Clone(want)
	slices.Reverse(back)
	if !slices.Equal(oldest, back) {
		t.Errorf("oldest first: %v, want %v", oldest, back)
	}
	if got := page(AuditFilter{From: from, To: to, BeforeID: 999}); len(got) != 0 {
		t.Errorf("after an entry that does not exist: %v", got)
	}
	plan := explain(t, db, `SELECT id FROM audit_log WHERE (at, id) < (?, ?) AND at >= ? ORDER BY at DESC, id DESC LIMIT 100`,
		formatTime(to), 5, formatTime(from))
	if !strings.Contains(plan, "audit_at") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("a date range does not walk audit_at in order:\n%s", plan)
	}
}

// TestAuditHeadAfterARolledBackSavepoint: a transaction carries the chain's
// head from entry to entry; entries a savepoint rolled back are gone, and the
// next entry chains to the one before them, in one id sequence.
func TestAuditHeadAfterARolledBackSavepoint(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	if err := db.UseAuditKey(ctx, testAuditKey, AuditStart{From: 1}); err != nil {
		t.Fatal(err)
	}
	entry := func(what string) AuditEntry {
		return AuditEntry{Actor: "system", Action: "test." + what, Outcome: "ok"}
	}
	refused := errors.New("refused")
	err := db.InTx(ctx, func(tx *Tx) error {
		if err := tx.Audit(ctx, entry("kept")); err != nil {
			return err
		}
		err := tx.Savepoint(ctx, func() error {
			if err := tx.Audit(ctx, entry("undone")); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			return fmt.Errorf("savepoint: %v; want refused", err)
		}
		return tx.Audit(ctx, entry("after"))
	})
	if err != nil {
		t.Fatal(err)
	}
	es, err := db.AuditEntries(ctx, AuditFilter{Action: "test."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%d %s", e.ID, e.Action))
	}
	if want := []string{"3 test.after", "2 test.kept"}; !slices.Equal(got, want) {
		t.Errorf("entries %q; want %q (newest first)", got, want)
	}
	if c, err := db.VerifyAudit(ctx, testAuditKey, 0); err != nil || c.Break != nil || c.Checked != 3 {
		t.Errorf("verify: %+v, err %v; want the switch-over and two entries intact", c, err)
	}
}
