package handlers

import (
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"countersign/payout"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

// enders are the ways a session is ended while one of its requests is
// still under way.
var enders = []struct {
	name string
	end  func(t *testing.T, victim, admin *browser, victimID int64)
}{
	{"logout", func(t *testing.T, v, _ *browser, _ int64) {
		if p := replay(v).withToken(v).post("/logout", nil); p.status != http.StatusSeeOther {
			t.Fatalf("logout: status %d", p.status)
		}
	}},
	{"admin ended sessions", func(t *testing.T, _, a *browser, id int64) {
		if p := a.post("/admin/users/"+itoa(id)+"/sessions/end", nil); p.status != http.StatusSeeOther {
			t.Fatalf("end sessions: status %d", p.status)
		}
	}},
	{"password reset", func(t *testing.T, _, a *browser, id int64) {
		if p := a.post("/admin/users/"+itoa(id)+"/password", url.Values{"otp": {a.h.code()}}); p.status != http.StatusSeeOther {
			t.Fatalf("propose a password reset: status %d", p.status)
		}
		a.h.secondAdminApproves() // the reset applies, and ends the sessions, here
	}},
}

// withToken gives b the CSRF token of other's session (a thief who copied
// the page along with the cookie).
func (b *browser) withToken(other *browser) *browser {
	b.csrf = other.csrf
	return b
}

// TestSaveAfterEndLeavesSessionEnded: a request that loaded its session
// before the session was ended, and saves it afterwards (as a decision does
// when a second-factor code opens the step-up window), leaves it ended and
// tells the browser to drop the cookie. The save goes through the console's
// own session store over the same database, because no page can be held
// between its load and its save on demand.
func TestSaveAfterEndLeavesSessionEnded(t *testing.T) {
	for _, e := range enders {
		t.Run(e.name, func(t *testing.T) {
			h := newHarness(t)
			victimUser := h.user("victim@example.com", "maker")
			h.user("admin@example.com", "admin")
			victim, admin := h.browser(), h.browser()
			victim.login("victim@example.com")
			admin.login("admin@example.com")

			sessions := newSessionStore(h.db, false, time.Hour, 12*time.Hour, h.clock.Now)
			r := httptest.NewRequest(http.MethodPost, "/payouts/1/approve", nil)
			r.AddCookie(victim.cookie())
			sess, _, err := sessions.load(r, sessionCookie)
			if err != nil || sess.IsNew {
				t.Fatalf("load the victim's session: new %v, %v", sess.IsNew, err)
			}
			e.end(t, victim, admin, victimUser.ID)

			sess.Values[keyStepUpAt] = h.clock.Now().UnixNano()
			w := httptest.NewRecorder()
			if err := sessions.Save(r, w, sess); err != nil {
				t.Fatal(err)
			}
			if replay(victim).signedIn() {
				t.Errorf("the cookie works again after %s: a late save brought the session back", e.name)
			}
			dropped := false
			for _, c := range w.Result().Cookies() {
				dropped = dropped || (c.Name == sessionCookie && c.MaxAge < 0)
			}
			if !dropped {
				t.Errorf("after %s the late save did not tell the browser to drop the cookie: %v", e.name, w.Header().Values("Set-Cookie"))
			}
		})
	}
}

// TestSlowRequestCannotBringBackAnEndedSession: a request that loaded the
// session before it was ended, and saves a message for it afterwards (here
// a balance refresh that waits for the provider), leaves it ended.
func TestSlowRequestCannotBringBackAnEndedSession(t *testing.T) {
	for _, e := range enders {
		t.Run(e.name, func(t *testing.T) {
			var sb *sandbox.Server
			h := newHarness(t, func(c *Config) {
				srv, client := sandboxtest.New(t, sandbox.Config{HangTimeout: time.Second})
				sb = srv
				c.Payouts = payout.NewService(payout.ServiceConfig{DB: c.DB, Provider: client, WebhookKeys: []*rsa.PublicKey{srv.PublicKey()}, Logger: c.Logger})
				c.Provider = client
			})
			victimUser := h.user("victim@example.com", "maker")
			h.user("admin@example.com", "admin")
			victim, admin := h.browser(), h.browser()
			victim.login("victim@example.com")
			admin.login("admin@example.com")

			sb.InjectFault("wallet/balance", sandbox.FaultTimeout, 1)
			done := make(chan int)
			slow := replay(victim).withToken(victim)
			go func() {
				status, _, _ := postForm(slow, "/balance/refresh", url.Values{"back": {"/"}})
				done <- status
			}()
			deadline := time.Now().Add(10 * time.Second)
			for sb.CallCount("wallet/balance") == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the refresh never reached the provider")
				}
				time.Sleep(10 * time.Millisecond)
			}
			e.end(t, victim, admin, victimUser.ID)
			if status := <-done; status != http.StatusSeeOther {
				t.Fatalf("the slow refresh answered %d", status)
			}
			if replay(victim).signedIn() {
				t.Errorf("the cookie works again after %s: the slow request brought the session back", e.name)
			}
		})
	}
}

// postForm is post for any goroutine: it reports instead of failing.
func postForm(b *browser, path string, form url.Values) (int, http.Header, error) {
	form.Set("_csrf", b.csrf)
	req, _ := http.NewRequest("POST", b.h.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// TestFlashesOfParallelRequestsAreKept: two requests of one session each
// leave a message; the next page shows both (the last writer won before).
func TestFlashesOfParallelRequestsAreKept(t *testing.T) {
	h := newHarness(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	b.get("/recipients")
	names := []string{"Ada Parallel", "Bo Parallel", "Cy Parallel", "Di Parallel"}
	done := make(chan int)
	for _, name := range names {
		go func() {
			status, _, _ := postForm(b, "/recipients", url.Values{"full_name": {name}})
			done <- status
		}()
	}
	for range names {
		if status := <-done; status != http.StatusSeeOther {
			t.Fatalf("create recipient: %d", status)
		}
	}
	page := b.get("/recipients")
	for _, name := range names {
		if !strings.Contains(page.body, "Added "+name+".") {
			t.Errorf("the message about %s was lost", name)
		}
	}
	if again := b.get("/recipients"); strings.Contains(again.body, "Added ") {
		t.Error("the messages were shown twice")
	}
}
