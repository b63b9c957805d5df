package store

import (
	"context"
	"errors"
	"path"
	"slices"
	"strconv"
	"sync"
	"testing"

	"countersign/store/pgtest"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?', "?" FROM t WHERE x = ?`, `SELECT '?', "?" FROM t WHERE x = $1`},
		{`SELECT 'it''s ?' WHERE x = ?`, `SELECT 'it''s ?' WHERE x = $1`},
		{"SELECT 1 -- what?\nWHERE x = ?", "SELECT 1 -- what?\nWHERE x = $1"},
		{`WHERE name LIKE ? ESCAPE '\' AND note NOT like ?`, `WHERE name ILIKE $1 ESCAPE '\' AND note NOT ILIKE $2`},
		{`WHERE likely = ? AND unlike = ? AND x ILIKE ?`, `WHERE likely = $1 AND unlike = $2 AND x ILIKE $3`},
		{`SELECT 'LIKE' WHERE a LIKE ?`, `SELECT 'LIKE' WHERE a ILIKE $1`},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestInstancesMigrateTogether: several instances starting at once on an
// empty database apply each migration once; none fails.
func TestInstancesMigrateTogether(t *testing.T) {
	dsn := pgtest.Database(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(t.Context(), dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	db, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, names int
	if err := db.db.QueryRowContext(t.Context(), `SELECT count(*), count(DISTINCT name) FROM migrations`).Scan(&rows, &names); err != nil {
		t.Fatal(err)
	}
	want, _ := migrationNames(db.dialect)
	want = append(want, packedBodiesDone) // the step that needs Go, recorded beside them
	if rows != len(want) || names != len(want) {
		t.Errorf("migrations table: %d rows, %d names; want each of the %d once", rows, names, len(want))
	}
}

// twoInstances opens the same PostgreSQL database twice, as two console
// processes would.
func twoInstances(t *testing.T) (*DB, *DB) {
	t.Helper()
	a, dsn := openPostgresTest(t)
	b, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// TestClaimAcrossInstances: many callers on two instances claim one payout
// version at once; exactly one wins.
func TestClaimAcrossInstances(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	u := &User{Email: "m@example.com", Name: "M", PasswordHash: "x", Roles: []string{"maker"}, Active: true}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	p := &Payout{State: "pending_approval", MakerID: u.ID, FullName: "J", Amount: 100, Currency: "USD", CardLast4: "4242", CardBrand: "visa"}
	if err := a.InTx(ctx, func(tx *Tx) error { return tx.CreatePayout(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, conflicts := 0, 0
	for i := range 30 {
		db := []*DB{a, b}[i%2]
		wg.Go(func() {
			err := db.InTx(ctx, func(tx *Tx) error {
				q, err := tx.PayoutByID(ctx, p.ID)
				if err != nil {
					return err
				}
				if q.Version != p.Version {
					return ErrConflict // what a claimer that saw version 1 finds: someone else won
				}
				q.State = "confirming"
				return tx.SavePayout(ctx, q)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Errorf("claim: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || conflicts != 29 {
		t.Errorf("claims: %d won, %d conflicts; want 1 and 29", won, conflicts)
	}
}

// TestAuditChainAcrossInstances: two instances appending at once still make
// one chain, in id order.
func TestAuditChainAcrossInstances(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	for _, db := range []*DB{a, b} {
		if err := db.UseAuditKey(ctx, testAuditKey, AuditStart{From: 1}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 60 {
		db := []*DB{a, b}[i%2]
		wg.Go(func() {
			if err := db.Audit(ctx, AuditEntry{Actor: "system", Action: "test.append", Outcome: "ok", ObjectID: strconv.Itoa(i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	c, err := b.VerifyAudit(ctx, testAuditKey, 0)
	if err != nil || c.Break != nil || c.Checked != 61 || c.KeyedFrom != 1 {
		t.Errorf("verify: %+v, err %v; want the switch-over and 60 entries intact", c, err)
	}
}

// TestWriteTransactionsSerialiseAcrossInstances: a read-then-write in a
// transaction loses no update when two instances do it at once (READ
// COMMITTED alone would let both read the same value).
func TestWriteTransactionsSerialiseAcrossInstances(t *testing.T) {
	a, b := twoInstances(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 40 {
		db := []*DB{a, b}[i%2]
		wg.Go(func() {
			err := db.InTx(ctx, func(tx *Tx) error {
				var v string
				if err := tx.tx.QueryRowContext(ctx, `SELECT coalesce((SELECT value FROM settings WHERE key = 'counter'), '0')`).Scan(&v); err != nil {
					return err
				}
				n, _ := strconv.Atoi(v)
				return tx.SetSetting(ctx, "counter", strconv.Itoa(n+1))
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if v, err := a.Setting(ctx, "counter", ""); err != nil || v != "40" {
		t.Errorf("counter = %q, %v; want 40", v, err)
	}
}

// TestWebhookStoredOnceAcrossInstances: the same delivery reaching both
// instances at once is stored once.
func TestWebhookStoredOnceAcrossInstances(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := range 20 {
		db := []*DB{a, b}[i%2]
		wg.Go(func() {
			err := db.InTx(ctx, func(tx *Tx) error {
				e := &WebhookEvent{Key: testKey("same body"), Type: "ready_to_confirm", SessionID: "s1", Outcome: "received", Body: "{}"}
				ok, err := tx.InsertWebhookEvent(ctx, e)
				if ok {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if fresh != 1 {
		t.Errorf("stored as new %d times; want 1", fresh)
	}
}

// TestEveryMigrationHasAPostgresTwin: a migration written for one engine
// only would leave the other's schema behind.
func TestEveryMigrationHasAPostgresTwin(t *testing.T) {
	base := func(d dialect) []string {
		names, err := migrationNames(d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range names {
			out = append(out, path.Base(n))
		}
		return out
	}
	sqlite, postgres := base(dialect{}), base(dialect{postgres: true})
	if !slices.Equal(sqlite, postgres) {
		t.Errorf("migrations differ:\n sqlite   %v\n postgres %v", sqlite, postgres)
	}
}
