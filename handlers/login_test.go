package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/payout"
	"countersign/secret"
	"countersign/store"
)

// loginPost is a sign-in any goroutine may send: it reports the status
// instead of failing the test.
func loginPost(b *browser, addr, email, pw string) (int, http.Header, error) {
	form := url.Values{"email": {email}, "password": {pw}, "_csrf": {b.csrf}}
	req, _ := http.NewRequest("POST", b.h.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// checked counts the sign-ins whose password was really checked and was wrong.
func (h *harness) checked(t *testing.T) int {
	t.Helper()
	es, err := h.db.AuditEntries(t.Context(), storeAuditAll())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == "login.failed" && e.Detail == "wrong password" {
			n++
		}
	}
	return n
}

// manyAddresses lets the tests come from many addresses and keeps the
// per-address rate limit out of the way of the lockout tests.
func manyAddresses(c *Config) {
	trustLoopback(c)
	c.LoginBurst = 1000
}

func TestOneAddressCannotLockTheAccount(t *testing.T) {
	h := newHarness(t, manyAddresses)
	h.user("maker@example.com", "maker")
	attacker := h.browser().from("203.0.113.7")
	attacker.get("/login")
	for i := range 30 {
		if p := attacker.post("/login", url.Values{"email": {"maker@example.com"}, "password": {fmt.Sprintf("guess number %d", i)}}); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d", i, p.status)
		}
	}
	if n := h.checked(t); n != 5 {
		t.Errorf("%d of 30 guesses from one address were checked, want 5", n)
	}
	if p := attacker.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusUnauthorized {
		t.Errorf("the right password from the guessing address: status %d, want 401 (locked out of the account)", p.status)
	}
	owner := h.browser().from("198.51.100.20")
	owner.get("/login")
	if p := owner.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Errorf("the owner from another address: status %d, want 303: one address locked the account", p.status)
	}
}

func TestLockoutAtTheLimit(t *testing.T) {
	h := newHarness(t, manyAddresses)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.get("/login")
	for i := range 10 {
		b.from(fmt.Sprintf("203.0.113.%d", i/5+1))
		if p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {fmt.Sprintf("wrong password %d", i)}}); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, p.status)
		}
	}
	b.from("198.51.100.20")
	if p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusUnauthorized {
		t.Fatalf("right password at the limit: status %d, want 401", p.status)
	}
	h.clock.Advance(29 * time.Minute)
	if p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusUnauthorized {
		t.Fatalf("right password after 29 minutes: status %d, want 401", p.status)
	}
	h.clock.Advance(2 * time.Minute)
	if p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("right password after 31 minutes: status %d, want 303", p.status)
	}
	if n := h.checked(t); n != 10 {
		t.Errorf("%d wrong passwords checked, want 10", n)
	}
	if entries := h.auditActions(t); !strings.Contains(entries, "login.lockout") {
		t.Errorf("no login.lockout in audit log: %s", entries)
	}
}

// TestParallelGuessesCheckedAtMostTheLimit: the attack run got 94 of 100
// parallel guesses checked against a limit of 10.
func TestParallelGuessesCheckedAtMostTheLimit(t *testing.T) {
	h := newHarness(t, manyAddresses, func(c *Config) { c.HashSlots, c.HashWait = 4, time.Minute })
	u := h.user("maker@example.com", "maker")
	b := h.browser()
	b.get("/login")
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			status, _, err := loginPost(b, fmt.Sprintf("203.0.113.%d", i%20+1), "maker@example.com", fmt.Sprintf("guess %d", i))
			if err != nil || status != http.StatusUnauthorized {
				t.Errorf("guess %d: %d, %v", i, status, err)
			}
		})
	}
	wg.Wait()
	if n := h.checked(t); n > 10 {
		t.Errorf("%d of 100 parallel guesses were checked, want at most 10", n)
	}
	got, _ := h.db.UserByID(t.Context(), u.ID)
	if !got.LockedUntil.After(h.clock.Now()) {
		t.Error("the account is not locked after 100 wrong guesses")
	}
}

// TestRightPasswordAmongParallelGuessesAtTheLimit: the attack run got in
// with 39 wrong guesses and the right one sent together.
func TestRightPasswordAmongParallelGuessesAtTheLimit(t *testing.T) {
	h := newHarness(t, manyAddresses, func(c *Config) { c.HashSlots, c.HashWait = 4, time.Minute })
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.get("/login")
	for i := range 10 {
		if status, _, err := loginPost(b, fmt.Sprintf("203.0.113.%d", i/5+1), "maker@example.com", "wrong password"); err != nil || status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, %v", i, status, err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 40 {
		pw := "wrong password"
		if i == 17 {
			pw = testPassword
		}
		wg.Go(func() {
			status, _, err := loginPost(b, fmt.Sprintf("198.51.100.%d", i%10+1), "maker@example.com", pw)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusSeeOther] > 0 || statuses[http.StatusUnauthorized] != 40 {
		t.Errorf("statuses %v; want all 40 refused with 401", statuses)
	}
	if n := h.checked(t); n != 10 {
		t.Errorf("%d wrong passwords checked in all, want the 10 before the limit", n)
	}
}

func TestLoginRateLimitedPerAddress(t *testing.T) {
	h := newHarness(t, trustLoopback, func(c *Config) { c.LoginBurst, c.LoginEvery = 3, time.Hour })
	u := h.user("maker@example.com", "maker")
	b := h.browser().from("203.0.113.9")
	b.get("/login")
	for i := range 3 {
		if p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {"wrong password"}}); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, p.status)
		}
	}
	p := b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Errorf("fourth attempt: status %d, Retry-After %q; want 429 with Retry-After", p.status, p.header.Get("Retry-After"))
	}
	if got, _ := h.db.UserByID(t.Context(), u.ID); got.FailedLogins != 3 {
		t.Errorf("failed_logins = %d; a refused attempt must not count", got.FailedLogins)
	}
	es, err := h.db.AuditEntries(t.Context(), store.AuditFilter{Action: "login.rate_limited"})
	if err != nil || len(es) != 1 || es[0].Actor != "maker@example.com" || es[0].IP != "203.0.113.9" || es[0].Outcome != "denied" {
		t.Errorf("the refusal's audit entries: %+v, %v; want one, denied, naming the email typed and the address", es, err)
	}
	other := h.browser().from("198.51.100.20")
	other.get("/login")
	if p := other.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Errorf("another address: status %d, want 303", p.status)
	}
}

func TestLoginWaitsForAHashingSlotThenRefuses(t *testing.T) {
	h := newHarness(t, manyAddresses, func(c *Config) { c.HashSlots, c.HashWait = 1, time.Millisecond })
	b := h.browser()
	b.get("/login")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	retry := ""
	for i := range 20 {
		wg.Go(func() {
			status, header, err := loginPost(b, fmt.Sprintf("203.0.113.%d", i+1), fmt.Sprintf("nobody%d@example.com", i), "some password or other")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			if status == http.StatusServiceUnavailable {
				retry = header.Get("Retry-After")
			}
		})
	}
	wg.Wait()
	if statuses[http.StatusServiceUnavailable] == 0 || retry == "" {
		t.Errorf("statuses %v, Retry-After %q; want some 503 with Retry-After when 20 sign-ins share one slot", statuses, retry)
	}
	if statuses[http.StatusUnauthorized] == 0 {
		t.Errorf("statuses %v; want the sign-ins that got the slot answered", statuses)
	}
}

func TestAnonymousVisitsWriteNoSessionRows(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	for range 1000 {
		if p := h.browser().get("/login"); p.status != http.StatusOK {
			t.Fatalf("GET /login: %d", p.status)
		}
	}
	b := h.browser()
	b.get("/login")
	b.post("/login", url.Values{"email": {"maker@example.com"}, "password": {"wrong password"}})
	b.get("/nowhere")
	if n, err := h.db.CountSessions(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d session rows after 1,000 anonymous visits (%v), want 0", n, err)
	}
	b.login("maker@example.com")
	if n, _ := h.db.CountSessions(context.Background()); n != 1 {
		t.Errorf("%d session rows after one sign-in, want 1", n)
	}
}

func TestSignInFormNeedsItsOwnToken(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	victim, attacker := h.browser(), h.browser()
	victim.get("/login")
	attacker.get("/login")
	for name, form := range map[string]url.Values{
		"no token":              {"email": {"maker@example.com"}, "password": {testPassword}, "_csrf": {""}},
		"another visit's token": {"email": {"maker@example.com"}, "password": {testPassword}, "_csrf": {attacker.csrf}},
		"a made-up token":       {"email": {"maker@example.com"}, "password": {testPassword}, "_csrf": {randomToken()}},
	} {
		if p := victim.post("/login", form); p.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, p.status)
		}
	}
	req, _ := http.NewRequest("POST", h.srv.URL+"/login", strings.NewReader(url.Values{"email": {"maker@example.com"},
		"password": {testPassword}, "_csrf": {victim.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := victim.do(req); p.status != http.StatusForbidden {
		t.Errorf("cross-site sign-in: status %d, want 403", p.status)
	}
	if p := victim.post("/login", url.Values{"email": {"maker@example.com"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Errorf("with its own token: status %d, want 303", p.status)
	}
}

// TestSignInFormTokenIsKeyedByTheSecretKey: the pre-login token's key is
// derived from the secret key file, not kept in the database. A second
// instance with the same key file accepts a form the first one served; an
// instance with another key refuses it.
func TestSignInFormTokenIsKeyedByTheSecretKey(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	instance := func(master byte) *httptest.Server {
		key, err := secret.New(bytes.Repeat([]byte{master}, 32))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(New(Config{DB: h.db, Now: h.clock.Now, Payouts: payout.NewService(payout.ServiceConfig{DB: h.db}),
			Admin: h.admin, StepUp: h.stepup, PreLoginKey: key.Derive(secret.PurposePreLoginCSRF)}))
		t.Cleanup(srv.Close)
		return srv
	}
	signIn := func(b *browser, srv *httptest.Server) int {
		form := url.Values{"email": {"maker@example.com"}, "password": {testPassword}, "_csrf": {b.csrf}}
		req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return b.do(req).status
	}
	same, other := instance(5), instance(6) // the harness's key file is 32 fives
	b := h.browser()
	b.get("/login")
	if status := signIn(b, same); status != http.StatusSeeOther {
		t.Errorf("the form of one instance, posted to another with the same key file: status %d, want 303", status)
	}
	b = h.browser()
	b.get("/login")
	if status := signIn(b, other); status != http.StatusForbidden {
		t.Errorf("posted to an instance with another key file: status %d, want 403", status)
	}
	if v, err := h.db.Setting(t.Context(), "secret.prelogin_csrf", ""); err != nil || v != "" {
		t.Errorf("a pre-login key in the database: %q, %v", v, err)
	}
}

// TestPasswordPolicyWhereverOneIsChosen: the attack run got an admin to set
// aaaaaaaaaaaa, 123456789012, twelve spaces, password1234 and the account's
// own email. Now nobody sets another's password: the person chooses it
// through a sign-in link, for a new account or after a reset, and the same
// rules refuse those passwords there, saying why.
func TestPasswordPolicyWhereverOneIsChosen(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	victim := h.user("ann.smith@example.com", "maker")
	admin := h.browser()
	admin.login("admin@example.com")
	admin.get("/admin/users/" + itoa(victim.ID))
	if p := admin.post("/admin/users/"+itoa(victim.ID)+"/password", url.Values{"otp": {h.code()}}); p.status != http.StatusSeeOther {
		t.Fatalf("propose a reset: status %d", p.status)
	}
	admin.get("/admin/users")
	if p := admin.post("/admin/users", url.Values{"email": {"new.person@example.com"}, "name": {"New Person"}, "role": {"maker"}}); p.status != http.StatusSeeOther {
		t.Fatalf("propose an account: status %d", p.status)
	}
	links := h.secondAdminApproves()
	if len(links) != 2 {
		t.Fatalf("sign-in links issued: %q; want one for the reset, one for the new account", links)
	}
	for _, issued := range links {
		link := issued.path
		b := h.browser()
		page := b.get(link)
		own := []string{"new.person@example.com", "NewPerson2026"}
		if strings.Contains(page.body, "ann.smith@example.com") {
			own = []string{"ann.smith@example.com", "AnnSmith2026"}
		}
		refused := map[string]string{
			"aaaaaaaaaaaa": "one character repeated",
			"123456789012": "digits only",
			"            ": "one character repeated",
			"password1234": "most common passwords",
			own[0]:         "email address or name",
			own[1]:         "email address or name",
		}
		for pw, why := range refused {
			if p := b.post(link, url.Values{"handover": {issued.handover}, "password": {pw}, "confirm": {pw}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, why) {
				t.Errorf("%s with %q: status %d, want 422 saying %q", own[0], pw, p.status, why)
			}
		}
		if p := b.post(link, url.Values{"handover": {issued.handover}, "password": {"a long and unusual one"}, "confirm": {"a long and unusual one"}}); p.status != http.StatusSeeOther {
			t.Errorf("%s with a good password: status %d, want 303", own[0], p.status)
		}
	}
}
