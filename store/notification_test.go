package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func notifyUser(t *testing.T, db *DB, email string, roles ...string) *User {
	t.Helper()
	u := &User{Email: email, Name: email, PasswordHash: "x", Roles: roles, Active: true}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNotificationOptOuts(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	ann := notifyUser(t, db, "ann@example.com", "approver")
	bob := notifyUser(t, db, "bob@example.com", "approver")
	set := func(u *User, kinds ...string) {
		t.Helper()
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.SetNotificationOptOuts(ctx, u.ID, kinds) }); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.NotificationOptOuts(ctx, ann.ID); err != nil || len(got) != 0 {
		t.Fatalf("a new user's opt-outs = %v, %v; want none", got, err)
	}
	set(ann, "payout_queued", "deadline_soon", "payout_queued")
	set(bob, "deadline_soon")
	if got, _ := db.NotificationOptOuts(ctx, ann.ID); !slices.Equal(got, []string{"deadline_soon", "payout_queued"}) {
		t.Errorf("ann's opt-outs = %v", got)
	}
	set(ann, "payout_queued") // replaces, not adds
	if got, _ := db.NotificationOptOuts(ctx, ann.ID); !slices.Equal(got, []string{"payout_queued"}) {
		t.Errorf("ann's opt-outs after replacing = %v", got)
	}
	err := db.InTx(ctx, func(tx *Tx) error {
		out, err := tx.OptedOut(ctx, "deadline_soon")
		if err != nil {
			return err
		}
		if out[ann.ID] || !out[bob.ID] {
			t.Errorf("opted out of deadline_soon: %v; want bob only", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEnqueueNotificationCommitsWithItsTransaction(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	boom := errors.New("the event failed")
	err := db.InTx(ctx, func(tx *Tx) error {
		if err := tx.EnqueueNotification(ctx, &Notification{Kind: "payout_queued", Subject: "s", Body: "b", Path: "/"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got, err := db.UnexpandedNotifications(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("after a rollback: %v, %v; want nothing enqueued", got, err)
	}
	n := &Notification{Kind: "payout_succeeded", UserID: notifyUser(t, db, "mia@example.com", "maker").ID, Subject: "s", Body: "b", Path: "/payouts/1"}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.EnqueueNotification(ctx, n) }); err != nil {
		t.Fatal(err)
	}
	got, err := db.UnexpandedNotifications(ctx, 10)
	if err != nil || len(got) != 1 || got[0].ID != n.ID || got[0].UserID != n.UserID || got[0].Path != "/payouts/1" {
		t.Fatalf("after a commit: %+v, %v; want the one notification", got, err)
	}
}

// TestDeliveryClaims: a delivery is claimed by one of many callers, a claim
// whose lease passed is taken again, and the late holder cannot record.
func TestDeliveryClaims(t *testing.T) {
	db, _ := openTest(t)
	clk := &listClock{now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	db.Now = clk.Now
	ctx := t.Context()
	n := &Notification{Kind: "payout_queued", Subject: "s", Body: "b", Path: "/"}
	err := db.InTx(ctx, func(tx *Tx) error {
		if err := tx.EnqueueNotification(ctx, n); err != nil {
			return err
		}
		won, err := tx.ClaimNotification(ctx, n.ID)
		if err != nil || !won {
			t.Errorf("first claim of the notification: %v, %v", won, err)
		}
		if again, _ := tx.ClaimNotification(ctx, n.ID); again {
			t.Error("a notification was claimed twice")
		}
		for range 2 { // the second is ignored
			if err := tx.AddDelivery(ctx, &Delivery{NotificationID: n.ID, Channel: "email", Address: "a@example.com"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	due, err := db.DueDeliveries(ctx, 10)
	if err != nil || len(due) != 1 || due[0].Notification.Subject != "s" || due[0].State != DeliveryPending {
		t.Fatalf("due deliveries = %+v, %v; want one, pending, with its text", due, err)
	}
	id := due[0].ID

	var wg sync.WaitGroup
	attempts := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			a, err := db.ClaimDelivery(ctx, id, clk.Now().Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			attempts <- a
		})
	}
	wg.Wait()
	close(attempts)
	var won []int
	for a := range attempts {
		if a != 0 {
			won = append(won, a)
		}
	}
	if !slices.Equal(won, []int{1}) {
		t.Fatalf("8 concurrent claims won attempts %v; want exactly one, attempt 1", won)
	}
	if due, _ := db.DueDeliveries(ctx, 10); len(due) != 0 {
		t.Errorf("a claimed delivery is due again before its lease passed: %+v", due)
	}

	clk.now = clk.now.Add(2 * time.Minute) // the claimer died; its lease passed
	second, err := db.ClaimDelivery(ctx, id, clk.Now().Add(time.Minute))
	if err != nil || second != 2 {
		t.Fatalf("claim after the lease passed = %d, %v; want attempt 2", second, err)
	}
	if err := db.FinishDelivery(ctx, id, 1, DeliverySent, "", clk.Now()); !errors.Is(err, ErrConflict) {
		t.Errorf("the first claimer recorded after losing its lease: %v; want ErrConflict", err)
	}
	if err := db.FinishDelivery(ctx, id, 2, DeliverySent, "", clk.Now()); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(ctx, n.ID)
	if err != nil || len(ds) != 1 || ds[0].State != DeliverySent || ds[0].Attempts != 2 || !ds[0].SentAt.Equal(clk.now) {
		t.Fatalf("delivery after sending = %+v, %v", ds, err)
	}
	if a, _ := db.ClaimDelivery(ctx, id, clk.Now().Add(time.Minute)); a != 0 {
		t.Error("a sent delivery was claimed again")
	}

	// Old, finished notifications go; their deliveries with them.
	clk.now = clk.now.Add(24 * time.Hour)
	if n, err := db.DeleteOldNotifications(ctx, clk.now.Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("deleted %d old notifications (%v); want 1", n, err)
	}
	if ds, _ := db.Deliveries(ctx, n.ID); len(ds) != 0 {
		t.Errorf("deliveries of a deleted notification remain: %+v", ds)
	}
}

func TestMarksAreSetOnce(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	set := func() bool {
		t.Helper()
		var first bool
		if err := db.InTx(ctx, func(tx *Tx) error {
			var err error
			first, err = tx.SetMark(ctx, "deadline:7")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return first
	}
	if !set() || set() {
		t.Fatal("a mark was not set exactly once")
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.ClearMark(ctx, "deadline:7") }); err != nil {
		t.Fatal(err)
	}
	if has, _ := db.HasMark(ctx, "deadline:7"); has {
		t.Error("a cleared mark is still there")
	}
	if !set() {
		t.Error("a cleared mark could not be set again")
	}
}
