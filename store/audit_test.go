package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
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
}

// TestAuditChainDetectsTampering edits the file the way an intruder with write
// access would (dropping the triggers first) and expects the chain to break.
func TestAuditChainDetectsTampering(t *testing.T) {
	tamper := []struct {
		name   string
		sql    string
		wantID int64
	}{
		{"edited detail", `UPDATE audit_log SET detail = 'nothing to see' WHERE id = 3`, 3},
		{"edited actor", `UPDATE audit_log SET actor = 'x@example.com' WHERE id = 2`, 2},
		{"removed entry", `DELETE FROM audit_log WHERE id = 3`, 4},
		{"rehashed entry", `UPDATE audit_log SET outcome = 'denied', hash = 'ab' WHERE id = 2`, 2},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			db, path := openTest(t)
			appendSome(t, db, 5)
			n, brk, err := db.VerifyAudit(t.Context())
			if err != nil || brk != nil || n != 5 {
				t.Fatalf("before tampering: n=%d brk=%v err=%v, want 5 intact", n, brk, err)
			}
			raw, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			for _, q := range []string{`DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`, tt.sql} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			_, brk, err = db.VerifyAudit(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if brk == nil || brk.ID != tt.wantID {
				t.Errorf("break = %+v, want at entry %d", brk, tt.wantID)
			}
		})
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
		var fk, timeout int
		var mode string
		c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
		c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout)
		c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)
		if fk != 1 || timeout < 5000 || mode != "wal" {
			t.Errorf("connection %d: foreign_keys=%d busy_timeout=%d journal_mode=%s", i, fk, timeout, mode)
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
		if err := db.CreateSession(ctx, &s); err != nil {
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
