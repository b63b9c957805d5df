package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"countersign/payout"
	"countersign/store"
)

// generated writes a month of history with 300 payouts into a fresh database
// with the people the demo set-up makes, and returns it with its audit key.
func generated(t *testing.T, seed uint64) (*store.DB, []byte) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "gen.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := []byte("a key only this test knows, 32 b")
	if err := db.UseAuditKey(ctx, key, store.AuditStart{From: 1, Created: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.User{
		{Email: "maker@example.com", Name: "Mia Maker", Roles: []string{"maker"}},
		{Email: "approver1@example.com", Name: "Alex Approver", Roles: []string{"approver"}},
		{Email: "approver2@example.com", Name: "Bea Approver", Roles: []string{"approver"}},
	} {
		u.PasswordHash, u.Active = "x", true
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	from := end.AddDate(0, -1, 0)
	g := newGen(ctx, db, seed)
	if err := g.addPeople(from.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := g.loadPeople(); err != nil {
		t.Fatal(err)
	}
	if err := g.addRecipients(40, from); err != nil {
		t.Fatal(err)
	}
	g.readings(end.Add(-6*time.Hour), end)
	g.payouts(300, from.Add(7*24*time.Hour), end.Add(-2*time.Hour), "")
	if err := g.run(end, nil); err != nil {
		t.Fatal(err)
	}
	return db, key
}

// TestGeneratedHistoryHoldsTogether: what the generator writes is a history
// the console could have written: the audit chain verifies, every payout
// ended, each success came with its provider calls, both webhooks and the
// approvals the policy asks, and the same seed writes the same history.
func TestGeneratedHistoryHoldsTogether(t *testing.T) {
	ctx := context.Background()
	db, key := generated(t, 7)
	check, err := db.VerifyAudit(ctx, key, 0)
	if err != nil || check.Break != nil {
		t.Fatalf("audit verify: %+v, %v", check.Break, err)
	}
	rows, err := db.Payouts(ctx, store.PayoutFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 300 {
		t.Fatalf("%d payouts written, want 300", len(rows))
	}
	states := map[string]int{}
	for _, p := range rows {
		states[p.State]++
		if !payout.State(p.State).Final() {
			t.Errorf("payout %d was left %s", p.ID, p.State)
		}
		if p.State != string(payout.StateSucceeded) {
			continue
		}
		calls, err := db.ProviderCalls(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 3 || calls[2].Action != "session/confirm" || calls[2].Outcome != store.CallOK {
			t.Errorf("payout %d: provider calls %+v, want create, start and confirm, all ok", p.ID, calls)
		}
		hooks, err := db.WebhookEvents(ctx, p.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(hooks) != 2 {
			t.Errorf("payout %d: %d webhooks stored, want ready_to_confirm and payment_finished", p.ID, len(hooks))
		}
		approvals, err := db.Approvals(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if p.Amount >= twoApproverThreshold {
			want = 2
		}
		if len(approvals) != want {
			t.Errorf("payout %d of %d: %d approvals, want %d", p.ID, p.Amount, len(approvals), want)
		}
		for _, a := range approvals {
			if a.UserID == p.MakerID {
				t.Errorf("payout %d approved by its maker", p.ID)
			}
		}
	}
	for _, s := range []payout.State{payout.StateSucceeded, payout.StateFailed, payout.StateCancelled} {
		if states[string(s)] == 0 {
			t.Errorf("no payout ended %s: %v", s, states)
		}
	}
	again, _ := generated(t, 7)
	rows2, err := again.Payouts(ctx, store.PayoutFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(summary(rows)) != fmt.Sprint(summary(rows2)) {
		t.Error("the same seed wrote a different history")
	}
}

func summary(rows []*store.PayoutRow) []string {
	var out []string
	for _, p := range rows {
		out = append(out, fmt.Sprintf("%d %s %d %s %s %s", p.ID, p.State, p.Amount, p.Currency, p.FullName, p.CreatedAt))
	}
	return out
}
