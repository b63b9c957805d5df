package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"countersign/payout"
	"countersign/smartglocal/bank"
	"countersign/store"
)

// Dual control over bank accounts, over HTTP: what payout/bank_dual_test.go
// proves of the services, as people meet it.

// gbpThreshold lets one approver pay GBP below threshold (minor units; USD
// as the harness's policy), as an approved admin change would.
func (h *harness) gbpThreshold(threshold int64) {
	h.t.Helper()
	ctx := context.Background()
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := payout.SavePolicy(ctx, tx, payout.Policy{Thresholds: map[string]int64{"USD": 100000, "GBP": threshold}})
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// acmeSender sets the sender company, as an approved admin change would.
func (h *harness) acmeSender() {
	h.t.Helper()
	snd, bad := bank.CheckSender(bank.Sender{CompanyName: "Acme Payroll Ltd", RegistrationNumber: "09876543", CountryISO3: "GBR", Code: "09876543"})
	if bad != nil {
		h.t.Fatal(bad)
	}
	v, err := payout.FormatSender(snd)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.db.InTx(ctx, func(tx *store.Tx) error { return tx.SetSetting(ctx, payout.SenderSetting, v) }); err != nil {
		h.t.Fatal(err)
	}
}

// addAccount saves ukAccount(number), in r's name, for r through the form,
// as maker, and returns its page's path.
func (h *harness) addAccount(maker *browser, r *store.Recipient, number string) string {
	h.t.Helper()
	path := "/recipients/" + itoa(r.ID)
	maker.get(path + "/accounts/new?country=GBR")
	form := ukAccount(number)
	first, last, _ := strings.Cut(r.FullName, " ")
	form.Set("first_name", first)
	form.Set("last_name", last)
	if p := maker.post(path+"/accounts", form); p.status != http.StatusSeeOther {
		h.t.Fatalf("add account: status %d\n%s", p.status, p.body)
	}
	accounts, err := h.db.BankAccountsForRecipient(h.t.Context(), r.ID)
	if err != nil || len(accounts) == 0 {
		h.t.Fatalf("accounts of %s: %v", r.FullName, err)
	}
	return path + "/accounts/" + itoa(accounts[0].ID)
}

// bankPayout prepares a GBP bank payout to the account at accPath and waits until it waits.
func bankPayout(t *testing.T, h *harness, maker *browser, accPath, amount string) int64 {
	t.Helper()
	id := accPath[strings.LastIndex(accPath, "/")+1:]
	return pendingPayout(t, h, maker, url.Values{"method": {"bank_account"}, "bank_account_id": {id}, "amount": {amount}, "currency": {"GBP"},
		"purpose": {"SALARY_PAYMENT"}, "confirm_duplicate": {"1"}})
}

// TestVerifyingABankAccountNeedsTheSecondFactor: the verify step asks for a
// code like a card's; without one, or with a wrong one, the account stays
// unverified; a correct one verifies it and opens the step-up window, which
// the next account's verify step shows instead of the field.
func TestVerifyingABankAccountNeedsTheSecondFactor(t *testing.T) {
	h := newMoneyHarness(t, nil)
	mia := h.user("mia@example.com", "maker")
	h.user("alex@example.com", "approver")
	m, alex := h.signedIn("mia@example.com"), h.signedIn("alex@example.com")
	jane := h.addAccount(m, h.recipient(t, "Jane Smith", mia), "55779911")
	john := h.addAccount(m, h.recipient(t, "John Doe", mia), "12345678")

	page := alex.get(jane)
	if len(testid(t, page.body, "otp")) != 1 || len(nodes(t, page.body, byTestID("verify-account"))) != 1 {
		t.Fatal("the verify step has no code field")
	}
	for _, otp := range []string{"", "000000"} {
		if otp == h.code() {
			continue
		}
		p := alex.post(jane+"/verify", url.Values{"otp": {otp}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "code") {
			t.Errorf("verify with code %q: status %d, want 422 asking for the code", otp, p.status)
		}
	}
	if n := verifiedAccounts(t, h.harness); n != 0 {
		t.Fatalf("%d accounts verified without the second factor", n)
	}
	if p := alex.post(jane+"/verify", url.Values{"otp": {h.code()}}); p.status != http.StatusSeeOther {
		t.Fatalf("verify with the code: status %d", p.status)
	}
	page = alex.get(john)
	if first(t, page.body, "stepup-window") == "" || len(testid(t, page.body, "otp")) != 0 {
		t.Error("within the step-up window, the next verify step still asks for a code")
	}
	if p := alex.post(john+"/verify", nil); p.status != http.StatusSeeOther {
		t.Errorf("verify within the window: status %d", p.status)
	}
	if n := verifiedAccounts(t, h.harness); n != 2 {
		t.Errorf("%d accounts verified, want 2", n)
	}
	entries, _ := h.db.AuditEntries(t.Context(), store.AuditFilter{Action: "bank_account.verify"})
	denied := 0
	for _, e := range entries {
		if e.Outcome == "denied" {
			denied++
		}
	}
	if denied == 0 {
		t.Error("the refused verifications are not in the audit log")
	}
}

func verifiedAccounts(t *testing.T, h *harness) int {
	t.Helper()
	n := 0
	for id := int64(1); ; id++ {
		acc, err := h.db.BankAccountByID(t.Context(), id)
		if err != nil {
			return n
		}
		if acc.Verified() {
			n++
		}
	}
}

// TestRecordingAReturnNeedsTheSecondFactor: the return form asks for a code;
// without one the return is not recorded.
func TestRecordingAReturnNeedsTheSecondFactor(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"gbp": 100_000_000})
	h.gbpThreshold(100000)
	h.acmeSender()
	mia := h.user("mia@example.com", "maker")
	h.user("alex@example.com", "approver")
	h.user("bea@example.com", "approver")
	m, alex, bea := h.signedIn("mia@example.com"), h.signedIn("alex@example.com"), h.signedIn("bea@example.com")
	acc := h.addAccount(m, h.recipient(t, "Jane Smith", mia), "55779911")
	alex.get(acc)
	alex.post(acc+"/verify", url.Values{"otp": {h.code()}})
	id := bankPayout(t, h.harness, m, acc, "250.00")
	alex.get("/payouts/" + itoa(id))
	alex.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}})
	h.waitPayoutState(t, id, payout.StateSucceeded)

	page := bea.get("/payouts/" + itoa(id))
	if len(nodes(t, page.body, byTestID("return-form"))) != 1 || len(testid(t, page.body, "otp")) != 1 {
		t.Fatal("the return form has no code field")
	}
	form := url.Values{"returned_on": {"2026-11-21"}, "return_reason": {"Account closed"}}
	if p := bea.post("/payouts/"+itoa(id)+"/return", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "code") {
		t.Errorf("return without a code: status %d, want 422 asking for it", p.status)
	}
	if got, _ := h.db.PayoutByID(t.Context(), id); got.Returned() {
		t.Fatal("a return was recorded without the second factor")
	}
	form.Set("otp", h.code())
	if p := bea.post("/payouts/"+itoa(id)+"/return", form); p.status != http.StatusSeeOther {
		t.Fatalf("return with the code: status %d", p.status)
	}
	if got, _ := h.db.PayoutByID(t.Context(), id); !got.Returned() {
		t.Error("the return was not recorded")
	}
}

// TestSenderWaitsForASecondAdmin: the sender company is proposed, shown at
// Changes, not applied by its proposer's approval, and applied by another
// admin's.
func TestSenderWaitsForASecondAdmin(t *testing.T) {
	h := newHarness(t)
	h.user("ada@example.com", "admin")
	h.user("abe@example.com", "admin")
	ada, abe := h.signedIn("ada@example.com"), h.signedIn("abe@example.com")
	ada.get("/admin/settings")
	sender := url.Values{"company_name": {"Acme Payroll Ltd"}, "registration_number": {"09876543"}, "country_iso3": {"GBR"}, "code": {"09876543"}}
	if p := ada.post("/admin/settings/sender", sender); p.status != http.StatusSeeOther {
		t.Fatalf("propose the sender: status %d", p.status)
	}
	if got := first(t, ada.get("/admin/settings").body, "sender-current"); strings.Contains(got, "Acme") {
		t.Fatalf("the sender applied at once: %q", got)
	}
	id := h.pendingChange()
	if p := ada.post("/admin/changes/"+itoa(id)+"/approve", url.Values{"otp": {h.code()}}); p.status != http.StatusForbidden {
		t.Errorf("the proposer approves: status %d, want 403", p.status)
	}
	page := abe.get("/admin/changes")
	if got := testid(t, page.body, "change"); len(got) != 1 || !strings.Contains(got[0], "sender company (none) → Acme Payroll Ltd") {
		t.Fatalf("changes page shows %q", got)
	}
	if p := abe.post("/admin/changes/"+itoa(id)+"/approve", url.Values{"otp": {h.code()}}); p.status != http.StatusSeeOther {
		t.Fatalf("second admin approves: status %d", p.status)
	}
	if got := first(t, ada.get("/admin/settings").body, "sender-current"); !strings.Contains(got, "Acme Payroll Ltd") {
		t.Errorf("after approval the settings say %q", got)
	}
}

// TestABankAccountIsPaidOnlyToItsHolder: an account whose holder is not the
// recipient is refused; a name typed into the card fields goes nowhere.
func TestABankAccountIsPaidOnlyToItsHolder(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"gbp": 100_000_000})
	h.gbpThreshold(100000)
	h.acmeSender()
	mia := h.user("mia@example.com", "maker")
	h.user("alex@example.com", "approver")
	m, alex := h.signedIn("mia@example.com"), h.signedIn("alex@example.com")
	jane := h.recipient(t, "Jane Smith", mia)
	path := "/recipients/" + itoa(jane.ID)
	m.get(path + "/accounts/new?country=GBR")
	other := ukAccount("55779911")
	other.Set("first_name", "Eve")
	other.Set("last_name", "Mallory")
	if p := m.post(path+"/accounts", other); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "saved for Jane Smith and is paid only to them") ||
		!strings.Contains(p.body, `value="Mallory"`) {
		t.Errorf("an account of someone else for Jane: status %d, want 422 naming her", p.status)
	}
	acc := h.addAccount(m, jane, "55779911")
	alex.get(acc)
	alex.post(acc+"/verify", url.Values{"otp": {h.code()}})
	id := acc[strings.LastIndex(acc, "/")+1:]
	p := m.post("/payouts", url.Values{"method": {"bank_account"}, "bank_account_id": {id}, "amount": {"10.00"}, "currency": {"GBP"},
		"purpose": {"SALARY_PAYMENT"}, "full_name": {"Eve Mallory"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("bank payout: status %d", p.status)
	}
	if got, _ := h.db.PayoutByID(t.Context(), pathIDOf(p.location)); got.FullName != "Jane Smith" {
		t.Errorf("the payout is to %q; want the holder, Jane Smith", got.FullName)
	}
}

// TestSplittingToABankAccountNeedsTwoApprovalsOverHTTP: two payouts to the
// same account just below the threshold: the second says why it needs two
// and is not paid on one.
func TestSplittingToABankAccountNeedsTwoApprovalsOverHTTP(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"gbp": 100_000_000})
	h.gbpThreshold(100000)
	h.acmeSender()
	mia := h.user("mia@example.com", "maker")
	h.user("alex@example.com", "approver")
	m, alex := h.signedIn("mia@example.com"), h.signedIn("alex@example.com")
	acc := h.addAccount(m, h.recipient(t, "Jane Smith", mia), "55779911")
	alex.get(acc)
	alex.post(acc+"/verify", url.Values{"otp": {h.code()}})
	bankPayout(t, h.harness, m, acc, "999.00")
	second := bankPayout(t, h.harness, m, acc, "999.50")
	page := alex.get("/payouts/" + itoa(second))
	if why := first(t, page.body, "need-reason"); !strings.Contains(why, "1 other payout") || !strings.Contains(why, "this bank account") {
		t.Errorf("the second half says %q; want why it needs two", why)
	}
	alex.post("/payouts/"+itoa(second)+"/approve", url.Values{"version": {h.version(second)}, "otp": {h.code()}})
	if got, _ := h.db.PayoutByID(t.Context(), second); payout.State(got.State) != payout.StatePendingApproval || h.sb.CallCount("session/confirm") != 0 {
		t.Errorf("a split bank payout was paid on one approval: %s", got.State)
	}
}

// TestADeactivatedApproversApprovalOfABankPayoutNoLongerCounts: approvals
// of a bank payout lapse with their approvers, as a card payout's do.
func TestADeactivatedApproversApprovalOfABankPayoutNoLongerCounts(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"gbp": 100_000_000})
	h.gbpThreshold(100000)
	h.acmeSender()
	mia := h.user("mia@example.com", "maker")
	alex := h.user("alex@example.com", "approver")
	h.user("bea@example.com", "approver")
	h.user("ada@example.com", "admin")
	m, a, bea := h.signedIn("mia@example.com"), h.signedIn("alex@example.com"), h.signedIn("bea@example.com")
	acc := h.addAccount(m, h.recipient(t, "Jane Smith", mia), "55779911")
	a.get(acc)
	a.post(acc+"/verify", url.Values{"otp": {h.code()}})
	id := bankPayout(t, h.harness, m, acc, "1500.00")
	a.get("/payouts/" + itoa(id))
	a.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}})

	ada := h.signedIn("ada@example.com")
	ada.get("/admin/users/" + itoa(alex.ID))
	if p := ada.post("/admin/users/"+itoa(alex.ID), url.Values{"name": {"alex"}, "role": {"approver"}}); p.status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", p.status)
	}
	page := bea.get("/payouts/" + itoa(id))
	if got := first(t, page.body, "payout-approvals"); !strings.HasPrefix(got, "Needs two approvals; none yet") || !strings.Contains(got, "no longer counts") {
		t.Errorf("approvals shown as %q; want 0 of 2 and the lapsed one marked", got)
	}
	bea.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}})
	if got, _ := h.db.PayoutByID(t.Context(), id); payout.State(got.State) != payout.StatePendingApproval || h.sb.CallCount("session/confirm") != 0 {
		t.Errorf("payout is %s after one approval that counts; want still waiting", got.State)
	}
}
