package payout

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"countersign/fail"
	"countersign/store"
)

// setRoles changes a user's roles and active flag behind the service's back,
// as an admin would.
func (e *env) setAccess(a Actor, active bool, roles ...Role) {
	e.t.Helper()
	var rs []string
	for _, r := range roles {
		rs = append(rs, string(r))
	}
	if err := e.db.UpdateUserAccess(context.Background(), a.UserID, a.Email, rs, active); err != nil {
		e.t.Fatal(err)
	}
}

// large is a payout that needs two approvers under testPolicy.
func large(pan string) Draft {
	d := draft(pan)
	d.Amount = "1,500.00"
	return d
}

// TestApprovalsLapseWithTheirApprovers: an approval counts only while its
// approver is active and holds the approver role, checked when the payout
// is claimed.
func TestApprovalsLapseWithTheirApprovers(t *testing.T) {
	for name, lapse := range map[string]func(e *env, a Actor){
		"deactivated":   func(e *env, a Actor) { e.setAccess(a, false, RoleApprover) },
		"lost the role": func(e *env, a Actor) { e.setAccess(a, true, RoleAuditor) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			p := e.pending(large(visa))
			p = e.approve(e.approvers[0], p)
			lapse(e, e.approvers[0])
			got := e.approve(e.approvers[1], p)
			if State(got.State) != StatePendingApproval {
				t.Fatalf("second approval with the first lapsed: %s; want still pending_approval\n%s", got.State, e.timeline(p.ID))
			}
			if n := e.sb.CallCount("session/confirm"); n != 0 {
				t.Fatalf("session/confirm calls = %d; want 0", n)
			}
			e.approve(e.approvers[2], got)
			e.waitState(p.ID, StateSucceeded)
		})
	}
}

// TestDecidersAreReadFromTheDatabase: what the session claims about someone
// counts for nothing; the roles and the active flag are read where the
// decision is made.
func TestDecidersAreReadFromTheDatabase(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(draft(visa))
	e.setAccess(e.approvers[0], true, RoleAuditor)
	if _, err := e.s().Approve(ctx, e.approvers[0], p.ID, p.Version); !errors.Is(err, ErrNotApprover) {
		t.Errorf("approver whose role was removed: %v; want ErrNotApprover", err)
	}
	e.setAccess(e.approvers[1], false, RoleApprover)
	if _, err := e.s().Approve(ctx, e.approvers[1], p.ID, p.Version); !errors.Is(err, ErrNotApprover) {
		t.Errorf("deactivated approver: %v; want ErrNotApprover", err)
	}
	if _, err := e.s().Cancel(ctx, e.approvers[1], p.ID, p.Version, "no"); !errors.Is(err, ErrCannotCancel) {
		t.Errorf("deactivated approver cancels: %v; want ErrCannotCancel", err)
	}
}

// TestSplittingNeedsTwoApprovals: two payouts just below the threshold to the
// same card within 24 hours count together.
func TestSplittingNeedsTwoApprovals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	first := draft(visa)
	first.Amount = "999.00"
	p1 := e.pending(first)
	need, err := e.s().Requirement(ctx, p1)
	if err != nil || need.Count != 1 {
		t.Fatalf("first half: %+v, %v; want one approver", need, err)
	}
	e.approve(e.approvers[0], p1)
	e.waitState(p1.ID, StateSucceeded)

	e.clock.Advance(time.Minute)
	second := draft(visa)
	second.Amount, second.FullName, second.ConfirmDuplicate = "999.50", "JOHN  johnson", true
	p2 := e.pending(second)
	need, err = e.s().Requirement(ctx, p2)
	if err != nil || need.Count != 2 || !strings.Contains(need.Reason, "1 other payout") || !strings.Contains(need.Reason, "1,998.50 USD") {
		t.Fatalf("second half: %+v, %v; want two approvers, saying why", need, err)
	}
	got := e.approve(e.approvers[0], p2)
	if State(got.State) != StatePendingApproval {
		t.Fatalf("the second half was paid on one approval:\n%s", e.timeline(p2.ID))
	}
	if es := e.audit(store.AuditFilter{ObjectType: "payout", ObjectID: strconv.FormatInt(p2.ID, 10), Action: "payout.approve"}); len(es) == 0 || !strings.Contains(es[0].Detail, "other payout") {
		t.Errorf("the approval's audit entry does not say why two are needed: %+v", es)
	}
	e.approve(e.approvers[1], got)
	e.waitState(p2.ID, StateSucceeded)
}

func TestSplittingCountsOnlyTheSameCardAndLiveStates(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	base := draft(visa)
	base.Amount = "600.00"
	cancelled := e.pending(base)
	if _, err := e.s().Cancel(ctx, e.approvers[0], cancelled.ID, cancelled.Version, "wrong amount"); err != nil {
		t.Fatal(err)
	}
	e.waitState(cancelled.ID, StateCancelled)
	other := base
	other.FullName, other.ConfirmDuplicate = "Jane Johnson", true // same card, another person
	e.pending(other)
	euro := base
	euro.Currency, euro.ConfirmDuplicate = "EUR", true
	e.pending(euro)

	again := base
	again.ConfirmDuplicate = true
	p := e.pending(again)
	if need, err := e.s().Requirement(ctx, p); err != nil || need.Count != 1 {
		t.Errorf("with only a cancelled payout, another name and another currency before it: %+v, %v; want one approver", need, err)
	}
	// 24 hours later, the first payouts no longer count.
	live := e.pending(again)
	if need, _ := e.s().Requirement(ctx, live); need.Count != 2 {
		t.Fatalf("600 + 600 USD to one card: %+v; want two", need)
	}
	e.clock.Advance(SplitWindow + time.Minute)
	if need, _ := e.s().Requirement(ctx, live); need.Count != 1 {
		t.Errorf("a day later: %+v; want one", need)
	}
}

// TestACurrencyWithNoThresholdNeedsTwo: fail safe.
func TestACurrencyWithNoThresholdNeedsTwo(t *testing.T) {
	e := newEnv(t, envOptions{})
	d := draft(visa)
	d.Currency, d.Amount = "RUB", "1.00"
	p := e.pending(d)
	need, err := e.s().Requirement(context.Background(), p)
	if err != nil || need.Count != 2 || !strings.Contains(need.Reason, "no threshold is set for RUB") {
		t.Fatalf("RUB with no threshold: %+v, %v", need, err)
	}
	got := e.approve(e.approvers[0], p)
	if State(got.State) != StatePendingApproval {
		t.Fatalf("paid on one approval:\n%s", e.timeline(p.ID))
	}
	e.approve(e.approvers[1], got)
	e.waitState(p.ID, StateSucceeded)
}

// TestPolicyIsReadWhereItIsEnforced: a policy committed after the approver
// opened the payout applies to their approval.
func TestPolicyIsReadWhereItIsEnforced(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.pending(draft(visa))
	if need, _ := e.s().Requirement(context.Background(), p); need.Count != 1 {
		t.Fatalf("before: %+v", need)
	}
	e.setPolicy(Policy{Thresholds: map[string]int64{"USD": 1000}})
	if got := e.approve(e.approvers[0], p); State(got.State) != StatePendingApproval {
		t.Errorf("approved under the old policy:\n%s", e.timeline(p.ID))
	}
}

// TestSavedCardIsPaidOnlyToItsRecipient: the name sent, shown and exported
// is the recipient's; another name is refused.
func TestSavedCardIsPaidOnlyToItsRecipient(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	card := e.savedCard("John Johnson", visa)
	var ve *fail.FieldError
	d := Draft{FullName: "Eve Mallory", Amount: "10.00", Currency: "USD", CardID: card.ID}
	if _, err := e.s().Submit(ctx, e.maker, d); !errors.As(err, &ve) || !strings.Contains(ve.Fields["full_name"], "belongs to John Johnson") {
		t.Fatalf("saved card to another name: %v; want a full_name refusal naming the owner", err)
	}
	for _, typed := range []string{"", "  john   JOHNSON "} {
		d.FullName, d.ConfirmDuplicate = typed, true
		p := e.pending(d)
		if p.FullName != "John Johnson" {
			t.Errorf("typed %q: payout name %q; want the recipient's", typed, p.FullName)
		}
		sess, err := e.client.Status(ctx, p.ProviderSessionID)
		if err != nil {
			t.Fatal(err)
		}
		if po := sess.Payout(); po == nil || po.ParticipantDetails == nil || po.ParticipantDetails.Recipient.FullName != "John Johnson" {
			t.Errorf("typed %q: the provider received %+v; want John Johnson", typed, po)
		}
	}
}

// savedCard saves and verifies a card for a new recipient.
func (e *env) savedCard(name, pan string) *store.Card {
	e.t.Helper()
	ctx := context.Background()
	hash, err := e.sb.Tokenize(pan)
	if err != nil {
		e.t.Fatal(err)
	}
	r := store.Recipient{FullName: name, CreatedBy: e.maker.UserID}
	if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRecipient(ctx, &r) }); err != nil {
		e.t.Fatal(err)
	}
	card, err := e.s().AddCard(ctx, e.maker, r.ID, hash)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s().VerifyCard(ctx, e.approvers[0], card.ID); err != nil {
		e.t.Fatal(err)
	}
	return card
}

// TestDecisionsNeedAProofOfTheSecondFactor: without a stepup.Proof (or with
// someone else's), approving, cancelling and verifying a card are refused
// and audited.
func TestDecisionsNeedAProofOfTheSecondFactor(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(draft(visa))
	bare := e.approvers[0]
	bare.StepUp = e.approvers[1].StepUp // someone else's proof proves nothing
	if _, err := e.s().Approve(ctx, bare, p.ID, p.Version); !errors.Is(err, ErrStepUp) {
		t.Errorf("approve without a proof: %v; want ErrStepUp", err)
	}
	if _, err := e.s().Cancel(ctx, bare, p.ID, p.Version, "no"); !errors.Is(err, ErrStepUp) {
		t.Errorf("cancel without a proof: %v; want ErrStepUp", err)
	}
	if got := e.payout(p.ID); got.Version != p.Version || State(got.State) != StatePendingApproval {
		t.Errorf("payout moved: %s v%d", got.State, got.Version)
	}
	if n := e.countAudit(p.ID, "payout.", "denied"); n != 2 {
		t.Errorf("refusals audited: %d; want 2", n)
	}

	hash, _ := e.sb.Tokenize(visa)
	r := store.Recipient{FullName: "John Johnson", CreatedBy: e.maker.UserID}
	e.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRecipient(ctx, &r) })
	card, err := e.s().AddCard(ctx, e.maker, r.ID, hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s().VerifyCard(ctx, bare, card.ID); !errors.Is(err, ErrStepUp) {
		t.Errorf("verify a card without a proof: %v; want ErrStepUp", err)
	}
	if c, _ := e.db.CardByID(ctx, card.ID); c.Verified() {
		t.Error("the card was verified")
	}
}
