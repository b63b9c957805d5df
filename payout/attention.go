package payout

import (
	"context"
	"fmt"
	"slices"

	"countersign/fail"
	"countersign/store"
)

// Kinds of attention items: what a person must look at, in one place (the
// dashboard) until someone acknowledges it.
const (
	// AttentionWebhookMismatch: a webhook's amount or currency differ from
	// ours, or it carries no payout.
	AttentionWebhookMismatch = "webhook_mismatch"
	// AttentionUnknownSession: a webhook about a session no payout of ours has.
	AttentionUnknownSession = "webhook_unknown_session"
	// AttentionUnconfirmedSuccess: the provider paid a payout we never confirmed.
	AttentionUnconfirmedSuccess = "unconfirmed_success"
	// AttentionLateSuccess: the provider paid a payout we no longer expected
	// to be paid (sent back to approvers after a lost confirm, cancelling, …).
	AttentionLateSuccess = "late_success"
	// AttentionStatusRefused: session/status keeps refusing (the session is not
	// found), so the reconciler stopped asking.
	AttentionStatusRefused = "status_refused"
	// AttentionCancelRefused: session/cancel was sent again and again and the
	// provider still waits for a decision, so the reconciler stopped sending it.
	AttentionCancelRefused = "cancel_refused"
)

// AttentionLabel names a kind of attention item as people read it.
func AttentionLabel(kind string) string {
	switch kind {
	case AttentionWebhookMismatch:
		return "Webhook does not match the payout"
	case AttentionUnknownSession:
		return "Webhook about an unknown session"
	case AttentionUnconfirmedSuccess:
		return "Paid although never confirmed"
	case AttentionLateSuccess:
		return "Paid after we stopped expecting it"
	case AttentionStatusRefused:
		return "Provider does not know the payout"
	case AttentionCancelRefused:
		return "Cancel keeps failing"
	}
	return kind
}

// How often the reconciler meets a refusal before it hands a payout to a person.
const (
	maxStatusRefusals = 3 // session/status refused this many times in a row
	maxCancelReissues = 3 // session/cancel re-issued this many times
)

// ErrNotAcknowledger refuses acknowledging an attention item to everyone but
// admins and approvers.
var ErrNotAcknowledger = fail.New(fail.Forbidden, "not_acknowledger", "Only admins and approvers can acknowledge what needs attention.")

// raise records an attention item in tx with its audit entry. It reports
// whether the item is new (one of a kind per payout waits at a time).
func raise(ctx context.Context, tx *store.Tx, kind string, payoutID int64, detail string) (bool, error) {
	fresh, err := tx.RaiseAttention(ctx, kind, payoutID, detail)
	if err != nil || !fresh {
		return fresh, err
	}
	e := systemActor.audit("attention.raise", payoutID, auditFlagged, AttentionLabel(kind)+": "+detail)
	if payoutID == 0 {
		e.ObjectType, e.ObjectID = "attention", ""
	}
	return true, tx.Audit(ctx, e)
}

// waitsForPerson reports whether the reconciler must leave the payout alone
// until someone acknowledges what was raised about it.
func (s *Service) waitsForPerson(ctx context.Context, payoutID int64) (bool, error) {
	return s.db.HasOpenAttention(ctx, payoutID, AttentionStatusRefused, AttentionCancelRefused)
}

// Attention lists what needs a person's look, oldest first.
func (s *Service) Attention(ctx context.Context) ([]*store.AttentionItem, error) {
	return s.db.OpenAttention(ctx, 100)
}

// CanAcknowledge reports whether a may acknowledge attention items.
func CanAcknowledge(a Actor) bool {
	return a.UserID > 0 && (slices.Contains(a.Roles, RoleAdmin) || slices.Contains(a.Roles, RoleApprover))
}

// AcknowledgeAttention records that a looked at an item, with its audit entry
// in the same transaction. A payout the reconciler had stopped asking about
// is asked about again, its refusals counted from zero.
//
// It is not a decision and needs no second-factor proof: it moves no money
// and grants no power (the payout's state stays the provider's word), it only
// records who took the problem on.
func (s *Service) AcknowledgeAttention(ctx context.Context, a Actor, id int64) (*store.AttentionItem, error) {
	if !CanAcknowledge(a) {
		return nil, ErrNotAcknowledger
	}
	var item *store.AttentionItem
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if item, err = tx.AcknowledgeAttention(ctx, id, a.UserID); err != nil {
			return err
		}
		if item.PayoutID != 0 {
			if err := tx.ResetReconcileCounts(ctx, item.PayoutID); err != nil {
				return err
			}
		}
		e := a.audit("attention.acknowledge", item.PayoutID, "ok", fmt.Sprintf("item #%d, %s: %s", item.ID, AttentionLabel(item.Kind), item.Detail))
		if item.PayoutID == 0 {
			e.ObjectType, e.ObjectID = "attention", fmt.Sprint(item.ID)
		}
		return tx.Audit(ctx, e)
	})
	return item, err
}
