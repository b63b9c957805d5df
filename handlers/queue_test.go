package handlers

import (
	"strings"
	"testing"
	"time"

	"countersign/payout"
	"countersign/store"
)

// TestQueuePages: a long queue is shown fifty at a time, in deadline order,
// with each payout's approvals, and "after approving" on a later page still
// counts every payout above it, on earlier pages too.
func TestQueuePages(t *testing.T) {
	h := newHarness(t)
	maker := h.user("maker@example.com", "maker")
	approver := h.user("approver@example.com", "approver")
	if err := h.db.InsertBalanceSnapshot(t.Context(), store.BalanceSnapshot{Currency: "USD", Amount: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 60 {
		p := h.seed(t, seed{maker: maker, name: "Payee", amount: 1000, state: payout.StatePendingApproval, deadline: time.Duration(i+1) * time.Minute})
		if i%2 == 0 {
			err := h.db.InTx(t.Context(), func(tx *store.Tx) error {
				return tx.AddApproval(t.Context(), store.Approval{PayoutID: p.ID, UserID: approver.ID, Version: p.Version})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, p.ID)
	}
	b := h.browser()
	b.login("approver@example.com")

	first := b.get("/queue")
	rows := attrs(first.body, "queue-row", "data-payout")
	if len(rows) != queuePageSize || rows[0] != itoa(ids[0]) || rows[49] != itoa(ids[49]) {
		t.Fatalf("first page: %d rows, from %v to %v", len(rows), rows[0], rows[len(rows)-1])
	}
	if !strings.Contains(first.body, "60 waiting") || !strings.Contains(first.body, `href="/queue?page=2"`) {
		t.Error("the first page does not say 60 wait, or does not link to the next")
	}
	// Every other payout has its approval, read for the page in one query.
	if got := strings.Count(first.body, "1 of 1 approvals"); got != 25 {
		t.Errorf("%d rows of the first page show their approval; want 25", got)
	}

	second := b.get("/queue?page=2")
	rows = attrs(second.body, "queue-row", "data-payout")
	if len(rows) != 10 || rows[0] != itoa(ids[50]) {
		t.Fatalf("second page: %v", rows)
	}
	// 10,000.00 on hand; the 51st payout of 10.00 leaves 10,000 - 51 × 10.
	if !strings.Contains(second.body, "9,490.00 USD left, after those above") {
		t.Error("after approving the 51st payout does not count the 50 on the first page")
	}
	if strings.Contains(second.body, `href="/queue?page=3"`) || !strings.Contains(second.body, `href="/queue"`) {
		t.Error("the last page links onwards, or not back")
	}
	if live := b.get("/queue/live?page=2"); live.status != 200 || len(attrs(live.body, "queue-row", "data-payout")) != 10 {
		t.Errorf("the live part of page 2: status %d", live.status)
	}
}
