package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestSalaryToUKBankAccount pays a salary to a UK bank account end to end in
// the browser: an admin proposes the sender company and a second admin
// approves it with a code; the maker adds the recipient's account (choosing
// the country shows its fields); a second person checks the details and
// verifies it with a code; the maker prepares the payout
// with the purpose "Payment of salary" (choosing the account picks its
// currency); being over the demo's 1,000.00 GBP threshold, two approvers
// approve it, each with a code; it succeeds. The account is shown
// masked everywhere but the verify step.
func TestSalaryToUKBankAccount(t *testing.T) {
	c := startConsole(t)
	admin, admin2, maker, checker, approver := newBrowser(t), newBrowser(t), newBrowser(t), newBrowser(t), newBrowser(t)
	login(t, admin, c.URL, "admin@example.com", demoPasswords["admin@example.com"])
	login(t, admin2, c.URL, "admin2@example.com", demoPasswords["admin2@example.com"])
	login(t, maker, c.URL, "maker@example.com", demoPasswords["maker@example.com"])
	login(t, checker, c.URL, "approver1@example.com", demoPasswords["approver1@example.com"])
	login(t, approver, c.URL, "approver2@example.com", demoPasswords["approver2@example.com"])

	// The sender company, once: proposed by one admin, approved by another.
	run(t, admin,
		chromedp.Navigate(c.URL+"/admin/settings"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sender-form"]`)),
		chromedp.SendKeys(chromedp.ID("sender-company_name"), "Acme Payroll Ltd"),
		chromedp.SendKeys(chromedp.ID("sender-registration_number"), "09876543"),
		chromedp.SendKeys(chromedp.ID("sender-country_iso3"), "GBR"),
		chromedp.SendKeys(chromedp.ID("sender-code"), "09876543"),
		chromedp.Click(chromedp.CSS(`[data-testid="sender-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash-ok`)),
	)
	if got := textOf(t, admin, `[data-testid="sender-current"]`); strings.Contains(got, "Acme Payroll Ltd") {
		t.Errorf("the proposed sender applied before a second admin approved it: %q", got)
	}
	run(t, admin2,
		chromedp.Navigate(c.URL+"/admin/changes"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="approve-change"]`)),
	)
	if summary := textOf(t, admin2, `[data-testid="change"] h3`); !strings.Contains(summary, "Acme Payroll Ltd") {
		t.Errorf("the change reads %q", summary)
	}
	typeCode(t, admin2, "admin2@example.com", `[data-testid="change"] [data-testid="otp"]`)
	confirmClick(t, admin2, `[data-testid="approve-change"]`)
	run(t, admin2,
		chromedp.WaitVisible(chromedp.CSS(`.flash-ok`)),
		chromedp.Navigate(c.URL+"/admin/settings"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sender-current"]`)),
	)
	if got := textOf(t, admin2, `[data-testid="sender-current"]`); !strings.Contains(got, "Acme Payroll Ltd") {
		t.Errorf("settings show the sender as %q", got)
	}

	// The recipient and their account.
	run(t, maker,
		chromedp.Navigate(c.URL+"/recipients"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recipient-form"]`)),
		chromedp.SendKeys(chromedp.ID("full_name"), "Jane Smith"),
		chromedp.Submit(chromedp.ID("full_name")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="add-account"]`)),
	)
	recipientURL := get(t, maker, chromedp.Location())
	run(t, maker,
		chromedp.Click(chromedp.CSS(`[data-testid="add-account"]`)),
		chromedp.WaitVisible(chromedp.ID("account-country")),
		// Choosing the country sends the form by itself and shows the fields.
		choose("account-country", "GBR"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-form"]`)),
		chromedp.SetValue(chromedp.ID("bank_name"), "Barclays"),
		chromedp.SendKeys(chromedp.ID("first_name"), "Jane"),
		chromedp.SendKeys(chromedp.ID("last_name"), "Smith"),
		chromedp.SendKeys(chromedp.ID("sort_code"), "20-00-00"),
		chromedp.SendKeys(chromedp.ID("account_number"), "55779911"),
		chromedp.SendKeys(chromedp.ID("address_line"), "1 Churchill Place"),
		chromedp.SendKeys(chromedp.ID("city"), "London"),
		chromedp.SendKeys(chromedp.ID("postal_code"), "E14 5HP"),
		chromedp.Click(chromedp.CSS(`[data-testid="account-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-row"]`)),
	)
	if got := textOf(t, maker, `[data-testid="account-row"] td`); got != "Barclays ••••9911" {
		t.Errorf("the new account is shown as %q", got)
	}
	if n := get(t, maker, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="check-account"]').length`)); n != 0 {
		t.Error("the maker who added the account is offered to verify it")
	}

	// A second person checks the details against what Jane gave, and verifies.
	run(t, checker,
		chromedp.Navigate(recipientURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="check-account"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="check-account"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-details"]`)),
	)
	if got := textOf(t, checker, `[data-testid="account-details"]`); !strings.Contains(got, "20-00-00") || !strings.Contains(got, "55779911") {
		t.Errorf("the verify step shows %q", got)
	}
	onBothWidths(t, checker, "bank account to verify", "bank-account-verify")
	typeCode(t, checker, "approver1@example.com", "#otp-verify-account")
	confirmClick(t, checker, `[data-testid="verify-account"]`)
	run(t, checker, chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-row"][data-verified="true"]`)))

	// The maker pays the salary.
	run(t, maker,
		chromedp.Navigate(c.URL+"/payouts/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="method-bank"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="method-bank"]`)),
		chromedp.WaitVisible(chromedp.ID("bank_account_id")),
	)
	if visible := get(t, maker, chromedp.Evaluate[bool](`document.getElementById('card_number').offsetParent !== null`)); visible {
		t.Error("with the bank account chosen, the card fields still show")
	}
	accountID := get(t, maker, chromedp.Evaluate[string](`document.querySelector('#bank_account_id option:nth-child(2)').value`))
	if label := get(t, maker, chromedp.Evaluate[string](`document.querySelector('#bank_account_id option:nth-child(2)').textContent`)); label != "Barclays ••••9911 · Jane Smith · GBP" {
		t.Errorf("account option %q", label)
	}
	if words := get(t, maker, chromedp.Evaluate[string](`document.querySelector('#purpose option[value="SALARY_PAYMENT"]').textContent`)); words != "Payment of salary" {
		t.Errorf("SALARY_PAYMENT is offered as %q", words)
	}
	run(t, maker, choose("bank_account_id", accountID))
	if cur := get(t, maker, chromedp.Evaluate[string](`document.getElementById('currency').value`)); cur != "GBP" {
		t.Errorf("choosing the GBP account set the currency to %q", cur)
	}
	run(t, maker,
		chromedp.SetValue(chromedp.ID("purpose"), "SALARY_PAYMENT"),
		chromedp.SendKeys(chromedp.ID("amount"), "2,500.00"),
		chromedp.SendKeys(chromedp.ID("note"), "November salary"),
		chromedp.Submit(chromedp.ID("amount")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="payout-state"]`)),
	)
	payoutURL := get(t, maker, chromedp.Location())
	if !payoutPath.MatchString(payoutURL) {
		t.Fatalf("after submit at %s; page:\n%s", payoutURL, pageText(maker))
	}
	waitState(t, maker, payoutURL, "pending_approval")

	// Two other people approve; the provider pays.
	run(t, approver, chromedp.Navigate(payoutURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="payout-account"]`)))
	if got := textOf(t, approver, `[data-testid="payout-account"]`); got != "Barclays ••••9911 (United Kingdom)" {
		t.Errorf("the approver sees the account as %q", got)
	}
	if got := textOf(t, approver, `[data-testid="payout-purpose"]`); got != "Payment of salary" {
		t.Errorf("the approver sees the purpose as %q", got)
	}
	approve(t, approver, payoutURL, "approver2@example.com")
	if got := textOf(t, approver, `[data-testid="payout-approvals"]`); !strings.HasPrefix(got, "1 of 2") {
		t.Errorf("after one approval of 2,500.00 GBP: %q; want 1 of 2", got)
	}
	approve(t, checker, payoutURL, "approver1@example.com")
	waitState(t, approver, payoutURL, "succeeded")
	if body := pageText(approver); strings.Contains(body, "55779911") {
		t.Error("the payout page shows the full account number")
	}
	onBothWidths(t, approver, "bank payout", "bank-payout")
}

// choose picks value in the select with id as a person does: the value
// changes and a change event follows, in one step, so that nothing can run
// in between (a select that sends its form on change navigates away).
func choose(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.getElementById(` + strconv.Quote(id) + `);
		s.value = ` + strconv.Quote(value) + `;
		s.dispatchEvent(new Event('change', {bubbles: true}));
	})()`)
}
