package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"countersign/payout"
	"countersign/stepup"
	"countersign/store"
	"countersign/store/pgtest"
)

// BenchmarkEngines compares SQLite and PostgreSQL under the console as
// `countersign` wires it (embedded sandbox, background workers), over HTTP:
// the approval round trip (POST approve → the provider's session/confirm →
// 303) and the pages people open most. README's PostgreSQL section reports
// a run:
//
//	go test -run '^$' -bench Engines -benchtime 200x .
func BenchmarkEngines(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "bench.db")
			if engine == "postgres" {
				dsn = pgtest.Database(b)
			}
			c := startBenchConsole(b, dsn)
			c.seed(b, 200) // history and audit with something in them
			// The demo approver's published second factor: the first
			// approval's code opens the session's step-up window, which
			// covers the rest as it would a person's (a code is good once).
			approver := c.signIn(b, "approver1@example.com", "approver1-demo-password")
			code, err := stepup.Code(demoAccounts[1].Secret, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			b.Run("approve", func(b *testing.B) {
				ps := c.seed(b, b.N)
				b.ResetTimer()
				for _, p := range ps {
					status := approver.post(b, fmt.Sprintf("/payouts/%d/approve", p.ID), url.Values{"version": {strconv.FormatInt(p.Version, 10)}, "otp": {code}})
					if status != http.StatusSeeOther {
						b.Fatalf("approve payout %d: %d", p.ID, status)
					}
				}
			})
			admin := c.signIn(b, "admin@example.com", "admin-demo-password")
			pending := c.seed(b, 1)[0]
			for _, page := range []struct{ name, path string }{{"dashboard", "/"}, {"queue", "/queue"}, {"history", "/payouts"},
				{"payout", fmt.Sprintf("/payouts/%d", pending.ID)}, {"audit", "/audit"}} {
				b.Run("page="+page.name, func(b *testing.B) {
					for range b.N {
						if status := admin.get(b, page.path); status != http.StatusOK {
							b.Fatalf("GET %s: %d", page.path, status)
						}
					}
				})
			}
		})
	}
}

// benchConsole is a console on an httptest server.
type benchConsole struct {
	a      *app
	url    string
	amount atomic.Int64 // each payout a different amount: no duplicate warnings
}

func startBenchConsole(b *testing.B, dsn string) *benchConsole {
	b.Helper()
	cfg, err := parseConfig([]string{"-db", dsn, "-secret-key-file", filepath.Join(b.TempDir(), "countersign.key")}, env(map[string]string{"COUNTERSIGN_SANDBOX_WEBHOOK_DELAY": "1ms"}), &bytes.Buffer{})
	if err != nil {
		b.Fatal(err)
	}
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	b.Cleanup(srv.Close)
	ctx, stop := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, discardLogger(), srv.URL+webhookPath)
	if err != nil {
		b.Fatal(err)
	}
	handler.Store(&a.handler)
	a.background(ctx, cfg)
	b.Cleanup(func() { stop(); a.wait(context.Background()); a.Close() })
	return &benchConsole{a: a, url: srv.URL}
}

// seed prepares n payouts and returns each once it waits for approval.
func (c *benchConsole) seed(b *testing.B, n int) []*store.Payout {
	b.Helper()
	ctx := context.Background()
	maker, err := c.a.db.UserByEmail(ctx, "maker@example.com")
	if err != nil {
		b.Fatal(err)
	}
	actor := payout.Actor{UserID: maker.ID, Email: maker.Email, Roles: []payout.Role{payout.RoleMaker}}
	var ids []int64
	for range n {
		amount := 100 + c.amount.Add(1)
		p, err := c.a.payouts.Submit(ctx, actor, payout.Draft{FullName: "Jo Doe", Amount: fmt.Sprintf("%d.%02d", amount/100, amount%100),
			Currency: "USD", CardNumber: "4242 4242 4242 4242"})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	deadline := time.Now().Add(5 * time.Minute)
	var out []*store.Payout
	for _, id := range ids {
		for {
			p, err := c.a.db.PayoutByID(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if p.State == string(payout.StatePendingApproval) {
				out = append(out, p)
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("payout %d still %s", id, p.State)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return out
}

// benchBrowser is one signed-in person.
type benchBrowser struct {
	c    *http.Client
	base string
	csrf string
}

func (c *benchConsole) signIn(b *testing.B, email, password string) *benchBrowser {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	p := &benchBrowser{base: c.url, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p.get(b, "/login")
	if status := p.post(b, "/login", url.Values{"email": {email}, "password": {password}}); status != http.StatusSeeOther {
		b.Fatalf("sign in as %s: %d", email, status)
	}
	p.get(b, "/")
	return p
}

func (p *benchBrowser) get(b *testing.B, path string) int {
	resp, err := p.c.Get(p.base + path)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if tok := metaCSRF(resp.Body); tok != "" {
		p.csrf = tok
	}
	return resp.StatusCode
}

func (p *benchBrowser) post(b *testing.B, path string, form url.Values) int {
	form.Set("_csrf", p.csrf)
	resp, err := p.c.PostForm(p.base+path, form)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metaCSRF finds <meta name="csrf-token" content="…"> in a page.
func metaCSRF(r io.Reader) string {
	z := html.NewTokenizer(r)
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.Data != "meta" {
				continue
			}
			attrs := map[string]string{}
			for _, a := range tok.Attr {
				attrs[a.Key] = a.Val
			}
			if attrs["name"] == "csrf-token" {
				return attrs["content"]
			}
		}
	}
}
