package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestTheApprovingAdminAloneCannotCompleteANewAccount: the link shown to the
// approver is one of two pieces. Without the handover code (which only the
// proposer may take) it sets no password, and the approver cannot take the
// code themselves.
func TestTheApprovingAdminAloneCannotCompleteANewAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := must(f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"maker"}}))
	got := f.approve(f.ben, c)
	for _, guess := range []string{"", "AAAAA-AAAAA"} {
		if _, err := f.s.RedeemLink(ctx, got.Link, guess, "ben-knows", ""); !errors.Is(err, ErrHandoverWrong) {
			t.Errorf("the approver's link with handover code %q: %v; want ErrHandoverWrong", guess, err)
		}
	}
	if _, _, err := f.s.TakeHandover(ctx, f.ben, c.ID); !errors.Is(err, ErrHandoverNotYours) {
		t.Errorf("the approver takes the handover code: %v; want ErrHandoverNotYours", err)
	}
	cleo := f.actor(f.user("cleo@example.com", "Cleo", "admin"))
	if _, _, err := f.s.TakeHandover(ctx, cleo, c.ID); !errors.Is(err, ErrHandoverNotYours) {
		t.Errorf("a third admin takes the handover code: %v; want ErrHandoverNotYours", err)
	}
	ivy, err := f.db.UserByEmail(ctx, "ivy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ivy.PasswordHash != "" {
		t.Error("the approver alone set the new account's password")
	}
	if n := len(f.audits("change.handover")); n != 2 {
		t.Errorf("refused handovers audited: %d; want 2", n)
	}
}

// TestTheProposingAdminAloneCannotCompleteANewAccount: the proposer gets the
// handover code once, after approval, but no link: the code opens nothing
// by itself, and it is not shown twice.
func TestTheProposingAdminAloneCannotCompleteANewAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := must(f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"maker"}}))
	if _, _, err := f.s.TakeHandover(ctx, f.ann, c.ID); !errors.Is(err, ErrNoOpenLink) {
		t.Errorf("handover before approval: %v; want ErrNoOpenLink", err)
	}
	f.approve(f.ben, c)
	code := f.handover(f.ann, c)
	if _, _, err := f.s.TakeHandover(ctx, f.ann, c.ID); !errors.Is(err, ErrHandoverTaken) {
		t.Errorf("the handover code a second time: %v; want ErrHandoverTaken", err)
	}
	for _, token := range []string{code, "", "not-a-token"} {
		if _, err := f.s.RedeemLink(ctx, token, code, "ann-knows", ""); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("the code with link %q: %v; want ErrLinkInvalid", token, err)
		}
	}
	ivy, _ := f.db.UserByEmail(ctx, "ivy@example.com")
	if ivy.PasswordHash != "" {
		t.Error("the proposer alone set the new account's password")
	}
}

// TestBothPiecesLetThePersonChooseTheirPassword: the person, given the link
// by one admin and the code by the other, sets their password; typed in
// lower case with spaces, the code still reads.
func TestBothPiecesLetThePersonChooseTheirPassword(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := must(f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"maker"}}))
	got := f.approve(f.ben, c)
	code := f.handover(f.ann, c)
	if len(code) != 11 || code[5] != '-' {
		t.Errorf("handover code %q; want two groups of five", code)
	}
	typed := " " + strings.ToLower(code[:5]) + " " + code[6:] + " "
	u, err := f.s.RedeemLink(ctx, got.Link, typed, "ivy-hash", "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	if f.load(u.ID).PasswordHash != "ivy-hash" {
		t.Error("the password was not set")
	}
	ok := 0
	for _, e := range f.audits("user.password_set") {
		if e.Outcome == "ok" {
			ok++
		}
	}
	if ok != 1 || len(f.audits("change.handover")) != 1 {
		t.Errorf("audited: %d password set, %d handovers; want 1 and 1", ok, len(f.audits("change.handover")))
	}
}

// TestWrongHandoverCodesBurnTheLink: each wrong code is refused, audited and
// counted; the fifth burns the link, so even the right code then fails.
func TestWrongHandoverCodesBurnTheLink(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ivy := f.user("ivy@example.com", "Ivy", "approver")
	c := must(f.s.ProposePasswordReset(ctx, f.ann, ivy.ID))
	got := f.approve(f.ben, c)
	code := f.handover(f.ann, c)
	for i := 1; i <= MaxHandoverFailures; i++ {
		want := ErrHandoverWrong
		if i == MaxHandoverFailures {
			want = ErrHandoverBurnt
		}
		if _, err := f.s.RedeemLink(ctx, got.Link, fmt.Sprintf("WRONG-%05d", i), "guess", ""); !errors.Is(err, want) {
			t.Errorf("wrong code %d: %v; want %v", i, err, want)
		}
	}
	if _, err := f.s.RedeemLink(ctx, got.Link, code, "ivy-hash", ""); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("the right code after %d wrong ones: %v; want ErrLinkInvalid", MaxHandoverFailures, err)
	}
	if _, err := f.s.Link(ctx, got.Link); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("opening a burnt link: %v; want ErrLinkInvalid", err)
	}
	if f.load(ivy.ID).PasswordHash != "" {
		t.Error("a burnt link set a password")
	}
	denied := 0
	for _, e := range f.audits("user.password_set") {
		if e.Outcome == "denied" {
			denied++
		}
	}
	if denied != MaxHandoverFailures+1 {
		t.Errorf("refusals audited: %d; want %d", denied, MaxHandoverFailures+1)
	}
}

// TestProposingPowerNeedsASecondFactor: like approving, proposing what grants
// power needs a fresh proof; what only takes power away does not.
func TestProposingPowerNeedsASecondFactor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ivy := f.user("ivy@example.com", "Ivy", "maker", "approver")
	bare := f.ann
	bare.StepUp = f.ben.StepUp // a proof, but another person's
	if _, err := f.s.ProposeUser(ctx, bare, NewUser{Email: "eve@example.com", Name: "Eve", Roles: []string{"approver"}}); !errors.Is(err, ErrStepUp) {
		t.Errorf("propose an account without a proof: %v; want ErrStepUp", err)
	}
	if _, err := f.s.ProposePasswordReset(ctx, bare, ivy.ID); !errors.Is(err, ErrStepUp) {
		t.Errorf("propose a reset without a proof: %v; want ErrStepUp", err)
	}
	if _, err := f.s.UpdateUser(ctx, bare, ivy.ID, Access{Name: "Ivy", Roles: []string{"maker", "approver", "admin"}, Active: true}); !errors.Is(err, ErrStepUp) {
		t.Errorf("propose a role without a proof: %v; want ErrStepUp", err)
	}
	if _, err := f.s.ChangeSettings(ctx, bare, Settings{Thresholds: map[string]int64{"USD": 1e9}}); !errors.Is(err, ErrStepUp) {
		t.Errorf("propose a looser policy without a proof: %v; want ErrStepUp", err)
	}
	if res, err := f.s.UpdateUser(ctx, bare, ivy.ID, Access{Name: "Ivy", Roles: []string{"maker"}, Active: true}); err != nil || len(res.Applied) != 1 {
		t.Errorf("remove a role without a proof: %+v, %v; want applied", res, err)
	}
	if n, _ := f.s.Waiting(ctx); n != 0 {
		t.Errorf("changes waiting: %d; want 0", n)
	}
	if u := f.load(ivy.ID); u.HasRole("approver") || u.HasRole("admin") {
		t.Errorf("roles = %v", u.Roles)
	}
}
