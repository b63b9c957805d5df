package payout

import (
	"strings"
	"testing"
)

// wantMoves is the transition table written out by hand: one row per "from"
// state, one column per "to" state, x where CanMove must say yes.
const wantMoves = `
                  sub awa pen cfg cfd suc fai cng cnd wdr exp rej unk
submitting         .   x   x   .   .   .   x   .   x   x   x   x   x
awaiting_provider  .   .   x   .   .   .   x   .   x   .   x   x   x
pending_approval   .   .   .   x   .   .   x   x   x   .   x   .   x
confirming         .   .   .   .   x   x   x   .   x   .   x   .   x
confirmed          .   .   .   .   .   x   x   .   .   .   .   .   x
succeeded          .   .   .   .   .   .   .   .   .   .   .   .   .
failed             .   .   .   .   .   .   .   .   .   .   .   .   .
cancelling         .   .   .   .   .   .   x   .   x   .   x   .   x
cancelled          .   .   .   .   .   .   .   .   .   .   .   .   .
withdrawn          .   .   .   .   .   .   .   .   .   .   .   .   .
expired            .   .   .   .   .   .   .   .   .   .   .   .   .
rejected           .   .   .   .   .   .   .   .   .   .   .   .   .
unknown            .   x   x   .   x   x   x   x   x   .   x   x   .
`

func TestCanMove(t *testing.T) {
	columns := []State{
		StateSubmitting, StateAwaitingProvider, StatePendingApproval, StateConfirming,
		StateConfirmed, StateSucceeded, StateFailed, StateCancelling, StateCancelled,
		StateWithdrawn, StateExpired, StateRejected, StateUnknown,
	}
	lines := strings.Split(strings.TrimSpace(wantMoves), "\n")[1:]
	if len(lines) != len(AllStates()) {
		t.Fatalf("table has %d rows; want one per state (%d)", len(lines), len(AllStates()))
	}
	seen := map[State]bool{}
	for _, line := range lines {
		fields := strings.Fields(line)
		from := State(fields[0])
		if !from.Valid() || len(fields) != 1+len(columns) {
			t.Fatalf("bad table row %q", line)
		}
		seen[from] = true
		for i, mark := range fields[1:] {
			to := columns[i]
			want := mark == "x"
			if got := CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v; want %v", from, to, got, want)
			}
		}
	}
	for _, s := range AllStates() {
		if !seen[s] {
			t.Errorf("table has no row for %s", s)
		}
	}
}

func TestCanMoveInvalid(t *testing.T) {
	for _, bad := range []State{"", "bogus", "PENDING_APPROVAL", "pending approval"} {
		for _, s := range AllStates() {
			if CanMove(bad, s) {
				t.Errorf("CanMove(%q, %s) = true; want false", bad, s)
			}
			if CanMove(s, bad) {
				t.Errorf("CanMove(%s, %q) = true; want false", s, bad)
			}
		}
	}
}

// TestMoneyOnlyAfterConfirm restates the rule behind the table: a payout can
// reach confirmed or succeeded only through our own confirm (or an unknown
// that follows it), never straight from a webhook.
func TestMoneyOnlyAfterConfirm(t *testing.T) {
	for _, from := range AllStates() {
		for _, to := range []State{StateConfirmed, StateSucceeded} {
			allowed := from == StateConfirming || from == StateConfirmed || from == StateUnknown
			if CanMove(from, to) && !allowed {
				t.Errorf("CanMove(%s, %s) = true; money would move without our confirm", from, to)
			}
		}
		if CanMove(from, StateConfirming) && from != StatePendingApproval {
			t.Errorf("CanMove(%s, confirming) = true; only a pending payout can be confirmed", from)
		}
	}
}

func TestStateValid(t *testing.T) {
	for _, s := range AllStates() {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false; want true", s)
		}
	}
	for _, s := range []State{"", "bogus", "Submitting", "pending-approval", " unknown"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true; want false", s)
		}
	}
	if n := len(AllStates()); n != 13 {
		t.Errorf("len(AllStates()) = %d; want 13", n)
	}
}

func TestStateFinal(t *testing.T) {
	want := map[State]bool{
		StateSucceeded: true, StateFailed: true, StateCancelled: true,
		StateWithdrawn: true, StateExpired: true, StateRejected: true,
	}
	for _, s := range append(AllStates(), "", "bogus") {
		if got := s.Final(); got != want[s] {
			t.Errorf("%q.Final() = %v; want %v", s, got, want[s])
		}
	}
}

func TestStateLabel(t *testing.T) {
	want := map[State]string{
		StateSubmitting:       "Submitting",
		StateAwaitingProvider: "Awaiting provider",
		StatePendingApproval:  "Pending approval",
		StateConfirming:       "Confirming",
		StateConfirmed:        "Confirmed",
		StateSucceeded:        "Succeeded",
		StateFailed:           "Failed",
		StateCancelling:       "Cancelling",
		StateCancelled:        "Cancelled",
		StateWithdrawn:        "Withdrawn",
		StateExpired:          "Expired",
		StateRejected:         "Rejected",
		StateUnknown:          "Outcome unknown",
		"bogus":               "Invalid state",
	}
	for s, w := range want {
		if got := s.Label(); got != w {
			t.Errorf("%q.Label() = %q; want %q", s, got, w)
		}
	}
}

func TestFromProvider(t *testing.T) {
	tests := []struct {
		session, payout, next, code string
		confirmed                   bool
		want                        State
	}{
		// Started, the provider is checking it.
		{"created", "", "", "", false, StateAwaitingProvider},
		{"in_progress", "", "", "", false, StateAwaitingProvider},
		{"in_progress", "in_progress", "", "", false, StateAwaitingProvider},
		// ready_to_confirm.
		{"in_progress", "pending", "confirm", "", false, StatePendingApproval},
		{"in_progress", "pending", "", "", false, StatePendingApproval},
		{"in_progress", "in_progress", "confirm", "", false, StatePendingApproval},
		// Still waiting for a confirm we sent: it never landed.
		{"in_progress", "pending", "confirm", "", true, StatePendingApproval},
		// After our confirm, either payout status (provider versions differ).
		{"in_progress", "in_progress", "", "", true, StateConfirmed},
		{"in_progress", "pending", "", "", true, StateConfirmed},
		// payment_finished.
		{"accepted", "succeeded", "", "", true, StateSucceeded},
		{"in_progress", "succeeded", "", "", true, StateSucceeded},
		{"cancelled", "failed", "", "declined_by_issuer_bank", true, StateFailed},
		{"cancelled", "failed", "", "card_number_does_not_exist", false, StateFailed},
		{"canceled", "failed", "", "insufficient_wallet_balance", false, StateFailed},
		{"in_progress", "failed", "", "", false, StateFailed},
		{"cancelled", "failed", "", "session_cancelled_by_partner", false, StateCancelled},
		{"cancelled", "failed", "", "confirm_timeout", false, StateExpired},
		{"cancelled", "failed", "", "confirm_timeout", true, StateExpired},
		{"cancelled", "", "", "", false, StateCancelled},
		// A success we never confirmed: money moved without four eyes.
		{"accepted", "succeeded", "", "", false, StateUnknown},
		{"in_progress", "succeeded", "", "", false, StateUnknown},
		// Session error is not final, whatever the payout says.
		{"error", "failed", "", "internal_error", true, StateUnknown},
		{"error", "succeeded", "", "", true, StateUnknown},
		{"error", "pending", "confirm", "", false, StateUnknown},
		{"error", "", "", "", false, StateUnknown},
		// Reports that contradict themselves or what we did.
		{"accepted", "failed", "", "", true, StateUnknown},
		{"accepted", "pending", "", "", true, StateUnknown},
		{"accepted", "", "", "", true, StateUnknown},
		{"cancelled", "succeeded", "", "", true, StateUnknown},
		{"cancelled", "pending", "confirm", "", false, StateUnknown},
		{"created", "", "", "", true, StateUnknown},
		// Values we do not know.
		{"", "", "", "", false, StateUnknown},
		{"weird", "succeeded", "", "", true, StateUnknown},
		{"in_progress", "weird", "", "", true, StateUnknown},
		{"ACCEPTED", "SUCCEEDED", "", "", true, StateUnknown},
	}
	for _, tt := range tests {
		got := FromProvider(tt.session, tt.payout, tt.next, tt.code, tt.confirmed)
		if got != tt.want {
			t.Errorf("FromProvider(%q, %q, %q, %q, %v) = %s; want %s",
				tt.session, tt.payout, tt.next, tt.code, tt.confirmed, got, tt.want)
		}
	}
}
