package payout

import (
	"context"
	"errors"
	"strings"
	"testing"

	"countersign/smartglocal/sandbox"
	"countersign/store"
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

func TestLowBalanceLevelsAdminOnly(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	levels := map[string]int64{"USD": 50000}
	if err := e.s().SetLowBalanceLevels(ctx, e.approvers[0], levels); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("approver sets levels: %v, want ErrNotAdmin", err)
	}
	if err := e.s().SetLowBalanceLevels(ctx, e.admin, levels); err != nil {
		t.Fatal(err)
	}
	got, err := e.s().LowBalanceLevels(ctx)
	if err != nil || got["USD"] != 50000 || len(got) != 1 {
		t.Errorf("levels = %v, %v; want USD 50000", got, err)
	}
	if n := len(e.audit(store.AuditFilter{Action: "settings.balance_low"})); n != 2 {
		t.Errorf("settings.balance_low audit entries = %d, want 2 (one denied, one ok)", n)
	}
}
