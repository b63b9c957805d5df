package store

import (
	"maps"
	"testing"
)

// TestPayoutCountsFollowWrites: the per-state counts the metrics read are
// kept by the database as payouts are created and move.
func TestPayoutCountsFollowWrites(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	u := &User{Email: "m@example.com", Name: "M", PasswordHash: "x", Roles: []string{"maker"}, Active: true}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	var ps []*Payout
	for _, currency := range []string{"USD", "USD", "EUR"} {
		p := &Payout{State: "submitting", MakerID: u.ID, FullName: "J", Amount: 100, Currency: currency, CardLast4: "4242", CardBrand: "visa"}
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreatePayout(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	move := func(p *Payout, state string) {
		p.State = state
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.SavePayout(ctx, p) }); err != nil {
			t.Fatal(err)
		}
	}
	move(ps[0], "pending_approval")
	move(ps[1], "pending_approval")
	move(ps[1], "pending_approval") // a save that keeps the state changes no count
	move(ps[1], "confirming")
	move(ps[2], "pending_approval") // in another currency: the counts are per state
	got, err := db.PayoutCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		if v == 0 {
			delete(got, k)
		}
	}
	if want := map[string]int64{"pending_approval": 2, "confirming": 1}; !maps.Equal(got, want) {
		t.Errorf("counts = %v; want %v", got, want)
	}
	n, oldest, next, err := db.QueueSummary(ctx, "pending_approval")
	if err != nil || n != 2 || !oldest.IsZero() || !next.IsZero() {
		t.Errorf("queue summary = %d, %v, %v, %v; want 2 with no times (none set)", n, oldest, next, err)
	}
}
