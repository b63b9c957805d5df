package payout

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/store"
	"countersign/store/pgtest"
)

func TestWebhookDuplicatesConcurrent(t *testing.T) {
	const K = 10
	e := newEnv(t, envOptions{})
	e.forward.Store(false) // capture only; this test delivers
	p := e.submit(draft(visa))
	h := e.waitHook(p.ProviderSessionID, smartglocal.WebhookReadyToConfirm)
	before := e.payout(p.ID)

	var wg sync.WaitGroup
	errs := make([]error, K)
	for i := range K {
		wg.Go(func() { errs[i] = e.s().HandleWebhook(context.Background(), h.Body, h.Sig) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	got := e.payout(p.ID)
	if got.State != string(StatePendingApproval) || got.Version != before.Version+1 {
		t.Errorf("after %d deliveries: %s v%d; want pending_approval v%d", K, got.State, got.Version, before.Version+1)
	}
	if n := e.countAudit(p.ID, "webhook.", auditApplied); n != 1 {
		t.Errorf("applied webhook entries = %d; want 1", n)
	}
	evs, err := e.db.WebhookEvents(context.Background(), p.ID, "", 100)
	if err != nil || len(evs) != 1 || evs[0].Outcome != store.WebhookApplied {
		t.Errorf("stored events %+v, %v; want one applied", evs, err)
	}

	// The sandbox's own duplicate mode, through a whole payout.
	e.forward.Store(true)
	e.sb.SetWebhookMode(sandbox.WebhookDuplicate)
	q := e.pending(draft("5555555555554444"))
	e.approve(e.approvers[0], q)
	e.waitState(q.ID, StateSucceeded)
	for _, typ := range []string{"webhook.ready_to_confirm", "webhook.payment_finished"} {
		if n := e.countAudit(q.ID, typ, auditApplied); n != 1 {
			t.Errorf("%s applied %d times; want 1", typ, n)
		}
	}
}

func TestWebhookForgeries(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.forward.Store(false)
	p := e.submit(draft(visa))
	h := e.waitHook(p.ProviderSessionID, smartglocal.WebhookReadyToConfirm)
	before := e.payout(p.ID)

	flipped := append([]byte(nil), h.Body...)
	flipped[len(flipped)/2] ^= 0x01
	other := []byte(`{"type":"payment_finished","session":{"id":"` + p.ProviderSessionID + `","status":"accepted"}}`)
	ourSig, err := smartglocal.Sign(e.sb.PartnerKey, h.Body) // signed, but with the wrong key
	if err != nil {
		t.Fatal(err)
	}
	sigBytes := []byte(h.Sig)
	sigBytes[10] ^= 0x02
	tests := []struct {
		name string
		body []byte
		sig  string
	}{
		{"unsigned", h.Body, ""},
		{"signature of another body", other, h.Sig},
		{"flipped bit in body", flipped, h.Sig},
		{"flipped bit in signature", h.Body, string(sigBytes)},
		{"wrong key", h.Body, ourSig},
		{"not base64", h.Body, "not a signature!"},
	}
	for _, tt := range tests {
		err := e.s().HandleWebhook(context.Background(), tt.body, tt.sig)
		if !errors.Is(err, smartglocal.ErrBadSignature) {
			t.Errorf("%s: err %v; want ErrBadSignature", tt.name, err)
		}
	}
	if evs, _ := e.db.WebhookEvents(context.Background(), 0, "", 100); len(evs) != 0 {
		t.Errorf("stored %d events from forgeries; want 0", len(evs))
	}
	if es := e.audit(store.AuditFilter{Action: "webhook."}); len(es) != 0 {
		t.Errorf("audit entries from forgeries: %+v", es)
	}
	if got := e.payout(p.ID); got.State != before.State || got.Version != before.Version {
		t.Errorf("payout moved by forgeries: %s v%d", got.State, got.Version)
	}
	// The genuine one still works.
	if err := e.s().HandleWebhook(context.Background(), h.Body, h.Sig); err != nil {
		t.Fatal(err)
	}
	e.waitState(p.ID, StatePendingApproval)
}

// seedPayout writes a payout straight into the store, in state st, as if the
// console had got that far: for replaying webhooks into a fresh database.
func seedPayout(t *testing.T, db *store.DB, makerID int64, amount int64, currency, sessionID string, st State, confirmed bool) *store.Payout {
	t.Helper()
	ctx := context.Background()
	p := &store.Payout{State: string(StateSubmitting), MakerID: makerID, FullName: "John Johnson", Amount: amount, Currency: currency, CardLast4: "4242", CardBrand: "visa"}
	err := db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		p.State, p.ProviderSessionID, p.ConfirmAttempted = string(st), sessionID, confirmed
		if st == StateCancelling {
			p.CancelReason = "stop"
		}
		return tx.SavePayout(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func permutations[T any](xs []T) [][]T {
	if len(xs) <= 1 {
		return [][]T{append([]T(nil), xs...)}
	}
	var out [][]T
	for i := range xs {
		rest := append(append([]T(nil), xs[:i]...), xs[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]T{xs[i]}, p...))
		}
	}
	return out
}

// TestWebhookOrder captures the signed webhooks of real lifecycles, then
// replays them (each twice) in every order into fresh databases seeded at
// the point the console would be at: the final state is always the same.
func TestWebhookOrder(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	type lifecycle struct {
		name   string
		run    func() *store.Payout
		seeds  map[State]State // seed state -> final state after the webhooks
		hooks  []hook
		payout *store.Payout
	}
	lcs := []*lifecycle{
		{name: "succeeded", run: func() *store.Payout {
			p := e.pending(draft(visa))
			e.approve(e.approvers[0], p)
			return e.waitState(p.ID, StateSucceeded)
		}, seeds: map[State]State{
			StateConfirming: StateSucceeded, StateConfirmed: StateSucceeded, StateUnknown: StateSucceeded,
			// Never confirmed by us: the provider's final word still wins (and is
			// flagged for a person), whatever came first.
			StateAwaitingProvider: StateSucceeded, StateSubmitting: StateSucceeded,
		}},
		{name: "declined", run: func() *store.Payout {
			p := e.pending(draft(declined))
			e.approve(e.approvers[0], p)
			return e.waitState(p.ID, StateFailed)
		}, seeds: map[State]State{StateConfirming: StateFailed, StateConfirmed: StateFailed, StateAwaitingProvider: StateFailed}},
		{name: "cancelled", run: func() *store.Payout {
			p := e.pending(draft("5555555555554444"))
			if _, err := e.s().Cancel(ctx, e.approvers[0], p.ID, p.Version, "stop"); err != nil {
				t.Fatal(err)
			}
			return e.waitState(p.ID, StateCancelled)
		}, seeds: map[State]State{StateCancelling: StateCancelled, StateAwaitingProvider: StateCancelled, StateUnknown: StateCancelled}},
		{name: "expired", run: func() *store.Payout {
			p := e.pending(draft("4111111111111111"))
			e.sb.ExpirePending()
			return e.waitState(p.ID, StateExpired)
		}, seeds: map[State]State{StateAwaitingProvider: StateExpired, StateSubmitting: StateExpired}},
	}
	for _, lc := range lcs {
		lc.payout = lc.run()
		// The payout may reach its final state before its payment_finished
		// webhook arrives (a cancel's reply already proves it cancelled).
		e.waitHook(lc.payout.ProviderSessionID, smartglocal.WebhookPaymentFinished)
		hs := e.captured(lc.payout.ProviderSessionID)
		if len(hs) != 2 {
			t.Fatalf("%s: captured %d webhooks; want 2", lc.name, len(hs))
		}
		lc.hooks = append(hs, hs...) // each delivered twice
	}
	// A migrated database with one maker, copied for every replay: a file
	// on SQLite, a template database on PostgreSQL.
	u := &store.User{Email: "m@example.com", Name: "M", PasswordHash: "x", Roles: []string{"maker"}, Active: true}
	template := pgtest.DSN(t)
	tdb, err := store.Open(ctx, template)
	if err != nil {
		t.Fatal(err)
	}
	if err := tdb.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tdb.Close() // checkpoints the WAL into the file; leaves the template unused
	copyOf := func(t *testing.T) string { return pgtest.Clone(t, template) }
	if !pgtest.Postgres() {
		image, err := os.ReadFile(template)
		if err != nil {
			t.Fatal(err)
		}
		copyOf = func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "replay.db")
			if err := os.WriteFile(path, image, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}
	}
	freshDB := func(t *testing.T) *store.DB {
		db, err := store.Open(ctx, copyOf(t))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	// Every distinct order of the four deliveries (two copies of each webhook).
	var orders [][]int
	seen := map[string]bool{}
	for _, o := range permutations([]int{0, 1, 2, 3}) {
		k := fmt.Sprint(o[0]%2, o[1]%2, o[2]%2, o[3]%2)
		if !seen[k] {
			seen[k] = true
			orders = append(orders, o)
		}
	}
	if len(orders) != 6 {
		t.Fatalf("%d distinct orders; want 6", len(orders))
	}
	for _, lc := range lcs {
		for seed, want := range lc.seeds {
			t.Run(fmt.Sprintf("%s from %s", lc.name, seed), func(t *testing.T) {
				for _, order := range orders {
					db := freshDB(t)
					confirmed := seed == StateConfirming || seed == StateConfirmed || (seed == StateUnknown && lc.name == "succeeded")
					p := seedPayout(t, db, u.ID, lc.payout.Amount, lc.payout.Currency, lc.payout.ProviderSessionID, seed, confirmed)
					s := NewService(ServiceConfig{DB: db, WebhookKeys: []*rsa.PublicKey{e.sb.PublicKey()}})
					for _, j := range order {
						if err := s.HandleWebhook(ctx, lc.hooks[j].Body, lc.hooks[j].Sig); err != nil {
							t.Fatalf("order %v: %v", order, err)
						}
					}
					got, err := db.PayoutByID(ctx, p.ID)
					if err != nil {
						t.Fatal(err)
					}
					if State(got.State) != want {
						t.Errorf("order %v: final %s; want %s", order, got.State, want)
					}
					evs, _ := db.WebhookEvents(ctx, 0, "", 10)
					if len(evs) != 2 {
						t.Errorf("order %v: %d stored events; want 2", order, len(evs))
					}
					db.Close()
				}
			})
		}
	}
}

func TestWebhookUnknownSessionMismatchMetadata(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.forward.Store(false)
	// A session the console never made.
	start := func(amount int64, payoutID int64) string {
		t.Helper()
		req := smartglocal.CreateSessionRequest{
			AmountDetails:      &smartglocal.AmountDetails{Amount: amount, Currency: "usd"},
			ParticipantDetails: &smartglocal.ParticipantDetails{Recipient: &smartglocal.Participant{FullName: "X"}},
		}
		if payoutID > 0 {
			req.Metadata = json.RawMessage(fmt.Sprintf(`{"payout_id":%d}`, payoutID))
		}
		sess, err := e.client.CreateSession(ctx, req, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.StartPayout(ctx, smartglocal.StartPayoutRequest{SessionID: sess.ID, PaymentMethod: smartglocal.BankCardMethod(visa)}, ""); err != nil {
			t.Fatal(err)
		}
		return sess.ID
	}

	t.Run("unknown session", func(t *testing.T) {
		sid := start(1000, 0)
		h := e.waitHook(sid, smartglocal.WebhookReadyToConfirm)
		if err := e.s().HandleWebhook(ctx, h.Body, h.Sig); err != nil {
			t.Fatal(err)
		}
		evs, _ := e.db.WebhookEvents(ctx, 0, store.WebhookUnknownSession, 10)
		if len(evs) != 1 || evs[0].SessionID != sid {
			t.Errorf("unknown_session events %+v", evs)
		}
		if es := e.audit(store.AuditFilter{Action: "webhook.unknown_session"}); len(es) != 1 || es[0].Outcome != auditFlagged {
			t.Errorf("audit %+v", es)
		}
	})
	t.Run("amount mismatch", func(t *testing.T) {
		sid := start(1000, 0)
		p := seedPayout(t, e.db, e.maker.UserID, 2000, "USD", sid, StateAwaitingProvider, false)
		h := e.waitHook(sid, smartglocal.WebhookReadyToConfirm)
		if err := e.s().HandleWebhook(ctx, h.Body, h.Sig); err != nil {
			t.Fatal(err)
		}
		got := e.payout(p.ID)
		if got.State != string(StateAwaitingProvider) || got.Version != p.Version {
			t.Errorf("mismatched webhook moved the payout: %s v%d", got.State, got.Version)
		}
		if evs, _ := e.db.WebhookEvents(ctx, p.ID, store.WebhookMismatch, 10); len(evs) != 1 {
			t.Errorf("mismatch events %+v", evs)
		}
		if n := e.countAudit(p.ID, "webhook.ready_to_confirm", auditFlagged); n != 1 {
			t.Errorf("flagged audit entries %d; want 1", n)
		}
	})
	t.Run("found by metadata", func(t *testing.T) {
		p := seedPayout(t, e.db, e.maker.UserID, 1500, "USD", "", StateSubmitting, false)
		sid := start(1500, p.ID)
		h := e.waitHook(sid, smartglocal.WebhookReadyToConfirm)
		if err := e.s().HandleWebhook(ctx, h.Body, h.Sig); err != nil {
			t.Fatal(err)
		}
		got := e.payout(p.ID)
		if got.State != string(StatePendingApproval) || got.ProviderSessionID != sid {
			t.Errorf("payout %s session %q; want pending_approval %s", got.State, got.ProviderSessionID, sid)
		}
	})
	t.Run("success never confirmed", func(t *testing.T) {
		p := e.submit(draft("4111111111111111"))
		h := e.waitHook(p.ProviderSessionID, smartglocal.WebhookReadyToConfirm)
		// Confirm behind the console's back: the provider then reports success.
		if _, err := e.client.Confirm(ctx, p.ProviderSessionID, ""); err != nil {
			t.Fatal(err)
		}
		f := e.waitHook(p.ProviderSessionID, smartglocal.WebhookPaymentFinished)
		for _, x := range []hook{h, f} {
			if err := e.s().HandleWebhook(ctx, x.Body, x.Sig); err != nil {
				t.Fatal(err)
			}
		}
		// The money left: recorded, and put before a person.
		got := e.payout(p.ID)
		if got.State != string(StateSucceeded) {
			t.Errorf("state %s; want succeeded (the provider's final word)", got.State)
		}
		if n := e.countAudit(p.ID, "webhook.payment_finished", auditFlagged); n != 1 {
			t.Errorf("flagged entries %d; want 1", n)
		}
		if items := e.attention(p.ID); len(items) != 1 || items[0].Kind != AttentionUnconfirmedSuccess {
			t.Errorf("attention items %+v; want one %s", items, AttentionUnconfirmedSuccess)
		}
	})
}
