package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDualControlJourney: an admin proposes a new approver; a second admin
// approves it with a code and hands over the one-time link; the new approver
// chooses a password, sets up a second factor from the QR page's key, and
// approves a payout with a code. Nobody but the new approver knows the
// password.
func TestDualControlJourney(t *testing.T) {
	c := startConsole(t)
	ada, abe, ivy, maker := newBrowser(t), newBrowser(t), newBrowser(t), newBrowser(t)
	login(t, ada, c.URL, "admin@example.com", demoPasswords["admin@example.com"])
	login(t, abe, c.URL, "admin2@example.com", demoPasswords["admin2@example.com"])

	// Ada proposes Ivy as an approver: there is no password to type.
	run(t, ada,
		chromedp.Navigate(c.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("user-email")),
	)
	if n := get(t, ada, chromedp.Evaluate[int](`document.querySelectorAll('input[name="password"]').length`)); n != 0 {
		t.Error("the add-user form asks the admin for a password")
	}
	run(t, ada,
		chromedp.SendKeys(chromedp.ID("user-email"), "ivy@example.com"),
		chromedp.SendKeys(chromedp.ID("user-name"), "Ivy Approver"),
		chromedp.Click(chromedp.CSS(`input[name="role"][value="approver"]`)),
		chromedp.Submit(chromedp.ID("user-email")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="changes-waiting"]`)),
	)

	// Abe approves it with his code and gets the link, once.
	run(t, abe,
		chromedp.Navigate(c.URL+"/admin/changes"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="approve-change"]`)),
	)
	if summary := textOf(t, abe, `[data-testid="change"] h3`); !strings.Contains(summary, "Ivy Approver") {
		t.Errorf("the change reads %q", summary)
	}
	checkPage(t, abe, desktop, "changes")
	typeCode(t, abe, "admin2@example.com", `[data-testid="change"] [data-testid="otp"]`)
	confirmClick(t, abe, `[data-testid="approve-change"]`)
	run(t, abe, chromedp.WaitVisible(chromedp.CSS(`[data-testid="signin-link-url"]`)))
	link := textOf(t, abe, `[data-testid="signin-link-url"]`)
	if !strings.Contains(link, "/signin/") {
		t.Fatalf("link %q", link)
	}

	// Ivy chooses her password and, as an approver, sets up her second factor first.
	const pw = "ivy chose this herself"
	run(t, ivy, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("password")))
	checkPage(t, ivy, desktop, "choose a password")
	run(t, ivy,
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("confirm"), pw),
		chromedp.Click(chromedp.CSS(`[data-testid="set-password"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="must-enrol"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="begin-second-factor"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="qr"]`)),
	)
	checkPage(t, ivy, desktop, "set up a second factor")
	if uri := textOf(t, ivy, `[data-testid="otpauth-uri"]`); !strings.HasPrefix(uri, "otpauth://totp/") {
		t.Errorf("otpauth URI shown as %q", uri)
	}
	secret := enrol(t, ivy, c.URL)

	// A payout for Ivy to approve with her code.
	login(t, maker, c.URL, "maker@example.com", demoPasswords["maker@example.com"])
	p := preparePayout(t, maker, c.URL, "Jane Doe", "20.00", "4242424242424242")
	waitState(t, maker, p, "pending_approval")
	run(t, ivy, chromedp.Navigate(p), chromedp.WaitVisible(chromedp.CSS(`[data-testid="approve"]`)))
	typeCodeOf(t, ivy, secret, "#otp-approve")
	confirmClick(t, ivy, `[data-testid="approve"]`)
	run(t, ivy, chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	waitState(t, ivy, p, "succeeded")

	// The password appears on no admin's page and in no log line.
	for _, b := range []context.Context{ada, abe} {
		run(t, b, chromedp.Navigate(c.URL+"/audit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit"]`)))
		if strings.Contains(pageText(b), pw) {
			t.Error("the new approver's password is on an admin's page")
		}
	}
	if strings.Contains(c.logs.String(), pw) {
		t.Error("the new approver's password is in the logs")
	}
}
