package handlers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

// TestDashboard: the harness's clock is Saturday 2026-11-21 09:00 UTC, so the
// week began on Monday the 16th.
func TestDashboard(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"usd": 100000})
	maker := h.user("maker@example.com", "maker")
	h.user("auditor@example.com", "auditor")
	for _, s := range []seed{
		{name: "today", amount: 1000, state: payout.StateSucceeded, finishedAgo: time.Hour},
		{name: "today jpy", amount: 500, currency: "JPY", state: payout.StateSucceeded, finishedAgo: 2 * time.Hour},
		{name: "thursday", amount: 500, state: payout.StateSucceeded, finishedAgo: 2 * 24 * time.Hour},
		{name: "last sunday", amount: 700, state: payout.StateSucceeded, finishedAgo: 6 * 24 * time.Hour},
		{name: "three weeks ago", amount: 900, state: payout.StateSucceeded, finishedAgo: 21 * 24 * time.Hour},
		{name: "Urgent Ursula", amount: 2000, state: payout.StatePendingApproval, deadline: 20 * time.Minute},
		{name: "Calm Carl", amount: 3000, state: payout.StatePendingApproval, deadline: 3 * time.Hour},
		{name: "Euro Eve", amount: 4000, currency: "EUR", state: payout.StatePendingApproval, deadline: 45 * time.Minute},
		{name: "Declined Dora", amount: 100, state: payout.StateFailed, failure: "Insufficient funds on the card"},
		{name: "Late Larry", amount: 200, state: payout.StateExpired},
		{name: "Fine Fred", amount: 300, state: payout.StateCancelled},
	} {
		s.maker = maker
		h.clock.Advance(time.Second)
		h.seed(t, s)
	}
	b := h.browser()
	b.login("auditor@example.com")
	page := b.get("/").body

	paid := map[string]string{}
	for _, cur := range attrs(page, "paid-row", "data-currency") {
		paid[cur] = stripTags(between(page, `data-testid="paid-row" data-currency="`+cur+`"`, "</tr>"))
	}
	if got, want := paid["USD"], `data-testid="paid-row" data-currency="USD" USD 10.00 (1) 15.00 (2)`; got != want {
		t.Errorf("USD paid: %q, want %q", got, want)
	}
	if got, want := paid["JPY"], `data-testid="paid-row" data-currency="JPY" JPY 500 (1) 500 (1)`; got != want {
		t.Errorf("JPY paid: %q, want %q", got, want)
	}
	if len(paid) != 2 {
		t.Errorf("paid rows for %v", paid)
	}

	if got := stripTags(between(page, `data-testid="pending-count"`, "</span>")); !strings.HasSuffix(got, "3") {
		t.Errorf("pending count: %q", got)
	}
	pendingText := stripTags(between(page, `data-testid="pending"`, "</section>"))
	for _, want := range []string{"40.00 EUR in 1 payout ", "50.00 USD in 2 payouts"} {
		if !strings.Contains(pendingText, want) {
			t.Errorf("pending lacks %q: %s", want, pendingText)
		}
	}
	near := stripTags(between(page, `data-testid="near-deadline"`, "</ul>"))
	if !strings.Contains(near, "20.00 USD to Urgent Ursula: 19m left") || !strings.Contains(near, "40.00 EUR to Euro Eve: 44m left") || strings.Contains(near, "Calm Carl") {
		t.Errorf("near deadline: %q", near)
	}
	if !strings.Contains(between(page, `data-testid="near-deadline"`, "</ul>"), `badge badge-warn`) {
		t.Error("the payout 19 minutes from its deadline is not marked urgent")
	}

	var failures []string
	for _, id := range attrs(page, "failure-row", "data-payout") {
		row := stripTags(between(page, `data-testid="failure-row" data-payout="`+id+`"`, "</tr>"))
		_, rest, _ := strings.Cut(row, "UTC ")
		failures = append(failures, rest)
	}
	want := []string{"2.00 USD Late Larry Expired No reason was given", "1.00 USD Declined Dora Failed Insufficient funds on the card"}
	if !slices.Equal(failures, want) {
		t.Errorf("failures:\n got %q\nwant %q", failures, want)
	}

	// No reading yet: the charts come from the outflow alone. Seven days
	// reach back to Sunday the 15th.
	if charts := attrs(page, "chart", "data-currency"); !slices.Equal(charts, []string{"JPY", "USD"}) {
		t.Errorf("charts %v, want JPY and USD", charts)
	}
	usd := between(page, `data-testid="chart" data-currency="USD"`, "</figure>")
	if n := strings.Count(usd, `data-testid="chart-bar"`); n != 3 {
		t.Errorf("7-day USD chart has %d bars, want 3 (today, Thursday, Sunday)", n)
	}
	if strings.Contains(usd, `data-testid="chart-balance"`) {
		t.Error("a balance line without readings")
	}
	if !strings.Contains(stripTags(usd), "paid out 22.00 USD (busiest day 10.00 USD)") {
		t.Errorf("7-day USD caption: %q", stripTags(usd))
	}
	month := b.get("/?days=30").body
	usd30 := between(month, `data-testid="chart" data-currency="USD"`, "</figure>")
	if n := strings.Count(usd30, `data-testid="chart-bar"`); n != 4 {
		t.Errorf("30-day USD chart has %d bars, want 4", n)
	}

	// An auditor cannot open the queue, so the dashboard does not offer it.
	if strings.Contains(page, `data-testid="open-queue"`) || strings.Contains(page, `href="/queue"`) {
		t.Error("the auditor's dashboard links to the queue")
	}

	// One reading is not a line: the chart says there is not enough history yet.
	m := h.browser()
	m.login("maker@example.com")
	m.post("/balance/refresh", nil)
	h.clock.Advance(6 * time.Minute) // stale, and still inside the sessions' idle timeout
	page = m.get("/").body
	usd = between(page, `data-testid="chart" data-currency="USD"`, "</figure>")
	if pts := attrs(usd, "chart-balance", "points"); len(pts) != 0 {
		t.Errorf("balance line %v from one reading", pts)
	}
	if !strings.Contains(stripTags(usd), "Balance 1,000.00 USD;") {
		t.Errorf("USD caption with a reading: %q", stripTags(usd))
	}
	if !strings.Contains(page, `data-testid="balance-refresh"`) || !strings.Contains(gaugeText(page, "USD"), "Old reading") {
		t.Error("the dashboard lacks the refresh button or the stale gauge")
	}
	if !strings.Contains(page, `data-testid="open-queue"`) {
		t.Error("the maker's dashboard does not link to the queue")
	}
	if p := b.get("/"); p.status != 200 || strings.Contains(p.body, `data-testid="balance-refresh"`) {
		t.Errorf("an auditor is offered the refresh button (status %d)", p.status)
	}
	// A day of readings is: the balance is drawn.
	h.clock.Advance(25 * time.Hour)
	m.login("maker@example.com")
	m.post("/balance/refresh", nil)
	page = m.get("/").body
	usd = between(page, `data-testid="chart" data-currency="USD"`, "</figure>")
	if pts := attrs(usd, "chart-balance", "points"); len(pts) != 1 || len(strings.Fields(pts[0])) != 2 {
		t.Errorf("balance line %v, want the two readings", pts)
	}
}

// TestFailureRowExplainsTheProviderCode: a failure with no description says
// what the provider's code means instead of showing the bare code.
func TestFailureRowExplainsTheProviderCode(t *testing.T) {
	for _, tc := range []struct {
		row  store.PayoutRow
		want string
	}{
		{store.PayoutRow{Payout: &store.Payout{FailureCode: "declined_by_issuer_bank"}}, "the card issuer declined the payout"},
		{store.PayoutRow{Payout: &store.Payout{FailureCode: "declined_by_issuer_bank", FailureReason: "Do not honour"}}, "Do not honour"},
		{store.PayoutRow{Payout: &store.Payout{FailureCode: "something_new"}}, "something_new"},
		{store.PayoutRow{Payout: &store.Payout{}}, "No reason was given"},
	} {
		if got := failureRow(&tc.row, views.Clock{}).Reason; got != tc.want {
			t.Errorf("failureRow(%q, %q).Reason = %q; want %q", tc.row.FailureCode, tc.row.FailureReason, got, tc.want)
		}
	}
}
