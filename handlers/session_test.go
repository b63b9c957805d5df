package handlers

import (
	"database/sql"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"countersign/store/pgtest"
)

func TestLoginIssuesNewSessionID(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.get("/login")
	if b.cookie() != nil {
		t.Fatal("an anonymous visit got a session cookie")
	}
	// Someone plants a session cookie before the victim signs in (session
	// fixation): it is not the session the victim gets.
	u, _ := url.Parse(h.srv.URL)
	planted := &http.Cookie{Name: sessionCookie, Value: randomToken()}
	b.c.Jar.SetCookies(u, []*http.Cookie{planted})
	b.login("maker@example.com")
	after := b.cookie()
	if after == nil || after.Value == planted.Value {
		t.Fatalf("session ID not issued at login: planted %q, after %v", planted.Value, after)
	}
	attacker := h.browser()
	attacker.c.Jar.SetCookies(u, []*http.Cookie{planted})
	if attacker.signedIn() {
		t.Error("the planted session ID is signed in after login")
	}
	if !b.signedIn() {
		t.Error("the user is not signed in with the new session")
	}
}

func TestSessionCookieFlags(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	cookieOf := func(p page, name string) *http.Cookie {
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %s cookie set", name)
		return nil
	}
	pre := cookieOf(b.get("/login"), preLoginCookie)
	if !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode || pre.Path != "/" || pre.MaxAge <= 0 || len(pre.Value) < 40 {
		t.Errorf("pre-login cookie = %+v; want HttpOnly, SameSite=Strict, Path=/, a max age, an unguessable value", pre)
	}
	p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}})
	c := cookieOf(p, sessionCookie)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge <= 0 || c.MaxAge > 8*3600 {
		t.Errorf("cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, 0 < MaxAge <= 8h", c)
	}
	if len(c.Value) < 40 {
		t.Errorf("session token %q is too short to be unguessable", c.Value)
	}
	if gone := cookieOf(p, preLoginCookie); gone.MaxAge >= 0 {
		t.Errorf("sign-in kept the pre-login cookie: %+v", gone)
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
			a.post("/admin/users/"+itoa(id)+"/password", url.Values{"otp": {h.code()}})
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

// TestLastSeenWrittenAtMostOnceAMinute: pages within a minute of the last
// recorded activity write nothing; the first page after it does, so the
// idle timeout still counts from (about) the last page.
func TestLastSeenWrittenAtMostOnceAMinute(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	seen := func() time.Time {
		row, err := h.db.SessionByHash(t.Context(), hashToken(b.cookie().Value))
		if err != nil {
			t.Fatal(err)
		}
		return row.LastSeenAt
	}
	first := seen()
	for range 5 {
		h.clock.Advance(10 * time.Second)
		b.get("/")
	}
	if got := seen(); !got.Equal(first) {
		t.Errorf("last seen rewritten within a minute: %v, then %v", first, got)
	}
	h.clock.Advance(15 * time.Second)
	b.get("/")
	if got := seen(); !got.Equal(h.clock.Now()) {
		t.Errorf("last seen %v after a page 65 s on; want %v", got, h.clock.Now())
	}
}

// TestSignInIsAuditedWithItsSession: the session of a sign-in is stored with
// its audit entry or not at all. With the entry refused by the database,
// the sign-in fails and the browser is not signed in; nor is there a row.
func TestSignInIsAuditedWithItsSession(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	driver, source := "sqlite", "file:"+h.dsn
	refuse := []string{`CREATE TRIGGER refuse_sign_in BEFORE INSERT ON audit_log
		WHEN NEW.action_id = (SELECT id FROM audit_actions WHERE action = 'login.ok') BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`}
	if pgtest.Postgres() {
		driver, source = "pgx", h.dsn
		refuse = []string{`CREATE FUNCTION refuse_sign_in() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.action_id = (SELECT id FROM audit_actions WHERE action = 'login.ok') THEN
					RAISE EXCEPTION 'refused for the test';
				END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER refuse_sign_in BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_sign_in()`}
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range refuse {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	b := h.browser()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}})
	if p.status == http.StatusSeeOther {
		t.Fatalf("the sign-in went through (to %q) although its audit entry was refused", p.location)
	}
	if b.signedIn() {
		t.Error("the browser is signed in without an audit entry saying so")
	}
	if n, err := h.db.CountSessions(t.Context()); err != nil || n != 0 {
		t.Errorf("%d session rows (%v) after a sign-in whose audit entry was refused, want none", n, err)
	}

	if _, err := raw.Exec(`DROP TRIGGER refuse_sign_in` + map[bool]string{true: ` ON audit_log`}[pgtest.Postgres()]); err != nil {
		t.Fatal(err)
	}
	b.login("maker@example.com")
	if !b.signedIn() {
		t.Fatal("not signed in once the entry could be written")
	}
	if got := h.auditActions(t); !strings.Contains(got, "login.ok") {
		t.Errorf("audit actions %q, want the sign-in", got)
	}
}
