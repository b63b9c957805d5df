// Package sandbox simulates the Smart Glocal payout API over real HTTP:
// signed requests, the session state machine, signed webhooks with retries,
// wallet balances, tokens and a stand-in tokenization widget, plus knobs that
// inject the failures a real provider shows. The console embeds it when no
// provider is configured, and tests talk to it instead of a mock.
//
// Where the provider's docs are silent the sandbox follows the assumptions
// in provider-api.md §9; each place says which.
package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	sg "countersign/smartglocal"
	"countersign/smartglocal/bank"
)

// maxRequestBody bounds request bodies; real ones are well under 8 KiB.
const maxRequestBody = 64 << 10

// Config configures a Sandbox. Zero durations take the defaults named below.
type Config struct {
	Project          string           // expected X-PARTNER-PROJECT; required
	PartnerPublicKey *rsa.PublicKey   // verifies requests; required
	PrivateKey       *rsa.PrivateKey  // signs webhooks; required
	WebhookURL       string           // may be set later with SetWebhookURL
	Wallets          map[string]int64 // currency (lowercase ISO 4217) -> minor units; default usd, eur, gbp, rub at 1,000,000.00 each
	Banks            *bank.Banks      // banks accepted for bank-account payouts; default bank.DefaultBanks()
	ConfirmDeadline  time.Duration    // auto-cancel pending payouts after this; default 240 min
	WebhookDelay     time.Duration    // delay before sending each webhook; default 0
	RetrySchedule    []time.Duration  // gaps between webhook retries, the last one repeating; default 2s, 5s, 15s, 60s, 5m, 15m
	RetryWindow      time.Duration    // stop retrying a webhook after this; default 30 min
	WebhookTimeout   time.Duration    // per webhook attempt; default 10s
	ProcessingDelay  time.Duration    // delay of each asynchronous step (validation, execution); default 0
	ReplyDelay       time.Duration    // delay of every API reply, after the request took effect (a slow provider); default 0
	HangTimeout      time.Duration    // how long FaultTimeout holds a request before dropping it; default 60s
	// StateFile, when set, keeps the sandbox's state across restarts: it is
	// loaded by New and written after every change (see persist.go).
	StateFile string
	Now       func() time.Time // clock for timestamps and deadlines; default time.Now
	Logger    *slog.Logger     // optional
}

// Sandbox is the simulated provider. It is an http.Handler; its methods are
// safe for concurrent use.
type Sandbox struct {
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	salt  []byte      // per sandbox: keys card hashes and request fingerprints
	banks *bank.Banks // read-only
	hc    *http.Client

	ctx    context.Context // cancelled by Close; bounds webhook requests
	cancel context.CancelFunc
	done   chan struct{} // closed by Close; wakes sleeping goroutines
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	webhookURL string
	wallets    map[string]int64
	walletIDs  map[string]string
	sessions   map[string]*session
	cards      map[string]cardDest  // number_hash -> card, from tokenize
	tokens     map[string]tokenInfo // public tokens
	idem       map[string]*idemEntry
	faults     []faultRule
	mode       WebhookMode
	held       map[string][]*outgoing // WebhookReorder: webhooks waiting per session
	calls      []Call
	deliveries []Delivery
	returns    []Return
	saved      []byte // the state file's content as last written
}

// Call is one API request as the sandbox saw it. It never holds a body.
type Call struct {
	Time            time.Time `json:"time"`
	Method          string    `json:"method"` // e.g. "session/confirm"
	IdempotencyKey  string    `json:"idempotency_key"`
	SessionID       string    `json:"session_id"`
	Status          int       `json:"status"`            // HTTP status sent; 0 when the connection was dropped
	ErrorCode       string    `json:"error_code"`        // error.code of an error reply
	Replayed        bool      `json:"replayed"`          // answered from the idempotency store, not executed
	Fault           Fault     `json:"fault"`             // injected fault, if any
	FaultAfterApply bool      `json:"fault_after_apply"` // the fault hit the reply after the operation ran
}

// New returns a sandbox for cfg.
func New(cfg Config) (*Sandbox, error) {
	if cfg.Project == "" {
		return nil, errors.New("sandbox: Project is required")
	}
	if cfg.PartnerPublicKey == nil || cfg.PrivateKey == nil {
		return nil, errors.New("sandbox: PartnerPublicKey and PrivateKey are required")
	}
	if cfg.Wallets == nil {
		cfg.Wallets = map[string]int64{"usd": 100_000_000, "eur": 100_000_000, "gbp": 100_000_000, "rub": 100_000_000}
	}
	if cfg.Banks == nil {
		cfg.Banks = bank.DefaultBanks()
	}
	if cfg.ConfirmDeadline <= 0 {
		cfg.ConfirmDeadline = 240 * time.Minute
	}
	if len(cfg.RetrySchedule) == 0 {
		// provider-api.md §9.12 suggests minutes; the brief for this sandbox
		// wants the first retry within seconds so a demo recovers quickly.
		cfg.RetrySchedule = []time.Duration{2 * time.Second, 5 * time.Second, 15 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute}
	}
	if cfg.RetryWindow <= 0 {
		cfg.RetryWindow = 30 * time.Minute
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = 10 * time.Second
	}
	if cfg.HangTimeout <= 0 {
		cfg.HangTimeout = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{
		cfg:   cfg,
		now:   cfg.Now,
		log:   log,
		salt:  salt,
		banks: cfg.Banks,
		hc: &http.Client{
			Timeout:       cfg.WebhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
		webhookURL: cfg.WebhookURL,
		wallets:    make(map[string]int64),
		walletIDs:  make(map[string]string),
		sessions:   make(map[string]*session),
		cards:      make(map[string]cardDest),
		tokens:     make(map[string]tokenInfo),
		idem:       make(map[string]*idemEntry),
		held:       make(map[string][]*outgoing),
	}
	for i, cur := range slices.Sorted(maps.Keys(cfg.Wallets)) {
		lc := strings.ToLower(cur)
		s.wallets[lc] = cfg.Wallets[cur]
		s.walletIDs[lc] = fmt.Sprint(310 + i)
	}
	if cfg.StateFile != "" {
		if err := s.load(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// PublicKey is the key that verifies the sandbox's webhooks: what the
// console configures as the provider's public key.
func (s *Sandbox) PublicKey() *rsa.PublicKey { return &s.cfg.PrivateKey.PublicKey }

// Project is the X-PARTNER-PROJECT value the sandbox expects.
func (s *Sandbox) Project() string { return s.cfg.Project }

// SetWebhookURL sets where webhooks go from the next attempt on.
func (s *Sandbox) SetWebhookURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = url
}

// Close stops timers and webhook deliveries and waits for them to return.
// Requests still being served get no further asynchronous steps.
func (s *Sandbox) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// goLocked runs fn in a goroutine that Close waits for. s.mu must be held:
// that is what keeps wg.Add from racing with Close's Wait.
func (s *Sandbox) goLocked(fn func()) {
	if s.closed {
		return
	}
	s.wg.Go(fn)
}

// afterLocked runs fn after d unless the sandbox closes first. s.mu must be held.
func (s *Sandbox) afterLocked(d time.Duration, fn func()) {
	s.goLocked(func() {
		if s.sleep(d) {
			fn()
			s.save()
		}
	})
}

// sleep waits d and reports false if the sandbox closed meanwhile.
func (s *Sandbox) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// Calls returns a copy of the call log, oldest first.
func (s *Sandbox) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallCount returns how many requests for method arrived, whatever became of
// them (faults, replays and refusals included).
func (s *Sandbox) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// Balance returns the wallet balance in minor units (0 for an unknown currency).
func (s *Sandbox) Balance(currency string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wallets[strings.ToLower(currency)]
}

// ServeHTTP serves /api/v1/<method>, /sandbox/tokenize, /sandbox/widget and
// /sandbox/returns.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/"):
		s.serveAPI(w, r, strings.TrimPrefix(r.URL.Path, "/api/v1/"))
	case r.URL.Path == "/sandbox/tokenize":
		s.serveTokenize(w, r)
	case r.URL.Path == "/sandbox/widget":
		s.serveWidget(w, r)
	case r.URL.Path == "/sandbox/returns":
		s.serveReturns(w, r)
	case r.URL.Path == "/sandbox/calls":
		s.serveCalls(w, r)
	default:
		http.NotFound(w, r)
	}
}

// result is a method's reply before it goes on the wire; the idempotency
// store keeps it so replays are byte-for-byte.
type result struct {
	status    int
	body      []byte
	sessionID string
	code      string
}

func okResult(v any) result {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled here; this is a bug.
		return errResult(http.StatusInternalServerError, sg.CodeInternalError, "sandbox: cannot encode reply")
	}
	return result{status: http.StatusOK, body: b}
}

// errResult builds an error reply. desc must never quote request data: a
// card number could be in it. HTTP statuses follow provider-api.md §9.3:
// 400 invalid_request, 401 authentication/identification, 404 unknown
// session or method, 409 session_wrong_state, 500 internal_error.
func errResult(status int, code, desc string) result {
	b, _ := json.Marshal(struct {
		Status string         `json:"status"`
		Error  sg.ErrorDetail `json:"error"`
	}{"error", sg.ErrorDetail{Code: code, Description: desc}})
	return result{status: status, body: b, code: code}
}

func invalid(desc string) result {
	return errResult(http.StatusBadRequest, sg.CodeInvalidRequest, desc)
}

func writeResult(w http.ResponseWriter, res result) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(res.body)))
	w.WriteHeader(res.status)
	w.Write(res.body)
}

func (s *Sandbox) serveAPI(w http.ResponseWriter, r *http.Request, method string) {
	call := Call{Time: s.now(), Method: method, IdempotencyKey: r.Header.Get(sg.HeaderIdempotencyKey)}
	rule, faulted := s.takeFault(method)
	var res result
	if !faulted || rule.afterApply {
		var replayed bool
		res, replayed = s.handleAPI(w, r, method)
		call.SessionID, call.ErrorCode, call.Replayed, call.Status = res.sessionID, res.code, replayed, res.status
	}
	if faulted {
		call.Fault, call.FaultAfterApply, call.Status = rule.fault, rule.afterApply, rule.fault.status()
	}
	// The call is logged before its reply (or its fault) is delivered: once
	// the client can tell anything of what happened, the log already says it.
	// Logged after, a FaultTimeout's entry would wait until the server noticed
	// the client had given up, and a test could see the payout succeed before
	// the confirm that paid it appears in the log.
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.saveLocked()
	s.mu.Unlock()
	s.log.Info("sandbox call", "method", method, "session", call.SessionID, "status", call.Status,
		"code", call.ErrorCode, "replayed", call.Replayed, "fault", call.Fault.String())
	if faulted {
		s.applyFault(w, r, rule.fault, res)
		return
	}
	if s.cfg.ReplyDelay > 0 {
		select {
		case <-time.After(s.cfg.ReplyDelay):
		case <-r.Context().Done(): // the client gave up: what it asked for is done all the same
		case <-s.done:
		}
	}
	writeResult(w, res)
}

// handleAPI authenticates the request and runs method under idempotency.
func (s *Sandbox) handleAPI(w http.ResponseWriter, r *http.Request, method string) (result, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return errResult(http.StatusMethodNotAllowed, sg.CodeInvalidRequest, "use POST"), false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		return errResult(http.StatusRequestEntityTooLarge, sg.CodeInvalidRequest, "request body unreadable or too large"), false
	}
	if r.Header.Get(sg.HeaderProject) != s.cfg.Project {
		return errResult(http.StatusUnauthorized, sg.CodeIdentificationError, "unknown or missing X-PARTNER-PROJECT"), false
	}
	// Verify the raw bytes before parsing anything.
	if err := sg.Verify(s.cfg.PartnerPublicKey, body, r.Header.Get(sg.HeaderSign)); err != nil {
		return errResult(http.StatusUnauthorized, sg.CodeAuthenticationError, "X-PARTNER-SIGN does not verify"), false
	}
	run, ok := s.method(method)
	if !ok {
		return errResult(http.StatusNotFound, sg.CodeInvalidRequest, "unknown method"), false
	}
	return s.idempotent(r.Context(), method, r.Header.Get(sg.HeaderIdempotencyKey), body, func() result {
		res := run(body)
		if res.sessionID == "" {
			// Refusals name no session in their body; the call log should.
			var f struct {
				SessionID string `json:"session_id"`
			}
			json.Unmarshal(body, &f)
			res.sessionID = f.SessionID
		}
		return res
	})
}

func (s *Sandbox) method(name string) (func([]byte) result, bool) {
	switch name {
	case "session/create":
		return s.createSession, true
	case "session/init/payout":
		return s.initPayout, true
	case "session/start/payout":
		return s.startPayout, true
	case "session/confirm":
		return s.confirm, true
	case "session/cancel":
		return s.cancelSession, true
	case "session/status":
		return s.status, true
	case "token":
		return s.token, true
	case "token/info":
		return s.tokenInfo, true
	case "wallet/balance":
		return s.walletBalance, true
	}
	return nil, false
}

// idemEntry is one idempotency key's request fingerprint and stored reply.
type idemEntry struct {
	hash [sha256.Size]byte
	done chan struct{} // closed once res is set
	res  result
}

// idempotent runs exec at most once per method and key (provider-api.md
// §9.4): the same key with the same body replays the stored reply, even while
// the first request is still running; the same key with another body is
// refused. Every reply the method produced is stored, refusals included, as
// the provider would; injected faults are not, so a retry can recover.
func (s *Sandbox) idempotent(ctx context.Context, method, key string, body []byte, exec func() result) (result, bool) {
	if key == "" {
		return exec(), false
	}
	// Keyed, because the body may hold a card number and a bare hash of a
	// PAN can be brute-forced.
	mac := hmac.New(sha256.New, s.salt)
	mac.Write(body)
	var h [sha256.Size]byte
	mac.Sum(h[:0])
	k := method + "\x00" + key
	s.mu.Lock()
	e, seen := s.idem[k]
	if !seen {
		e = &idemEntry{hash: h, done: make(chan struct{})}
		s.idem[k] = e
	}
	s.mu.Unlock()
	if !seen {
		e.res = exec()
		close(e.done)
		return e.res, false
	}
	if e.hash != h {
		return invalid("idempotency key was used with a different request"), false
	}
	select {
	case <-e.done:
		return e.res, true
	case <-ctx.Done():
		return errResult(http.StatusConflict, sg.CodeInvalidRequest, "request with this idempotency key is in progress"), false
	case <-s.done:
		return errResult(http.StatusServiceUnavailable, sg.CodeInternalError, "sandbox closed"), false
	}
}

// randomID returns an opaque id: prefix and 16 random hex digits.
func randomID(prefix string) string { return prefix + randomHex(8) }
