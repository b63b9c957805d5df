package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/admin"
	"countersign/password"
	"countersign/payout"
	"countersign/secret"
	"countersign/stepup"
	"countersign/store"
	"countersign/store/pgtest"
)

// clock is a settable time source shared by the app and the store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// harness is the real console handler over a real database (SQLite, or
// PostgreSQL: pgtest.DSN), served by httptest.
type harness struct {
	t      *testing.T
	db     *store.DB
	dsn    string // the database's SQLite file or PostgreSQL URL
	srv    *httptest.Server
	clock  *clock
	logs   *strings.Builder
	admin  *admin.Service
	stepup *stepup.Service
}

// published is every test user's second-factor secret.
const published = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// code is the current second-factor code of every test user.
func (h *harness) code() string {
	h.t.Helper()
	c, err := stepup.Code(published, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

const testPassword = "correct horse battery"

func TestMain(m *testing.M) { pgtest.Main(m) }

func newHarness(t *testing.T, tweak ...func(*Config)) *harness {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	db.Now = clk.Now
	logs := &strings.Builder{}
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	// No provider: the routes that call it get one from newHarnessWithProvider.
	key, err := secret.New(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DB: db, Now: clk.Now, Logger: logger, Payouts: payout.NewService(payout.ServiceConfig{DB: db, Logger: logger}),
		Admin: admin.New(db, logger, nil), StepUp: stepup.New(db, key, logger), PreLoginKey: key.Derive(secret.PurposePreLoginCSRF)}
	for _, f := range tweak {
		f(&cfg)
	}
	// One approver below 1,000.00 USD (any other currency needs two).
	err = db.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := payout.SavePolicy(context.Background(), tx, payout.Policy{Thresholds: map[string]int64{"USD": 100000}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(cfg))
	t.Cleanup(srv.Close)
	return &harness{t: t, db: db, dsn: dsn, srv: srv, clock: clk, logs: logs, admin: cfg.Admin, stepup: cfg.StepUp}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// secondAdminApproves approves every change waiting, as a second admin who
// proved their second factor, and returns the paths of the sign-in links
// the approvals issued.
func (h *harness) secondAdminApproves() []string {
	h.t.Helper()
	ctx := context.Background()
	u, err := h.db.UserByEmail(ctx, "second-admin@example.com")
	if errors.Is(err, store.ErrNotFound) {
		u = h.user("second-admin@example.com", "admin")
	}
	proof, err := h.stepup.Prove(ctx, u, time.Time{}, h.code(), "192.0.2.8")
	if err != nil {
		h.t.Fatal(err)
	}
	pending, _, err := h.admin.Changes(ctx, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	var links []string
	for _, c := range pending {
		done, err := h.admin.Approve(ctx, payout.Actor{UserID: u.ID, Email: u.Email, StepUp: proof}, c.ID)
		if err != nil {
			h.t.Fatalf("approve change %d: %v", c.ID, err)
		}
		if done.Link != "" {
			links = append(links, "/signin/"+done.Link)
		}
	}
	return links
}

// user creates an active account with testPassword and the published
// second-factor secret.
func (h *harness) user(email string, roles ...string) *store.User {
	h.t.Helper()
	u := &store.User{Email: email, Name: strings.Split(email, "@")[0], Roles: roles, Active: true, PasswordHash: password.Hash(testPassword)}
	if err := h.db.CreateUser(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
	if err := h.stepup.EnrolWithSecret(context.Background(), u, published, "test"); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// browser is one person's cookie jar; it does not follow redirects so tests see them.
type browser struct {
	h    *harness
	c    *http.Client
	csrf string
	xff  string // X-Forwarded-For of every request, when set
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.h.t.Helper()
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfMeta.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return page{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest("GET", b.h.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form with the browser's current CSRF token unless the form has its own _csrf.
func (b *browser) post(path string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.h.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login signs in through the real form and fails the test if it does not work.
func (b *browser) login(email string) {
	b.h.t.Helper()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if p.status != http.StatusSeeOther || p.location != "/" {
		b.h.t.Fatalf("login %s: status %d location %q, want 303 to /", email, p.status, p.location)
	}
	b.get("/") // pick up the new session's CSRF token
}

func (b *browser) cookie() *http.Cookie {
	u, _ := url.Parse(b.h.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// signedIn reports whether the browser's session reaches the dashboard.
func (b *browser) signedIn() bool {
	p := b.get("/")
	return p.status == http.StatusOK && strings.Contains(p.body, `data-testid="current-user"`)
}

// from makes the browser's requests come from addr, as a trusted proxy in
// front of the console would say in X-Forwarded-For (the harness must trust
// loopback: see trustLoopback).
func (b *browser) from(addr string) *browser {
	b.xff = addr
	return b
}

// trustLoopback makes the console believe X-Forwarded-For from loopback, so
// that tests can sign in from many addresses.
func trustLoopback(c *Config) {
	_, n, _ := net.ParseCIDR("127.0.0.0/8")
	c.TrustedProxies = []*net.IPNet{n}
}
