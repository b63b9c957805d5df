package payout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"countersign/fail"
	"countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/store"
	"countersign/text"
)

// Dual control over bank accounts: the rules dual_test.go proves for cards,
// proved again for bank accounts, which came to the console before them.

// succeededBankPayout pays 250.00 GBP to a verified account and waits for it to succeed.
func (e *env) succeededBankPayout() *store.Payout {
	e.t.Helper()
	acc := e.verifiedAccount(bankCases[0].account)
	p := e.pending(bankDraft(acc, "250.00", "SALARY_PAYMENT"))
	e.approve(e.approvers[1], p)
	return e.waitState(p.ID, StateSucceeded)
}

// TestBankDecisionsNeedAProofOfTheSecondFactor: verifying a bank account and
// recording a return are decisions: without a stepup.Proof (or with someone
// else's) they are refused and audited, and nothing changes.
func TestBankDecisionsNeedAProofOfTheSecondFactor(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	bare := e.approvers[0]
	bare.StepUp = e.approvers[1].StepUp // someone else's proof proves nothing

	a := bankCases[1].account
	acc, err := e.s().AddAccount(ctx, e.maker, e.recipient(a.FirstName+" "+a.LastName).ID, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s().VerifyAccount(ctx, bare, acc.ID); !errors.Is(err, ErrStepUp) {
		t.Errorf("verify an account without a proof: %v; want ErrStepUp", err)
	}
	if got, _ := e.db.BankAccountByID(ctx, acc.ID); got.Verified() {
		t.Fatal("the account was verified without a proof")
	}
	if es := e.audit(store.AuditFilter{ObjectType: "bank_account", ObjectID: fmt.Sprint(acc.ID), Action: "bank_account.verify"}); len(es) != 1 ||
		es[0].Outcome != "denied" || es[0].Detail != ErrStepUp.Code {
		t.Errorf("the refusal's audit entries: %+v; want one denied %s", es, ErrStepUp.Code)
	}
	if err := e.s().VerifyAccount(ctx, e.approvers[0], acc.ID); err != nil {
		t.Fatalf("verify with the proof: %v", err)
	}

	p := e.succeededBankPayout()
	today := e.db.Now().Format("2006-01-02")
	if _, err := e.s().RecordReturn(ctx, bare, p.ID, "Account closed", today); !errors.Is(err, ErrStepUp) {
		t.Errorf("record a return without a proof: %v; want ErrStepUp", err)
	}
	if got := e.payout(p.ID); got.Returned() {
		t.Fatal("the return was recorded without a proof")
	}
	if n := e.countAudit(p.ID, "payout.return", "denied"); n != 1 {
		t.Errorf("refused returns audited: %d; want 1", n)
	}
	if _, err := e.s().RecordReturn(ctx, e.approvers[0], p.ID, "Account closed", today); err != nil {
		t.Fatalf("record the return with the proof: %v", err)
	}
}

// TestBankDecidersAreReadFromTheDatabase: what the session says of someone's
// roles counts for nothing when they verify an account or record a return.
func TestBankDecidersAreReadFromTheDatabase(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	p := e.succeededBankPayout()
	a := bankCases[1].account
	acc, err := e.s().AddAccount(ctx, e.maker, e.recipient(a.FirstName+" "+a.LastName).ID, a)
	if err != nil {
		t.Fatal(err)
	}
	e.setAccess(e.approvers[0], true, RoleAuditor)
	if err := e.s().VerifyAccount(ctx, e.approvers[0], acc.ID); !errors.Is(err, errCardNotAllowed) {
		t.Errorf("an approver whose role was removed verifies: %v; want a refusal", err)
	}
	e.setAccess(e.approvers[2], false, RoleApprover)
	if _, err := e.s().RecordReturn(ctx, e.approvers[2], p.ID, "Account closed", e.db.Now().Format("2006-01-02")); !errors.Is(err, ErrCannotRecordReturn) {
		t.Errorf("a deactivated approver records a return: %v; want ErrCannotRecordReturn", err)
	}
	if got, _ := e.db.BankAccountByID(ctx, acc.ID); got.Verified() {
		t.Error("the account was verified")
	}
	if e.payout(p.ID).Returned() {
		t.Error("the return was recorded")
	}
}

// TestBankAccountIsPaidOnlyToItsHolder: an account is saved only in its
// recipient's name (first name first or family name first, in any case), and
// a payout to it goes to the holder whatever name a draft carries: the name
// the provider gets, the payout shows and the export carries is the holder's.
func TestBankAccountIsPaidOnlyToItsHolder(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	a := bankCases[0].account // Jane Smith's
	var fe *fail.FieldError
	if _, err := e.s().AddAccount(ctx, e.maker, e.recipient("Eve Mallory").ID, a); !errors.As(err, &fe) ||
		!strings.Contains(fe.Fields["first_name"], "saved for Eve Mallory and is paid only to them") {
		t.Fatalf("Jane's account saved for Eve: %v; want a first_name refusal naming Eve", err)
	}
	for _, name := range []string{"SMITH  Jane", "jane smith"} {
		if _, err := e.s().AddAccount(ctx, e.maker, e.recipient(name).ID, a); err != nil {
			t.Errorf("Jane's account for recipient %q: %v", name, err)
		}
	}

	acc := e.verifiedAccount(a)
	d := bankDraft(acc, "10.00", "SALARY_PAYMENT")
	d.FullName = "Eve Mallory" // left in the card fields of the form
	p := e.pending(d)
	if p.FullName != "Jane Smith" {
		t.Errorf("payout name %q; want the holder's", p.FullName)
	}
	sent := e.lastSent("session/start/payout")
	recipient, _ := sent["participant_details"].(map[string]any)["recipient"].(map[string]any)
	if recipient["first_name"] != "Jane" || recipient["last_name"] != "Smith" {
		t.Errorf("the provider received %v; want Jane Smith", recipient)
	}
	if strings.Contains(fmt.Sprint(sent), "Mallory") {
		t.Error("the typed name reached the provider")
	}
}

// TestSplittingToABankAccountNeedsTwoApprovals: payouts to the same bank
// account in 24 hours count together against the threshold, the account
// known by its identity (saved again after removal, it is the same account);
// another account does not count.
func TestSplittingToABankAccountNeedsTwoApprovals(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	e.setPolicy(Policy{Thresholds: map[string]int64{"GBP": 100000}})
	acc := e.verifiedAccount(bankCases[0].account)
	p1 := e.pending(bankDraft(acc, "999.00", "SALARY_PAYMENT"))
	if need, err := e.s().Requirement(ctx, p1); err != nil || need.Count != 1 {
		t.Fatalf("first half: %+v, %v; want one approver", need, err)
	}
	e.approve(e.approvers[0], p1)
	e.waitState(p1.ID, StateSucceeded)

	// The same account, removed and saved again: a new row, the same account.
	if err := e.s().RemoveAccount(ctx, e.approvers[0], acc.ID); err != nil {
		t.Fatal(err)
	}
	again, err := e.s().AddAccount(ctx, e.maker, acc.RecipientID, bankCases[0].account)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s().VerifyAccount(ctx, e.approvers[1], again.ID); err != nil {
		t.Fatal(err)
	}
	p2 := e.pending(bankDraft(again, "999.50", "SALARY_PAYMENT"))
	need, err := e.s().Requirement(ctx, p2)
	if err != nil || need.Count != 2 || !strings.Contains(need.Reason, "1 other payout") || !strings.Contains(need.Reason, "1,998.50 GBP") ||
		!strings.Contains(need.Reason, "this bank account") {
		t.Fatalf("second half: %+v, %v; want two approvers, saying why", need, err)
	}
	got := e.approve(e.approvers[0], p2)
	if State(got.State) != StatePendingApproval {
		t.Fatalf("the second half was paid on one approval:\n%s", e.timeline(p2.ID))
	}

	// Another account of the same holder is another destination.
	other := e.verifiedAccount(bankCases[1].account)
	p3 := e.pending(bankDraft(other, "999.00", "SALARY_PAYMENT"))
	if need, err := e.s().Requirement(ctx, p3); err != nil || need.Count != 1 {
		t.Errorf("another account: %+v, %v; want one approver", need, err)
	}
	// Card payouts to a card in the holder's name are another destination too.
	card := e.pending(Draft{FullName: "Jane Smith", Amount: "999.00", Currency: "GBP", CardNumber: visa})
	if need, err := e.s().Requirement(ctx, card); err != nil || need.Count != 1 {
		t.Errorf("a card in the same name: %+v, %v; want one approver", need, err)
	}
	// A second payout to that card now counts the first.
	card2 := e.pending(Draft{FullName: "Jane Smith", Amount: "2.00", Currency: "GBP", CardNumber: visa, ConfirmDuplicate: true})
	checkRequirements(t, e, p1, p2, p3, card, card2)
}

// checkRequirements: the queue's reading of a page of payouts at once
// (Requirements) says what Requirement says of each alone.
func checkRequirements(t *testing.T, e *env, ps ...*store.Payout) {
	t.Helper()
	ctx := context.Background()
	needs, err := e.s().Requirements(ctx, ps)
	if err != nil {
		t.Fatal(err)
	}
	twos := 0
	for _, p := range ps {
		one, err := e.s().Requirement(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if needs[p.ID] != one {
			t.Errorf("payout %d: the page says %+v, alone %+v", p.ID, needs[p.ID], one)
		}
		if strings.Contains(one.Reason, "other payout") {
			twos++
		}
	}
	if twos < 2 {
		t.Errorf("only %d of the payouts count others: the comparison proves little", twos)
	}
}

// TestCancellingABankSiblingReleasesTheOther: two payouts to one bank
// account need two approvals together; one is approved once, the other is
// cancelled, and the first is released (once) by the end of its sibling,
// while an approved payout to another destination is left to the
// reconciler's pass over the whole queue.
func TestCancellingABankSiblingReleasesTheOther(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	acc := e.verifiedAccount(bankCases[0].account)
	sibling := e.pending(bankDraft(acc, "6000.00", "SALARY_PAYMENT"))
	second := bankDraft(acc, "6000.00", "SALARY_PAYMENT")
	second.ConfirmDuplicate = true
	p := e.pending(second)
	if got := e.approve(e.approvers[0], p); State(got.State) != StatePendingApproval {
		t.Fatalf("12,000 GBP to one account on one approval:\n%s", e.timeline(p.ID))
	}
	// Elsewhere: a large payout to another account, approved once, whose
	// rule then eases (the threshold is raised).
	elsewhere := e.pending(bankDraft(e.verifiedAccount(bankCases[1].account), "15000.00", "SALARY_PAYMENT"))
	if got := e.approve(e.approvers[0], elsewhere); State(got.State) != StatePendingApproval {
		t.Fatalf("15,000 GBP on one approval:\n%s", e.timeline(elsewhere.ID))
	}
	eased := bankPolicy()
	eased.Thresholds["GBP"] = 2000000 // 20,000.00
	e.setPolicy(eased)

	if _, err := e.s().Cancel(ctx, e.approvers[1], sibling.ID, sibling.Version, "sent twice"); err != nil {
		t.Fatal(err)
	}
	e.waitState(sibling.ID, StateCancelled)
	e.waitState(p.ID, StateSucceeded)
	if n := e.countAudit(p.ID, "payout.release", "ok"); n != 1 {
		t.Errorf("releases audited: %d; want 1\n%s", n, e.timeline(p.ID))
	}
	if got := e.payout(elsewhere.ID); State(got.State) != StatePendingApproval {
		t.Errorf("a payout to another account moved on the sibling's end: %s", got.State)
	}
	if err := e.s().ReleaseMet(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitState(elsewhere.ID, StateSucceeded)
}

// TestBankApprovalsLapseWithTheirApprovers: an approval of a bank payout
// counts only while its approver is active and holds the role, as a card
// payout's.
func TestBankApprovalsLapseWithTheirApprovers(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	e.setPolicy(Policy{Thresholds: map[string]int64{"GBP": 100000}})
	acc := e.verifiedAccount(bankCases[0].account)
	p := e.pending(bankDraft(acc, "1,500.00", "SALARY_PAYMENT"))
	p = e.approve(e.approvers[0], p)
	e.setAccess(e.approvers[0], false, RoleApprover)
	got := e.approve(e.approvers[1], p)
	if State(got.State) != StatePendingApproval {
		t.Fatalf("second approval with the first lapsed: %s; want still pending_approval\n%s", got.State, e.timeline(p.ID))
	}
	if n := e.sb.CallCount("session/confirm"); n != 0 {
		t.Fatalf("session/confirm calls = %d; want 0", n)
	}
	e.approve(e.approvers[2], got)
	e.waitState(p.ID, StateSucceeded)
}

// TestBankIdempotencyKeysCarryTheInstallation: a bank payout's provider
// calls are keyed like a card payout's, with the installation's id.
func TestBankIdempotencyKeysCarryTheInstallation(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	p := e.succeededBankPayout()
	calls, err := e.db.ProviderCalls(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range calls {
		keys = append(keys, c.IdempotencyKey)
	}
	prefix := fmt.Sprintf("countersign-%s-payout-%d-", e.db.InstallationID(), p.ID)
	if len(keys) != 3 || slices.ContainsFunc(keys, func(k string) bool { return !strings.HasPrefix(k, prefix) }) {
		t.Errorf("idempotency keys %v; want create, start and confirm, each starting %s", keys, prefix)
	}
}

// TestBankLateSuccessAfterSendBack: as for a card, the provider's late word
// that a bank payout succeeded wins, and a person is asked to look.
func TestBankLateSuccessAfterSendBack(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	acc := e.verifiedAccount(bankCases[0].account)
	p := e.pending(bankDraft(acc, "250.00", "SALARY_PAYMENT"))
	e.sb.InjectFault("session/confirm", sandbox.FaultReset, 1)
	if _, err := e.s().Approve(ctx, e.approvers[0], p.ID, p.Version); err != nil {
		t.Fatal(err)
	}
	e.waitState(p.ID, StateUnknown)
	back := e.reconcileUntil(p.ID, StatePendingApproval)
	e.forward.Store(false)
	if _, err := e.client.Confirm(ctx, back.ProviderSessionID, ""); err != nil {
		t.Fatal(err)
	}
	h := e.waitHook(back.ProviderSessionID, smartglocal.WebhookPaymentFinished)
	if err := e.s().HandleWebhook(ctx, h.Body, h.Sig); err != nil {
		t.Fatal(err)
	}
	if got := e.payout(p.ID); State(got.State) != StateSucceeded {
		t.Fatalf("state %s; want succeeded: the provider paid it", got.State)
	}
	if items := e.attention(p.ID); len(items) != 1 || items[0].Kind != AttentionLateSuccess {
		t.Errorf("attention %+v; want one %s", items, AttentionLateSuccess)
	}
}

// TestReturnReasonsFollowTheRuleForReasons: a return's reason goes through
// text.CheckReason: a card number, a line break or a text-direction override
// is refused on the field and nothing is recorded; a plain reason is kept
// as cleaned.
func TestReturnReasonsFollowTheRuleForReasons(t *testing.T) {
	e := newBankEnv(t, envOptions{})
	ctx := context.Background()
	p := e.succeededBankPayout()
	today := e.db.Now().Format("2006-01-02")
	for _, reason := range []string{"card 4000 0566 5566 5556 instead", "closed\nby the bank", "closed \u202edesolc", "", strings.Repeat("x", text.MaxReasonLen+1)} {
		_, err := e.s().RecordReturn(ctx, e.approvers[0], p.ID, reason, today)
		var fe *fail.FieldError
		if !errors.As(err, &fe) || fe.Fields["return_reason"] == "" {
			t.Errorf("reason %q: %v; want refused on return_reason", reason, err)
		}
		if strings.Contains(fmt.Sprintf("%+v", err), "5566") {
			t.Errorf("the refusal repeats the card number: %v", err)
		}
	}
	if got := e.payout(p.ID); got.Returned() {
		t.Fatal("a refused return was recorded")
	}
	got, err := e.s().RecordReturn(ctx, e.approvers[0], p.ID, "  Account   closed ", today)
	if err != nil || got.ReturnReason != "Account closed" {
		t.Errorf("a plain reason: %q, %v; want it kept, cleaned", got.ReturnReason, err)
	}
}
