package payout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"countersign/fail"
	"countersign/smartglocal"
	"countersign/store"
	"countersign/text"
)

// PolicySetting is the settings key of the approval thresholds, stored as
// "USD=1000000,EUR=500000" (minor units).
const PolicySetting = "policy.thresholds"

// Policy returns the approval policy from the store, for pages; the rules
// read it in the transaction that enforces it.
func (s *Service) Policy(ctx context.Context) (Policy, error) {
	return ReadPolicy(ctx, s.db)
}

// ReadPolicy reads the approval policy through r (the store, or the
// transaction that enforces it). A stored value that does not parse is an
// error rather than "no thresholds".
func ReadPolicy(ctx context.Context, r interface {
	Setting(ctx context.Context, key, def string) (string, error)
}) (Policy, error) {
	v, err := r.Setting(ctx, PolicySetting, "")
	if err != nil {
		return Policy{}, err
	}
	p, err := ParsePolicy(v)
	if err != nil {
		return Policy{}, fmt.Errorf("stored %s: %w", PolicySetting, err)
	}
	return p, nil
}

// SavePolicy writes the approval policy in tx. Who may, and whether a second
// admin must agree first, is the admin service's to say.
func SavePolicy(ctx context.Context, tx *store.Tx, p Policy) (string, error) {
	v, err := p.Format()
	if err != nil {
		return "", err
	}
	return v, tx.SetSetting(ctx, PolicySetting, v)
}

// ParsePolicy reads thresholds written as "USD=1000000,EUR=500000" (minor
// units; "" is no thresholds). Every *fail.Error it returns can be shown as it is.
func ParsePolicy(v string) (Policy, error) {
	p := Policy{Thresholds: map[string]int64{}}
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cur, amt, ok := strings.Cut(part, "=")
		c, okc := code(strings.TrimSpace(cur))
		_, known := Exponent(c)
		n, err := strconv.ParseInt(strings.TrimSpace(amt), 10, 64)
		if !ok || !okc || !known || err != nil || n < 0 {
			return Policy{}, fail.New(fail.Invalid, "policy_format", fmt.Sprintf("%q is not CURRENCY=amount in minor units", part))
		}
		p.Thresholds[c] = n
	}
	return p, nil
}

// Format writes the thresholds the way ParsePolicy reads them, sorted.
func (p Policy) Format() (string, error) {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p.Thresholds)) {
		c, ok := code(k)
		if _, known := Exponent(c); !ok || !known {
			return "", fail.New(fail.Invalid, "policy_currency", fmt.Sprintf("%q is not a currency", k))
		}
		if p.Thresholds[k] < 0 {
			return "", fail.New(fail.Invalid, "policy_amount", "A threshold cannot be below zero")
		}
		parts = append(parts, fmt.Sprintf("%s=%d", c, p.Thresholds[k]))
	}
	return strings.Join(parts, ","), nil
}

// approvalFacts gathers what CheckApproval needs: approvals count only for
// the payout's current version, and only while their approver is active and
// holds the approver role (read here, in the transaction that decides).
func approvalFacts(ctx context.Context, tx *store.Tx, p *store.Payout) (Facts, error) {
	all, err := tx.Approvals(ctx, p.ID)
	if err != nil {
		return Facts{}, err
	}
	f := Facts{State: State(p.State), MakerID: p.MakerID, EditorIDs: []int64{p.MakerID}}
	for _, ap := range all {
		if ap.Version == p.Version && Counts(ap) {
			f.ApproverIDs = append(f.ApproverIDs, ap.UserID)
		}
	}
	return f, nil
}

// Counts reports whether an approval still counts: its approver is active
// and holds the approver role. An approval lapses with its approver.
func Counts(ap store.Approval) bool {
	return ap.UserActive && slices.Contains(ap.UserRoles, string(RoleApprover))
}

// rolesOf converts stored role names.
func rolesOf(u *store.User) []Role {
	roles := make([]Role, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = Role(r)
	}
	return roles
}

// decider reloads the person deciding in tx: their roles and whether they
// are active are what the database says now, not what their session says.
func decider(ctx context.Context, tx *store.Tx, a Actor) (Actor, error) {
	u, err := tx.UserByID(ctx, a.UserID)
	if errors.Is(err, store.ErrNotFound) {
		a.Roles = nil
		return a, nil
	}
	if err != nil {
		return a, err
	}
	a.Roles = rolesOf(u)
	if !u.Active {
		a.Roles = nil
	}
	return a, nil
}

// ErrStepUp refuses a decision without a proof of the decider's second
// factor (a stepup.Proof, which also says when none is needed). It is checked
// after who may decide, so that someone who may not hears that first.
var ErrStepUp = fail.New(fail.Forbidden, "second_factor_required", "Enter the code from your authenticator app to decide.")

// Approve records a's approval of the payout at version (the version a saw).
// When that meets the policy, the same transaction claims the payout
// (pending_approval → confirming, conditional on the version) and records
// the intent to confirm; only that caller then calls session/confirm. An
// approver who already approved may press again: when the approvals given
// now meet the policy (a payout to the same destination was cancelled, a
// lapsed approval counts again, a threshold was raised), that releases the
// payout; otherwise it is refused as already approved. It returns the payout
// as it stands afterwards; refusals are *fail.Error.
func (s *Service) Approve(ctx context.Context, a Actor, payoutID, version int64) (*store.Payout, error) {
	var claim *confirmClaim
	defer func() { claim.end() }() // the claim made in the transaction, if any
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := load(ctx, tx, payoutID)
		if err != nil {
			return err
		}
		f, err := approvalFacts(ctx, tx, p)
		if err != nil {
			return err
		}
		me, err := decider(ctx, tx, a)
		if err != nil {
			return err
		}
		again := false // pressed again by someone whose approval already counts
		if err := CheckApproval(Approver{UserID: me.UserID, Roles: me.Roles}, f); errors.Is(err, ErrAlreadyApproved) && f.State == StatePendingApproval {
			again = true
		} else if err != nil {
			return err
		}
		if p.Version != version {
			return ErrVersionChanged
		}
		if !a.StepUp.Covers(a.UserID) {
			return ErrStepUp
		}
		// Checked in the transaction that records the approval (and perhaps
		// claims the payout), so two approvals that each fit but together
		// overdraw cannot both pass.
		if err := CheckOverdrawTx(ctx, tx, p); err != nil {
			return err
		}
		approvers := f.ApproverIDs
		if !again {
			if err := tx.AddApproval(ctx, store.Approval{PayoutID: p.ID, UserID: a.UserID, Version: p.Version}); errors.Is(err, store.ErrConflict) {
				return ErrAlreadyApproved
			} else if err != nil {
				return err
			}
			approvers = append(approvers, a.UserID)
		}
		// The policy and the payouts to the same card are read here, in the
		// transaction that claims the payout: a change committed a moment
		// ago counts, and none can slip in between.
		need, err := requirement(ctx, tx, p, tx.Now())
		if err != nil {
			return err
		}
		met := enough(need.Count, approvers, p.MakerID, f.EditorIDs)
		if again && !met {
			return ErrAlreadyApproved
		}
		detail := fmt.Sprintf("approval %d of %d for version %d (%s)", min(len(approvers), need.Count), need.Count, p.Version, need.Reason)
		if again {
			detail = fmt.Sprintf("pressed again: the %d approval(s) given for version %d now meet the policy (%s)", len(approvers), p.Version, need.Reason)
		}
		if met {
			detail += "; policy met, confirming"
		}
		if err := tx.Audit(ctx, a.audit("payout.approve", p.ID, "ok", detail)); err != nil {
			return err
		}
		if !met {
			return nil
		}
		claim, err = s.claimConfirm(ctx, tx, a, p)
		if errors.Is(err, store.ErrConflict) {
			return ErrVersionChanged
		}
		return err
	})
	if err != nil {
		if fail.KindOf(err) != fail.Internal {
			s.denied(ctx, a, "payout.approve", payoutID, err)
		}
		return nil, err
	}
	if claim != nil {
		if err := s.confirm(ctx, a, payoutID, claim.sessionID, claim.call); err != nil {
			return nil, err
		}
	}
	return s.reload(ctx, payoutID)
}

// confirmClaim is a payout claimed for session/confirm by a transaction:
// once that commits, its claimant calls confirm. end, deferred by the
// claimant, clears the payout's mark in flight whatever happened.
type confirmClaim struct {
	sessionID string
	call      *store.ProviderCall
	done      func()
}

func (c *confirmClaim) end() {
	if c != nil {
		c.done()
	}
}

// claimConfirm moves p, whose approvals meet the policy, to confirming in tx
// and records the intent to confirm the approved version. Of callers racing
// for p, one saves its version and the others get store.ErrConflict.
func (s *Service) claimConfirm(ctx context.Context, tx *store.Tx, a Actor, p *store.Payout) (*confirmClaim, error) {
	approved := p.Version
	p.State, p.ConfirmAttempted = string(StateConfirming), true
	if err := tx.SavePayout(ctx, p); err != nil {
		return nil, err
	}
	call, err := startCall(ctx, tx, a, p, actionConfirm, s.idempotencyKey(p.ID, actionConfirm, approved))
	if err != nil {
		return nil, err
	}
	return &confirmClaim{sessionID: p.ProviderSessionID, call: call, done: s.markInflight(p.ID)}, nil
}

// confirm calls session/confirm for a claimed payout and records the outcome.
func (s *Service) confirm(ctx context.Context, a Actor, payoutID int64, sessionID string, call *store.ProviderCall) error {
	if s.crashed("before", call.Action) {
		return errCrashed
	}
	cctx, cancel := s.callCtx(ctx)
	_, callErr := s.sg.Confirm(cctx, sessionID, call.IdempotencyKey)
	cancel()
	if s.crashed("after", call.Action) {
		return errCrashed
	}
	return s.recordDecision(ctx, a, payoutID, sessionID, call, nil, callErr, StateConfirmed)
}

// recordDecision records the outcome of session/confirm or session/cancel.
// ok moves the payout to onOK when it may (a payment_finished webhook may
// already have moved it further), or, with a reply session that proves more
// (a cancel that already finished), to that. A refusal means the provider's
// view differs from ours: session/status tells what is true. An unknown
// outcome leaves the payout unknown for the reconciler.
func (s *Service) recordDecision(ctx context.Context, a Actor, payoutID int64, sessionID string, call *store.ProviderCall, reply *smartglocal.Session, callErr error, onOK State) error {
	ctx = context.WithoutCancel(ctx) // what the provider did must be recorded even if the caller gives up
	result, code, desc := outcome(callErr)
	s.log.Info("provider call", "payout", payoutID, "action", call.Action, "outcome", result, "code", code)
	var status *smartglocal.Session
	var statusErr error
	var ended bool // the payout ended unpaid: what waits beside it may now need fewer approvals
	if result == store.CallRefused {
		cctx, cancel := s.callCtx(ctx)
		status, statusErr = s.sg.Status(cctx, sessionID)
		cancel()
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := load(ctx, tx, payoutID)
		if err != nil {
			return err
		}
		cur := State(p.State)
		var v providerView
		to := StateUnknown
		switch result {
		case store.CallOK:
			to = onOK
			if reply != nil {
				if v = viewOf(reply); v.truth(p).Final() {
					to = v.truth(p)
				}
			}
		case store.CallRefused:
			if statusErr == nil {
				v = viewOf(status)
				to = v.truth(p)
			}
		}
		switch {
		case to == cur:
		case to == StateUnknown:
			if cur == fromState(call.Action) {
				p.State = string(StateUnknown)
				if err := tx.SavePayout(ctx, p); err != nil {
					return err
				}
			}
		case CanMove(cur, to):
			s.moveTo(p, to, v, tx.Now())
			if err := tx.SavePayout(ctx, p); err != nil {
				return err
			}
		case cur == fromState(call.Action):
			// The provider's truth is no legal move from our claim (say, still
			// pending after a refused confirm): the reconciler sorts it out.
			p.State = string(StateUnknown)
			if err := tx.SavePayout(ctx, p); err != nil {
				return err
			}
		}
		if err := s.announce(ctx, tx, p, cur); err != nil {
			return err
		}
		ended = State(p.State) != cur && endedUnpaid(State(p.State))
		detail := "payout " + p.State
		if v.sessionStatus != "" {
			detail = v.String() + "; " + detail
		}
		if statusErr != nil {
			detail += "; session/status failed"
		}
		return finishCall(ctx, tx, a, call, result, code, desc, detail)
	})
	if err != nil {
		return fmt.Errorf("record %s outcome for payout %d: %w", call.Action, payoutID, err)
	}
	if ended {
		s.releaseAfterEnd(ctx, payoutID)
	}
	return nil
}

// endedUnpaid reports whether a payout in state paid nothing and never will,
// so it no longer counts towards the threshold of its destination.
func endedUnpaid(state State) bool { return slices.Contains(endedStates(), string(state)) }

// releaseAfterEnd releases what payoutID's end lets go: it ended unpaid, so
// the approved payouts waiting to the same destination may now need fewer
// approvals than they have. Only those are weighed, not the whole queue (a
// burst of failed payouts would otherwise weigh the queue once each). A
// failure is logged, not returned: what ended is recorded, and the
// reconciler's next pass (ReleaseMet, the whole queue) tries again.
func (s *Service) releaseAfterEnd(ctx context.Context, payoutID int64) {
	ctx = context.WithoutCancel(ctx)
	err := func() error {
		ended, err := s.db.PayoutByID(ctx, payoutID)
		if err != nil {
			return err
		}
		q := sameDestination(ended, s.db.Now())
		q.Ended = nil
		ids, err := s.db.SameDestinationIDs(ctx, q, string(StatePendingApproval))
		if err != nil {
			return err
		}
		return s.releaseApproved(ctx, ids)
	}()
	if err != nil {
		s.log.Error("release payouts whose approvals now meet the policy", "after", payoutID, "err", err)
	}
}

// Cancel asks the provider to cancel a payout that waits for approval. The
// reason is required and kept. The payout is claimed (pending_approval →
// cancelling, conditional on version) before the call, so a cancel and an
// approval can never both win.
func (s *Service) Cancel(ctx context.Context, a Actor, payoutID, version int64, typed string) (*store.Payout, error) {
	reason, _ := text.CheckReason(typed) // CheckCancel refuses what is wrong with it
	var call *store.ProviderCall
	var sessionID string
	var done func()
	defer func() {
		if done != nil {
			done()
		}
	}()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := load(ctx, tx, payoutID)
		if err != nil {
			return err
		}
		f, err := approvalFacts(ctx, tx, p)
		if err != nil {
			return err
		}
		me, err := decider(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := CheckCancel(me.UserID, me.Roles, f, typed); err != nil {
			return err
		}
		if p.Version != version {
			return ErrVersionChanged
		}
		if !a.StepUp.Covers(a.UserID) {
			return ErrStepUp
		}
		decided := p.Version
		p.State, p.CancelReason = string(StateCancelling), reason
		if err := tx.SavePayout(ctx, p); errors.Is(err, store.ErrConflict) {
			return ErrVersionChanged
		} else if err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.audit("payout.cancel", p.ID, "ok", "reason: "+reason)); err != nil {
			return err
		}
		done = s.markInflight(p.ID)
		sessionID = p.ProviderSessionID
		call, err = startCall(ctx, tx, a, p, actionCancel, s.idempotencyKey(p.ID, actionCancel, decided))
		return err
	})
	if err != nil {
		if fail.KindOf(err) != fail.Internal {
			s.denied(ctx, a, "payout.cancel", payoutID, err)
		}
		return nil, err
	}
	if err := s.cancel(ctx, a, payoutID, sessionID, call); err != nil {
		return nil, err
	}
	return s.reload(ctx, payoutID)
}

// cancel calls session/cancel for a payout claimed as cancelling.
func (s *Service) cancel(ctx context.Context, a Actor, payoutID int64, sessionID string, call *store.ProviderCall) error {
	if s.crashed("before", call.Action) {
		return errCrashed
	}
	cctx, cancel := s.callCtx(ctx)
	reply, callErr := s.sg.Cancel(cctx, sessionID, call.IdempotencyKey)
	cancel()
	if s.crashed("after", call.Action) {
		return errCrashed
	}
	// ok keeps the payout cancelling until the reply or payment_finished proves cancelled.
	return s.recordDecision(ctx, a, payoutID, sessionID, call, reply, callErr, StateCancelling)
}

// ReleaseMet confirms the payouts waiting for approval whose approvals,
// already given, now meet the policy: the requirement changed under them (a
// payout to the same destination was cancelled, failed or expired, or a
// threshold was raised) or a lapsed approval counts again. Without it such
// a payout would wait for an approver the policy no longer asks for, or
// expire. Each is claimed as Approve claims, by a conditional update in the
// transaction that reads its approvals and the policy, so a payout is
// confirmed once whoever gets there first; the audit log says "system"
// released it. Payouts with a call under way are left to their caller.
func (s *Service) ReleaseMet(ctx context.Context) error {
	ps, err := s.db.PayoutsInStates(ctx, string(StatePendingApproval))
	if err != nil {
		return err
	}
	// Only a payout somebody approved can be released: one read finds them,
	// so a queue of thousands does not cost a write transaction each, on
	// every reconciler pass and after every payout that ends unpaid.
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return s.releaseApproved(ctx, ids)
}

// releaseApproved releases those of the payouts ids that somebody approved
// and whose approvals now meet the policy.
func (s *Service) releaseApproved(ctx context.Context, ids []int64) error {
	approvals, err := s.db.ApprovalsOf(ctx, ids)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if len(approvals[id]) == 0 || s.isInflight(id) || ctx.Err() != nil {
			continue
		}
		if err := s.release(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("payout %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// release confirms one payout if its approvals now meet the policy.
func (s *Service) release(ctx context.Context, payoutID int64) error {
	var claim *confirmClaim
	defer func() { claim.end() }() // the claim made in the transaction, if any
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := load(ctx, tx, payoutID)
		if err != nil || State(p.State) != StatePendingApproval {
			return err
		}
		f, err := approvalFacts(ctx, tx, p)
		if err != nil || len(f.ApproverIDs) == 0 {
			return err
		}
		need, err := requirement(ctx, tx, p, tx.Now())
		if err != nil || !enough(need.Count, f.ApproverIDs, p.MakerID, f.EditorIDs) {
			return err
		}
		// Too little money is for a person to sort out, not a reason to fail.
		if err := CheckOverdrawTx(ctx, tx, p); err != nil {
			if fail.KindOf(err) != fail.Internal {
				return nil
			}
			return err
		}
		detail := fmt.Sprintf("the %d approval(s) given for version %d now meet the policy (%s); confirming", len(f.ApproverIDs), p.Version, need.Reason)
		claim, err = s.claimConfirm(ctx, tx, systemActor, p)
		if errors.Is(err, store.ErrConflict) {
			return nil // someone else moved it first
		} else if err != nil {
			return err
		}
		return tx.Audit(ctx, systemActor.audit("payout.release", p.ID, "ok", detail))
	})
	if err != nil || claim == nil {
		return err
	}
	return s.confirm(ctx, systemActor, payoutID, claim.sessionID, claim.call)
}
