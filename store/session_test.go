package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestUpdateSessionNeverRecreates(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	now := db.Now()
	row := &SessionRow{IDHash: "s1", Data: []byte("a"), CreatedAt: now, LastSeenAt: now}
	if err := db.StartSession(ctx, "", row, AuditEntry{Actor: "test", Action: "login.ok", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	row.Data = []byte("b")
	if ok, err := db.UpdateSession(ctx, row); err != nil || !ok {
		t.Fatalf("UpdateSession(existing) = %v, %v; want true", ok, err)
	}
	if err := db.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.UpdateSession(ctx, row); err != nil || ok {
		t.Fatalf("UpdateSession(deleted) = %v, %v; want false", ok, err)
	}
	if _, err := db.SessionByHash(ctx, "s1"); err == nil {
		t.Error("saving an ended session brought its row back")
	}
}

func TestFlashesAreTakenOnce(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	now := db.Now()
	if err := db.StartSession(ctx, "", &SessionRow{IDHash: "s1", Data: []byte{}, CreatedAt: now, LastSeenAt: now}, AuditEntry{Actor: "test", Action: "login.ok", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	// Two requests of one session each queue a message at once.
	var wg sync.WaitGroup
	for _, text := range []string{"one", "two"} {
		wg.Go(func() {
			if err := db.AddFlash(ctx, "s1", Flash{Kind: "ok", Text: text}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := db.TakeFlashes(ctx, "s1")
	if err != nil || len(got) != 2 {
		t.Fatalf("TakeFlashes = %v, %v; want both messages", got, err)
	}
	if again, _ := db.TakeFlashes(ctx, "s1"); len(again) != 0 {
		t.Errorf("messages shown twice: %v", again)
	}
	// An ended session gets no message and no row.
	if err := db.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddFlash(ctx, "s1", Flash{Kind: "ok", Text: "late"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountSessions(ctx); n != 0 {
		t.Errorf("%d session rows after the only one ended", n)
	}
}

func TestInstallationIDIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	first := db.InstallationID()
	if len(first) != 16 {
		t.Fatalf("InstallationID = %q", first)
	}
	db.Close()
	db, err = Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if again := db.InstallationID(); again != first {
		t.Errorf("installation id changed on reopen: %q, then %q", first, again)
	}
	other, _ := openTest(t)
	if id := other.InstallationID(); id == first {
		t.Error("two databases have the same installation id")
	}
}

func TestReserveLoginAttempt(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	u := &User{Email: "a@example.com", Name: "A", PasswordHash: "x", Active: true}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	clock := db.Now()
	db.Now = func() time.Time { return clock }
	limits := LoginLimits{PerAccount: 4, PerAddress: 2, LockFor: 30 * time.Minute}
	reserve := func(addr string) LoginAttempt {
		t.Helper()
		a, err := db.ReserveLoginAttempt(ctx, u.ID, addr, limits)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := reserve("1.1.1.1"); !a.Allowed || a.LocksAddress {
		t.Fatalf("first attempt = %+v", a)
	}
	if a := reserve("1.1.1.1"); !a.Allowed || !a.LocksAddress || a.LocksAccount {
		t.Fatalf("second attempt from one address = %+v; want allowed, locking the address", a)
	}
	if a := reserve("1.1.1.1"); a.Allowed || !a.AddressLocked {
		t.Fatalf("third attempt from one address = %+v; want refused", a)
	}
	// The account is not locked by one address: another still gets through,
	// until the account's own limit.
	if a := reserve("2.2.2.2"); !a.Allowed {
		t.Fatalf("another address = %+v", a)
	}
	if a := reserve("2.2.2.2"); !a.Allowed || !a.LocksAccount {
		t.Fatalf("fourth failure = %+v; want allowed, locking the account", a)
	}
	if a := reserve("3.3.3.3"); a.Allowed || !a.AccountLocked {
		t.Fatalf("after the account's limit = %+v; want refused", a)
	}
	// A lock runs out.
	clock = clock.Add(31 * time.Minute)
	if a := reserve("3.3.3.3"); !a.Allowed {
		t.Fatalf("after the lock ran out = %+v", a)
	}
	if err := db.LoginSucceeded(ctx, u.ID, "3.3.3.3"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.UserByID(ctx, u.ID)
	if got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
		t.Errorf("after success: failures %d, locked until %v", got.FailedLogins, got.LockedUntil)
	}
}

func TestReserveLoginAttemptInParallel(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	u := &User{Email: "a@example.com", Name: "A", PasswordHash: "x", Active: true}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	limits := LoginLimits{PerAccount: 10, PerAddress: 5, LockFor: 30 * time.Minute}
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			a, err := db.ReserveLoginAttempt(ctx, u.ID, string(rune('a'+i%20)), limits)
			if err != nil {
				t.Error(err)
				return
			}
			if a.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 10 {
		t.Errorf("%d of 100 parallel attempts allowed, want exactly 10", allowed)
	}
}

func TestAttentionItems(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	u := &User{Email: "a@example.com", Name: "A", PasswordHash: "x", Active: true}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	raise := func(kind string, payoutID int64) bool {
		var fresh bool
		if err := db.InTx(ctx, func(tx *Tx) error {
			var err error
			fresh, err = tx.RaiseAttention(ctx, kind, payoutID, "why")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	for i := range 2 {
		if !raise("webhook_unknown_session", 0) {
			t.Errorf("item %d about no payout was not kept: they must all be", i+1)
		}
	}
	items, err := db.OpenAttention(ctx, 10)
	if err != nil || len(items) != 2 {
		t.Fatalf("OpenAttention = %d items, %v", len(items), err)
	}
	err = db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.AcknowledgeAttention(ctx, items[0].ID, u.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.AcknowledgeAttention(ctx, items[0].ID, u.ID)
		return err
	})
	if err != ErrConflict {
		t.Errorf("acknowledging twice = %v, want ErrConflict", err)
	}
	if open, _ := db.OpenAttention(ctx, 10); len(open) != 1 {
		t.Errorf("%d open after acknowledging one of two", len(open))
	}
}
