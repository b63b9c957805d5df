package payout

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
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

// otherVisa is another card number with visa's brand and last four.
const otherVisa = "4111111111174242"

// TestSplittingCountsOnlyTheSameCardAndLiveStates: a cancelled payout and
// another card that only shares brand and last four do not count; the same
// card under another name does, for 24 hours.
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
	other.CardNumber, other.ConfirmDuplicate = otherVisa, true // another card, same brand and last four
	e.pending(other)

	again := base
	again.ConfirmDuplicate = true
	p := e.pending(again)
	if need, err := e.s().Requirement(ctx, p); err != nil || need.Count != 1 {
		t.Errorf("with only a cancelled payout and another card before it: %+v, %v; want one approver", need, err)
	}
	// The same card under another name counts; 24 hours later it no longer does.
	renamed := again
	renamed.FullName = "Jane Johnson"
	live := e.pending(renamed)
	if need, _ := e.s().Requirement(ctx, live); need.Count != 2 {
		t.Fatalf("600 + 600 USD to one card under two names: %+v; want two", need)
	}
	e.clock.Advance(SplitWindow + time.Minute)
	if need, _ := e.s().Requirement(ctx, live); need.Count != 1 {
		t.Errorf("a day later: %+v; want one", need)
	}
}

// TestSplittingByNameDoesNotAvoidTwoApprovals is the audit's case: 600 USD
// four times to one Mastercard under "Bob Stone", "Bob Stone.", "B. Stone"
// and "Bob  Stone". The card is known by its number's keyed fingerprint,
// stored with the payout (never the number), so every one after the first
// needs two approvers.
func TestSplittingByNameDoesNotAvoidTwoApprovals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	const mastercard = "5555555555554444"
	var fingerprint string
	for i, name := range []string{"Bob Stone", "Bob Stone.", "B. Stone", "Bob  Stone"} {
		d := draft(mastercard)
		d.FullName, d.Amount, d.ConfirmDuplicate = name, "600.00", true
		p := e.pending(d)
		if p.CardFingerprint == "" || strings.Contains(p.CardFingerprint, "4444") || (fingerprint != "" && p.CardFingerprint != fingerprint) {
			t.Fatalf("%q: fingerprint %q; want one keyed fingerprint for the card, without its digits", name, p.CardFingerprint)
		}
		fingerprint = p.CardFingerprint
		need, err := e.s().Requirement(ctx, p)
		want := 2
		if i == 0 {
			want = 1
		}
		if err != nil || need.Count != want {
			t.Errorf("payout %d to %q: %+v, %v; want %d approver(s)", i+1, name, need, err, want)
		}
		if got := e.approve(e.approvers[0], p); i > 0 && State(got.State) != StatePendingApproval {
			t.Errorf("payout %d to %q was paid on one approval:\n%s", i+1, name, e.timeline(p.ID))
		}
	}
}

// TestSplittingAcrossCurrenciesNeedsTwo: 999 USD and 999 EUR to one card,
// under thresholds of 1,000 each, are 1.998 thresholds: the second needs
// two. 400 USD and 400 EUR (80%) need one.
func TestSplittingAcrossCurrenciesNeedsTwo(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.setPolicy(Policy{Thresholds: map[string]int64{"USD": 100000, "EUR": 100000, "GBP": 100000}})
	pay := func(pan, amount, currency string) *store.Payout {
		d := draft(pan)
		d.Amount, d.Currency, d.ConfirmDuplicate = amount, currency, true
		return e.pending(d)
	}
	pay(otherVisa, "400.00", "USD")
	small := pay(otherVisa, "400.00", "EUR")
	if need, err := e.s().Requirement(ctx, small); err != nil || need.Count != 1 || !strings.Contains(need.Reason, "80.0%") {
		t.Errorf("400 USD + 400 EUR: %+v, %v; want one approver at 80%% of a threshold", need, err)
	}

	usd := pay(visa, "999.00", "USD")
	if need, _ := e.s().Requirement(ctx, usd); need.Count != 1 {
		t.Fatalf("999 USD alone: %+v; want one", need)
	}
	eur := pay(visa, "999.00", "EUR")
	need, err := e.s().Requirement(ctx, eur)
	if err != nil || need.Count != 2 || !strings.Contains(need.Reason, "999.00 USD") || !strings.Contains(need.Reason, "199.8%") {
		t.Fatalf("999 USD then 999 EUR: %+v, %v; want two approvers, saying why", need, err)
	}
	if got := e.approve(e.approvers[0], eur); State(got.State) != StatePendingApproval {
		t.Errorf("the EUR half was paid on one approval:\n%s", e.timeline(eur.ID))
	}
	// A currency with no threshold among them weighs a whole threshold.
	pay(visa, "1.00", "RUB")
	if need, _ := e.s().Requirement(ctx, pay(visa, "1.00", "GBP")); need.Count != 2 || !strings.Contains(need.Reason, "no threshold set for RUB") {
		t.Errorf("after a JPY payout (no threshold): %+v; want two", need)
	}
}

// TestSplittingBetweenASavedAndATypedCardNeedsTwo: a saved card's number
// never reaches the console, so a typed payout counts with a saved card of
// the same brand and last four, whatever names they carry.
func TestSplittingBetweenASavedAndATypedCardNeedsTwo(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	card := e.savedCard("Bob Stone", visa)
	saved := e.pending(Draft{Amount: "600.00", Currency: "USD", CardID: card.ID})
	if need, _ := e.s().Requirement(ctx, saved); need.Count != 1 {
		t.Fatalf("the saved card alone: %+v; want one", need)
	}
	d := draft(visa)
	d.FullName, d.Amount, d.ConfirmDuplicate = "Robert Stone-Smith", "600.00", true
	typed := e.pending(d)
	for name, p := range map[string]*store.Payout{"typed after saved": typed, "saved before typed": saved} {
		if need, err := e.s().Requirement(ctx, p); err != nil || need.Count != 2 {
			t.Errorf("%s: %+v, %v; want two approvers", name, need, err)
		}
	}
	// The same card saved for another recipient is the same card.
	again := e.savedCard("Robert Stone", visa)
	if need, _ := e.s().Requirement(ctx, e.pending(Draft{Amount: "1.00", Currency: "USD", CardID: again.ID, ConfirmDuplicate: true})); need.Count != 2 {
		t.Errorf("the card saved again for another recipient: %+v; want two", need)
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

// TestCancellingASiblingReleasesAPayoutWhoseApprovalsNowMeetThePolicy is
// the audit's first liveness case: 600 USD waits with one approval because
// another 600 USD to the same card counted; once that one is cancelled, the
// one approval is enough, and the payout is confirmed without anyone.
func TestCancellingASiblingReleasesAPayoutWhoseApprovalsNowMeetThePolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	d := draft(visa)
	d.Amount = "600.00"
	sibling := e.pending(d)
	d.FullName, d.ConfirmDuplicate = "J. Johnson", true
	p := e.pending(d)
	if got := e.approve(e.approvers[0], p); State(got.State) != StatePendingApproval {
		t.Fatalf("1,200 USD to one card on one approval:\n%s", e.timeline(p.ID))
	}
	if _, err := e.s().Cancel(ctx, e.approvers[1], sibling.ID, sibling.Version, "sent twice"); err != nil {
		t.Fatal(err)
	}
	e.waitState(sibling.ID, StateCancelled)
	e.waitState(p.ID, StateSucceeded)
	if n := e.countAudit(p.ID, "payout.release", "ok"); n != 1 {
		t.Errorf("releases audited: %d; want 1\n%s", n, e.timeline(p.ID))
	}
	if n := e.sb.CallCount("session/confirm"); n != 1 {
		t.Errorf("session/confirm calls = %d; want 1", n)
	}
}

// TestPressingApproveAgainReleasesWhenTheApprovalsNowMeetThePolicy is the
// audit's second case: an approval that lapsed while the second approver
// approved counts again once the role is back; the second approver's button
// then releases the payout instead of answering "already approved". Pressed
// by both approvers and the reconciler at once, it is confirmed once.
func TestPressingApproveAgainReleasesWhenTheApprovalsNowMeetThePolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(large(visa))
	p = e.approve(e.approvers[0], p)
	e.setAccess(e.approvers[0], true, RoleAuditor)
	p = e.approve(e.approvers[1], p)
	if State(p.State) != StatePendingApproval {
		t.Fatalf("confirmed with a lapsed approval:\n%s", e.timeline(p.ID))
	}
	if _, err := e.s().Approve(ctx, e.approvers[1], p.ID, p.Version); !errors.Is(err, ErrAlreadyApproved) {
		t.Errorf("pressed again while one approval still lapsed: %v; want ErrAlreadyApproved", err)
	}
	e.setAccess(e.approvers[0], true, RoleApprover)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, a := range []Actor{e.approvers[0], e.approvers[1]} {
		wg.Go(func() {
			_, err := e.s().Approve(ctx, a, p.ID, p.Version)
			errs <- err
		})
	}
	wg.Go(func() { errs <- e.s().ReleaseMet(ctx) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, ErrNotPending) && !errors.Is(err, ErrAlreadyApproved) {
			t.Errorf("pressed again: %v", err)
		}
	}
	e.waitState(p.ID, StateSucceeded)
	if n := e.sb.CallCount("session/confirm"); n != 1 {
		t.Errorf("session/confirm calls = %d; want exactly 1\n%s", n, e.timeline(p.ID))
	}
}
