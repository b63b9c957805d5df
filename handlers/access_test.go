package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// wantAccess is the role matrix written out by hand: for each route, which roles
// reach it. "*" is any signed-in user with a role; "own" is anyone signed in,
// an account with no role included (their own pages); "public" is anyone. It
// is deliberately not derived from the routes table, so that a change to
// either shows up here.
var wantAccess = map[string]string{
	"GET /static/*":                                 "public",
	"GET /favicon.ico":                              "public",
	"GET /healthz":                                  "public",
	"GET /readyz":                                   "public",
	"GET /login":                                    "public",
	"POST /login":                                   "public",
	"GET /signin/:token":                            "public",
	"POST /signin/:token":                           "public",
	"POST /logout":                                  "own",
	"GET /":                                         "own",
	"GET /dashboard/live":                           "*",
	"POST /account/time-zone":                       "own",
	"POST /account/notifications":                   "own",
	"GET /account":                                  "own",
	"GET /account/second-factor.png":                "own",
	"POST /account/second-factor":                   "own",
	"POST /account/second-factor/new":               "own",
	"GET /audit":                                    "admin auditor",
	"GET /audit.csv":                                "admin auditor",
	"GET /audit.jsonl":                              "admin auditor",
	"POST /admin/users/:id/second-factor/reset":     "admin",
	"GET /admin/changes":                            "admin",
	"POST /admin/settings/second-factor":            "admin",
	"POST /admin/changes/:id/approve":               "admin",
	"POST /admin/changes/:id/reject":                "admin",
	"POST /admin/changes/:id/withdraw":              "admin",
	"GET /admin/users":                              "admin",
	"POST /admin/users":                             "admin",
	"GET /admin/users/:id":                          "admin",
	"POST /admin/users/:id":                         "admin",
	"POST /admin/users/:id/password":                "admin",
	"POST /admin/users/:id/sessions/end":            "admin",
	"GET /admin/settings":                           "admin",
	"POST /admin/settings":                          "admin",
	"GET /payouts":                                  "*",
	"GET /payouts/new":                              "maker",
	"POST /payouts":                                 "maker",
	"GET /payouts/:id":                              "*",
	"GET /payouts/:id/live":                         "*",
	"POST /payouts/:id/approve":                     "approver",
	"POST /payouts/:id/cancel":                      "approver maker",
	"GET /payouts.csv":                              "*",
	"GET /queue":                                    "maker approver admin",
	"GET /queue/live":                               "maker approver admin",
	"POST /webhooks/smartglocal":                    "public",
	"GET /recipients":                               "maker approver admin",
	"POST /recipients":                              "maker",
	"GET /recipients/:id":                           "maker approver admin",
	"POST /recipients/:id/cards":                    "maker",
	"POST /recipients/:id/cards/:card/verify":       "maker approver",
	"POST /recipients/:id/cards/:card/remove":       "maker approver",
	"POST /recipients/:id/cards/:card/refresh":      "maker approver",
	"GET /recipients/:id/accounts/new":              "maker",
	"POST /recipients/:id/accounts":                 "maker",
	"GET /recipients/:id/accounts/:account":         "maker approver admin",
	"POST /recipients/:id/accounts/:account/verify": "maker approver",
	"POST /recipients/:id/accounts/:account/remove": "maker approver",
	"POST /payouts/:id/return":                      "approver",
	"POST /admin/settings/sender":                   "admin",
	"POST /balance/refresh":                         "maker approver admin",
	"POST /attention/:id/acknowledge":               "approver admin",
	"POST /widget-return/recipients/:id":            "maker",
}

func testApp(t *testing.T) *app {
	a := &app{Config: Config{}}
	a.loginLimit = a.loginRateLimit()
	return a
}

func TestEveryRouteHasAnExpectedAccess(t *testing.T) {
	for _, r := range testApp(t).allRoutes() {
		key := r.method + " " + r.path
		want, ok := wantAccess[key]
		if !ok {
			t.Errorf("route %s has no line in wantAccess", key)
			continue
		}
		got := "public"
		if r.acc.own {
			got = "own"
		} else if !r.acc.public {
			got = "*"
			if len(r.acc.roles) > 0 {
				var names []string
				for _, role := range r.acc.roles {
					names = append(names, string(role))
				}
				got = strings.Join(names, " ")
			}
		}
		if got != want {
			t.Errorf("%s: access %q, want %q", key, got, want)
		}
	}
}

// TestRoleMatrix calls every route as every single role and as nobody, and
// checks that the guard lets through exactly what wantAccess says.
func TestRoleMatrix(t *testing.T) {
	h := newHarness(t)
	users := map[string]*browser{}
	for _, role := range []string{"maker", "approver", "admin", "auditor"} {
		h.user(role+"@example.com", role)
		b := h.browser()
		b.login(role + "@example.com")
		users[role] = b
	}
	h.user("norole@example.com")
	users["norole"] = h.browser()
	users["norole"].login("norole@example.com")
	users["nobody"] = h.browser()
	users["nobody"].get("/login")
	target := h.user("target@example.com", "maker")
	unexpected := 0
	for _, r := range testApp(t).allRoutes() {
		if r.path == "/logout" || r.path == "/login" || r.path == "/webhooks/smartglocal" || r.path == "/static/*" || strings.HasPrefix(r.path, widgetReturnPrefix) {
			continue // they change who is signed in, or need a provider or the widget's origin: covered by their own tests
		}
		path := strings.NewReplacer(":id", itoa(target.ID), ":card", "1", ":account", "1").Replace(r.path)
		for who, b := range users {
			want := allowed(wantAccess[r.method+" "+r.path], who)
			var p page
			if r.method == "GET" {
				p = b.get(path)
			} else {
				p = b.post(path, url.Values{})
			}
			// Refused: 403, 401, sent to sign in, or (a page, for an
			// account with no role) sent to the page that says so.
			got := p.status != http.StatusForbidden && p.status != http.StatusUnauthorized &&
				!(p.status == http.StatusSeeOther && strings.HasPrefix(p.location, "/login")) &&
				!(r.method == "GET" && p.status == http.StatusSeeOther && p.location == "/")
			if got != want {
				unexpected++
				t.Errorf("%s %s as %s: status %d (location %q); allowed=%v, want %v", r.method, path, who, p.status, p.location, got, want)
			}
		}
	}
	t.Logf("role matrix: %d unexpected outcomes", unexpected)
}

func allowed(spec, who string) bool {
	switch spec {
	case "public":
		return true
	case "own":
		return who != "nobody"
	case "*":
		return who != "nobody" && who != "norole"
	}
	return who != "nobody" && strings.Contains(" "+spec+" ", " "+who+" ")
}

// TestCSRF posts to every state-changing route four ways a forger could, as a
// user who holds every role, and expects each to be refused before it runs.
func TestCSRF(t *testing.T) {
	h := newHarness(t)
	h.user("all@example.com", "maker", "approver", "admin", "auditor")
	h.user("other@example.com", "maker")
	victim, other := h.browser(), h.browser()
	victim.login("all@example.com")
	other.login("other@example.com")
	accepted := 0
	for _, r := range testApp(t).allRoutes() {
		if r.method != "POST" || r.path == "/webhooks/smartglocal" {
			continue
		}
		path := strings.NewReplacer(":id", "1", ":card", "1").Replace(r.path)
		forgeries := []struct {
			name  string
			form  url.Values
			setup func(*http.Request)
		}{
			{"no token", url.Values{"_csrf": {""}}, nil},
			{"wrong token", url.Values{"_csrf": {"not-the-token"}}, nil},
			{"other session's token", url.Values{"_csrf": {other.csrf}}, nil},
			{"cross-site", url.Values{"_csrf": {victim.csrf}}, func(r *http.Request) {
				r.Header.Set("Sec-Fetch-Site", "cross-site")
				r.Header.Set("Origin", "https://evil.example")
			}},
			{"foreign origin", url.Values{"_csrf": {victim.csrf}}, func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }},
		}
		for _, f := range forgeries {
			req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(f.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if f.setup != nil {
				f.setup(req)
			}
			p := victim.do(req)
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "did not come from this console") {
				accepted++
				t.Errorf("POST %s with %s: status %d, want 403 CSRF refusal", path, f.name, p.status)
			}
		}
	}
	t.Logf("forged requests accepted: %d", accepted)
	if !victim.signedIn() {
		t.Error("a forged request signed the victim out")
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	h := newHarness(t)
	h.user("all@example.com", "maker", "approver", "admin", "auditor")
	b := h.browser()
	b.login("all@example.com")
	paths := []string{"/login", "/healthz", "/static/app.css", "/no-such-page"}
	for _, r := range testApp(t).allRoutes() {
		if r.method == "GET" {
			paths = append(paths, strings.NewReplacer(":id", "1", ":card", "1").Replace(r.path))
		}
	}
	for _, path := range paths {
		p := b.get(path)
		csp := p.header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "script-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval: %q", path, csp)
		}
		if got := p.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		if p.header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: no Referrer-Policy", path)
		}
		if !strings.HasPrefix(path, "/static/") && path != "/favicon.ico" && path != "/login" && path != "/no-such-page" && p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q on an authenticated page, want no-store", path, p.header.Get("Cache-Control"))
		}
	}
}

func TestErrorPageHidesInternals(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	b := h.browser()
	b.login("admin@example.com")
	h.db.Close() // every query now fails inside the handler
	p := b.get("/admin/users")
	if p.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", p.status)
	}
	if strings.Contains(p.body, "database is closed") || strings.Contains(p.body, "sql:") {
		t.Errorf("error page shows internal error text: %s", p.body)
	}
	if !strings.Contains(h.logs.String(), "database is closed") {
		t.Errorf("internal error was not logged: %s", h.logs.String())
	}
}
