package payout

import (
	"context"
	"errors"
	"strings"
	"testing"

	"countersign/smartglocal/sandbox"
)

// TestApproveRefusesOverdraw: with 100.00 USD on hand, approving 60.00 leaves
// 40.00, so approving another 50.00 is refused and names the shortfall.
func TestApproveRefusesOverdraw(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: sandbox.Config{Wallets: map[string]int64{"usd": 10000}}})
	ctx := context.Background()
	if err := RefreshBalance(ctx, e.db, e.client); err != nil {
		t.Fatal(err)
	}
	d1, d2 := draft("4242424242424242"), draft("5555555555554444")
	d1.Amount, d2.Amount = "60.00", "50.00"
	first, second := e.pending(d1), e.pending(d2)

	e.approve(e.approvers[0], first)
	e.waitState(first.ID, StateSucceeded)

	_, err := e.s().Approve(ctx, e.approvers[1], second.ID, second.Version)
	if !errors.Is(err, ErrOverdraw) {
		t.Fatalf("second approval: %v, want ErrOverdraw", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "overdraw USD by 10.00") {
		t.Errorf("refusal %q does not name the shortfall", msg)
	}
	if got := e.payout(second.ID); State(got.State) != StatePendingApproval {
		t.Errorf("refused payout is %s, want still pending_approval", got.State)
	}
	if n := e.sb.CallCount("session/confirm"); n != 1 {
		t.Errorf("session/confirm calls = %d, want 1", n)
	}
	if e.countAudit(second.ID, "payout.approve", "denied") != 1 {
		t.Errorf("refused approval not audited as denied:\n%s", e.timeline(second.ID))
	}
}
