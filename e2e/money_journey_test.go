package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// available reads a currency's available amount off the gauge of the page at url, in minor units.
func available(t *testing.T, ctx context.Context, url, cur string) int64 {
	t.Helper()
	run(t, ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`[data-testid="gauge"][data-currency="`+cur+`"]`)))
	text := textOf(t, ctx, `[data-testid="gauge"][data-currency="`+cur+`"] [data-testid="gauge-available"]`)
	amount := strings.NewReplacer(cur+" ", "", ",", "", ".", "").Replace(strings.TrimSpace(text))
	n, err := strconv.ParseInt(amount, 10, 64)
	if err != nil {
		t.Fatalf("gauge %q: %v", text, err)
	}
	return n
}

// TestMoneyJourney: a recipient with a card saved through the sandbox widget,
// verified by a second person, paid; the gauge moves; the payout is found
// through the filters and exported.
func TestMoneyJourney(t *testing.T) {
	c := startConsole(t)
	maker, approver := newBrowser(t), newBrowser(t)
	login(t, maker, c.URL, "maker@example.com", demoPasswords["maker@example.com"])
	login(t, approver, c.URL, "approver1@example.com", demoPasswords["approver1@example.com"])

	// A recipient.
	run(t, maker,
		chromedp.Navigate(c.URL+"/recipients"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recipient-form"]`)),
		chromedp.SendKeys(chromedp.ID("full_name"), "Jolene Journey"),
		chromedp.SendKeys(chromedp.ID("email"), "jolene@example.com"),
		chromedp.SendKeys(chromedp.ID("country"), "DE"),
		chromedp.Submit(chromedp.ID("full_name")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recipient-name"]`)),
	)
	recipientURL := get(t, maker, chromedp.Location())

	// A card through the sandbox widget, which posts the token back.
	run(t, maker,
		chromedp.Click(chromedp.CSS(`[data-testid="card-widget"]`)),
		chromedp.WaitVisible(chromedp.ID("number")),
		chromedp.SendKeys(chromedp.ID("number"), "4242 4242 4242 4242"),
		chromedp.Submit(chromedp.ID("number")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="widget-return"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="widget-return"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="widget-card"]`)),
	)
	if u := get(t, maker, chromedp.Location()); strings.Contains(u, "number_hash") {
		t.Errorf("the card's token is in the URL: %s", u)
	}
	if got := textOf(t, maker, `[data-testid="widget-card"]`); !strings.Contains(got, "VISA •••• 4242") {
		t.Errorf("back from the widget: %q", got)
	}
	run(t, maker,
		chromedp.Click(chromedp.CSS(`[data-testid="card-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="card-row"]`)),
	)
	if v := get(t, maker, chromedp.Evaluate[string](`document.querySelector('[data-testid="card-row"]').dataset.verified`)); v != "false" {
		t.Fatalf("a new card is verified=%s", v)
	}
	if n := get(t, maker, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="verify-card"]').length`)); n != 0 {
		t.Errorf("the maker who added the card is offered to verify it")
	}

	// A second person verifies it.
	run(t, approver, chromedp.Navigate(recipientURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="verify-card"]`)))
	typeCode(t, approver, "approver1@example.com", `[data-testid="card-row"] [data-testid="otp"]`)
	confirmClick(t, approver, `[data-testid="verify-card"]`)
	run(t, approver, chromedp.WaitVisible(chromedp.CSS(`[data-testid="card-row"][data-verified="true"]`)))

	before := available(t, maker, c.URL+"/", "USD")

	// Pay it: the form offers the verified card.
	run(t, maker,
		chromedp.Navigate(recipientURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="pay-recipient"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="pay-recipient"]`)),
		chromedp.WaitVisible(chromedp.ID("card_id")),
	)
	label := get(t, maker, chromedp.Evaluate[string](`document.querySelector('#card_id option:nth-child(2)').textContent`))
	if label != "VISA •••• 4242 · Jolene Journey" {
		t.Errorf("card option %q", label)
	}
	// Opened from the recipient, the form comes with their name and their
	// verified card chosen: a saved card is paid only to its recipient.
	cardID := get(t, maker, chromedp.Evaluate[string](`document.querySelector('#card_id option:nth-child(2)').value`))
	if chosen := get(t, maker, chromedp.Evaluate[string](`document.querySelector('#card_id').value`)); chosen != cardID {
		t.Errorf("card chosen %q, want %q", chosen, cardID)
	}
	if name := get(t, maker, chromedp.Evaluate[string](`document.querySelector('#full_name').value`)); name != "Jolene Journey" {
		t.Errorf("name %q, want the recipient's", name)
	}
	run(t, maker,
		chromedp.SendKeys(chromedp.ID("amount"), "12.34"),
		chromedp.Submit(chromedp.ID("full_name")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="payout-state"]`)),
	)
	payoutURL := get(t, maker, chromedp.Location())
	if !payoutPath.MatchString(payoutURL) {
		t.Fatalf("after submit at %s; page:\n%s", payoutURL, pageText(maker))
	}
	id := payoutPath.FindStringSubmatch(payoutURL)[1]
	waitState(t, maker, payoutURL, "pending_approval")

	// The gauge moves: the payout awaits approval.
	if after := available(t, maker, c.URL+"/", "USD"); after != before-1234 {
		t.Errorf("available after submitting: %d, want %d", after, before-1234)
	}
	approve(t, approver, payoutURL, "approver1@example.com")
	waitState(t, approver, payoutURL, "succeeded")
	run(t, maker,
		chromedp.Navigate(c.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="balance-refresh"] button`)),
		chromedp.Click(chromedp.CSS(`[data-testid="balance-refresh"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if after := available(t, maker, c.URL+"/", "USD"); after != before-1234 {
		t.Errorf("available after paying and reading the balance: %d, want %d", after, before-1234)
	}

	// Found through the filters.
	run(t, approver,
		chromedp.Navigate(c.URL+"/payouts"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="history-filters"]`)),
		chromedp.SendKeys(chromedp.ID("h-recipient"), "jolene"),
		chromedp.SendKeys(chromedp.ID("h-last4"), "4242"),
		chromedp.Click(chromedp.CSS(`input[name="state"][value="succeeded"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="filter"]`)),
	)
	// The unfiltered list shows the payout too: wait for the filtered page itself.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(get(t, approver, chromedp.Location()), "last4=4242"); {
		if time.Now().After(deadline) {
			t.Fatalf("the filter did not load; at %s", get(t, approver, chromedp.Location()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	run(t, approver, chromedp.WaitVisible(chromedp.CSS(`[data-testid="history-row"]`)))
	rows := get(t, approver, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="history-row"]')].map(r => r.dataset.payout)`))
	if len(rows) != 1 || rows[0] != id {
		t.Errorf("filtered rows %v, want [%s]", rows, id)
	}

	// Exported: the CSV link downloads the same payout.
	csv := get(t, approver, chromedp.Evaluate[string](`(async () => {
		const r = await fetch(document.querySelector('[data-testid="export-csv"]').href);
		return r.headers.get('content-type') + "\n" + await r.text();
	})()`, chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "text/csv") || !strings.HasPrefix(lines[2], id+",") || !strings.Contains(lines[2], "Jolene Journey") {
		t.Errorf("export:\n%s", csv)
	}
}
