package handlers

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLoginIssuesNewSessionID(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.get("/login")
	before := b.cookie()
	if before == nil {
		t.Fatal("no anonymous session cookie before login")
	}
	b.login("maker@example.com")
	after := b.cookie()
	if after == nil || after.Value == before.Value {
		t.Fatalf("session ID not renewed at login: before %q after %v", before.Value, after)
	}
	// Someone holding the pre-login cookie (session fixation) is not signed in.
	attacker := h.browser()
	u, _ := url.Parse(h.srv.URL)
	attacker.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: before.Value}})
	if attacker.signedIn() {
		t.Error("the pre-login session ID is signed in after login")
	}
	if !b.signedIn() {
		t.Error("the user is not signed in with the new session")
	}
}

func TestSessionCookieFlags(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := http.NewRequest("GET", h.srv.URL+"/login", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var c *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == sessionCookie {
			c = x
		}
	}
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge <= 0 || c.MaxAge > 8*3600 {
		t.Errorf("cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, 0 < MaxAge <= 8h", c)
	}
	if len(c.Value) < 40 {
		t.Errorf("session token %q is too short to be unguessable", c.Value)
	}
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SecureCookies = true })
	p := h.browser().get("/login")
	if !strings.Contains(strings.Join(p.header.Values("Set-Cookie"), ";"), "Secure") {
		t.Errorf("Set-Cookie %q lacks Secure", p.header.Values("Set-Cookie"))
	}
	if p.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header behind HTTPS")
	}
}

// replay copies a browser's session cookie into a fresh jar, as a thief would.
func replay(b *browser) *browser {
	thief := b.h.browser()
	jar, _ := cookiejar.New(nil)
	thief.c.Jar = jar
	u, _ := url.Parse(b.h.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: b.cookie().Value}})
	return thief
}

func TestSessionKilled(t *testing.T) {
	tests := []struct {
		name string
		kill func(h *harness, victim, admin *browser, victimID int64)
	}{
		{"logout", func(h *harness, v, _ *browser, _ int64) { v.post("/logout", nil) }},
		{"deactivated", func(h *harness, _, a *browser, id int64) {
			a.get("/admin/users/" + itoa(id))
			if p := a.post("/admin/users/"+itoa(id), url.Values{"name": {"victim"}, "role": {"maker"}}); p.status != http.StatusSeeOther {
				t.Fatalf("deactivate: status %d", p.status)
			}
		}},
		{"admin ended sessions", func(h *harness, _, a *browser, id int64) {
			a.post("/admin/users/"+itoa(id)+"/sessions/end", nil)
		}},
		{"password reset", func(h *harness, _, a *browser, id int64) {
			a.post("/admin/users/"+itoa(id)+"/password", nil)
			h.secondAdminApproves() // a reset waits for a second admin
		}},
		{"idle 16 minutes", func(h *harness, _, _ *browser, _ int64) { h.clock.Advance(16 * time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			victimUser := h.user("victim@example.com", "maker")
			h.user("admin@example.com", "admin")
			victim, admin := h.browser(), h.browser()
			victim.login("victim@example.com")
			admin.login("admin@example.com")
			stolen := replay(victim)
			if !stolen.signedIn() {
				t.Fatal("replayed cookie should work before the kill")
			}
			tt.kill(h, victim, admin, victimUser.ID)
			if stolen.signedIn() {
				t.Errorf("replayed cookie still signed in after %s", tt.name)
			}
		})
	}
}

func TestAbsoluteTimeoutDespiteActivity(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	for elapsed := time.Duration(0); elapsed < 8*time.Hour-10*time.Minute; elapsed += 10 * time.Minute {
		h.clock.Advance(10 * time.Minute)
		if !b.signedIn() {
			t.Fatalf("signed out after %v of steady activity", elapsed+10*time.Minute)
		}
	}
	h.clock.Advance(20 * time.Minute)
	if b.signedIn() {
		t.Error("still signed in past the 8-hour absolute limit")
	}
}

func TestPollingDoesNotKeepSessionAlive(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	for range 4 {
		h.clock.Advance(5 * time.Minute)
		req, _ := http.NewRequest("GET", h.srv.URL+"/", nil)
		req.Header.Set("X-Countersign-Poll", "1")
		b.do(req)
	}
	if b.signedIn() {
		t.Error("background polling kept an idle session alive for 20 minutes")
	}
}

func TestLockout(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.get("/login")
	for i := range 10 {
		p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {"wrong password " + itoa(int64(i))}})
		if p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, p.status)
		}
	}
	p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("right password during lockout: status %d, want 401", p.status)
	}
	h.clock.Advance(29 * time.Minute)
	b.get("/login") // the anonymous session idled out meanwhile
	if p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusUnauthorized {
		t.Fatalf("right password after 29 minutes: status %d, want 401", p.status)
	}
	h.clock.Advance(2 * time.Minute)
	b.get("/login")
	if p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("right password after 31 minutes: status %d, want 303", p.status)
	}
	entries := h.auditActions(t)
	if !strings.Contains(entries, "login.lockout") {
		t.Errorf("no login.lockout in audit log: %s", entries)
	}
}

func (h *harness) auditActions(t *testing.T) string {
	es, err := h.db.AuditEntries(t.Context(), storeAuditAll())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return strings.Join(out, " ")
}

func TestLoginFailureRevealsNothing(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	off := h.user("gone@example.com", "maker")
	if err := h.db.UpdateUserAccess(t.Context(), off.ID, off.Name, off.Roles, false); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.get("/login")
	message := func(email, pw string) (int, string) {
		p := b.post("/login", url.Values{"email": {email}, "password": {pw}})
		i := strings.Index(p.body, `data-testid="login-error"`)
		if i < 0 {
			t.Fatalf("%s: no login error shown (status %d)", email, p.status)
		}
		return p.status, p.body[i : i+250]
	}
	s1, m1 := message("nobody@example.com", testPassword)
	s2, m2 := message("maker@example.com", "wrong password!")
	s3, m3 := message("gone@example.com", testPassword)
	if s1 != s2 || s2 != s3 || m1 != m2 || m2 != m3 {
		t.Errorf("login failures differ:\nunknown: %d %s\nwrong:   %d %s\ninactive: %d %s", s1, m1, s2, m2, s3, m3)
	}
}
