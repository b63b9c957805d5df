package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var payoutPath = regexp.MustCompile(`/payouts/(\d+)$`)

// preparePayout fills the new-payout form as a maker and returns the payout's URL.
func preparePayout(t *testing.T, ctx context.Context, base, name, amount, card string) string {
	t.Helper()
	return preparePayoutWith(t, ctx, base, name, amount, card, "", "")
}

// preparePayoutWith is preparePayout with a customer reference and a note for approvers.
func preparePayoutWith(t *testing.T, ctx context.Context, base, name, amount, card, reference, note string) string {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/payouts/new"),
		chromedp.WaitVisible(chromedp.ID("full_name")),
		chromedp.SendKeys(chromedp.ID("full_name"), name),
		chromedp.SendKeys(chromedp.ID("amount"), amount),
		chromedp.SendKeys(chromedp.ID("card_number"), card),
	}
	if reference != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.ID("customer_reference"), reference))
	}
	if note != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.ID("note"), note))
	}
	steps = append(steps, chromedp.Submit(chromedp.ID("full_name")), chromedp.WaitVisible(chromedp.CSS(`[data-testid="payout-state"]`)))
	run(t, ctx, steps...)
	url := get(t, ctx, chromedp.Location())
	if !payoutPath.MatchString(url) {
		t.Fatalf("after submit the browser is at %s, want a payout page; page:\n%s", url, pageText(ctx))
	}
	return url
}

// waitState reloads a payout page until its state is want.
func waitState(t *testing.T, ctx context.Context, url, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		run(t, ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`[data-testid="payout-state"]`)))
		got = get(t, ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="payout-state"]').dataset.state`))
		if got == want {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s: state %q, want %q; page:\n%s", url, got, want, pageText(ctx))
}

// approve approves the payout on its page as email, with the code of their
// second factor if the form asks for one, answering the confirmation.
func approve(t *testing.T, ctx context.Context, url, email string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`[data-testid="approve"]`)))
	typeCode(t, ctx, email, `#otp-approve`)
	confirmClick(t, ctx, `[data-testid="approve"]`)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.flash`)))
}

// cancel cancels the payout on its page as email with a reason, answering the confirmation.
func cancel(t *testing.T, ctx context.Context, url, email, reason string) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cancel"]`)),
		chromedp.SendKeys(chromedp.ID("reason"), reason),
	)
	typeCode(t, ctx, email, `#otp-cancel`)
	confirmClick(t, ctx, `[data-testid="cancel"]`)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.flash`)))
}

// confirmClick presses a button that asks before it acts, and says yes in
// the confirmation dialog, as a person who means it would.
func confirmClick(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	run(t, ctx,
		chromedp.Click(chromedp.CSS(css)),
		chromedp.WaitVisible(chromedp.CSS(`dialog#confirm[open] [data-testid="confirm-yes"]`)),
		chromedp.Click(chromedp.CSS(`dialog#confirm[open] [data-testid="confirm-yes"]`)),
	)
}

func textOf(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	return get(t, ctx, chromedp.Text(chromedp.CSS(css)))
}

// addUser creates an account through the real CLI, against the running console's database.
func addUser(t *testing.T, db, email, name string, roles ...string) {
	t.Helper()
	args := []string{"users", "add", "-db", db, "-email", email, "-name", name}
	for _, r := range roles {
		args = append(args, "-role", r)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(demoPasswords["maker@example.com"] + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
}

// TestFourEyesJourney is the console's reason to exist, clicked through in
// Chromium against the real binary and its embedded sandbox.
func TestFourEyesJourney(t *testing.T) {
	c := startConsole(t)
	addUser(t, c.DB, "dual@example.com", "Dana Dual", "maker", "approver")
	maker, approver1, approver2 := newBrowser(t), newBrowser(t), newBrowser(t)
	login(t, maker, c.URL, "maker@example.com", demoPasswords["maker@example.com"])
	login(t, approver1, c.URL, "approver1@example.com", demoPasswords["approver1@example.com"])
	login(t, approver2, c.URL, "approver2@example.com", demoPasswords["approver2@example.com"])

	// A typed card is shown back only as brand and last four digits.
	small := preparePayout(t, maker, c.URL, "Jane Doe", "25.00", "4242 4242 4242 4242")
	waitState(t, maker, small, "pending_approval")
	if card := textOf(t, maker, `[data-testid="payout-card"]`); card != "VISA •••• 4242" {
		t.Errorf("card shown as %q, want VISA •••• 4242", card)
	}
	large := preparePayout(t, maker, c.URL, "Big Spender", "1500.00", "4242424242424242")
	toCancel := preparePayout(t, maker, c.URL, "Changed Mind", "10.00", "5555555555554444")
	declined := preparePayout(t, maker, c.URL, "Unlucky Card", "12.34", "4000000000000002")
	for _, u := range []string{large, toCancel, declined} {
		waitState(t, maker, u, "pending_approval")
	}

	// Someone who is both maker and approver cannot approve what they prepared.
	dual := newBrowser(t)
	login(t, dual, c.URL, "dual@example.com", demoPasswords["maker@example.com"])
	enrol(t, dual, c.URL) // an approver sets up a second factor before anything else
	own := preparePayout(t, dual, c.URL, "Self Dealing", "5.00", "4242424242424242")
	waitState(t, dual, own, "pending_approval")
	blocked := textOf(t, dual, `[data-testid="approve-blocked"]`)
	if !strings.Contains(blocked, "someone else must approve") {
		t.Errorf("own payout: %q, want a refusal naming four eyes", blocked)
	}
	n := get(t, dual, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="approve"]').length`))
	if n != 0 {
		t.Errorf("own payout offers %d approve buttons", n)
	}

	// The queue shows every payout waiting, with what the approver signs.
	run(t, approver1, chromedp.Navigate(c.URL+"/queue"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="queue"]`)))
	queue := textOf(t, approver1, `[data-testid="queue"]`)
	for _, want := range []string{"25.00 USD", "Jane Doe", "VISA •••• 4242", "1,500.00 USD", "Mia Maker", "Needs two approvals; none yet"} {
		if !strings.Contains(queue, want) {
			t.Errorf("queue lacks %q:\n%s", want, queue)
		}
	}

	// The queue is live: a payout prepared now appears without a reload.
	late := preparePayout(t, maker, c.URL, "Late Arrival", "7.00", "4242424242424242")
	waitState(t, maker, late, "pending_approval")
	lateID := payoutPath.FindStringSubmatch(late)[1]
	run(t, approver1, chromedp.WaitVisible(chromedp.CSS(`[data-testid="queue-row"][data-payout="`+lateID+`"]`)))
	if url := get(t, approver1, chromedp.Location()); !strings.HasSuffix(url, "/queue") {
		t.Errorf("the approver left the queue page: %s", url)
	}

	// One approval releases a small payout.
	approve(t, approver1, small, "approver1@example.com")
	waitState(t, approver1, small, "succeeded")

	// A large one needs a second, different approver.
	approve(t, approver1, large, "approver1@example.com")
	waitState(t, approver1, large, "pending_approval")
	if got := textOf(t, approver1, `[data-testid="payout-approvals"]`); !strings.HasPrefix(got, "1 of 2") {
		t.Errorf("after one approval: %q, want 1 of 2", got)
	}
	approve(t, approver2, large, "approver2@example.com")
	waitState(t, approver2, large, "succeeded")

	// Cancel needs a reason; the reason is kept and shown, ours first.
	cancel(t, approver1, toCancel, "approver1@example.com", "Recipient asked to be paid by bank transfer")
	waitState(t, approver1, toCancel, "cancelled")
	if got := textOf(t, approver1, `[data-testid="payout-reason"]`); got != "Reason: “Recipient asked to be paid by bank transfer”" {
		t.Errorf("cancel reason shown as %q", got)
	}

	// The issuer declines the test card: the payout fails and says why.
	approve(t, approver2, declined, "approver2@example.com")
	waitState(t, approver2, declined, "failed")
	if got := strings.ToLower(textOf(t, approver2, `[data-testid="payout-reason"]`)); !strings.Contains(got, "declined") {
		t.Errorf("declined payout reason %q", got)
	}

	// The payout page tells who did what, when.
	run(t, approver1, chromedp.Navigate(small), chromedp.WaitVisible(chromedp.CSS(`[data-testid="timeline"]`)))
	timeline := textOf(t, approver1, `[data-testid="timeline"]`)
	for _, want := range []string{"Prepared the payout", "Mia Maker", "Approved", "Alex Approver", "ready to be confirmed", "payment finished", "Now: paid"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}

	// No typed card number survives anywhere: database files, logs, pages. An
	// admin sees every page, the audit log included.
	admin := newBrowser(t)
	login(t, admin, c.URL, "admin@example.com", demoPasswords["admin@example.com"])
	for _, pan := range []string{"4242424242424242", "4000000000000002", "5555555555554444"} {
		for _, f := range []string{c.DB, c.DB + "-wal"} {
			b, _ := os.ReadFile(f)
			if strings.Contains(string(b), pan) {
				t.Errorf("card number %s found in %s", pan, f)
			}
		}
		if strings.Contains(c.logs.String(), pan) {
			t.Errorf("card number %s found in the console's output", pan)
		}
		for _, u := range []string{small, large, toCancel, declined, c.URL + "/queue", c.URL + "/payouts", c.URL + "/audit"} {
			run(t, admin, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main")))
			if html := get(t, admin, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, pan) {
				t.Errorf("card number %s found on %s", pan, u)
			}
		}
	}
}
