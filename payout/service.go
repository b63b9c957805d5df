package payout

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"countersign/card"
	"countersign/fail"
	"countersign/notify"
	"countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/stepup"
	"countersign/store"
)

// ServiceConfig wires the workflow.
type ServiceConfig struct {
	DB       *store.DB
	Provider *smartglocal.Client
	// WebhookKeys are the provider's public keys: a webhook signed by any of
	// them is the provider's (several while the provider rotates its key).
	WebhookKeys []*rsa.PublicKey
	Logger      *slog.Logger
	// MaxAmount limits one payout, per currency (see Limits); the zero
	// value is no limit.
	MaxAmount     Limits
	CallTimeout   time.Duration // per provider call; default 30s
	StuckAfter    time.Duration // reconcile payouts with no news for this long; default 5m
	ConfirmWindow time.Duration // provider's confirm deadline after ready_to_confirm; default 240m
	// Notify receives, in the same transaction, what a payout's move tells
	// people (it enters the queue, it finishes); nil tells nobody.
	Notify *notify.Service
	// Banks are the banks the provider accepts per country: what a bank
	// account may name. nil is the shipped list (bank.DefaultBanks).
	Banks *bank.Banks
	// Observer hears what the workflow does, for metrics; nil hears nothing.
	Observer Observer
	// CardKey keys the fingerprints of typed card numbers (HMAC-SHA-256),
	// which find payouts to one card whatever name they carry: derived from
	// the installation's secret key, so that every instance computes the
	// same fingerprint and the database alone does not let anyone test a
	// guessed card number. nil is a random key of this process (tests).
	CardKey []byte
}

// Observer hears what the workflow does: each webhook delivery's type and
// outcome, each reconciler pass. It must not block.
type Observer interface {
	Webhook(typ, outcome string)
	ReconcilePass(err error)
}

// Service moves payouts between our store and the provider: exactly once,
// with an audit entry for every step.
//
// The pattern of every provider write is the same: one transaction claims the
// payout (a conditional update on its version) and records the intent; then
// the call, with a context no request can cancel; then one transaction
// records the outcome. A crash between the steps leaves an intent row that
// ReconcileOnce resolves through session/status.
type Service struct {
	db            *store.DB
	sg            *smartglocal.Client
	webhookKeys   []*rsa.PublicKey
	log           *slog.Logger
	limits        Limits
	callTimeout   time.Duration
	stuckAfter    time.Duration
	confirmWindow time.Duration
	notify        *notify.Service
	banks         *bank.Banks
	observer      Observer
	cardKey       []byte

	reconcileMu sync.Mutex // one reconcile pass at a time

	// inflight counts this process's provider calls per payout, status reads
	// included; calls counts them for Wait. Other instances' writes are known
	// from their intent rows (store.PayoutsWithCallsUnderWay), so this map is
	// only this process's view: losing it in a crash loses nothing.
	mu       sync.Mutex
	inflight map[int64]int  // payout id -> provider calls under way in this process
	calls    sync.WaitGroup // every provider call under way, for Wait
	webhooks webhookQueue   // deliveries waiting for the webhook writer (under mu)

	// crash, when set (tests only), is asked before and after each provider
	// write; true makes the workflow stop right there, as if the process died.
	crash func(point, action string) bool
}

// NewService returns a Service for cfg, filling in default durations.
func NewService(cfg ServiceConfig) *Service {
	s := &Service{
		db:            cfg.DB,
		sg:            cfg.Provider,
		webhookKeys:   cfg.WebhookKeys,
		log:           cfg.Logger,
		limits:        cfg.MaxAmount,
		callTimeout:   cfg.CallTimeout,
		stuckAfter:    cfg.StuckAfter,
		confirmWindow: cfg.ConfirmWindow,
		notify:        cfg.Notify,
		banks:         cfg.Banks,
		observer:      cfg.Observer,
		cardKey:       cfg.CardKey,
		inflight:      make(map[int64]int),
	}
	if s.banks == nil {
		s.banks = bank.DefaultBanks()
	}
	if s.cardKey == nil {
		s.cardKey = make([]byte, 32)
		rand.Read(s.cardKey)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.callTimeout <= 0 {
		s.callTimeout = 30 * time.Second
	}
	if s.stuckAfter <= 0 {
		s.stuckAfter = 5 * time.Minute
	}
	if s.confirmWindow <= 0 {
		s.confirmWindow = 240 * time.Minute
	}
	return s
}

// Banks are the banks the provider accepts per country, for the forms.
func (s *Service) Banks() *bank.Banks { return s.banks }

// Actor is the signed-in person doing something, for the rules and the audit log.
type Actor struct {
	UserID int64
	Email  string
	Roles  []Role
	IP     string
	// StepUp proves the person's second factor for a decision (approve,
	// cancel, verify a card); without it, decisions are refused.
	StepUp stepup.Proof
}

// The actors of steps no person took.
var (
	systemActor   = Actor{Email: "system"}
	providerActor = Actor{Email: "provider"}
)

// More refusals a person may read.
var (
	ErrVersionChanged = fail.New(fail.Conflict, "version_changed", "This payout changed since you opened it. Review it again.")
	ErrPayoutNotFound = fail.New(fail.NotFound, "not_found", "There is no such payout.")
)

// Audit outcomes of webhook entries, besides "ok".
const (
	auditApplied = "applied"
	auditStale   = "stale"
	auditFlagged = "flagged"
)

// Provider actions, as recorded in provider_calls and the audit log.
const (
	actionCreate  = "session/create"
	actionStart   = "session/start/payout"
	actionConfirm = "session/confirm"
	actionCancel  = "session/cancel"
)

// idempotencyKey derives the key of a provider write from the installation,
// the payout, the action and the payout's version when the action was
// decided, so a replay of the same decision is recognised and a new decision
// is not. The installation's random id keeps two consoles pointed at one
// provider project (a fresh database, a test copy) from ever sending each
// other's keys: payout #1 of one is not payout #1 of the other.
func (s *Service) idempotencyKey(payoutID int64, action string, version int64) string {
	short := map[string]string{actionCreate: "create", actionStart: "start", actionConfirm: "confirm", actionCancel: "cancel"}[action]
	return fmt.Sprintf("countersign-%s-payout-%d-%s-v%d", s.db.InstallationID(), payoutID, short, version)
}

// fromState is the state a payout is in while the action is under way: only
// a payout still there may be marked unknown when the outcome is lost.
func fromState(action string) State {
	switch action {
	case actionConfirm:
		return StateConfirming
	case actionCancel:
		return StateCancelling
	}
	return StateSubmitting
}

func (a Actor) audit(action string, payoutID int64, outcome, detail string) store.AuditEntry {
	return store.AuditEntry{
		ActorID: a.UserID, Actor: a.Email, Action: action, ObjectType: "payout",
		ObjectID: fmt.Sprint(payoutID), IP: a.IP, Outcome: outcome, Detail: card.MaskText(detail),
	}
}

// denied records a refused attempt in its own transaction: the attempt's
// transaction was rolled back, but who tried what must stay on record.
func (s *Service) denied(ctx context.Context, a Actor, action string, payoutID int64, err error) {
	if aerr := s.db.Audit(context.WithoutCancel(ctx), a.audit(action, payoutID, "denied", fail.CodeOf(err))); aerr != nil {
		s.log.Error("audit a refusal", "action", action, "payout", payoutID, "err", aerr)
	}
}

// markInflight notes that a provider call about the payout is under way in
// this process, so the reconciler leaves it alone; the returned func undoes it.
func (s *Service) markInflight(payoutID int64) func() {
	s.mu.Lock()
	s.inflight[payoutID]++
	s.calls.Add(1)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.inflight[payoutID]--; s.inflight[payoutID] <= 0 {
				delete(s.inflight, payoutID)
			}
			s.calls.Done()
			s.mu.Unlock()
		})
	}
}

// Wait returns once no provider call is under way in this process, or with
// ctx's error when ctx ends first. A shutdown calls it after the server and
// the background workers stopped starting new work, so that every call's
// outcome is recorded before the database closes.
func (s *Service) Wait(ctx context.Context) error {
	idle := make(chan struct{})
	go func() {
		s.calls.Wait()
		close(idle)
	}()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("payout: provider calls still under way: %w", ctx.Err())
	}
}

func (s *Service) isInflight(payoutID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight[payoutID] > 0
}

func (s *Service) observeWebhook(typ, outcome string) {
	if s.observer != nil {
		s.observer.Webhook(typ, outcome)
	}
}

// errCrashed is what the workflow returns when a test's crash hook stopped it.
var errCrashed = errors.New("payout: simulated crash")

func (s *Service) crashed(point, action string) bool {
	return s.crash != nil && s.crash(point, action)
}

// callCtx is the context of one provider call: detached from the request (a
// closed browser tab must not cancel a money call) and bounded by CallTimeout.
func (s *Service) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.callTimeout)
}

// outcome classifies a provider call's error into a provider_calls outcome,
// with the provider's code and a description safe to store.
func outcome(err error) (result, code, desc string) {
	var pe *smartglocal.Error
	switch {
	case err == nil:
		return store.CallOK, "", ""
	case errors.As(err, &pe):
		return store.CallRefused, pe.Code, clip(card.MaskText(pe.Description), 300)
	default:
		// Unknown outcomes, and local failures the client says were never
		// sent: either way only session/status can tell, so both are unknown.
		return store.CallUnknown, "", clip(card.MaskText(err.Error()), 300)
	}
}

// startCall records the intent of a provider write in tx.
func startCall(ctx context.Context, tx *store.Tx, a Actor, p *store.Payout, action, key string) (*store.ProviderCall, error) {
	c := &store.ProviderCall{PayoutID: p.ID, Action: action, IdempotencyKey: key, ActorID: a.UserID}
	if err := tx.StartProviderCall(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// finishCall records a call's outcome in tx, with its audit entry.
func finishCall(ctx context.Context, tx *store.Tx, a Actor, c *store.ProviderCall, result, code, desc, detail string) error {
	if err := tx.FinishProviderCall(ctx, c.ID, result, code, desc); err != nil {
		return err
	}
	if code != "" {
		detail += "; " + code
	}
	return tx.Audit(ctx, a.audit("provider."+c.Action, c.PayoutID, result, detail))
}

// providerView is what a session says about its payout. updatedAt is when
// the provider last changed the session: for a payout waiting for our
// confirm, when it began to wait.
type providerView struct {
	sessionStatus, payoutStatus, nextAction, errorCode, errorDesc, payoutID string
	updatedAt                                                               time.Time
}

// provesSuccess reports whether the provider says the payout succeeded: the
// money left, whatever we had asked.
func (v providerView) provesSuccess() bool {
	return FromProvider(v.sessionStatus, v.payoutStatus, v.nextAction, v.errorCode, true) == StateSucceeded
}

func viewOf(sess *smartglocal.Session) providerView {
	if sess == nil {
		return providerView{}
	}
	v := providerView{sessionStatus: sess.Status, nextAction: sess.NextAction}
	v.updatedAt, _ = time.Parse(time.RFC3339Nano, sess.UpdatedAt)
	if po := sess.Payout(); po != nil {
		v.payoutStatus, v.payoutID = po.Status, po.ID
		if po.Error != nil {
			v.errorCode, v.errorDesc = po.Error.Code, po.Error.Description
		}
	}
	if v.errorCode == "" && sess.Error != nil {
		v.errorCode, v.errorDesc = sess.Error.Code, sess.Error.Description
	}
	return v
}

func (v providerView) String() string {
	s := "session " + v.sessionStatus
	if v.payoutStatus != "" {
		s += ", payout " + v.payoutStatus
	}
	if v.nextAction != "" {
		s += ", next action " + v.nextAction
	}
	if v.errorCode != "" {
		s += ", error " + v.errorCode
	}
	return s
}

// truth is the state the provider's view proves for p.
func (v providerView) truth(p *store.Payout) State {
	return FromProvider(v.sessionStatus, v.payoutStatus, v.nextAction, v.errorCode, p.ConfirmAttempted)
}

// moveTo sets p's state and what goes with it; the caller saves p.
func (s *Service) moveTo(p *store.Payout, to State, v providerView, now time.Time) {
	p.State = string(to)
	if v.payoutID != "" {
		p.ProviderPayoutID = v.payoutID
	}
	switch to {
	case StatePendingApproval:
		// The provider's clock runs from when the payout began to wait, which
		// its session says (updated_at); our receipt time is only a fallback,
		// so a ready_to_confirm that arrives late or again never extends the
		// deadline. A time ahead of ours is taken as ours. A payout handed back
		// to approvers keeps its first deadline: the provider's clock did not
		// restart.
		if p.ReadyAt.IsZero() {
			ready := now
			if !v.updatedAt.IsZero() && v.updatedAt.Before(now) {
				ready = v.updatedAt.UTC()
			}
			p.ReadyAt, p.DeadlineAt = ready, ready.Add(s.confirmWindow)
		}
	case StateFailed, StateExpired, StateCancelled, StateRejected:
		if v.errorCode != "" {
			p.FailureCode, p.FailureReason = v.errorCode, clip(card.MaskText(v.errorDesc), 300)
		}
	}
	if to.Final() && p.FinishedAt.IsZero() {
		p.FinishedAt = now
	}
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// money is an amount as people read it: "32.90 USD".
func money(amount int64, currency string) string {
	return FormatAmount(amount, currency) + " " + currency
}

// load reads a payout in tx, mapping not-found to the user-facing refusal.
func load(ctx context.Context, tx *store.Tx, id int64) (*store.Payout, error) {
	p, err := tx.PayoutByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrPayoutNotFound
	}
	return p, err
}

// reload reads a payout outside a transaction, after the work is done.
func (s *Service) reload(ctx context.Context, id int64) (*store.Payout, error) {
	return s.db.PayoutByID(context.WithoutCancel(ctx), id)
}

// cardFingerprint is the keyed fingerprint of a card number: what stands for
// the card itself, never the number, when payouts to one card are counted.
func (s *Service) cardFingerprint(pan string) string {
	m := hmac.New(sha256.New, s.cardKey)
	m.Write([]byte(pan))
	return hex.EncodeToString(m.Sum(nil))
}
