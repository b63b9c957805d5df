package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/store"
)

// gaugeText is the text of one currency's gauge, tags stripped.
func gaugeText(body, cur string) string {
	i := strings.Index(body, `data-testid="gauge" data-currency="`+cur+`"`)
	if i < 0 {
		return ""
	}
	i = strings.LastIndex(body[:i], "<")
	end := strings.Index(body[i:], "</figure>")
	return stripTags(body[i : i+end])
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestGaugesRefreshAndStaleness(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"usd": 100000, "eur": 5000})
	maker := h.user("maker@example.com", "maker")
	h.user("approver@example.com", "approver")
	h.user("auditor@example.com", "auditor")
	a := h.browser()
	a.login("approver@example.com")
	if strings.Contains(a.get("/").body, `data-testid="gauge"`) {
		t.Fatal("a gauge before any reading or payout")
	}

	p := a.post("/balance/refresh", url.Values{"back": {"/queue"}})
	if p.status != http.StatusSeeOther || p.location != "/queue" {
		t.Fatalf("refresh: status %d location %q", p.status, p.location)
	}
	page := a.get("/queue")
	if !strings.Contains(page.body, "Balance read at 2026-11-21 09:00 UTC.") {
		t.Error("no flash after the refresh")
	}
	// The queue has one line per currency above the list.
	strips := texts(doc(t, page.body), testID("strip"))
	if want := []string{"EUR 50.00 free 0.00 awaiting · 0.00 being paid read just now", "USD 1,000.00 free 0.00 awaiting · 0.00 being paid read just now"}; !slices.Equal(strips, want) {
		t.Errorf("balance strip on the queue:\n got %q\nwant %q", strips, want)
	}
	page = a.get("/")
	if got, want := gaugeText(page.body, "USD"), "USD 1,000.00 free of 1,000.00 0 500 1,000 Free 1,000.00 Awaiting approval 0.00 Being paid 0.00 "+
		"No payouts in the last 7 days to estimate how long this lasts. As of 2026-11-21 09:00 UTC (just now)"; got != want {
		t.Errorf("USD gauge on the dashboard:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(gaugeText(page.body, "EUR"), "EUR 50.00 free of 50.00") {
		t.Errorf("EUR gauge: %q", gaugeText(page.body, "EUR"))
	}

	h.seed(t, seed{maker: maker, name: "A", amount: 25000, state: payout.StatePendingApproval})
	h.seed(t, seed{maker: maker, name: "B", amount: 10000, state: payout.StateConfirmed, confirmed: true})
	h.seed(t, seed{maker: maker, name: "C", amount: 99999, state: payout.StateCancelled})
	h.clock.Advance(5 * time.Minute)
	page = a.get("/")
	if got, want := gaugeText(page.body, "USD"), "USD 650.00 free of 1,000.00 0 500 1,000 Free 650.00 Awaiting approval 250.00 Being paid 100.00 "+
		"No payouts in the last 7 days to estimate how long this lasts. As of 2026-11-21 09:00 UTC (5 min ago)"; got != want {
		t.Errorf("USD gauge with payouts:\n got %q\nwant %q", got, want)
	}
	// The bar: free from the left, then awaiting approval, then being paid, on a scale of the balance.
	for class, want := range map[string][2]string{"seg-free": {"0", "650.0"}, "seg-awaiting": {"650.0", "250.0"}, "seg-paid": {"900.0", "100.0"}} {
		rects := findAll(doc(t, page.body), hasClass("rect", class))
		if len(rects) == 0 || attr(rects[len(rects)-1], "x") != want[0] || attr(rects[len(rects)-1], "width") != want[1] {
			t.Errorf("%s: want x=%s width=%s", class, want[0], want[1])
		}
	}
	if tag := tagWith(page.body, "gauge", "data-currency", "USD"); !strings.Contains(tag, `data-stale="false"`) {
		t.Errorf("a 5-minute-old reading is stale: %s", tag)
	}

	h.clock.Advance(time.Second)
	page = a.get("/")
	if tag := tagWith(page.body, "gauge", "data-currency", "USD"); !strings.Contains(tag, `data-stale="true"`) {
		t.Errorf("a reading older than 5 minutes is not stale: %s", tag)
	}
	if !strings.Contains(gaugeText(page.body, "USD"), "Old reading: as of 2026-11-21 09:00 UTC (5 min ago)") {
		t.Errorf("stale gauge: %q", gaugeText(page.body, "USD"))
	}

	// Pending beyond what is on hand: the gauge says so, on the maker's form too.
	h.seed(t, seed{maker: maker, name: "D", amount: 70000, state: payout.StateAwaitingProvider})
	m := h.browser()
	m.login("maker@example.com")
	form := m.get("/payouts/new").body
	if got := strings.Join(texts(doc(t, form), func(n *htmlNode) bool { return attr(n, "data-testid") == "strip" && attr(n, "data-currency") == "USD" }), ""); !strings.Contains(got, "USD -50.00 free") ||
		!strings.Contains(got, "Payouts awaiting approval exceed the money on hand by 50.00 USD.") {
		t.Errorf("over-committed gauge on the payout form: %q", got)
	}

	// The way back is only ever a path on this console.
	for _, back := range []string{"//evil.example/", "https://evil.example/", "javascript:alert(1)", "", "/\\evil"} {
		if p := a.post("/balance/refresh", url.Values{"back": {back}}); p.status != http.StatusSeeOther || p.location != "/" {
			t.Errorf("back=%q: status %d location %q, want 303 to /", back, p.status, p.location)
		}
	}
	au := h.browser()
	au.login("auditor@example.com")
	if p := au.post("/balance/refresh", nil); p.status != http.StatusForbidden {
		t.Errorf("auditor refresh: status %d, want 403", p.status)
	}

	// The provider gone: the refresh says so and the last reading stays.
	h.sb.Close()
	p = a.post("/balance/refresh", url.Values{"back": {"/"}})
	page = a.get("/")
	if !strings.Contains(page.body, "The provider did not answer.") {
		t.Error("no message after a failed refresh")
	}
	// The refreshes above (sent back to /) read at 09:05:01; that reading stays.
	if !strings.Contains(gaugeText(page.body, "USD"), "As of 2026-11-21 09:05 UTC") {
		t.Errorf("after a failed refresh the last reading is gone: %q", gaugeText(page.body, "USD"))
	}
}

func TestRefreshWithoutProvider(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	b := h.browser()
	b.login("admin@example.com")
	if p := b.post("/balance/refresh", nil); p.status != http.StatusSeeOther {
		t.Fatalf("status %d", p.status)
	}
	if !strings.Contains(b.get("/").body, "No provider is configured") {
		t.Error("no message")
	}
}

func TestAfterApprovalAndBalanceWarning(t *testing.T) {
	h := newHarness(t)
	maker := h.user("maker@example.com", "maker")
	ctx := t.Context()
	a := &app{Config: Config{DB: h.db, Now: h.clock.Now}}
	newCtx := func() echo.Context {
		return echo.New().NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
	}
	p := h.seed(t, seed{maker: maker, name: "X", amount: 40000, state: payout.StatePendingApproval})
	if text, over, err := a.afterApproval(newCtx(), p, 0); err != nil || text != "No balance reading for USD yet" || over {
		t.Errorf("no reading: %q %v %v", text, over, err)
	}
	if err := h.db.InsertBalanceSnapshot(ctx, store.BalanceSnapshot{Currency: "USD", Amount: 100000}); err != nil {
		t.Fatal(err)
	}
	h.seed(t, seed{maker: maker, name: "Y", amount: 70000, state: payout.StateConfirming, confirmed: true})
	h.seed(t, seed{maker: maker, name: "Z", amount: 50000, state: payout.StatePendingApproval})
	c := newCtx()
	if text, over, err := a.afterApproval(c, p, 0); err != nil || text != "-100.00 USD left" || !over {
		t.Errorf("overdraw: %q %v %v", text, over, err)
	}
	small := h.seed(t, seed{maker: maker, name: "S", amount: 1000, state: payout.StatePendingApproval})
	c = newCtx()
	if text, over, err := a.afterApproval(c, small, 0); err != nil || text != "290.00 USD left" || over {
		t.Errorf("fits: %q %v %v", text, over, err)
	}
	// Below two others in the queue, it leaves what they leave.
	if text, over, err := a.afterApproval(c, small, 90000); err != nil || text != "-610.00 USD left, after those above" || !over {
		t.Errorf("below 900.00 in the queue: %q %v %v", text, over, err)
	}
	h.clock.Advance(10 * time.Minute)
	if text, _, _ := a.afterApproval(newCtx(), small, 0); text != "290.00 USD left (old reading)" {
		t.Errorf("stale: %q", text)
	}
	// 1,000.00 on hand, 700.00 leaving, 910.00 awaiting approval.
	if w, err := a.balanceWarning(newCtx(), "usd"); err != nil || w != "Payouts awaiting approval in USD already exceed the money on hand by 610.00 USD: not all of them can be approved." {
		t.Errorf("warning: %q %v", w, err)
	}
	if w, err := a.balanceWarning(newCtx(), "EUR"); err != nil || w != "" {
		t.Errorf("EUR warning: %q %v", w, err)
	}
}

func TestLowBalanceBannerForEveryone(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"usd": 100000})
	maker := h.user("maker@example.com", "maker")
	h.user("admin@example.com", "admin")
	h.user("auditor@example.com", "auditor")
	ad := h.browser()
	ad.login("admin@example.com")
	ad.post("/balance/refresh", nil)
	page := ad.get("/admin/settings")
	if got := attrs(page.body, "settings-row", "data-currency"); strings.Join(got, ",") != "USD,," {
		t.Fatalf("settings rows %v, want USD and two blank rows", got)
	}
	p := ad.post("/admin/settings", url.Values{"kind": {"fixed", "new", "new"}, "currency": {"USD", "", ""}, "threshold": {"1,000.00", "", ""},
		"low": {"900.00", "", ""}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: status %d", p.status)
	}
	h.secondAdminApproves() // new levels wait for another admin
	const banner = "Low balance: USD 750.00 available, below the level of 900.00. Top up the wallet before approving more."
	if strings.Contains(ad.get("/").body, "Low balance") {
		t.Error("a banner while 1,000.00 is available")
	}
	h.seed(t, seed{maker: maker, name: "A", amount: 25000, state: payout.StatePendingApproval})
	au := h.browser()
	au.login("auditor@example.com")
	for _, path := range []string{"/", "/payouts", "/audit"} {
		if !strings.Contains(au.get(path).body, banner) {
			t.Errorf("auditor's %s has no low-balance banner", path)
		}
	}
	m := h.browser()
	m.login("maker@example.com")
	if !strings.Contains(m.get("/recipients").body, banner) {
		t.Error("maker's page has no low-balance banner")
	}
}
