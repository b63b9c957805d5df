package payout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"countersign/card"
	"countersign/smartglocal"
	"countersign/store"
)

// Why a payout whose start never reached the provider is rejected.
const (
	codeCardNotReceived   = "card_not_received"
	reasonCardNotReceived = "The card or account details never reached the provider. Prepare the payout again."
	reasonDeadlinePassed  = "Nobody approved it before the provider's deadline."
)

// intentGrace is how old an intent must be before the reconciler treats it
// as abandoned: no call of ours runs longer than CallTimeout.
func (s *Service) intentGrace() time.Duration { return s.callTimeout + 5*time.Second }

// RunReconciler runs ReconcileOnce at once (crash recovery) and then every
// interval until ctx is done.
func (s *Service) RunReconciler(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		err := s.ReconcileOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("reconcile", "err", err)
		}
		if s.observer != nil && ctx.Err() == nil {
			s.observer.ReconcilePass(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ReconcileOnce finds out the truth about payouts whose last news is missing
// and applies it, acting as "system" in the audit log:
//
//  1. Intents never followed by an outcome (the process stopped mid-call)
//     are closed as unknown, and the payout becomes unknown if it was still
//     waiting on that call.
//  2. Payouts in unknown; in submitting, awaiting_provider, confirming,
//     confirmed or cancelling with no news for StuckAfter; and in
//     pending_approval past their deadline are read with session/status.
//     A payout with no session id (the create reply was lost) first replays
//     session/create with the same idempotency key and body, which the
//     provider answers with the same session.
//
// What status proves is applied when CanMove allows, with these decisions:
//   - session still created, no payout: the start never reached the provider
//     and the card number is gone, so the empty session is cancelled and the
//     payout rejected ("Prepare the payout again").
//   - still pending after a lost confirm: back to pending_approval at a new
//     version, so approvers approve again (one session pays at most once).
//   - still pending after a lost or refused cancel: the cancel is re-issued.
//   - still pending past our deadline: expired (we will never confirm it).
//
// Payouts with a call under way are skipped: a write in any instance (its
// intent is committed and younger than a call can last), or a read of
// session/status in this one. It returns the errors met, joined; a provider
// that does not answer is not one of them.
//
// Several instances may run it at once (two leaders by mistake): every
// change it makes is conditional on the payout's version or the call's
// outcome, and provider writes it repeats carry the same idempotency key.
func (s *Service) ReconcileOnce(ctx context.Context) error {
	s.reconcileMu.Lock()
	defer s.reconcileMu.Unlock()
	var errs []error
	now := s.db.Now()

	open, err := s.db.OpenProviderCalls(ctx, now.Add(-s.intentGrace()))
	if err != nil {
		return err
	}
	for _, c := range open {
		if !s.isInflight(c.PayoutID) {
			errs = append(errs, s.closeAbandoned(ctx, c))
		}
	}
	busy, err := s.db.PayoutsWithCallsUnderWay(ctx, now.Add(-s.intentGrace()))
	if err != nil {
		return errors.Join(append(errs, err)...)
	}

	ps, err := s.db.PayoutsInStates(ctx, string(StateUnknown), string(StateSubmitting), string(StateAwaitingProvider),
		string(StateConfirming), string(StateConfirmed), string(StateCancelling), string(StatePendingApproval))
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	stuck := now.Add(-s.stuckAfter)
	for _, p := range ps {
		due := false
		switch State(p.State) {
		case StateUnknown:
			due = true
		case StatePendingApproval:
			due = !p.DeadlineAt.IsZero() && now.After(p.DeadlineAt)
		default:
			due = p.UpdatedAt.Before(stuck)
		}
		if !due || busy[p.ID] || s.isInflight(p.ID) || ctx.Err() != nil {
			continue
		}
		if waits, err := s.waitsForPerson(ctx, p.ID); err != nil || waits {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := s.resolve(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("payout %d: %w", p.ID, err))
		}
	}
	return errors.Join(errs...)
}

// closeAbandoned closes an intent whose outcome was never recorded.
func (s *Service) closeAbandoned(ctx context.Context, c store.ProviderCall) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.ProviderCallByID(ctx, c.ID)
		if err != nil || cur.Outcome != store.CallIntent {
			return err
		}
		p, err := load(ctx, tx, c.PayoutID)
		if err != nil {
			return err
		}
		if from := State(p.State); from == fromState(c.Action) {
			p.State = string(StateUnknown)
			if err := tx.SavePayout(ctx, p); err != nil {
				return err
			}
			if err := s.announce(ctx, tx, p, from); err != nil {
				return err
			}
		}
		return finishCall(ctx, tx, systemActor, &c, store.CallUnknown, "", "the outcome was never recorded (the process stopped)",
			"outcome never recorded; payout "+p.State)
	})
}

// resolve reads the provider's view of p and applies it.
func (s *Service) resolve(ctx context.Context, p *store.Payout) error {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	done := s.markInflight(p.ID)
	defer done()
	if p.ProviderSessionID == "" {
		sid, err := s.replayCreate(ctx, p)
		if err != nil || sid == "" {
			return err
		}
		if p, err = s.reload(ctx, p.ID); err != nil {
			return err
		}
	}
	cctx, cancel := s.callCtx(ctx)
	sess, err := s.sg.Status(cctx, p.ProviderSessionID)
	cancel()
	var refused *smartglocal.Error
	if errors.As(err, &refused) {
		return s.statusRefused(ctx, p, refused)
	}
	if err != nil {
		s.log.Warn("reconcile: session/status failed", "payout", p.ID, "err", card.MaskText(err.Error()))
		return nil // the next pass asks again
	}
	v := viewOf(sess)
	cur := State(p.State)
	if err := s.db.InTx(ctx, func(tx *store.Tx) error { return tx.ResetStatusRefusals(ctx, p.ID) }); err != nil {
		return err
	}
	if v.provesSuccess() && cur != StateSucceeded {
		// The provider's final word wins, as for the payment_finished webhook.
		return s.db.InTx(ctx, func(tx *store.Tx) error {
			q, err := load(ctx, tx, p.ID)
			if err != nil || q.Version != p.Version {
				return err // changed meanwhile: the next pass looks again
			}
			flag, err := s.recordSuccess(ctx, tx, q, v)
			if err != nil {
				return err
			}
			if err := tx.Audit(ctx, systemActor.audit("payout.reconcile", q.ID, "ok", fmt.Sprintf("%s; %s → %s", v, cur, StateSucceeded))); err != nil {
				return err
			}
			if flag != nil {
				_, err = raise(ctx, tx, flag.kind, q.ID, flag.why)
			}
			return err
		})
	}
	if v.payoutStatus == "" && (cur == StateUnknown || cur == StateSubmitting) {
		switch v.sessionStatus {
		case smartglocal.SessionCreated:
			return s.cancelEmpty(ctx, p)
		case smartglocal.SessionCancelled:
			return s.rejectUnstarted(ctx, p, v)
		}
	}
	to := v.truth(p)
	switch {
	case to == StatePendingApproval && (cur == StateCancelling || (cur == StateUnknown && p.CancelReason != "")):
		return s.reissueCancel(ctx, p, v)
	case to == StatePendingApproval && cur == StatePendingApproval && !p.DeadlineAt.IsZero() && s.db.Now().After(p.DeadlineAt):
		to, v.errorCode, v.errorDesc = StateExpired, smartglocal.CodeConfirmTimeout, reasonDeadlinePassed
	}
	if to == cur || to == StateUnknown || !CanMove(cur, to) {
		return nil
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q, err := load(ctx, tx, p.ID)
		if err != nil || q.Version != p.Version {
			return err // changed meanwhile: the next pass looks again
		}
		s.moveTo(q, to, v, tx.Now())
		if err := tx.SavePayout(ctx, q); err != nil {
			return err
		}
		if err := s.announce(ctx, tx, q, cur); err != nil {
			return err
		}
		return tx.Audit(ctx, systemActor.audit("payout.reconcile", q.ID, "ok", fmt.Sprintf("%s; %s → %s", v, cur, to)))
	})
}

// statusRefused counts a refused session/status for p (the provider answered,
// and said no: say, the session is not found). Asking again on every pass
// would go on forever; after maxStatusRefusals in a row the payout is handed
// to a person (an attention item on the dashboard) and left alone until
// someone acknowledges it.
func (s *Service) statusRefused(ctx context.Context, p *store.Payout, refused *smartglocal.Error) error {
	s.log.Warn("reconcile: session/status refused", "payout", p.ID, "code", refused.Code)
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.CountStatusRefusal(ctx, p.ID)
		if err != nil || n < maxStatusRefusals {
			return err
		}
		why := fmt.Sprintf("session/status for payout #%d (%s) was refused %d times in a row (%s: %s); it is %s here and nobody is asking the provider any more",
			p.ID, p.ProviderSessionID, n, refused.Code, clip(card.MaskText(refused.Description), 200), p.State)
		fresh, err := raise(ctx, tx, AttentionStatusRefused, p.ID, why)
		if fresh {
			s.log.Error("reconcile: payout needs a person", "payout", p.ID, "why", why)
		}
		return err
	})
}

// replayCreate repeats the payout's session/create with the key and body of
// the first attempt, to learn the session id whose reply was lost.
func (s *Service) replayCreate(ctx context.Context, p *store.Payout) (string, error) {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	var call *store.ProviderCall
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		calls, err := tx.ProviderCalls(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, c := range calls {
			if c.Action == actionCreate {
				call, err = startCall(ctx, tx, systemActor, p, actionCreate, c.IdempotencyKey)
				return err
			}
		}
		return nil
	})
	if err != nil || call == nil {
		if err == nil {
			s.log.Error("reconcile: payout has no session and no session/create call", "payout", p.ID)
		}
		return "", err
	}
	return s.createSession(ctx, systemActor, p, call)
}

// cancelEmpty cancels a session whose payout never started, then rejects the
// payout. Cancelling first makes sure a start still on its way cannot land later.
func (s *Service) cancelEmpty(ctx context.Context, p *store.Payout) error {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	var call *store.ProviderCall
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		call, err = startCall(ctx, tx, systemActor, p, actionCancel, s.idempotencyKey(p.ID, actionCancel, p.Version))
		return err
	})
	if err != nil {
		return err
	}
	if s.crashed("before", call.Action) {
		return errCrashed
	}
	cctx, cancel := s.callCtx(ctx)
	reply, callErr := s.sg.Cancel(cctx, p.ProviderSessionID, call.IdempotencyKey)
	cancel()
	if s.crashed("after", call.Action) {
		return errCrashed
	}
	result, code, desc := outcome(callErr)
	v := viewOf(reply)
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q, err := load(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if result == store.CallOK && v.sessionStatus == smartglocal.SessionCancelled && q.Version == p.Version && CanMove(State(q.State), StateRejected) {
			if err := rejectUnstartedTx(ctx, tx, s, q, v); err != nil {
				return err
			}
		}
		return finishCall(ctx, tx, systemActor, call, result, code, desc, "empty session; payout "+q.State)
	})
}

// rejectUnstarted rejects a payout whose session was cancelled before its start.
func (s *Service) rejectUnstarted(ctx context.Context, p *store.Payout, v providerView) error {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q, err := load(ctx, tx, p.ID)
		if err != nil || q.Version != p.Version || !CanMove(State(q.State), StateRejected) {
			return err
		}
		return rejectUnstartedTx(ctx, tx, s, q, v)
	})
}

func rejectUnstartedTx(ctx context.Context, tx *store.Tx, s *Service, p *store.Payout, v providerView) error {
	from := p.State
	s.moveTo(p, StateRejected, providerView{errorCode: codeCardNotReceived, errorDesc: reasonCardNotReceived}, tx.Now())
	if err := tx.SavePayout(ctx, p); err != nil {
		return err
	}
	if err := s.announce(ctx, tx, p, State(from)); err != nil {
		return err
	}
	return tx.Audit(ctx, systemActor.audit("payout.reconcile", p.ID, "ok",
		fmt.Sprintf("%s; the start never reached the provider; %s → rejected", v, from)))
}

// reissueCancel sends session/cancel again for a payout someone decided to
// cancel whose cancel never landed (the provider still waits for a decision).
func (s *Service) reissueCancel(ctx context.Context, p *store.Payout, v providerView) error {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	var call *store.ProviderCall
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q, err := load(ctx, tx, p.ID)
		if err != nil || q.Version != p.Version {
			return err
		}
		// A cancel that never lands is not sent forever: past a few, a person
		// looks (the provider cancels the payout itself at its deadline, and
		// until then nobody may approve it: it stays where it is).
		n, err := tx.CountCancelReissue(ctx, q.ID)
		if err != nil {
			return err
		}
		if n > maxCancelReissues {
			why := fmt.Sprintf("session/cancel for payout #%d (%s) was sent %d times and the provider still waits for a decision (%s); it is %s here and nobody is sending it any more",
				q.ID, money(q.Amount, q.Currency), n, v, q.State)
			fresh, err := raise(ctx, tx, AttentionCancelRefused, q.ID, why)
			if fresh {
				s.log.Error("reconcile: payout needs a person", "payout", q.ID, "why", why)
			}
			return err
		}
		decided := q.Version
		from := q.State
		q.State = string(StateCancelling)
		if err := tx.SavePayout(ctx, q); err != nil {
			return err
		}
		if err := tx.Audit(ctx, systemActor.audit("payout.reconcile", q.ID, "ok",
			fmt.Sprintf("%s; the cancel never landed, sending it again; %s → cancelling", v, from))); err != nil {
			return err
		}
		call, err = startCall(ctx, tx, systemActor, q, actionCancel, s.idempotencyKey(q.ID, actionCancel, decided))
		return err
	})
	if err != nil || call == nil {
		return err
	}
	return s.cancel(ctx, systemActor, p.ID, p.ProviderSessionID, call)
}
