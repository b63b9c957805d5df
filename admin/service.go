// Package admin is user and settings administration under dual control: a
// change that grants or moves power (an account, a role, a reactivation, a
// password or second-factor reset, a looser policy, new low-balance levels,
// the sender company of bank-account payouts)
// is proposed by one admin and takes effect only when a different admin
// approves it; a change that only takes power away applies at once. Every
// change commits in one transaction with its audit entry. Handlers parse,
// call and render; the rules live here.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"countersign/fail"
	"countersign/notify"
	"countersign/payout"
	"countersign/store"
)

// Service administers users and settings.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	notify *notify.Service // tells the other admins a change waits; nil tells nobody
}

// New returns a Service over db; n (which may be nil) tells the other
// admins when a change waits for them.
func New(db *store.DB, logger *slog.Logger, n *notify.Service) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, log: logger, notify: n}
}

// Actor is the admin doing something: who they are, from where, and the
// proof of their second factor (needed to decide a change).
type Actor = payout.Actor

// Refusals a person may read.
var (
	ErrNotAdmin         = fail.New(fail.Forbidden, "not_admin", "Only admins can change users and settings.")
	ErrOwnChange        = fail.New(fail.Forbidden, "own_change", "You proposed this change, so another admin must approve it.")
	ErrNotProposer      = fail.New(fail.Forbidden, "not_proposer", "Only the admin who proposed a change can withdraw it.")
	ErrProposerGone     = fail.New(fail.Conflict, "proposer_gone", "The admin who proposed this change is no longer an active admin: reject it.")
	ErrDecided          = fail.New(fail.Conflict, "change_decided", "This change was already approved, rejected or withdrawn.")
	ErrChangeNotFound   = fail.New(fail.NotFound, "change_not_found", "There is no such change.")
	ErrUserNotFound     = fail.New(fail.NotFound, "user_not_found", "There is no such user.")
	ErrStale            = fail.New(fail.Conflict, "change_stale", "What this change would replace has changed since it was proposed: reject it and propose it again.")
	ErrReasonRequired   = fail.New(fail.Invalid, "reason_required", "Say why you reject this change.")
	ErrReasonInvalid    = fail.New(fail.Invalid, "reason_invalid", "Keep the reason to one line of 500 characters or fewer.")
	ErrSelfLockout      = fail.New(fail.Invalid, "self_lockout", "You cannot remove your own admin role or deactivate yourself; ask another admin.")
	ErrNothingToPropose = fail.New(fail.Internal, "nothing_changed", "Nothing changed.")
	ErrEmailTaken       = store.ErrEmailTaken
)

// ErrStepUp refuses deciding a change without a proof of the second factor.
var ErrStepUp = payout.ErrStepUp

// admin reloads a as this transaction sees them and refuses anyone who is not
// an active admin: a session's idea of someone's roles counts for nothing.
func admin(ctx context.Context, tx *store.Tx, a Actor) (*store.User, error) {
	if a.UserID <= 0 {
		return nil, ErrNotAdmin
	}
	u, err := tx.UserByID(ctx, a.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!u.Active || !u.HasRole(string(payout.RoleAdmin)))) {
		return nil, ErrNotAdmin
	}
	return u, err
}

// entry is an audit entry for a's action on an object.
func entry(a Actor, action, objectType string, objectID int64, outcome, detail string) store.AuditEntry {
	id := ""
	if objectID != 0 {
		id = strconv.FormatInt(objectID, 10)
	}
	actor := a.Email
	if actor == "" {
		actor = "unknown"
	}
	return store.AuditEntry{ActorID: a.UserID, Actor: actor, Action: action, ObjectType: objectType, ObjectID: id, IP: a.IP, Outcome: outcome, Detail: detail}
}

// denied records a refused attempt in its own transaction (the attempt's was
// rolled back) and returns the refusal.
func (s *Service) denied(ctx context.Context, a Actor, action, objectType string, objectID int64, err error) error {
	var pe *fail.Error
	if !errors.As(err, &pe) {
		return err
	}
	if aerr := s.db.Audit(context.WithoutCancel(ctx), entry(a, action, objectType, objectID, "denied", pe.Code)); aerr != nil {
		s.log.Error("audit a refusal", "action", action, "err", aerr)
	}
	return err
}

// Result says what a request did: what applied at once, and which changes
// wait for a second admin.
type Result struct {
	Applied []string
	Pending []*store.AdminChange
}

// Waiting returns how many changes wait for a second admin.
func (s *Service) Waiting(ctx context.Context) (int, error) {
	return s.db.CountAdminChanges(ctx, store.ChangePending)
}

// Changes returns the changes waiting, oldest first, and the latest decided ones.
func (s *Service) Changes(ctx context.Context, decided int) (pending, recent []*store.AdminChange, err error) {
	all, err := s.db.AdminChanges(ctx, store.ChangePending, 0)
	if err != nil {
		return nil, nil, err
	}
	slices.Reverse(all)
	recentAll, err := s.db.AdminChanges(ctx, "", decided+len(all))
	if err != nil {
		return nil, nil, err
	}
	for _, c := range recentAll {
		if c.State != store.ChangePending && len(recent) < decided {
			recent = append(recent, c)
		}
	}
	return all, recent, nil
}

// LoneAdmin reports whether there is at most one active admin: then every
// change under dual control waits for an admin who does not exist yet, and
// the pages say how to add one on the server (countersign users add).
func (s *Service) LoneAdmin(ctx context.Context) (bool, error) {
	n, err := s.db.CountActiveAdmins(ctx)
	return n <= 1, err
}

// LinkValidity is how long a sign-in link works.
const LinkValidity = 24 * time.Hour

func userLabel(u *store.User) string { return fmt.Sprintf("%s <%s>", u.Name, u.Email) }
