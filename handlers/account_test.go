package handlers

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"countersign/notify"
	"countersign/payout"
	"countersign/store"
)

// TestTimeZone: a person picks a zone on /account; it is stored with an
// audit entry, every time is then shown in it with the zone named, and the
// history's days are days there.
func TestTimeZone(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	h.user("auditor@example.com", "auditor")
	b := h.browser()
	b.login("auditor@example.com")
	if p := b.get("/account"); p.status != http.StatusOK || !strings.Contains(p.body, `<option value="UTC" selected>`) ||
		!strings.Contains(p.body, `<option value="Europe/Berlin">Berlin</option>`) {
		t.Fatalf("account page: status %d, want UTC chosen and Berlin offered", p.status)
	}
	if p := b.post("/account/time-zone", url.Values{"time_zone": {"Mars/Olympus_Mons"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "Pick a time zone from the list") {
		t.Errorf("unknown zone: status %d", p.status)
	}
	if p := b.post("/account/time-zone", url.Values{"time_zone": {"Europe/Berlin"}}); p.status != http.StatusSeeOther || p.location != "/account" {
		t.Fatalf("save zone: status %d location %q", p.status, p.location)
	}
	u, _ := h.db.UserByEmail(t.Context(), "auditor@example.com")
	if u.TimeZone != "Europe/Berlin" {
		t.Errorf("stored zone %q", u.TimeZone)
	}
	if e, _ := h.db.AuditEntries(t.Context(), store.AuditFilter{Action: "user.time_zone"}); len(e) != 1 || e[0].Detail != "UTC → Europe/Berlin" {
		t.Errorf("audit: %+v", e)
	}

	// 23:30 UTC on the 21st is 00:30 on the 22nd in Berlin.
	h.clock.Advance(14*time.Hour + 30*time.Minute)
	late := h.seed(t, seed{maker: maker, name: "Late Lou", amount: 100, state: payout.StateSucceeded})
	b.login("auditor@example.com") // the clock moved past the idle timeout
	page := b.get("/payouts/" + itoa(late.ID)).body
	if !strings.Contains(page, "2026-11-22 00:30 CET") || !strings.Contains(page, "Times are shown in Europe/Berlin") {
		t.Errorf("the payout's times are not in Berlin")
	}
	for query, want := range map[string][]string{"from=2026-11-22": {itoa(late.ID)}, "to=2026-11-21": {}} {
		if got := attrs(b.get("/payouts?"+query).body, "history-row", "data-payout"); !slices.Equal(got, want) {
			t.Errorf("%s in Berlin: rows %v, want %v", query, got, want)
		}
	}
	csv := b.get("/payouts.csv").body
	if !strings.Contains(csv, ",2026-11-22T00:30:00+01:00,") {
		t.Errorf("the export's times are not in the person's zone:\n%s", csv)
	}
}

// TestNotificationChoices: /account offers the kinds of the person's roles;
// a kind of another role is refused as invalid, with the form shown again.
func TestNotificationChoices(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Notify = notify.New(notify.Config{DB: c.DB}) })
	h.user("approver@example.com", "approver")
	b := h.browser()
	b.login("approver@example.com")
	page := b.get("/account").body
	for _, want := range []string{`value="payout_queued" checked`, `value="deadline_soon" checked`, "No email server is set up"} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if strings.Contains(page, `value="payout_succeeded"`) {
		t.Error("an approver is offered a maker's notification")
	}
	if p := b.post("/account/notifications", url.Values{"kind": {"deadline_soon"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save: status %d", p.status)
	}
	page = b.get("/account").body
	if !strings.Contains(page, `value="payout_queued">`) || !strings.Contains(page, `value="deadline_soon" checked`) {
		t.Error("the choice did not stick")
	}
	p := b.post("/account/notifications", url.Values{"kind": {"payout_succeeded"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "does not apply to your roles") {
		t.Errorf("a maker's kind: status %d, want 422 with the reason", p.status)
	}
}

// TestRequestIDsAndTheAccessLog: every answer names its request; the access
// log has one line per request with that id, the path without its query,
// and the status; an error page shows the id.
func TestRequestIDsAndTheAccessLog(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	b := h.browser()
	b.login("admin@example.com")
	p := b.get("/admin/users/999?secret=4242424242424242")
	id := p.header.Get("X-Request-Id")
	if id == "" || !strings.Contains(p.body, id) {
		t.Fatalf("404 page: X-Request-Id %q not on the page", id)
	}
	logs := h.logs.String()
	line := ""
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "id="+id) {
			line = l
		}
	}
	if !strings.Contains(line, "msg=request") || !strings.Contains(line, "path=/admin/users/999") || !strings.Contains(line, "status=404") {
		t.Errorf("access log line for %s: %q", id, line)
	}
	if strings.Contains(logs, "4242424242424242") {
		t.Error("the access log has the query string")
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "proxy-abc.123")
	if p := b.do(req); p.header.Get("X-Request-Id") != "proxy-abc.123" {
		t.Errorf("a proxy's id was not kept: %q", p.header.Get("X-Request-Id"))
	}
	req.Header.Set("X-Request-Id", "bad id with=spaces")
	if p := b.do(req); p.header.Get("X-Request-Id") == "" || strings.Contains(p.header.Get("X-Request-Id"), " ") {
		t.Errorf("a bad incoming id was used: %q", p.header.Get("X-Request-Id"))
	}
}

// TestCompression: pages, files and the CSV export are sent gzipped to a
// browser that asks; the export still streams whole; the provider's webhook
// replies are not compressed.
func TestCompression(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	h.user("auditor@example.com", "auditor")
	for range 1200 {
		h.seed(t, seed{maker: maker, name: "Bulk Bea", amount: 150000, state: payout.StateSucceeded})
	}
	b := h.browser()
	b.login("auditor@example.com")
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			r = zr
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp, string(body)
	}
	for _, path := range []string{"/static/app.css", "/static/vendor/htmx/htmx.min.js", "/", "/payouts"} {
		if resp, body := get(path); resp.Header.Get("Content-Encoding") != "gzip" || len(body) < 100 {
			t.Errorf("%s: Content-Encoding %q, %d bytes", path, resp.Header.Get("Content-Encoding"), len(body))
		}
	}
	resp, csv := get("/payouts.csv")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("CSV: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	lines := strings.Split(strings.TrimSpace(csv), "\r\n")
	if len(lines) != 1201 || !strings.Contains(lines[1200], ",1500.00,USD,Bulk Bea,") {
		t.Errorf("CSV through gzip: %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	req, _ := http.NewRequest("POST", h.srv.URL+"/webhooks/smartglocal", strings.NewReader("{}"))
	req.Header.Set("Accept-Encoding", "gzip")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("webhook reply compressed: %v %v", resp.Header, err)
	}
}
