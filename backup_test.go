package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"countersign/audit"
	"countersign/secret"
	"countersign/store"
	"countersign/store/pgtest"
)

// TestBackupUnderWriteLoadAndRestore: a backup taken while the console
// writes is one consistent instant (every payout with the audit entry of its
// transaction) and verifies, chain and checkpoint; restore refuses while the
// database is open, then puts the backup in place, keeps what it replaced,
// and sets aside the checkpoint that is newer than the backup.
func TestBackupUnderWriteLoadAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "countersign.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Keyed, with checkpoints beside the key, as the server runs.
	key, _, err := keyAudit(ctx, db, filepath.Join(dir, "countersign.key"))
	if err != nil {
		t.Fatal(err)
	}
	checkpointer := &audit.Checkpointer{DB: db, Key: key, Path: filepath.Join(dir, "countersign.checkpoint")}
	u := &store.User{Email: "m@example.com", Name: "M", PasswordHash: "x", Roles: []string{"maker"}, Active: true}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// Writers: each transaction records a payout and its audit entry together.
	var stop atomic.Bool
	var written atomic.Int64
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }()
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				err := db.InTx(ctx, func(tx *store.Tx) error {
					p := &store.Payout{State: "submitting", MakerID: u.ID, FullName: "J", Amount: 100, Currency: "USD", CardLast4: "4242", CardBrand: "visa"}
					if err := tx.CreatePayout(ctx, p); err != nil {
						return err
					}
					return tx.Audit(ctx, store.AuditEntry{Actor: "m@example.com", Action: "test.write", Outcome: "ok", ObjectType: "payout"})
				})
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		})
	}
	waitFor(t, "writes under way", func() bool { return written.Load() > 20 })
	if err := checkpointer.WriteNow(ctx); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"COUNTERSIGN_DB": path})
	backups := []string{filepath.Join(dir, "one.db"), filepath.Join(dir, "two.db")}
	for _, b := range backups {
		var out bytes.Buffer
		if err := run(ctx, []string{"backup", "-o", b}, getenv, nil, &out, &out); err != nil {
			t.Fatalf("backup under load: %v", err)
		}
		if !strings.Contains(out.String(), "integrity ok, audit log intact") {
			t.Errorf("backup said %q", out.String())
		}
	}
	stop.Store(true)
	wg.Wait()
	// A checkpoint newer than both backups.
	if err := checkpointer.WriteNow(ctx); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"backup", "-o", backups[0]}, getenv, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("a backup overwrote an existing file")
	}

	// The second copy is one instant: as many payouts as audit entries of their writes.
	copyDB, err := store.Open(ctx, backups[1])
	if err != nil {
		t.Fatal(err)
	}
	payouts, _ := copyDB.Payouts(ctx, store.PayoutFilter{})
	entries, _ := copyDB.AuditEntries(ctx, store.AuditFilter{Action: "test.write"})
	copyDB.Close()
	if len(payouts) == 0 || len(payouts) != len(entries) || int64(len(payouts)) >= written.Load() {
		t.Errorf("backup holds %d payouts and %d entries of %d writes; want equal counts, taken mid-way", len(payouts), len(entries), written.Load())
	}

	// With the console running, restore refuses.
	var out bytes.Buffer
	err = run(ctx, []string{"restore", "-i", backups[1]}, getenv, nil, &out, &out)
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("restore with the database open: %v; want ErrInUse", err)
	}
	db.Close()
	out.Reset()
	if err := run(ctx, []string{"restore", "-i", backups[1]}, getenv, nil, &out, &out); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(out.String(), "kept as "+path+".replaced-") || !strings.Contains(out.String(), "checkpoint is newer than the backup") {
		t.Errorf("restore said %q; want where the replaced database and the newer checkpoint are kept", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, getenv, nil, &out, &out); err != nil {
		t.Fatalf("audit verify after restore: %v", err)
	}
	restored, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if got, _ := restored.Payouts(ctx, store.PayoutFilter{}); len(got) != len(payouts) {
		t.Errorf("restored database holds %d payouts; want the backup's %d", len(got), len(payouts))
	}
	kept, _ := filepath.Glob(path + ".replaced-*")
	if len(kept) != 1 {
		t.Errorf("replaced database kept as %v; want one file", kept)
	}
}

// TestRestoreRefusesABrokenBackup: a backup that does not verify is never
// put in place.
func TestRestoreRefusesABrokenBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secret.LoadOrCreate(filepath.Join(dir, "countersign.key"), 1); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "countersign.db")
	err := run(ctx, []string{"restore", "-i", bad, "-db", target}, env(nil), nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("restore of garbage: %v; want a refusal", err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a database appeared at %s", target)
	}
}

// TestBackupRefusesPostgres: PostgreSQL is backed up with its own tools.
func TestBackupRefusesPostgres(t *testing.T) {
	url := pgtest.Database(t)
	key := filepath.Join(t.TempDir(), "countersign.key")
	if _, _, err := secret.LoadOrCreate(key, 1); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"backup", "-o", filepath.Join(t.TempDir(), "b.db"), "-db", url, "-secret-key-file", key}, env(nil), nil, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, store.ErrNotSQLite) {
		t.Errorf("backup of PostgreSQL: %v; want ErrNotSQLite", err)
	}
}
