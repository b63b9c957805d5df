package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"countersign/payout"
	"countersign/store"
	"countersign/store/pgtest"
)

// TestMetricsExposition runs the console as `countersign` wires it, moves a
// payout into the queue, sends a forged webhook and a few requests, then
// scrapes /metrics, parses the text format and checks every family.
func TestMetricsExposition(t *testing.T) {
	cfg, err := parseConfig(dbArgs(t), env(map[string]string{"COUNTERSIGN_SANDBOX_WEBHOOK_DELAY": "10ms"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, stop := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, discardLogger(), srv.URL+webhookPath)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	handler.Store(&a.handler)
	a.background(ctx, cfg)
	defer func() { stop(); a.wait(context.Background()) }()

	// A low mark, as two admins would have set it.
	if err := a.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := payout.SaveLowBalanceLevels(ctx, tx, map[string]int64{"USD": 500_00})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	maker, err := a.db.UserByEmail(ctx, "maker@example.com")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.payouts.Submit(ctx, payout.Actor{UserID: maker.ID, Email: maker.Email, Roles: []payout.Role{payout.RoleMaker}},
		payout.Draft{FullName: "Jo Doe", Amount: "12.00", Currency: "USD", CardNumber: "4242 4242 4242 4242"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the payout in the queue and a balance reading", func() bool {
		q, err := a.db.PayoutByID(ctx, p.ID)
		bs, _ := a.db.LatestBalances(ctx)
		return err == nil && q.State == string(payout.StatePendingApproval) && len(bs) > 0
	})
	for _, path := range []string{"/login", "/login", "/healthz", "/payouts/12"} {
		get(t, srv.URL+path)
	}
	resp, err := http.Post(srv.URL+webhookPath, "application/json", strings.NewReader(`{"type":"ready_to_confirm"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "a reconciler pass", func() bool {
		return strings.Contains(scrape(t, a), `countersign_reconcile_passes_total{result="ok"}`)
	})

	text := scrape(t, a)
	parser := expfmt.NewTextParser(model.LegacyValidation) // the classic names: [a-zA-Z_:][a-zA-Z0-9_:]*
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "countersign_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}

	at := func(family string, labels map[string]string) *dto.Metric {
		t.Helper()
		f, ok := families[family]
		if !ok {
			t.Errorf("no family %s", family)
			return nil
		}
	next:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			return m
		}
		t.Errorf("%s has no series with %v", family, labels)
		return nil
	}
	value := func(family string, labels map[string]string) float64 {
		t.Helper()
		m := at(family, labels)
		switch {
		case m == nil:
			return -1
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
		t.Errorf("%s is neither a counter nor a gauge", family)
		return 0
	}
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Error(what)
		}
	}
	check("two GET /login answered 200", value("countersign_http_requests_total", map[string]string{"route": "/login", "method": "GET", "status": "200"}) == 2)
	check("the payout page by its route pattern, not its id", value("countersign_http_requests_total", map[string]string{"route": "/payouts/:id", "status": "303"}) == 1)
	if m := at("countersign_http_request_duration_seconds", map[string]string{"route": "/healthz"}); m != nil && m.Histogram.GetSampleCount() != 1 {
		t.Errorf("healthz latency samples = %d; want 1", m.Histogram.GetSampleCount())
	}
	check("session/create counted ok", value("countersign_provider_calls_total", map[string]string{"method": "session/create", "outcome": "ok"}) == 1)
	if m := at("countersign_provider_call_duration_seconds", map[string]string{"method": "session/start/payout"}); m != nil && m.Histogram.GetSampleCount() != 1 {
		t.Errorf("session/start/payout latency samples = %d; want 1", m.Histogram.GetSampleCount())
	}
	check("the forged webhook counted", value("countersign_webhooks_total", map[string]string{"outcome": "bad_signature"}) == 1)
	check("ready_to_confirm counted applied", value("countersign_webhooks_total", map[string]string{"type": "ready_to_confirm", "outcome": "applied"}) == 1)
	check("one payout pending approval", value("countersign_payouts", map[string]string{"state": "pending_approval"}) == 1)
	check("a zero series for unknown", value("countersign_payouts", map[string]string{"state": "unknown"}) == 0)
	check("queue length 1", value("countersign_queue_length", nil) == 1)
	if age := value("countersign_queue_oldest_age_seconds", nil); age < 0 || age > 600 {
		t.Errorf("queue oldest age %v s", age)
	}
	if left := value("countersign_queue_next_deadline_seconds", nil); left < 230*60 || left > 240*60 {
		t.Errorf("time to the next deadline %v s; want about 240 minutes", left)
	}
	usd := map[string]string{"currency": "USD"}
	balance := value("countersign_balance", usd)
	check("a USD balance", balance > 0)
	if avail := value("countersign_balance_available", usd); avail != balance-12 {
		t.Errorf("USD available %v; want the balance %v less the 12.00 awaiting approval", avail, balance)
	}
	check("the USD low mark in major units", value("countersign_balance_low_mark", usd) == 500)
	check("a balance age", value("countersign_balance_age_seconds", usd) >= 0)
	check("an outbox depth (no channel: empty)", value("countersign_notification_outbox_depth", nil) == 0)
	check("this instance leads", value("countersign_leader", nil) == 1)
	check("the database answers", value("countersign_database_up", nil) == 1)
	check("reconciler passes counted", value("countersign_reconcile_passes_total", map[string]string{"result": "ok"}) >= 1)
}

func scrape(t *testing.T, a *app) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

// get fetches url without following a redirect.
func get(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// dbArgs are the flags of a new database for a test, of the engine the tests
// run on, with its own secret key file (which PostgreSQL needs named).
func dbArgs(t *testing.T) []string {
	return []string{"-db", pgtest.DSN(t), "-secret-key-file", filepath.Join(t.TempDir(), "countersign.key")}
}

// waitFor polls cond until it holds, with a deadline generous enough for a
// busy machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsListener: /metrics is served on its own listener when
// COUNTERSIGN_METRICS_ADDR is set, never on the console's.
func TestMetricsListener(t *testing.T) {
	out := &lockedBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"-addr", "127.0.0.1:0"}, dbArgs(t)...),
			env(map[string]string{"COUNTERSIGN_METRICS_ADDR": "127.0.0.1:0"}), out, io.Discard)
	}()
	var console, metricsURL string
	waitFor(t, "the console and its metrics to listen", func() bool {
		for _, line := range strings.Split(out.String(), "\n") {
			if u, ok := strings.CutPrefix(line, "Countersign is listening on "); ok {
				console = u
			}
			if u, ok := strings.CutPrefix(line, "Metrics at "); ok {
				metricsURL = u
			}
		}
		return console != "" && metricsURL != ""
	})
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "countersign_database_up 1") {
		t.Errorf("metrics listener: %d\n%.400s", resp.StatusCode, body)
	}
	resp, err = http.Get(console + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "countersign_") {
		t.Errorf("the console's own listener serves the metrics (%d)", resp.StatusCode)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}
