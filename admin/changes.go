package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"countersign/payout"
	"countersign/stepup"
	"countersign/store"
	"countersign/text"
)

// Kind is what a change does.
type Kind string

// The kinds of change that wait for a second admin.
const (
	KindCreateUser        Kind = "user.create"
	KindGrantRoles        Kind = "user.grant_roles"
	KindReactivate        Kind = "user.reactivate"
	KindResetPassword     Kind = "user.reset_password"
	KindResetSecondFactor Kind = "user.reset_second_factor"
	KindPolicy            Kind = "settings.policy"
	KindLowBalance        Kind = "settings.low_balance"
	KindSecondFactor      Kind = "settings.second_factor"
	KindSender            Kind = "settings.sender"
)

// payload is a change's JSON: the fields its kind uses.
type payload struct {
	Email string   `json:"email,omitempty"`
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles,omitempty"`
	// Settings: what the change replaces and what it sets, as stored. A
	// change whose From no longer matches is stale and is not applied.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// The second-factor policy, which is two settings.
	FromFactor *factorPolicy `json:"from_factor,omitempty"`
	ToFactor   *factorPolicy `json:"to_factor,omitempty"`
}

type factorPolicy struct {
	Roles         []string `json:"roles"`
	WindowSeconds int      `json:"window_seconds"`
}

// propose records a pending change in tx, with its audit entry and the
// notification that tells the other admins it waits for them. Proposing
// grants power as much as approving does, so it too needs a fresh proof of
// the proposer's second factor: a stolen session alone proposes nothing.
func (s *Service) propose(ctx context.Context, tx *store.Tx, a Actor, kind Kind, target int64, p payload, summary string) (*store.AdminChange, error) {
	if !a.StepUp.Covers(a.UserID) {
		return nil, ErrStepUp
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	c := &store.AdminChange{Kind: string(kind), TargetUserID: target, Payload: string(body), Summary: summary, ProposedBy: a.UserID}
	if err := tx.CreateAdminChange(ctx, c); err != nil {
		return nil, err
	}
	if err := tx.Audit(ctx, entry(a, "change.propose", "change", c.ID, "ok", string(kind)+": "+summary)); err != nil {
		return nil, err
	}
	return c, s.notify.AdminChangeWaits(ctx, tx, a.UserID, a.Email, summary)
}

// Approved is what approving a change did. Link is the token of a sign-in
// link (for a new account or a password reset), shown once to the approving
// admin and never stored: "" for other changes. The link works only with
// the handover code its proposer takes (TakeHandover).
type Approved struct {
	Change *store.AdminChange
	Link   string
}

// Approve applies a pending change on behalf of a different admin than the
// one who proposed it, with their second factor. The change, its effect and
// the audit entry commit together; of two admins approving at once, one wins.
func (s *Service) Approve(ctx context.Context, a Actor, changeID int64) (Approved, error) {
	var out Approved
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.decidable(ctx, tx, a, changeID)
		if err != nil {
			return err
		}
		if c.ProposedBy == a.UserID {
			return ErrOwnChange
		}
		proposer, err := tx.UserByID(ctx, c.ProposedBy)
		if err != nil {
			return err
		}
		if !proposer.Active || !proposer.HasRole(string(payout.RoleAdmin)) {
			return ErrProposerGone
		}
		if !a.StepUp.Covers(a.UserID) {
			return ErrStepUp
		}
		if err := tx.DecideAdminChange(ctx, c.ID, store.ChangeApproved, a.UserID, ""); errors.Is(err, store.ErrConflict) {
			return ErrDecided
		} else if err != nil {
			return err
		}
		detail, link, err := s.apply(ctx, tx, c)
		if err != nil {
			return err
		}
		if link != "" {
			if err := s.notify.HandoverWaits(ctx, tx, c.ProposedBy, c.Summary); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, entry(a, "change.approve", "change", c.ID, "ok", c.Kind+": "+detail)); err != nil {
			return err
		}
		out = Approved{Change: c, Link: link}
		out.Change.State, out.Change.DecidedBy = store.ChangeApproved, a.UserID
		return nil
	})
	if err != nil {
		return Approved{}, s.denied(ctx, a, "change.approve", "change", changeID, err)
	}
	return out, nil
}

// Reject turns a pending change down, with a reason, on behalf of another
// admin than its proposer (who withdraws instead), with their second factor.
func (s *Service) Reject(ctx context.Context, a Actor, changeID int64, typed string) error {
	reason, problem := text.CheckReason(typed) // the one rule for reasons
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.decidable(ctx, tx, a, changeID)
		if err != nil {
			return err
		}
		switch {
		case c.ProposedBy == a.UserID:
			return ErrOwnChange
		case problem != "" && reason == "" && !text.HoldsCardNumber(problem):
			return ErrReasonRequired
		case problem != "":
			return ErrReasonInvalid.With(problem)
		case !a.StepUp.Covers(a.UserID):
			return ErrStepUp
		}
		if err := tx.DecideAdminChange(ctx, c.ID, store.ChangeRejected, a.UserID, reason); errors.Is(err, store.ErrConflict) {
			return ErrDecided
		} else if err != nil {
			return err
		}
		return tx.Audit(ctx, entry(a, "change.reject", "change", c.ID, "ok", c.Kind+": "+c.Summary+"; reason: "+reason))
	})
	return s.denied(ctx, a, "change.reject", "change", changeID, err)
}

// Withdraw takes back a pending change; only its proposer may.
func (s *Service) Withdraw(ctx context.Context, a Actor, changeID int64) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.decidable(ctx, tx, a, changeID)
		if err != nil {
			return err
		}
		if c.ProposedBy != a.UserID {
			return ErrNotProposer
		}
		if err := tx.DecideAdminChange(ctx, c.ID, store.ChangeWithdrawn, a.UserID, ""); errors.Is(err, store.ErrConflict) {
			return ErrDecided
		} else if err != nil {
			return err
		}
		return tx.Audit(ctx, entry(a, "change.withdraw", "change", c.ID, "ok", c.Kind+": "+c.Summary))
	})
	return s.denied(ctx, a, "change.withdraw", "change", changeID, err)
}

// decidable loads a pending change for an active admin to decide.
func (s *Service) decidable(ctx context.Context, tx *store.Tx, a Actor, changeID int64) (*store.AdminChange, error) {
	if _, err := admin(ctx, tx, a); err != nil {
		return nil, err
	}
	c, err := tx.AdminChangeByID(ctx, changeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrChangeNotFound
	}
	if err != nil {
		return nil, err
	}
	if c.State != store.ChangePending {
		return nil, ErrDecided
	}
	return c, nil
}

// apply makes an approved change take effect in tx. It returns words for the
// audit log and, for a new account or a password reset, a sign-in link's token.
func (s *Service) apply(ctx context.Context, tx *store.Tx, c *store.AdminChange) (detail, link string, err error) {
	var p payload
	if err := json.Unmarshal([]byte(c.Payload), &p); err != nil {
		return "", "", fmt.Errorf("change %d: %w", c.ID, err)
	}
	switch Kind(c.Kind) {
	case KindCreateUser:
		u := &store.User{Email: p.Email, Name: p.Name, Roles: p.Roles, Active: true}
		if err := tx.CreateUser(ctx, u); errors.Is(err, store.ErrEmailTaken) {
			return "", "", ErrEmailTaken
		} else if err != nil {
			return "", "", err
		}
		link, err := newLink(ctx, tx, u.ID, LinkNewAccount, c.ID)
		return fmt.Sprintf("created user %d %s; sign-in link issued", u.ID, c.Summary), link, err
	case KindGrantRoles, KindReactivate:
		u, err := target(ctx, tx, c)
		if err != nil {
			return "", "", err
		}
		roles, active := u.Roles, u.Active
		if Kind(c.Kind) == KindGrantRoles {
			for _, r := range p.Roles {
				if !slices.Contains(roles, r) {
					roles = append(roles, r)
				}
			}
		} else {
			active = true
		}
		return c.Summary, "", tx.UpdateUserAccess(ctx, u.ID, u.Name, roles, active)
	case KindResetPassword:
		u, err := target(ctx, tx, c)
		if err != nil {
			return "", "", err
		}
		// The old password stops working now: whoever knew it may be why.
		if err := tx.SetPassword(ctx, u.ID, ""); err != nil {
			return "", "", err
		}
		if _, err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
			return "", "", err
		}
		link, err := newLink(ctx, tx, u.ID, LinkPasswordReset, c.ID)
		return c.Summary + "; sessions ended; sign-in link issued", link, err
	case KindResetSecondFactor:
		u, err := target(ctx, tx, c)
		if err != nil {
			return "", "", err
		}
		if err := tx.ResetTOTP(ctx, u.ID); err != nil {
			return "", "", err
		}
		_, err = tx.DeleteUserSessions(ctx, u.ID)
		return c.Summary + "; sessions ended", "", err
	case KindPolicy:
		return c.Summary, "", replaceSetting(ctx, tx, payout.PolicySetting, p)
	case KindLowBalance:
		return c.Summary, "", replaceSetting(ctx, tx, payout.LowBalanceSetting, p)
	case KindSender:
		return c.Summary, "", replaceSetting(ctx, tx, payout.SenderSetting, p)
	case KindSecondFactor:
		cur, err := stepup.ReadPolicy(ctx, tx.Setting)
		if err != nil {
			return "", "", err
		}
		if p.FromFactor == nil || p.ToFactor == nil || !cur.Equal(p.FromFactor.policy()) {
			return "", "", ErrStale
		}
		return c.Summary, "", p.ToFactor.policy().Save(ctx, tx)
	}
	return "", "", fmt.Errorf("change %d: unknown kind %q", c.ID, c.Kind)
}

// target loads the user a change is about.
func target(ctx context.Context, tx *store.Tx, c *store.AdminChange) (*store.User, error) {
	u, err := tx.UserByID(ctx, c.TargetUserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUserNotFound
	}
	return u, err
}

// replaceSetting sets key to p.To if it still holds p.From.
func replaceSetting(ctx context.Context, tx *store.Tx, key string, p payload) error {
	cur, err := tx.Setting(ctx, key, "")
	if err != nil {
		return err
	}
	if cur != p.From {
		return ErrStale
	}
	return tx.SetSetting(ctx, key, p.To)
}
