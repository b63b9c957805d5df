package payout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"countersign/fail"
	"countersign/smartglocal"
	"countersign/store"
)

// HandleWebhook verifies, stores and applies one provider webhook. The
// signature is checked over the raw bytes before anything is parsed; a bad
// one returns ErrWebhookSignature (kind Unauthorized: reply 401), wrapping
// smartglocal.ErrBadSignature, and stores nothing. A signed body that cannot
// be used returns ErrBadWebhook (malformed: reply 400). nil means the event
// is committed, or was a duplicate of one that is (reply 200); any other error
// means nothing was committed (reply 500, so the provider retries).
//
// Each delivery is stored once, keyed by the SHA-256 of its body, in the same
// transaction as the change it causes, so K deliveries of the same event
// change the payout once. A webhook only moves a payout forward (CanMove),
// never confirms one (no success without our own session/confirm), and is
// flagged when its amount or currency differ from ours.
func (s *Service) HandleWebhook(ctx context.Context, rawBody []byte, signature string) error {
	wh, err := smartglocal.VerifyWebhook(s.webhookKeys, rawBody, signature)
	if err != nil {
		if errors.Is(err, smartglocal.ErrBadSignature) {
			s.log.Warn("webhook refused: bad signature", "bytes", len(rawBody))
			s.observeWebhook("", "bad_signature")
			return fmt.Errorf("payout: webhook: %w: %w", ErrWebhookSignature, err)
		}
		s.log.Warn("webhook refused: signed but unusable", "bytes", len(rawBody), "err", err)
		s.observeWebhook("", "malformed")
		return fmt.Errorf("payout: webhook: %w: %w", ErrBadWebhook, err)
	}
	ev := newWebhookEvent(wh, rawBody)
	if err := s.writeWebhook(ctx, ev); err != nil {
		s.observeWebhook(wh.Type, "error")
		return fmt.Errorf("payout: webhook %s for session %s: %w", wh.Type, wh.Session.ID, err)
	}
	s.log.Info("webhook", "type", wh.Type, "session", wh.Session.ID, "payout", ev.payoutID, "outcome", ev.result)
	s.observeWebhook(wh.Type, ev.result)
	if ev.ended {
		s.releaseAfterEnd(ctx, ev.payoutID)
	}
	return nil
}

// newWebhookEvent is a verified delivery, keyed by the SHA-256 of its body
// and packed for storage here, in the request's goroutine, so that the one
// writer only writes.
func newWebhookEvent(wh *smartglocal.Webhook, rawBody []byte) *webhookEvent {
	sum := sha256.Sum256(rawBody)
	return &webhookEvent{wh: wh, raw: rawBody, key: hex.EncodeToString(sum[:]), packed: store.PackWebhookBody(string(rawBody)),
		done: make(chan struct{})}
}

// applyWebhookEvent stores one verified delivery in tx with what it did: the
// payout it moved, the audit entry, an attention item when a person must look.
// The event's row is written once, with its outcome.
func (s *Service) applyWebhookEvent(ctx context.Context, tx *store.Tx, g *webhookGroup, ev *webhookEvent) error {
	wh := ev.wh
	if g.seen[ev.key] {
		ev.result = "duplicate"
		return nil
	}
	e := &store.WebhookEvent{Key: ev.key, Type: wh.Type, SessionID: wh.Session.ID, Body: string(ev.raw), Packed: ev.packed}
	p, err := webhookPayout(ctx, tx, g, wh)
	if err != nil {
		return err
	}
	if p == nil {
		e.Outcome = store.WebhookUnknownSession
		if err := insertWebhookEvent(ctx, tx, e); err != nil {
			return err
		}
		ev.result = e.Outcome
		detail := "no payout has session " + wh.Session.ID
		a := providerActor.audit("webhook.unknown_session", 0, auditFlagged, wh.Type+"; "+detail)
		a.ObjectType, a.ObjectID = "webhook", fmt.Sprint(e.ID)
		if err := tx.Audit(ctx, a); err != nil {
			return err
		}
		return s.flag(ctx, tx, flagged{AttentionUnknownSession, wh.Type + " webhook: " + detail}, 0)
	}
	ev.payoutID = p.ID
	before := State(p.State)
	result, detail, flag, err := s.applyWebhook(ctx, tx, p, wh)
	if err != nil {
		return err
	}
	ev.ended = State(p.State) != before && endedUnpaid(State(p.State))
	e.PayoutID, e.Outcome = p.ID, result
	if err := insertWebhookEvent(ctx, tx, e); err != nil {
		return err
	}
	ev.result = result
	auditOutcome := map[string]string{store.WebhookApplied: auditApplied, store.WebhookStale: auditStale}[result]
	if flag != nil || auditOutcome == "" {
		auditOutcome = auditFlagged
	}
	if err := tx.Audit(ctx, providerActor.audit("webhook."+wh.Type, p.ID, auditOutcome, detail)); err != nil {
		return err
	}
	if flag == nil {
		return nil
	}
	return s.flag(ctx, tx, *flag, p.ID)
}

// insertWebhookEvent stores e, which the group's WebhookEventsSeen said was new. Writers
// are serialised, so it is; should that ever not hold, the event's changes
// are undone rather than applied twice.
func insertWebhookEvent(ctx context.Context, tx *store.Tx, e *store.WebhookEvent) error {
	fresh, err := tx.InsertWebhookEvent(ctx, e)
	if err == nil && !fresh {
		err = errors.New("stored meanwhile by another writer")
	}
	return err
}

// Refusals of a webhook delivery.
var (
	// ErrWebhookSignature: the body is not signed by the provider's key.
	ErrWebhookSignature = fail.New(fail.Unauthorized, "webhook_signature", "The webhook's signature does not verify.")
	// ErrBadWebhook: a correctly signed body could not be used (not JSON, no
	// type or session id).
	ErrBadWebhook = fail.Malformed("The webhook is signed but cannot be used.")
)

// webhookPayout finds the payout a webhook is about: by session id, or by the
// payout_id we put in the metadata, since the webhook can beat our recording
// of the session/create reply. nil when none is ours.
func webhookPayout(ctx context.Context, tx *store.Tx, g *webhookGroup, wh *smartglocal.Webhook) (*store.Payout, error) {
	p, err := g.payoutBySession(ctx, tx, wh.Session.ID)
	if p != nil || err != nil {
		return p, err
	}
	po := wh.Session.Payout()
	if po == nil || len(po.Metadata) == 0 {
		return nil, nil
	}
	var md struct {
		PayoutID int64 `json:"payout_id"`
	}
	if json.Unmarshal(po.Metadata, &md) != nil || md.PayoutID <= 0 {
		return nil, nil
	}
	p, err = tx.PayoutByID(ctx, md.PayoutID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case p.ProviderSessionID != "":
		// Ours has another session: this one is not ours, whatever it says.
		return nil, nil
	}
	return p, nil
}

// flagged is why a webhook needs a person's look.
type flagged struct {
	kind, why string
}

// flag raises an attention item about a webhook in tx and tells the admins,
// in the same transaction, that it was flagged.
func (s *Service) flag(ctx context.Context, tx *store.Tx, f flagged, payoutID int64) error {
	if _, err := raise(ctx, tx, f.kind, payoutID, f.why); err != nil {
		return err
	}
	return s.notify.WebhookFlagged(ctx, tx, payoutID, f.why)
}

// applyWebhook decides what a new, verified webhook does to p and does it.
// It returns the stored outcome, a detail, and why a person must look at it
// (nil when nobody must).
//
// The provider's final word on a payout wins: a payment_finished that says
// the payout succeeded is recorded whatever our state, even when we no
// longer expected it (the reconciler had sent the payout back to approvers
// after a lost confirm, or someone was cancelling it), because the money has
// left either way; such a success is flagged for review. Every other
// webhook only moves a payout forward (CanMove).
func (s *Service) applyWebhook(ctx context.Context, tx *store.Tx, p *store.Payout, wh *smartglocal.Webhook) (result, detail string, flag *flagged, err error) {
	v := viewOf(&wh.Session)
	cur := State(p.State)
	po := wh.Session.Payout()
	if po == nil {
		return store.WebhookMismatch, "the session carries no payout", &flagged{AttentionWebhookMismatch, wh.Type + " webhook without a payout"}, nil
	}
	if po.AmountDetails.Amount != p.Amount || !strings.EqualFold(po.AmountDetails.Currency, p.Currency) {
		detail := fmt.Sprintf("provider says %d %s, we have %d %s",
			po.AmountDetails.Amount, strings.ToUpper(po.AmountDetails.Currency), p.Amount, p.Currency)
		return store.WebhookMismatch, detail, &flagged{AttentionWebhookMismatch, wh.Type + " webhook: " + detail}, nil
	}
	var to State
	switch wh.Type {
	case smartglocal.WebhookReadyToConfirm:
		to = StatePendingApproval
		// Out of unknown only while nothing of ours was attempted: after a lost
		// confirm this news may be older than our confirm, and after a lost
		// cancel the payout must not go back to approvers. session/status decides.
		if cur == StateUnknown && (p.ConfirmAttempted || p.CancelReason != "") {
			return store.WebhookStale, v.String() + "; left to the reconciler", nil, nil
		}
	case smartglocal.WebhookPaymentFinished:
		if v.provesSuccess() {
			if cur == StateSucceeded {
				return store.WebhookStale, fmt.Sprintf("%s; payout stays %s", v, cur), nil, nil
			}
			if p.ProviderSessionID == "" {
				p.ProviderSessionID = wh.Session.ID
			}
			flag, err := s.recordSuccess(ctx, tx, p, v)
			if err != nil {
				return "", "", nil, err
			}
			return store.WebhookApplied, fmt.Sprintf("%s; %s → %s", v, cur, StateSucceeded), flag, nil
		}
		to = v.truth(p)
	default:
		return store.WebhookStale, "type not handled", nil, nil
	}
	if to == cur || !CanMove(cur, to) || (to == StateUnknown && cur == StateUnknown) {
		return store.WebhookStale, fmt.Sprintf("%s; payout stays %s", v, cur), nil, nil
	}
	if p.ProviderSessionID == "" {
		p.ProviderSessionID = wh.Session.ID
	}
	s.moveTo(p, to, v, tx.Now())
	if err := tx.SavePayout(ctx, p); err != nil {
		return "", "", nil, err
	}
	if err := s.announce(ctx, tx, p, cur); err != nil {
		return "", "", nil, err
	}
	return store.WebhookApplied, fmt.Sprintf("%s; %s → %s", v, cur, to), nil, nil
}

// recordSuccess moves p to succeeded in tx, whatever its state: the provider
// says the money left. It returns why a person must look at it when we did
// not expect the success: we never confirmed the payout, or no confirm of
// ours was under way any more.
func (s *Service) recordSuccess(ctx context.Context, tx *store.Tx, p *store.Payout, v providerView) (*flagged, error) {
	cur := State(p.State)
	var flag *flagged
	switch {
	case !p.ConfirmAttempted:
		flag = &flagged{AttentionUnconfirmedSuccess, fmt.Sprintf("the provider paid payout #%d (%s), which we never confirmed; it was %s", p.ID, money(p.Amount, p.Currency), cur)}
	case cur != StateConfirming && cur != StateConfirmed && cur != StateUnknown:
		flag = &flagged{AttentionLateSuccess, fmt.Sprintf("the provider paid payout #%d (%s) while it was %s here", p.ID, money(p.Amount, p.Currency), cur)}
	}
	s.moveTo(p, StateSucceeded, v, tx.Now())
	p.FailureCode, p.FailureReason = "", ""
	if err := tx.SavePayout(ctx, p); err != nil {
		return nil, err
	}
	return flag, s.announce(ctx, tx, p, cur)
}
