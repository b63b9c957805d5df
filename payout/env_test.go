package payout

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"countersign/secret"
	"countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
	"countersign/stepup"
	"countersign/store"
	"countersign/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testClock is the store's clock: real time plus an offset a test can advance
// (to age intents and deadlines) while other goroutines read it.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().UTC().Add(time.Duration(c.off.Load())) }
func (c *testClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// syncBuffer collects the service's logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// hook is one webhook delivery as the receiver got it.
type hook struct {
	Type string
	Body []byte
	Sig  string
}

// env is one console: a real SQLite file, a real sandbox over HTTP, and a
// webhook receiver that hands deliveries to the current service.
type env struct {
	t      *testing.T
	db     *store.DB
	dbPath string // a SQLite file, or a PostgreSQL URL
	sb     *sandbox.Server
	client *smartglocal.Client
	clock  *testClock
	logs   *syncBuffer
	cfg    ServiceConfig
	svc    atomic.Pointer[Service]

	wire    *wire       // the requests the provider received, when envOptions.wire
	forward atomic.Bool // hand deliveries to HandleWebhook (else only capture them)
	mu      sync.Mutex
	hooks   []hook

	maker     Actor
	approvers []Actor
	admin     Actor
	stepup    *stepup.Service
}

// testPolicy is the approval policy of every env unless a test sets another:
// one approver below 1,000.00 USD or 5,000.00 EUR (a currency with no threshold
// needs two).
var testPolicy = Policy{Thresholds: map[string]int64{"USD": 100000, "EUR": 500000}}

// published is the second-factor secret of every env user: they prove it
// with its current code, through the real stepup service.
const published = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

type envOptions struct {
	sandbox     sandbox.Config
	callTimeout time.Duration
	maxAmount   Limits
	approvers   int         // default 3
	wire        bool        // keep every request body the provider receives (env.wire)
	banks       *bank.Banks // the console's list of supported banks; nil is the shipped one
}

// wire sits between the console's client and the sandbox and keeps every
// request body exactly as it crossed the network: what the provider received.
type wire struct {
	mu     sync.Mutex
	bodies map[string][][]byte // API method -> bodies, oldest first
}

// wrap returns a server that records each request and hands it to next.
func (w *wire) wrap(t *testing.T, next http.Handler) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		method := strings.TrimPrefix(r.URL.Path, "/api/v1/")
		w.bodies[method] = append(w.bodies[method], body)
		w.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sent returns the bodies of the requests to method, oldest first.
func (w *wire) sent(method string) [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.bodies[method]...)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: &testClock{}, logs: &syncBuffer{}}
	e.dbPath = pgtest.DSN(t)
	db, err := store.Open(ctx, e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db.Now = e.clock.Now
	e.db = db
	t.Cleanup(func() { db.Close() })

	recv := httptest.NewServer(http.HandlerFunc(e.receive))
	t.Cleanup(recv.Close)

	// Registered last, so closed first: no webhook arrives after the DB closes.
	cfg := o.sandbox
	if cfg.RetrySchedule == nil {
		cfg.RetrySchedule = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}
	}
	if cfg.RetryWindow == 0 {
		cfg.RetryWindow = 10 * time.Second
	}
	cfg.WebhookURL = recv.URL
	e.sb, e.client = sandboxtest.New(t, cfg)
	if o.wire {
		e.wire = &wire{bodies: map[string][][]byte{}}
		ccfg := e.sb.ClientConfig(e.sb.PartnerKey)
		ccfg.BaseURL = e.wire.wrap(t, e.sb.Sandbox).URL
		e.client = smartglocal.New(ccfg)
	}

	if o.callTimeout == 0 {
		o.callTimeout = 5 * time.Second
	}
	if o.approvers == 0 {
		o.approvers = 3
	}
	e.cfg = ServiceConfig{
		DB: db, Provider: e.client, WebhookKeys: []*rsa.PublicKey{e.sb.PublicKey()},
		Logger:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxAmount:   o.maxAmount,
		CallTimeout: o.callTimeout,
		Banks:       o.banks,
	}
	e.svc.Store(NewService(e.cfg))
	e.forward.Store(true)
	key, err := secret.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e.stepup = stepup.New(db, key, nil)
	e.setPolicy(testPolicy)

	// The maker holds every role: being an admin or an approver must not let
	// anyone approve their own payout.
	e.maker = e.user("mia@example.com", "Mia", AllRoles()...)
	for i := range o.approvers {
		e.approvers = append(e.approvers, e.user(fmt.Sprintf("approver%d@example.com", i+1), fmt.Sprintf("Approver %d", i+1), RoleApprover))
	}
	e.admin = e.user("admin@example.com", "Ada", RoleAdmin)
	return e
}

func (e *env) s() *Service { return e.svc.Load() }

// restart replaces the service by a new one on the same database and
// provider, as a process restart would (nothing in memory survives).
func (e *env) restart() *Service {
	s := NewService(e.cfg)
	e.svc.Store(s)
	return s
}

func (e *env) user(email, name string, roles ...Role) Actor {
	e.t.Helper()
	var rs []string
	for _, r := range roles {
		rs = append(rs, string(r))
	}
	u := &store.User{Email: email, Name: name, PasswordHash: "x", Roles: rs, Active: true}
	ctx := context.Background()
	if err := e.db.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	// Every decision needs a proof of the second factor: enrol the user with
	// the published secret and prove it once; the proof is good for the test.
	if err := e.stepup.EnrolWithSecret(ctx, u, published, "test"); err != nil {
		e.t.Fatal(err)
	}
	code, err := stepup.Code(published, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	proof, err := e.stepup.Prove(ctx, u, time.Time{}, code, "192.0.2.1")
	if err != nil {
		e.t.Fatalf("prove %s: %v", email, err)
	}
	return Actor{UserID: u.ID, Email: email, Roles: roles, IP: "192.0.2.1", StepUp: proof}
}

// setPolicy stores the approval policy, as an approved admin change would.
func (e *env) setPolicy(p Policy) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.db.InTx(ctx, func(tx *store.Tx) error { _, err := SavePolicy(ctx, tx, p); return err }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	sig := r.Header.Get(smartglocal.HeaderSign)
	var typ struct {
		Type string `json:"type"`
	}
	json.Unmarshal(body, &typ)
	e.mu.Lock()
	e.hooks = append(e.hooks, hook{typ.Type, body, sig})
	e.mu.Unlock()
	if !e.forward.Load() {
		return
	}
	switch err := e.s().HandleWebhook(r.Context(), body, sig); {
	case errors.Is(err, smartglocal.ErrBadSignature):
		w.WriteHeader(http.StatusUnauthorized)
	case errors.Is(err, ErrBadWebhook):
		w.WriteHeader(http.StatusBadRequest)
	case err != nil:
		e.t.Logf("webhook: %v", err)
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// captured returns the deliveries so far whose session is sessionID.
func (e *env) captured(sessionID string) []hook {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []hook
	for _, h := range e.hooks {
		if bytes.Contains(h.Body, []byte(`"id":"`+sessionID+`"`)) {
			out = append(out, h)
		}
	}
	return out
}

// waitHook waits until a delivery of typ for the session was captured.
func (e *env) waitHook(sessionID, typ string) hook {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, h := range e.captured(sessionID) {
			if h.Type == typ {
				return h
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no %s webhook for session %s", typ, sessionID)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func draft(pan string) Draft {
	return Draft{FullName: "John Johnson", Amount: "32.90", Currency: "USD", CardNumber: pan, CustomerReference: "cust-1"}
}

func (e *env) submit(d Draft) *store.Payout {
	e.t.Helper()
	p, err := e.s().Submit(context.Background(), e.maker, d)
	if err != nil {
		e.t.Fatalf("Submit: %v", err)
	}
	return p
}

func (e *env) payout(id int64) *store.Payout {
	e.t.Helper()
	p, err := e.db.PayoutByID(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// waitState polls until the payout is in want.
func (e *env) waitState(id int64, want State) *store.Payout {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := e.payout(id)
		if State(p.State) == want {
			return p
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("payout %d: state %s; want %s\n%s", id, p.State, want, e.timeline(id))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reconcileUntil runs ReconcileOnce until the payout is in want.
func (e *env) reconcileUntil(id int64, want State) *store.Payout {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := e.s().ReconcileOnce(context.Background()); err != nil {
			e.t.Fatalf("ReconcileOnce: %v", err)
		}
		p := e.payout(id)
		if State(p.State) == want {
			return p
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("payout %d: state %s after reconciling; want %s\n%s", id, p.State, want, e.timeline(id))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pending submits a typed-card payout and waits for ready_to_confirm.
func (e *env) pending(d Draft) *store.Payout {
	e.t.Helper()
	p := e.submit(d)
	return e.waitState(p.ID, StatePendingApproval)
}

func (e *env) approve(a Actor, p *store.Payout) *store.Payout {
	e.t.Helper()
	got, err := e.s().Approve(context.Background(), a, p.ID, p.Version)
	if err != nil {
		e.t.Fatalf("Approve by %s: %v", a.Email, err)
	}
	return got
}

func (e *env) audit(f store.AuditFilter) []store.AuditEntry {
	e.t.Helper()
	es, err := e.db.AuditEntries(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

// countAudit counts entries of a payout whose action starts with prefix and
// whose outcome is outcome ("" for any).
func (e *env) countAudit(id int64, prefix, outcome string) int {
	n := 0
	for _, a := range e.audit(store.AuditFilter{ObjectType: "payout", ObjectID: fmt.Sprint(id), Action: prefix}) {
		if outcome == "" || a.Outcome == outcome {
			n++
		}
	}
	return n
}

// timeline is the payout's audit trail, for failure messages.
func (e *env) timeline(id int64) string {
	var b strings.Builder
	for _, a := range e.audit(store.AuditFilter{ObjectType: "payout", ObjectID: fmt.Sprint(id), Ascending: true}) {
		fmt.Fprintf(&b, "  %s %-10s %-28s %-8s %s\n", a.At.Format("15:04:05.000"), a.Actor, a.Action, a.Outcome, a.Detail)
	}
	return b.String()
}

// appliedConfirms counts session/confirm requests the sandbox executed for
// a session (replays and faults before execution excluded).
func appliedConfirms(sb *sandbox.Server, sessionID string) int {
	n := 0
	for _, c := range sb.Calls() {
		if c.Method != "session/confirm" || c.Replayed || c.SessionID != sessionID {
			continue
		}
		if (c.Fault == sandbox.FaultNone && c.Status == http.StatusOK) || (c.FaultAfterApply && c.ErrorCode == "") {
			n++
		}
	}
	return n
}

// attention returns the attention items about a payout.
func (e *env) attention(payoutID int64) []*store.AttentionItem {
	e.t.Helper()
	items, err := e.db.PayoutAttention(context.Background(), payoutID)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}
