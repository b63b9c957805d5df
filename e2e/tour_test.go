package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// seeded is a console with something on every page: a recipient with a
// verified card, and payouts waiting, paid, failed and cancelled.
type seeded struct {
	c                                     *console
	recipient                             string
	pending, succeeded, failed, cancelled string
	// A recipient and a payout under a 100-character name with no space
	// in it: no page may scroll sideways for it.
	longRecipient, longPayout string
}

// longName is as long a name as a recipient or payout may have, unbroken.
var longName = strings.Repeat("Abcdefghij", 10)

func seed(t *testing.T) seeded {
	t.Helper()
	s := seeded{c: startConsole(t)}
	maker, approver := newBrowser(t), newBrowser(t)
	login(t, maker, s.c.URL, "maker@example.com", demoPasswords["maker@example.com"])
	login(t, approver, s.c.URL, "approver1@example.com", demoPasswords["approver1@example.com"])
	s.recipient = addRecipientWithCard(t, maker, approver, s.c.URL, "Rita Recipient")

	s.succeeded = preparePayout(t, maker, s.c.URL, "Sam Succeeded", "25.00", "4242 4242 4242 4242")
	s.failed = preparePayout(t, maker, s.c.URL, "Fay Failed", "12.34", "4000000000000002")
	s.cancelled = preparePayout(t, maker, s.c.URL, "Cal Cancelled", "10.00", "5555555555554444")
	s.pending = preparePayoutWith(t, maker, s.c.URL, "Pat Pending", "1500.00", "4242424242424242", "INV-2026-0117",
		"March retainer; Pat confirmed the card by phone")
	for _, u := range []string{s.succeeded, s.failed, s.cancelled, s.pending} {
		waitState(t, maker, u, "pending_approval")
	}
	approve(t, approver, s.succeeded, "approver1@example.com")
	approve(t, approver, s.failed, "approver1@example.com")
	cancel(t, approver, s.cancelled, "approver1@example.com", "The recipient asked to be paid by bank transfer")
	waitState(t, approver, s.succeeded, "succeeded")
	waitState(t, approver, s.failed, "failed")
	waitState(t, approver, s.cancelled, "cancelled")
	s.longRecipient = addRecipientWithCard(t, maker, approver, s.c.URL, longName)
	s.longPayout = preparePayout(t, maker, s.c.URL, longName, "7.00", "4242424242424242")
	waitState(t, maker, s.longPayout, "pending_approval")
	cancel(t, approver, s.longPayout, "approver1@example.com", "A test of a long name")
	waitState(t, approver, s.longPayout, "cancelled")

	// A low-balance mark for USD, drawn on its gauge.
	admin := newBrowser(t)
	login(t, admin, s.c.URL, "admin@example.com", demoPasswords["admin@example.com"])
	run(t, admin,
		chromedp.Navigate(s.c.URL+"/admin/settings"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="settings-row"][data-currency="USD"] input[name="low"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="settings-row"][data-currency="USD"] input[name="low"]`), "500,000.00"),
		chromedp.Click(chromedp.CSS(`[data-testid="settings-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash-ok`)),
	)
	// It waits for a second admin.
	admin2 := newBrowser(t)
	login(t, admin2, s.c.URL, "admin2@example.com", demoPasswords["admin2@example.com"])
	run(t, admin2, chromedp.Navigate(s.c.URL+"/admin/changes"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="approve-change"]`)))
	typeCode(t, admin2, "admin2@example.com", `[data-testid="change"] [data-testid="otp"]`)
	confirmClick(t, admin2, `[data-testid="approve-change"]`)
	run(t, admin2, chromedp.WaitVisible(chromedp.CSS(`.flash`)))

	// A new approver proposed, waiting for a second admin.
	run(t, admin,
		chromedp.Navigate(s.c.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("user-email")),
		chromedp.SendKeys(chromedp.ID("user-email"), "nia@example.com"),
		chromedp.SendKeys(chromedp.ID("user-name"), "Nia Newhire"),
		chromedp.Click(chromedp.CSS(`input[name="role"][value="approver"]`)),
		chromedp.Submit(chromedp.ID("user-email")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="changes-waiting"]`)),
	)
	return s
}

// readmeShots are the pages whose screenshots the README shows, at both
// widths (UPDATE_SCREENSHOTS=1 retakes them): page name → file name.
var readmeShots = map[string]string{
	"queue": "queue", "payout succeeded": "payout", "approver dashboard": "dashboard", "recipient": "recipient", "payouts": "history",
	"pending change": "changes",
}

// TestEveryPage opens every page as the people who use it, on a desktop and
// on a phone: nothing scrolls sideways and axe-core finds nothing serious.
func TestEveryPage(t *testing.T) {
	s := seed(t)
	base := s.c.URL
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			anon := newBrowserAt(t, vp)
			visit(t, anon, vp, base+"/login", "login")

			maker := newBrowserAt(t, vp)
			login(t, maker, base, "maker@example.com", demoPasswords["maker@example.com"])
			for _, p := range []struct{ path, name string }{
				{"/", "maker dashboard"}, {"/queue", "maker queue"}, {"/payouts/new", "new payout"},
				{"/recipients", "recipients"}, {"/account", "account"},
			} {
				visit(t, maker, vp, base+p.path, p.name)
			}
			visit(t, maker, vp, s.recipient, "recipient")
			visit(t, maker, vp, s.longRecipient, "recipient with a long name")
			visit(t, maker, vp, s.longPayout, "payout with a long name")
			visit(t, maker, vp, s.recipient+"/accounts/new?country=GBR", "new bank account")
			visit(t, maker, vp, s.pending, "maker payout pending")
			// A form sent back with what is wrong in it.
			run(t, maker, chromedp.Navigate(base+"/payouts/new"), chromedp.WaitVisible(chromedp.ID("full_name")),
				chromedp.SendKeys(chromedp.ID("full_name"), "Ned Newcomer"), chromedp.SendKeys(chromedp.ID("amount"), "abc"),
				chromedp.Click(chromedp.CSS(`form[action="/payouts"] button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="form-errors"]`)))
			checkPage(t, maker, vp, "new payout with errors")

			approver := newBrowserAt(t, vp)
			login(t, approver, base, "approver2@example.com", demoPasswords["approver2@example.com"])
			for _, p := range []struct{ url, name string }{
				{base + "/", "approver dashboard"}, {base + "/queue", "queue"}, {s.pending, "payout pending"},
				{s.succeeded, "payout succeeded"}, {s.failed, "payout failed"}, {s.cancelled, "payout cancelled"},
				{base + "/payouts", "payouts"}, {base + "/payouts?min=abc", "payouts with errors"}, {base + "/account", "approver account"},
			} {
				visit(t, approver, vp, p.url, p.name)
			}
			// On a phone, the first payout to decide is on the first screen,
			// below the money on hand (one line per currency).
			run(t, approver, chromedp.Navigate(base+"/queue"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="queue-row"]`)))
			if top := get(t, approver, chromedp.Evaluate[float64](`document.querySelector('[data-testid="queue-row"]').getBoundingClientRect().top + window.scrollY`)); top >= float64(vp.height) {
				t.Errorf("queue at %s: the first payout starts at %.0f px, below the fold (%d px)", vp.name, top, vp.height)
			}
			// Approving asks first, saying what is signed; going back sends nothing.
			run(t, approver, chromedp.Navigate(base+"/queue"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="queue-approve"]`)))
			typeCode(t, approver, "approver2@example.com", `[data-testid="queue"] [data-testid="otp"]`)
			run(t, approver, chromedp.Click(chromedp.CSS(`[data-testid="queue-approve"]`)),
				chromedp.WaitVisible(chromedp.CSS(`dialog#confirm[open]`)))
			if q := textOf(t, approver, `dialog#confirm`); !strings.Contains(q, "Approve payout #") || !strings.Contains(q, "1,500.00 USD to Pat Pending, VISA •••• 4242.") ||
				!strings.Contains(q, "Approve 1,500.00 USD") {
				t.Errorf("the approve question: %q", q)
			}
			checkPage(t, approver, vp, "approve question")
			run(t, approver, chromedp.Click(chromedp.CSS(`dialog#confirm[open] [data-testid="confirm-no"]`)),
				chromedp.WaitNotVisible(chromedp.CSS(`dialog#confirm`)))
			time.Sleep(300 * time.Millisecond)
			if url := get(t, approver, chromedp.Location()); !strings.HasSuffix(url, "/queue") {
				t.Errorf("going back from the question left the queue: %s", url)
			}
			if state := get(t, approver, chromedp.Evaluate[string](`fetch('`+s.pending+`').then(r => r.text()).then(h => new DOMParser().parseFromString(h, 'text/html').querySelector('[data-testid="payout-state"]').dataset.state)`, chromedp.EvalAwaitPromise)); state != "pending_approval" {
				t.Errorf("after going back the payout is %s", state)
			}

			admin := newBrowserAt(t, vp)
			login(t, admin, base, "admin@example.com", demoPasswords["admin@example.com"])
			for _, p := range []struct{ path, name string }{
				{"/", "admin dashboard"}, {"/audit", "audit log"}, {"/admin/users", "users"}, {"/admin/users/1", "user"},
				{"/admin/settings", "settings"}, {"/admin/changes", "changes"}, {"/account", "admin account"}, {"/no/such/page", "not found"},
			} {
				visit(t, admin, vp, base+p.path, p.name)
			}

			admin2 := newBrowserAt(t, vp)
			login(t, admin2, base, "admin2@example.com", demoPasswords["admin2@example.com"])
			visit(t, admin2, vp, base+"/admin/changes", "pending change")

			auditor := newBrowserAt(t, vp)
			login(t, auditor, base, "auditor@example.com", demoPasswords["auditor@example.com"])
			visit(t, auditor, vp, base+"/", "auditor dashboard")
			visit(t, auditor, vp, base+"/admin/users", "forbidden")
		})
	}
}

// addRecipientWithCard creates a recipient as maker, saves a card through
// the sandbox widget, has it verified by checker, and returns its page.
func addRecipientWithCard(t *testing.T, maker, checker context.Context, base, name string) string {
	t.Helper()
	run(t, maker,
		chromedp.Navigate(base+"/recipients"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recipient-form"]`)),
		chromedp.SendKeys(chromedp.ID("full_name"), name),
		chromedp.SendKeys(chromedp.ID("email"), "rita@example.com"),
		chromedp.SendKeys(chromedp.ID("country"), "DE"),
		chromedp.Submit(chromedp.ID("full_name")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recipient-name"]`)),
	)
	url := get(t, maker, chromedp.Location())
	run(t, maker,
		chromedp.Click(chromedp.CSS(`[data-testid="card-widget"]`)),
		chromedp.WaitVisible(chromedp.ID("number")),
		chromedp.SendKeys(chromedp.ID("number"), "4242 4242 4242 4242"),
		chromedp.Submit(chromedp.ID("number")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="widget-return"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="widget-return"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="widget-card"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="card-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="card-row"]`)),
	)
	run(t, checker, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`[data-testid="verify-card"]`)))
	typeCode(t, checker, "approver1@example.com", `[data-testid="card-row"] [data-testid="otp"]`)
	confirmClick(t, checker, `[data-testid="verify-card"]`)
	run(t, checker, chromedp.WaitVisible(chromedp.CSS(`[data-testid="card-row"][data-verified="true"]`)))
	return url
}
