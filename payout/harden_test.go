package payout

import (
	"context"
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/store"
	"countersign/store/pgtest"
)

// TestInstallationsDoNotShareIdempotencyKeys: a fresh database pointed at
// the same provider project had its payout #1 bound to another
// installation's session, and its #2 refused.
func TestInstallationsDoNotShareIdempotencyKeys(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	db2, err := store.Open(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	u := &store.User{Email: "m@example.com", Name: "M", PasswordHash: "x", Roles: []string{"maker"}, Active: true}
	if err := db2.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	other := NewService(ServiceConfig{DB: db2, Provider: e.client, WebhookKeys: []*rsa.PublicKey{e.sb.PublicKey()}, CallTimeout: 5 * time.Second})
	otherMaker := Actor{UserID: u.ID, Email: u.Email, Roles: []Role{RoleMaker}}

	first1 := e.submit(draft(visa))
	first2, err := other.Submit(ctx, otherMaker, draft(visa)) // the same payout #1, byte for byte
	if err != nil {
		t.Fatal(err)
	}
	if first2.ProviderSessionID == "" || first2.ProviderSessionID == first1.ProviderSessionID {
		t.Errorf("payout #1 of two installations: sessions %q and %q", first1.ProviderSessionID, first2.ProviderSessionID)
	}
	d := draft(visa)
	d.Amount = "11.00"
	e.submit(d)
	d.Amount = "12.00"
	second2, err := other.Submit(ctx, otherMaker, d) // payout #2, another body
	if err != nil {
		t.Fatal(err)
	}
	if State(second2.State) == StateRejected || second2.ProviderSessionID == "" {
		t.Errorf("payout #2 of the second installation: %s, session %q; want accepted", second2.State, second2.ProviderSessionID)
	}
}

// TestLateSuccessAfterSendBack: the reconciler sent a payout back to
// approvers (its confirm never landed), then the provider paid it after all.
// The provider's final word wins, and a person is asked to look.
func TestLateSuccessAfterSendBack(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(draft(visa))
	e.sb.InjectFault("session/confirm", sandbox.FaultReset, 1)
	if _, err := e.s().Approve(ctx, e.approvers[0], p.ID, p.Version); err != nil {
		t.Fatal(err)
	}
	e.waitState(p.ID, StateUnknown)
	back := e.reconcileUntil(p.ID, StatePendingApproval)
	// The confirm lands late after all (here: sent behind the console's back).
	e.forward.Store(false)
	if _, err := e.client.Confirm(ctx, back.ProviderSessionID, ""); err != nil {
		t.Fatal(err)
	}
	h := e.waitHook(back.ProviderSessionID, smartglocal.WebhookPaymentFinished)
	if err := e.s().HandleWebhook(ctx, h.Body, h.Sig); err != nil {
		t.Fatal(err)
	}
	got := e.payout(p.ID)
	if State(got.State) != StateSucceeded || got.FinishedAt.IsZero() {
		t.Fatalf("state %s; want succeeded: the provider paid it", got.State)
	}
	if items := e.attention(p.ID); len(items) != 1 || items[0].Kind != AttentionLateSuccess {
		t.Errorf("attention %+v; want one %s", items, AttentionLateSuccess)
	}
	if n := e.countAudit(p.ID, "webhook.payment_finished", auditFlagged); n != 1 {
		t.Errorf("flagged audit entries %d; want 1", n)
	}
}

// TestDeadlineFromProviderSession: a ready_to_confirm that arrives late (a
// retry) does not push the deadline back.
func TestDeadlineFromProviderSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.forward.Store(false)
	p := e.submit(draft(visa))
	h := e.waitHook(p.ProviderSessionID, smartglocal.WebhookReadyToConfirm)
	wh, err := smartglocal.VerifyWebhook([]*rsa.PublicKey{e.sb.PublicKey()}, h.Body, h.Sig)
	if err != nil {
		t.Fatal(err)
	}
	ready, err := time.Parse(time.RFC3339Nano, wh.Session.UpdatedAt)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(40 * time.Minute) // the delivery comes 40 minutes late
	if err := e.s().HandleWebhook(ctx, h.Body, h.Sig); err != nil {
		t.Fatal(err)
	}
	got := e.payout(p.ID)
	want := ready.Add(240 * time.Minute)
	if d := got.DeadlineAt.Sub(want); d < -time.Second || d > time.Second {
		t.Errorf("deadline %v; want %v (the provider's time + 240 min), not our receipt time + 240 min", got.DeadlineAt, want)
	}
}

// TestRefusedStatusHandedToPerson: a payout whose session the provider does
// not know was asked about on every pass, forever.
func TestRefusedStatusHandedToPerson(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := seedPayout(t, e.db, e.maker.UserID, 1000, "USD", "ps_unknown_to_the_provider", StateUnknown, true)
	for range 6 {
		if err := e.s().ReconcileOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sb.CallCount("session/status"); n != maxStatusRefusals {
		t.Errorf("%d session/status calls in 6 passes; want %d, then none", n, maxStatusRefusals)
	}
	items := e.attention(p.ID)
	if len(items) != 1 || items[0].Kind != AttentionStatusRefused {
		t.Fatalf("attention %+v; want one %s", items, AttentionStatusRefused)
	}
	// Only admins and approvers acknowledge; acknowledging asks again.
	if _, err := e.s().AcknowledgeAttention(ctx, Actor{UserID: e.maker.UserID, Roles: []Role{RoleMaker}}, items[0].ID); !errors.Is(err, ErrNotAcknowledger) {
		t.Errorf("a maker acknowledged: %v", err)
	}
	if _, err := e.s().AcknowledgeAttention(ctx, e.approvers[0], items[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s().ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.sb.CallCount("session/status"); n != maxStatusRefusals+1 {
		t.Errorf("%d session/status calls after acknowledging; want one more", n)
	}
	if es := e.audit(store.AuditFilter{Action: "attention.acknowledge"}); len(es) != 1 || es[0].ActorID != e.approvers[0].UserID {
		t.Errorf("acknowledgement audit %+v", es)
	}
}

// TestRefusedCancelReissuedAFewTimes: a cancel that never lands was sent
// again on every reconciler pass.
func TestRefusedCancelReissuedAFewTimes(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(draft(visa))
	e.sb.InjectFault("session/cancel", sandbox.Fault5xx, -1)
	if _, err := e.s().Cancel(ctx, e.approvers[0], p.ID, p.Version, "wrong amount"); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := e.s().ReconcileOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sb.CallCount("session/cancel"); n != 1+maxCancelReissues {
		t.Errorf("%d session/cancel calls in 10 passes; want the first and %d more", n, maxCancelReissues)
	}
	if items := e.attention(p.ID); len(items) != 1 || items[0].Kind != AttentionCancelRefused {
		t.Errorf("attention %+v; want one %s", items, AttentionCancelRefused)
	}
	if got := e.payout(p.ID); State(got.State) == StatePendingApproval {
		t.Error("a payout someone decided to cancel went back to approvers")
	}
}

// TestFlaggedWebhooksNeedAttention: webhooks with the wrong amount, or for a
// session no payout has, wait on the dashboard and tell the admins.
func TestFlaggedWebhooksNeedAttention(t *testing.T) {
	e := newEnv(t, envOptions{})
	tl := withNotify(e)
	ctx := context.Background()
	e.forward.Store(false)
	start := func() string {
		sess, err := e.client.CreateSession(ctx, createRequest(&store.Payout{Amount: 1000, Currency: "USD", FullName: "Not Ours"}), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.StartPayout(ctx, smartglocal.StartPayoutRequest{SessionID: sess.ID, PaymentMethod: smartglocal.BankCardMethod(visa)}, ""); err != nil {
			t.Fatal(err)
		}
		return sess.ID
	}
	mismatched := start()
	p := seedPayout(t, e.db, e.maker.UserID, 2000, "USD", mismatched, StateAwaitingProvider, false) // ours says 20.00
	unknown := start()
	for _, sid := range []string{mismatched, unknown} {
		h := e.waitHook(sid, smartglocal.WebhookReadyToConfirm)
		if err := e.s().HandleWebhook(ctx, h.Body, h.Sig); err != nil {
			t.Fatal(err)
		}
	}
	open, err := e.s().Attention(ctx)
	if err != nil || len(open) != 2 {
		t.Fatalf("open attention %+v, %v; want the mismatch and the unknown session", open, err)
	}
	if open[0].Kind != AttentionWebhookMismatch || open[0].PayoutID != p.ID || open[1].Kind != AttentionUnknownSession || open[1].PayoutID != 0 {
		t.Errorf("open attention %+v %+v", open[0], open[1])
	}
	tl.send(t)
	if mails, _ := tl.mailsAbout("webhook"); len(mails) == 0 {
		t.Error("no email told the admins of the flagged webhooks")
	}
}
