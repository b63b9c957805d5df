package payout

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"countersign/fail"
)

func TestAllRoles(t *testing.T) {
	want := []Role{"maker", "approver", "admin", "auditor"}
	if got := AllRoles(); !slices.Equal(got, want) {
		t.Errorf("AllRoles() = %v; want %v", got, want)
	}
}

// roleSets returns all 16 subsets of the four roles.
func roleSets() [][]Role {
	all := AllRoles()
	var sets [][]Role
	for mask := range 1 << len(all) {
		var set []Role
		for i, r := range all {
			if mask&(1<<i) != 0 {
				set = append(set, r)
			}
		}
		sets = append(sets, set)
	}
	return sets
}

// The people around one payout in the exhaustive tests.
const (
	makerID    = 1
	editorID   = 2
	approvedID = 4
	strangerID = 9
)

func facts(s State) Facts {
	return Facts{State: s, MakerID: makerID, EditorIDs: []int64{3, editorID}, ApproverIDs: []int64{approvedID}}
}

var people = []struct {
	name string
	id   int64
}{
	{"maker", makerID},
	{"editor", editorID},
	{"prior approver", approvedID},
	{"stranger", strangerID},
}

func TestCheckApprovalExhaustive(t *testing.T) {
	if n := len(roleSets()); n != 16 {
		t.Fatalf("len(roleSets()) = %d; want 16", n)
	}
	for _, roles := range roleSets() {
		isApprover := slices.Contains(roles, RoleApprover)
		for _, p := range people {
			for _, s := range AllStates() {
				var want error
				switch {
				case !isApprover:
					want = ErrNotApprover
				case p.name == "maker" || p.name == "editor":
					want = ErrOwnPayout // admin or not
				case p.name == "prior approver":
					want = ErrAlreadyApproved
				case s != StatePendingApproval:
					want = ErrNotPending
				}
				got := CheckApproval(Approver{UserID: p.id, Roles: roles}, facts(s))
				if !errors.Is(got, want) || (got == nil) != (want == nil) {
					t.Errorf("CheckApproval(%s with roles %v, %s) = %v; want %v", p.name, roles, s, got, want)
				}
			}
		}
	}
}

func TestCheckApprovalMessages(t *testing.T) {
	pending := facts(StatePendingApproval)
	tests := []struct {
		name string
		a    Approver
		f    Facts
		want string
	}{
		{"not approver", Approver{strangerID, []Role{RoleAdmin}}, pending, "Only approvers can approve payouts"},
		{"maker", Approver{makerID, []Role{RoleApprover, RoleAdmin}}, pending, "You prepared this payout, so someone else must approve it"},
		{"editor", Approver{editorID, []Role{RoleApprover, RoleAdmin}}, pending, "You changed this payout, so someone else must approve it"},
		{"again", Approver{approvedID, []Role{RoleApprover}}, pending, "You have already approved this payout"},
		{"too late", Approver{strangerID, []Role{RoleApprover}}, facts(StateConfirming), "This payout is no longer waiting for approval"},
	}
	for _, tt := range tests {
		err := CheckApproval(tt.a, tt.f)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: CheckApproval = %v; want %q", tt.name, err, tt.want)
		}
		var pe *fail.Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: CheckApproval error %T; want *Error", tt.name, err)
		}
	}
}

func TestCheckApprovalEdgeCases(t *testing.T) {
	approver := []Role{RoleApprover}
	tests := []struct {
		name string
		a    Approver
		f    Facts
		want error
	}{
		{"plain approval", Approver{strangerID, approver}, facts(StatePendingApproval), nil},
		{"second approver", Approver{5, approver}, Facts{StatePendingApproval, makerID, nil, []int64{4}}, nil},
		{"no editors, no approvals", Approver{5, approver}, Facts{State: StatePendingApproval, MakerID: makerID}, nil},
		{"duplicate roles", Approver{strangerID, []Role{RoleApprover, RoleApprover}}, facts(StatePendingApproval), nil},
		{"no roles", Approver{strangerID, nil}, facts(StatePendingApproval), ErrNotApprover},
		{"role spelled differently", Approver{strangerID, []Role{"Approver"}}, facts(StatePendingApproval), ErrNotApprover},
		{"role with space", Approver{strangerID, []Role{"approver "}}, facts(StatePendingApproval), ErrNotApprover},
		{"no user", Approver{0, approver}, facts(StatePendingApproval), ErrNotApprover},
		{"negative user", Approver{-1, approver}, facts(StatePendingApproval), ErrNotApprover},
		{"maker also listed as approver", Approver{makerID, approver}, Facts{StatePendingApproval, makerID, nil, []int64{makerID}}, ErrOwnPayout},
		{"maker also listed as editor", Approver{makerID, approver}, Facts{StatePendingApproval, makerID, []int64{makerID}, nil}, ErrOwnPayout},
		{"editor who already approved", Approver{editorID, approver}, Facts{StatePendingApproval, makerID, []int64{editorID}, []int64{editorID}}, ErrOwnPayout},
		{"maker after the payout finished", Approver{makerID, approver}, facts(StateSucceeded), ErrOwnPayout},
		{"invalid state", Approver{strangerID, approver}, facts("bogus"), ErrNotPending},
		{"empty state", Approver{strangerID, approver}, facts(""), ErrNotPending},
	}
	for _, tt := range tests {
		got := CheckApproval(tt.a, tt.f)
		if !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: CheckApproval = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestRequired(t *testing.T) {
	p := Policy{Thresholds: map[string]int64{"USD": 100000, "JPY": 150000, "eur": 50000}}
	tests := []struct {
		currency string
		amount   int64
		want     int
	}{
		{"USD", 1, 1},
		{"USD", 99999, 1},
		{"USD", 100000, 2}, // at the threshold
		{"USD", 100001, 2},
		{"usd", 99999, 1},
		{"usd", 100000, 2},
		{"Usd", 1 << 62, 2},
		{"JPY", 149999, 1},
		{"JPY", 150000, 2},
		{"EUR", 49999, 1}, // a lower-case key still applies
		{"EUR", 50000, 2},
		{"GBP", 1, 2}, // no threshold: always a second approval (fail safe)
		{"KWD", 100000, 2},
		{"XAU", 1, 2}, // not a currency: ask for more, not less
		{"", 1, 2},
		{"uſd", 1, 2},
	}
	for _, tt := range tests {
		if got := p.Required(tt.currency, tt.amount); got != tt.want {
			t.Errorf("Required(%q, %d) = %d; want %d", tt.currency, tt.amount, got, tt.want)
		}
	}

	tricky := []struct {
		name       string
		thresholds map[string]int64
		currency   string
		amount     int64
		want       int
	}{
		{"nil map", nil, "USD", 1, 2},
		{"empty map", map[string]int64{}, "USD", 1, 2},
		{"zero threshold", map[string]int64{"USD": 0}, "USD", 1, 2},
		{"negative threshold", map[string]int64{"USD": -5}, "USD", 1, 2},
		{"two spellings, lower wins", map[string]int64{"USD": 1000, "usd": 500}, "USD", 700, 2},
		{"two spellings, below both", map[string]int64{"USD": 1000, "usd": 500}, "USD", 499, 1},
		{"look-alike key ignored", map[string]int64{"uſd": 1 << 62}, "USD", 1000, 2},
		{"other currency only", map[string]int64{"EUR": 1 << 62}, "USD", 1000, 2},
		{"two spellings, lower wins whatever the order", map[string]int64{"usd": 500, "USD": 1000}, "USD", 499, 1},
	}
	for _, tt := range tricky {
		p := Policy{Thresholds: tt.thresholds}
		if got := p.Required(tt.currency, tt.amount); got != tt.want {
			t.Errorf("%s: Required(%q, %d) = %d; want %d", tt.name, tt.currency, tt.amount, got, tt.want)
		}
	}
}

func TestMet(t *testing.T) {
	p := Policy{Thresholds: map[string]int64{"USD": 100000}}
	const small, large = 5000, 100000
	editors := []int64{2, 3}
	tests := []struct {
		name      string
		currency  string
		amount    int64
		approvers []int64
		want      bool
	}{
		{"small, none", "USD", small, nil, false},
		{"small, one", "USD", small, []int64{7}, true},
		{"small, two", "USD", small, []int64{7, 8}, true},
		{"small, only the maker", "USD", small, []int64{1}, false},
		{"small, only an editor", "USD", small, []int64{3}, false},
		{"small, zero id", "USD", small, []int64{0}, false},
		{"small, negative id", "USD", small, []int64{-7}, false},
		{"large, none", "USD", large, nil, false},
		{"large, one", "USD", large, []int64{7}, false},
		{"large, two", "USD", large, []int64{7, 8}, true},
		{"large, three", "USD", large, []int64{7, 8, 9}, true},
		{"large, same person twice", "USD", large, []int64{7, 7}, false},
		{"large, same person thrice", "USD", large, []int64{7, 7, 7}, false},
		{"large, maker sneaks in", "USD", large, []int64{7, 1}, false},
		{"large, maker first", "USD", large, []int64{1, 7}, false},
		{"large, editor sneaks in", "USD", large, []int64{7, 2}, false},
		{"large, maker and editor", "USD", large, []int64{1, 2, 3}, false},
		{"large, zero id", "USD", large, []int64{7, 0}, false},
		{"large, two plus noise", "USD", large, []int64{1, 7, 2, 7, 0, 8}, true},
		{"large, lower-case currency", "usd", large, []int64{7}, false},
		{"small, no threshold for EUR", "EUR", small, []int64{7}, false},
		{"small, no threshold for EUR, two", "EUR", small, []int64{7, 8}, true},
		{"unknown currency, one", "XAU", small, []int64{7}, false},
		{"unknown currency, two", "XAU", small, []int64{7, 8}, true},
	}
	for _, tt := range tests {
		if got := p.Met(tt.currency, tt.amount, tt.approvers, 1, editors); got != tt.want {
			t.Errorf("%s: Met(%q, %d, %v, maker 1, editors %v) = %v; want %v",
				tt.name, tt.currency, tt.amount, tt.approvers, editors, got, tt.want)
		}
	}
}

func TestCheckCancelExhaustive(t *testing.T) {
	for _, roles := range roleSets() {
		isApprover := slices.Contains(roles, RoleApprover)
		isMaker := slices.Contains(roles, RoleMaker)
		for _, p := range people {
			for _, s := range AllStates() {
				var want error
				switch {
				case !isApprover && !(p.name == "maker" && isMaker):
					want = ErrCannotCancel // editors, admins and auditors may not, by those alone
				case s != StatePendingApproval:
					want = ErrNotPending
				}
				got := CheckCancel(p.id, roles, facts(s), "wrong card")
				if !errors.Is(got, want) || (got == nil) != (want == nil) {
					t.Errorf("CheckCancel(%s with roles %v, %s) = %v; want %v", p.name, roles, s, got, want)
				}
			}
		}
	}
}

func TestCheckCancelReason(t *testing.T) {
	tests := []struct {
		reason string
		want   error
	}{
		{"wrong card", nil},
		{"x", nil},
		{"  duplicate of #41  ", nil},
		{strings.Repeat("a", 500), nil},
		{" " + strings.Repeat("a", 500) + "\n", nil}, // counted after trimming
		{strings.Repeat("é", 500), nil},              // characters, not bytes
		{strings.Repeat("a", 501), ErrReasonInvalid},
		{strings.Repeat("é", 501), ErrReasonInvalid},
		{"", ErrReasonRequired},
		{"   ", ErrReasonRequired},
		{"\t\n\r ", ErrReasonRequired},
		{"\u00a0\u3000", ErrReasonRequired}, // Unicode spaces are blank too
		// The one rule for reasons (text.CheckReason): one line, no hidden
		// direction marks, never a card number.
		{"wrong\ncard", ErrReasonInvalid},
		{"wrong \u202edrac", ErrReasonInvalid},
		{"use 4000 0566 5566 5556 instead", ErrReasonInvalid},
	}
	for _, tt := range tests {
		got := CheckCancel(strangerID, []Role{RoleApprover}, facts(StatePendingApproval), tt.reason)
		if !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("CheckCancel(reason %s) = %v; want %v", short(tt.reason), got, tt.want)
		}
	}
}

func TestCheckCancelEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		userID int64
		roles  []Role
		f      Facts
		reason string
		want   error
	}{
		{"maker who is also approver", makerID, []Role{RoleMaker, RoleApprover}, facts(StatePendingApproval), "r", nil},
		{"maker without maker role", makerID, []Role{RoleAuditor}, facts(StatePendingApproval), "r", ErrCannotCancel},
		{"another maker", strangerID, []Role{RoleMaker}, facts(StatePendingApproval), "r", ErrCannotCancel},
		{"admin", strangerID, []Role{RoleAdmin}, facts(StatePendingApproval), "r", ErrCannotCancel},
		{"no user", 0, []Role{RoleApprover}, facts(StatePendingApproval), "r", ErrCannotCancel},
		{"no user matching a zero maker", 0, []Role{RoleMaker}, Facts{State: StatePendingApproval}, "r", ErrCannotCancel},
		{"refusal comes before the reason", strangerID, nil, facts(StatePendingApproval), "", ErrCannotCancel},
		{"state comes before the reason", strangerID, []Role{RoleApprover}, facts(StateConfirming), "", ErrNotPending},
		{"already cancelling", strangerID, []Role{RoleApprover}, facts(StateCancelling), "r", ErrNotPending},
		{"outcome unknown", strangerID, []Role{RoleApprover}, facts(StateUnknown), "r", ErrNotPending},
	}
	for _, tt := range tests {
		got := CheckCancel(tt.userID, tt.roles, tt.f, tt.reason)
		if !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: CheckCancel = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func short(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%q… (%d bytes)", s[:20], len(s))
	}
	return fmt.Sprintf("%q", s)
}
