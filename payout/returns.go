package payout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"countersign/fail"
	"countersign/notify"
	"countersign/store"
	"countersign/text"
)

// Refusals of recording a return.
var (
	ErrCannotRecordReturn = fail.New(fail.Forbidden, "cannot_record_return", "Only approvers can record that a bank returned a payout")
	ErrOwnPayoutReturn    = fail.New(fail.Forbidden, "own_payout_return", "You prepared this payout, so someone else must record its return")
	ErrNotReturnable      = fail.New(fail.Conflict, "not_returnable", "Only a bank-account payout that succeeded can be returned by the bank")
	ErrAlreadyReturned    = fail.New(fail.Conflict, "already_returned", "This payout's return is already recorded")
)

// CheckReturn returns why a may not record that the receiving bank sent p
// back, or nil. This is the rule of returns, and its only statement:
//
//   - Approvers record returns. A return says money came back, which someone
//     checks against the provider's statement: a control task, like
//     approving. Makers do not: the person who would prepare the payment
//     again must not also be the one who declares the first one failed.
//   - For the same reason the payout's maker never records its return,
//     whatever roles they hold.
//   - Only a succeeded bank-account payout can be returned (cards cannot:
//     the provider's card payouts are final), and only once.
func CheckReturn(a Actor, p *store.Payout) error {
	switch {
	case a.UserID <= 0 || !slices.Contains(a.Roles, RoleApprover):
		return ErrCannotRecordReturn
	case a.UserID == p.MakerID:
		return ErrOwnPayoutReturn
	case p.Method != MethodBankAccount || State(p.State) != StateSucceeded:
		return ErrNotReturnable
	case p.Returned():
		return ErrAlreadyReturned
	}
	return nil
}

// checkReturnFields says what is wrong with a return's reason and date (the
// day the bank returned the money, YYYY-MM-DD): the date can be neither
// before the payout finished nor after today (UTC).
//
// The reason goes through text.CheckReason, the one rule for reasons; it
// returns the cleaned reason.
func checkReturnFields(p *store.Payout, reason, on string, now time.Time) (string, map[string]string) {
	bad := map[string]string{}
	reason, problem := text.CheckReason(reason)
	switch {
	case problem != "" && reason == "" && !text.HoldsCardNumber(problem):
		bad["return_reason"] = "Say why the bank returned it, as its statement or the provider says"
	case problem != "":
		bad["return_reason"] = problem
	}
	day, err := time.Parse(time.DateOnly, on)
	switch {
	case on == "":
		bad["returned_on"] = "Enter the date the bank returned the money"
	case err != nil:
		bad["returned_on"] = "Use a date like 2026-11-21"
	case day.After(now.UTC()):
		bad["returned_on"] = "The date cannot be in the future"
	case !p.FinishedAt.IsZero() && day.Before(p.FinishedAt.UTC().Truncate(24*time.Hour)):
		bad["returned_on"] = "The payout succeeded on " + p.FinishedAt.UTC().Format(time.DateOnly) + ": it cannot have been returned before"
	}
	return reason, bad
}

// RecordReturn records that the receiving bank sent payout payoutID back on
// the date on (YYYY-MM-DD) for reason: the provider announces no return (no
// webhook, and its status stays succeeded), so a person records it from the
// provider's statement. The payout stays succeeded, as the provider's does;
// the return is a fact recorded on it, shown in the history and totals as
// returned. The audit entry and the maker's notification commit with it.
// Who records it is read in the transaction (CheckReturn on their roles as
// the database has them), and they must bring a proof of their second
// factor (ErrStepUp otherwise).
// Refusals are *fail.Error (CheckReturn) or a *fail.FieldError
// (return_reason, returned_on).
func (s *Service) RecordReturn(ctx context.Context, a Actor, payoutID int64, reason, on string) (*store.Payout, error) {
	reason, on = strings.TrimSpace(reason), strings.TrimSpace(on)
	var p *store.Payout
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = load(ctx, tx, payoutID); err != nil {
			return err
		}
		me, err := decider(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := CheckReturn(me, p); err != nil {
			return err
		}
		// Declaring that money came back is a decision: the person who
		// records it proves their second factor, as for an approval.
		if !a.StepUp.Covers(a.UserID) {
			return ErrStepUp
		}
		var bad map[string]string
		if reason, bad = checkReturnFields(p, reason, on, tx.Now()); len(bad) > 0 {
			return fail.Fields(bad)
		}
		if err := tx.RecordReturn(ctx, p, a.UserID, on, reason); errors.Is(err, store.ErrConflict) {
			return ErrAlreadyReturned
		} else if err != nil {
			return err
		}
		if err := s.notify.Enqueue(ctx, tx, returnNews(p)); err != nil {
			return err
		}
		return tx.Audit(ctx, a.audit("payout.return", p.ID, "ok", fmt.Sprintf("returned by the receiving bank on %s: %s", on, reason)))
	})
	if err != nil {
		if k := fail.KindOf(err); k == fail.Forbidden || k == fail.Conflict {
			s.denied(ctx, a, "payout.return", payoutID, err)
		}
		return nil, err
	}
	return p, nil
}

// returnNews tells a payout's maker that the bank sent it back.
func returnNews(p *store.Payout) notify.Message {
	return notify.Message{
		Kind: notify.KindPayoutReturned, To: p.MakerID, Path: fmt.Sprintf("/payouts/%d", p.ID),
		Subject: fmt.Sprintf("Payout #%d was returned by the receiving bank", p.ID),
		Text: fmt.Sprintf("Payout #%d of %s to %s (%s) succeeded, but the receiving bank sent it back on %s%s",
			p.ID, money(p.Amount, p.Currency), p.FullName, Destination(p), p.ReturnedOn, because(p.ReturnReason)),
	}
}
