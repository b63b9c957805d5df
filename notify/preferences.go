package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"countersign/fail"
	"countersign/store"
)

// Preference is whether a person gets one kind of notification.
type Preference struct {
	Kind  Kind
	Label string
	On    bool
}

// ErrKindNotForYou refuses a preference for a kind that does not apply to
// the person's roles (a form can offer only those; anything else is forged).
var ErrKindNotForYou = fail.New(fail.Invalid, "kind_not_for_you", "That kind of notification does not apply to your roles.")

// Preferences returns the kinds that apply to u's roles, each with whether u
// gets it: every one unless u opted out.
func (s *Service) Preferences(ctx context.Context, u *store.User) ([]Preference, error) {
	out, err := s.db.NotificationOptOuts(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var prefs []Preference
	for _, k := range KindsFor(u.Roles) {
		prefs = append(prefs, Preference{Kind: k, Label: k.Label(), On: !slices.Contains(out, string(k))})
	}
	return prefs, nil
}

// SetPreferences makes u get exactly the kinds in on, of those that apply to
// u's roles, and records the change in the audit log (ip: where u is).
// Kinds that apply to roles u does not hold keep their setting, so a role
// taken away and given back restores what u chose.
func (s *Service) SetPreferences(ctx context.Context, u *store.User, ip string, on []Kind) error {
	mine := KindsFor(u.Roles)
	for _, k := range on {
		if !slices.Contains(mine, k) {
			return ErrKindNotForYou
		}
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.NotificationOptOuts(ctx, u.ID)
		if err != nil {
			return err
		}
		var out, off []string
		for _, k := range old {
			if !slices.Contains(mine, Kind(k)) {
				out = append(out, k)
			}
		}
		for _, k := range mine {
			if !slices.Contains(on, k) {
				out = append(out, string(k))
				off = append(off, string(k))
			}
		}
		if err := tx.SetNotificationOptOuts(ctx, u.ID, out); err != nil {
			return err
		}
		detail := "gets every notification of their roles"
		if len(off) > 0 {
			detail = "opted out of " + strings.Join(off, ", ")
		}
		return tx.Audit(ctx, store.AuditEntry{
			ActorID: u.ID, Actor: u.Email, Action: "notify.preferences", ObjectType: "user",
			ObjectID: fmt.Sprint(u.ID), IP: ip, Outcome: "ok", Detail: detail,
		})
	})
}
