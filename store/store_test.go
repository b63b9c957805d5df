package store

import (
	"context"
	"testing"
	"time"
)

// TestPanicInTransactionReleasesTheLock: a callback that panics (Echo
// recovers it and the process goes on) must not leave the transaction open:
// SQLite's write lock would stay held and every later write would fail.
func TestPanicInTransactionReleasesTheLock(t *testing.T) {
	db, _ := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not come through InTx")
			}
		}()
		db.InTx(ctx, func(tx *Tx) error {
			if err := tx.SetSetting(ctx, "panic.test", "half-written"); err != nil {
				t.Fatal(err)
			}
			panic("a bug in a callback")
		})
	}()
	// The pool's other connections must be able to write at once; with the
	// lock held they would wait out busy_timeout and fail with SQLITE_BUSY.
	db.db.SetMaxOpenConns(4)
	done := make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx *Tx) error { return tx.SetSetting(ctx, "after.panic", "ok") })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("write after a panicking transaction: %v", err)
		}
	case <-time.After(8 * time.Second): // busy_timeout is 10 s: a held lock would still be waited on
		t.Fatal("write after a panicking transaction still waits for the lock")
	}
	if v, err := db.Setting(ctx, "panic.test", "none"); err != nil || v != "none" {
		t.Errorf("the panicking transaction's write = %q, %v; want it rolled back", v, err)
	}
	if v, err := db.Setting(ctx, "after.panic", ""); err != nil || v != "ok" {
		t.Errorf("the next write = %q, %v; want ok", v, err)
	}
}

// TestOpeningAnUpToDateDatabaseWritesNothing: a command (countersign
// backup) or a second instance opening a database that is up to date must
// not wait for the write lock a busy console holds: it reads what is applied
// and finds nothing to do.
func TestOpeningAnUpToDateDatabaseWritesNothing(t *testing.T) {
	db, dsn := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx *Tx) error {
			if err := tx.SetSetting(ctx, "held", "yes"); err != nil {
				return err
			}
			close(holding)
			<-release // the write lock is held until the other Open returns
			return nil
		})
	}()
	<-holding
	other, err := Open(ctx, dsn)
	close(release)
	if err != nil {
		t.Fatalf("open while another holds the write lock: %v", err)
	}
	other.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
