package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"countersign/payout"
	"countersign/store"
)

// TestSignInComesBack: a link followed while signed out, or a session that
// ended, leads to the sign-in form and, after it, back to the page; only a
// path on this console is followed.
func TestSignInComesBack(t *testing.T) {
	h := newHarness(t)
	h.user("auditor@example.com", "auditor")
	b := h.browser()
	p := b.get("/payouts?state=failed")
	if p.status != http.StatusSeeOther || p.location != "/login?next=%2Fpayouts%3Fstate%3Dfailed" {
		t.Fatalf("signed out: status %d location %q", p.status, p.location)
	}
	form := b.get(p.location)
	if !strings.Contains(form.body, `name="next" value="/payouts?state=failed"`) {
		t.Errorf("the sign-in form does not carry next:\n%s", form.body)
	}
	p = b.post("/login", url.Values{"email": {"auditor@example.com"}, "password": {testPassword}, "next": {"/payouts?state=failed"}})
	if p.status != http.StatusSeeOther || p.location != "/payouts?state=failed" {
		t.Errorf("after signing in: status %d location %q, want the page the person was on", p.status, p.location)
	}
	// Signed in already: the form sends on at once.
	if p := b.get("/login?next=%2Faudit"); p.status != http.StatusSeeOther || p.location != "/audit" {
		t.Errorf("signed in, /login?next=/audit: status %d location %q", p.status, p.location)
	}

	for _, next := range []string{"//evil.example/", "https://evil.example/x", "/\\evil.example", "javascript:alert(1)", " /payouts"} {
		other := h.browser()
		other.get("/login")
		p := other.post("/login", url.Values{"email": {"auditor@example.com"}, "password": {testPassword}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location != "/" {
			t.Errorf("next=%q: status %d location %q, want the dashboard", next, p.status, p.location)
		}
	}
}

// TestBackgroundRequestAfterTheSessionEnded: a live page's poll that finds
// the session gone is told to load the sign-in page as a whole, coming back
// to where the person was, instead of getting the sign-in form to put into
// a corner of the page.
func TestBackgroundRequestAfterTheSessionEnded(t *testing.T) {
	h := newHarness(t)
	u := h.user("approver@example.com", "approver")
	b := h.browser()
	b.login("approver@example.com")
	if _, err := h.db.DeleteUserSessions(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/queue/live", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Current-URL", h.srv.URL+"/queue?from=mail")
	req.Header.Set(headerPoll, "1")
	p := b.do(req)
	if p.status != http.StatusUnauthorized || p.header.Get("HX-Redirect") != "/login?next=%2Fqueue%3Ffrom%3Dmail" {
		t.Errorf("poll after the session ended: status %d HX-Redirect %q", p.status, p.header.Get("HX-Redirect"))
	}
	if strings.Contains(p.body, `name="password"`) {
		t.Error("the poll got the sign-in form as its fragment")
	}
	// A current URL elsewhere is not followed.
	req.Header.Set("HX-Current-URL", "https://evil.example//evil.example/")
	if p := b.do(req); p.header.Get("HX-Redirect") != "/login?next=%2F%2Fevil.example%2F" && p.header.Get("HX-Redirect") != "/login" {
		t.Errorf("foreign current URL: HX-Redirect %q", p.header.Get("HX-Redirect"))
	}
}

// TestPollsAnswerOnlyChanges: a live part is sent with the fingerprint of
// what it shows; a poll with that fingerprint gets 204 (nothing to swap, so
// focus and typing stay put), and the new part once something changed. A
// final payout's page does not poll at all.
func TestPollsAnswerOnlyChanges(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"usd": 100000})
	maker := h.user("maker@example.com", "maker")
	h.user("approver@example.com", "approver")
	b := h.browser()
	b.login("approver@example.com")
	pending := h.seed(t, seed{maker: maker, name: "Waiting Walt", amount: 1000, state: payout.StatePendingApproval, deadline: 3 * time.Hour})

	for _, tc := range []struct{ page, live string }{
		{"/queue", "/queue/live"}, {"/", "/dashboard/live"}, {"/payouts/" + itoa(pending.ID), "/payouts/" + itoa(pending.ID) + "/live"},
	} {
		seen := pollSeen(t, b.get(tc.page).body, tc.live)
		if seen == "" {
			t.Fatalf("%s: no poll of %s with a fingerprint", tc.page, tc.live)
		}
		if p := b.poll(tc.live, seen); p.status != http.StatusNoContent || p.body != "" {
			t.Errorf("%s, nothing changed: status %d, want 204", tc.live, p.status)
		}
		if p := b.poll(tc.live, "stale"); p.status != http.StatusOK || pollSeen(t, p.body, tc.live) != seen {
			t.Errorf("%s with an old fingerprint: status %d, want 200 and the same fingerprint as the page", tc.live, p.status)
		}
	}

	seen := pollSeen(t, b.get("/queue").body, "/queue/live")
	h.seed(t, seed{maker: maker, name: "New Nora", amount: 2000, state: payout.StatePendingApproval, deadline: 4 * time.Hour})
	p := b.poll("/queue/live", seen)
	if p.status != http.StatusOK || !strings.Contains(p.body, "New Nora") || pollSeen(t, p.body, "/queue/live") == seen {
		t.Errorf("a new payout in the queue: status %d, want the list with a new fingerprint", p.status)
	}

	done := h.seed(t, seed{maker: maker, name: "Done Dan", amount: 500, state: payout.StateSucceeded})
	if body := b.get("/payouts/" + itoa(done.ID)).body; strings.Contains(body, "hx-get") {
		t.Error("a final payout's page polls")
	}
	// A payout turning final: the poll sends the part without polling in it.
	live := "/payouts/" + itoa(pending.ID) + "/live"
	seen = pollSeen(t, b.get("/payouts/"+itoa(pending.ID)).body, live)
	if err := h.db.InTx(t.Context(), func(tx *store.Tx) error {
		pending.State = string(payout.StateCancelled)
		pending.FinishedAt = tx.Now()
		return tx.SavePayout(t.Context(), pending)
	}); err != nil {
		t.Fatal(err)
	}
	if p := b.poll(live, seen); p.status != http.StatusOK || strings.Contains(p.body, "hx-get") || !strings.Contains(p.body, `data-state="cancelled"`) {
		t.Errorf("the payout ended: status %d, want its final part without polling", p.status)
	}
}

// poll asks a live URL as htmx does, with the fingerprint the page showed.
func (b *browser) poll(path, seen string) page {
	req, _ := http.NewRequest("GET", b.h.srv.URL+path, nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set(headerPoll, "1")
	req.Header.Set(headerSeen, seen)
	return b.do(req)
}

// pollSeen is the fingerprint a page's live part sends when it polls url.
func pollSeen(t *testing.T, body, url string) string {
	parts := findAll(doc(t, body), func(n *htmlNode) bool { return attr(n, "hx-get") == url })
	if len(parts) == 0 {
		return ""
	}
	_, after, ok := strings.Cut(attr(parts[0], "hx-headers"), `"`+headerSeen+`": "`)
	if !ok {
		return ""
	}
	seen, _, _ := strings.Cut(after, `"`)
	return seen
}

// TestARefusalStaysOnTheLivePage: a decision refused for its code says why
// above the page, and the payout page's refresh does not wipe that out
// while the payout itself has not changed.
func TestARefusalStaysOnTheLivePage(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"usd": 100000})
	maker := h.user("maker@example.com", "maker")
	h.user("approver@example.com", "approver")
	p := h.seed(t, seed{maker: maker, name: "Coded Cora", amount: 1000, state: payout.StatePendingApproval, deadline: 3 * time.Hour})
	b := h.signedIn("approver@example.com")
	b.get("/payouts/" + itoa(p.ID))
	page := b.post("/payouts/"+itoa(p.ID)+"/approve", url.Values{"version": {itoa(p.Version)}, "otp": {"000000"}})
	if page.status == http.StatusSeeOther || !strings.Contains(strings.Join(texts(doc(t, page.body), hasClass("div", "flash-error")), " "), "not right") {
		t.Fatalf("a wrong code: status %d, want the page again with why above it", page.status)
	}
	live := "/payouts/" + itoa(p.ID) + "/live"
	if r := b.poll(live, pollSeen(t, page.body, live)); r.status != http.StatusNoContent {
		t.Errorf("the refresh after a refusal: status %d, want 204 (nothing changed)", r.status)
	}
}
