package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"countersign/fail"
	"countersign/payout"
	"countersign/store"
	"countersign/text"
)

// NewUser is an account to create: no password, which the person chooses
// through a sign-in link.
type NewUser struct {
	Email string
	Name  string
	Roles []string
}

// Access is what the edit form sets: name, roles and whether the account is active.
type Access struct {
	Name   string
	Roles  []string
	Active bool
}

// MaxNameLen is the longest display name, in characters.
const MaxNameLen = 100

// checkName, checkEmail and checkRoles add what is wrong to bad, by form
// field. checkName returns the name cleaned by the one rule for names
// (text.CheckName), which is what is stored.
func checkName(name string, bad map[string]string) string {
	name, problem := text.CheckName(name, MaxNameLen)
	switch {
	case problem != "":
		bad["name"] = problem
	case name == "":
		bad["name"] = "Enter the person's name"
	}
	return name
}

func checkEmail(email string, bad map[string]string) {
	if !text.IsEmail(email) {
		bad["email"] = "Enter an email address like name@example.com"
	}
}

func checkRoles(roles []string, bad map[string]string) {
	for _, r := range roles {
		if !slices.Contains(payout.AllRoles(), payout.Role(r)) {
			bad["role"] = "Pick roles from the list"
		}
	}
}

func normalRoles(roles []string) []string {
	r := slices.Clone(roles)
	slices.Sort(r)
	return slices.Compact(r)
}

func invalid(bad map[string]string) error {
	if len(bad) == 0 {
		return nil
	}
	return fail.Fields(bad)
}

// ProposeUser proposes a new account. It exists only once another admin
// approves; the approver is then given a one-time sign-in link for the
// person, who chooses their own password. Field problems are
// *payout.ValidationError (email, name, role).
func (s *Service) ProposeUser(ctx context.Context, a Actor, n NewUser) (*store.AdminChange, error) {
	n.Email, n.Roles = strings.TrimSpace(n.Email), normalRoles(n.Roles)
	bad := map[string]string{}
	checkEmail(n.Email, bad)
	n.Name = checkName(n.Name, bad)
	checkRoles(n.Roles, bad)
	if err := invalid(bad); err != nil {
		return nil, err
	}
	var c *store.AdminChange
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.UserByEmail(ctx, n.Email); err == nil {
			return fail.Field("email", ErrEmailTaken.Message)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		roles := "no role"
		if len(n.Roles) > 0 {
			roles = strings.Join(n.Roles, ", ")
		}
		var err error
		c, err = s.propose(ctx, tx, a, KindCreateUser, 0, payload{Email: n.Email, Name: n.Name, Roles: n.Roles},
			fmt.Sprintf("create %s <%s> as %s", n.Name, n.Email, roles))
		return err
	})
	if err != nil {
		return nil, s.denied(ctx, a, "change.propose", "user", 0, err)
	}
	return c, nil
}

// UpdateUser applies what only takes power away at once (a new name, roles
// removed, deactivation, which also ends the person's sessions) and proposes
// what grants it (roles added, reactivation) as changes for another admin.
// Nobody may remove their own admin role or deactivate themselves.
func (s *Service) UpdateUser(ctx context.Context, a Actor, userID int64, to Access) (Result, error) {
	to.Roles = normalRoles(to.Roles)
	bad := map[string]string{}
	to.Name = checkName(to.Name, bad)
	checkRoles(to.Roles, bad)
	if err := invalid(bad); err != nil {
		return Result{}, err
	}
	var res Result
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUserNotFound
		} else if err != nil {
			return err
		}
		if u.ID == a.UserID && (!to.Active || !slices.Contains(to.Roles, string(payout.RoleAdmin))) {
			return ErrSelfLockout
		}
		var added, removed []string
		for _, r := range to.Roles {
			if !u.HasRole(r) {
				added = append(added, r)
			}
		}
		var kept []string
		for _, r := range u.Roles {
			if slices.Contains(to.Roles, r) {
				kept = append(kept, r)
			} else {
				removed = append(removed, r)
			}
		}
		// What takes power away, now.
		var now []string
		if to.Name != u.Name {
			now = append(now, fmt.Sprintf("name %q → %q", u.Name, to.Name))
		}
		if len(removed) > 0 {
			now = append(now, "roles removed: "+strings.Join(removed, ", "))
		}
		deactivate := u.Active && !to.Active
		if deactivate {
			now = append(now, "deactivated")
		}
		if len(now) > 0 {
			if err := tx.UpdateUserAccess(ctx, u.ID, to.Name, kept, u.Active && to.Active); err != nil {
				return err
			}
			if deactivate {
				n, err := tx.DeleteUserSessions(ctx, u.ID)
				if err != nil {
					return err
				}
				now = append(now, fmt.Sprintf("%d session(s) ended", n))
			}
			if err := tx.Audit(ctx, entry(a, "user.update", "user", u.ID, "ok", userLabel(u)+": "+strings.Join(now, "; "))); err != nil {
				return err
			}
			res.Applied = now
		}
		// What grants power, for another admin.
		if len(added) > 0 {
			c, err := s.propose(ctx, tx, a, KindGrantRoles, u.ID, payload{Roles: added},
				fmt.Sprintf("give %s the role(s) %s", userLabel(u), strings.Join(added, ", ")))
			if err != nil {
				return err
			}
			res.Pending = append(res.Pending, c)
		}
		if !u.Active && to.Active {
			c, err := s.propose(ctx, tx, a, KindReactivate, u.ID, payload{}, "reactivate "+userLabel(u))
			if err != nil {
				return err
			}
			res.Pending = append(res.Pending, c)
		}
		if len(res.Applied) == 0 && len(res.Pending) == 0 {
			return ErrNothingToPropose
		}
		return nil
	})
	if errors.Is(err, ErrNothingToPropose) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, s.denied(ctx, a, "user.update", "user", userID, err)
	}
	return res, nil
}

// ProposePasswordReset proposes resetting someone's password. Once another
// admin approves, the old password stops working, the person's sessions end,
// and the approver is given a one-time link for the person to choose a new one.
func (s *Service) ProposePasswordReset(ctx context.Context, a Actor, userID int64) (*store.AdminChange, error) {
	return s.proposeFor(ctx, a, userID, KindResetPassword, "reset the password of ")
}

// ProposeSecondFactorReset proposes removing someone's second factor, so that
// they set up a new one (a lost phone). It applies when another admin approves.
func (s *Service) ProposeSecondFactorReset(ctx context.Context, a Actor, userID int64) (*store.AdminChange, error) {
	return s.proposeFor(ctx, a, userID, KindResetSecondFactor, "reset the second factor of ")
}

func (s *Service) proposeFor(ctx context.Context, a Actor, userID int64, kind Kind, words string) (*store.AdminChange, error) {
	var c *store.AdminChange
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUserNotFound
		} else if err != nil {
			return err
		}
		c, err = s.propose(ctx, tx, a, kind, u.ID, payload{}, words+userLabel(u))
		return err
	})
	if err != nil {
		return nil, s.denied(ctx, a, "change.propose", "user", userID, err)
	}
	return c, nil
}

// EndSessions signs someone out everywhere, at once: it only takes power away.
func (s *Service) EndSessions(ctx context.Context, a Actor, userID int64) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUserNotFound
		} else if err != nil {
			return err
		}
		if n, err = tx.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, entry(a, "user.sessions_ended", "user", u.ID, "ok", fmt.Sprintf("%s: %d session(s)", userLabel(u), n)))
	})
	if err != nil {
		return 0, s.denied(ctx, a, "user.sessions_ended", "user", userID, err)
	}
	return n, nil
}

// AddUserAsOperator creates an account at once, for the server's operator
// (countersign users add): whoever runs commands on the server already holds
// the database and the key, so a second admin would protect nothing; the
// audit log says who did it. passwordHash is the hash of the password the
// operator typed.
func (s *Service) AddUserAsOperator(ctx context.Context, n NewUser, passwordHash, operator string) (*store.User, error) {
	n.Email, n.Roles = strings.TrimSpace(n.Email), normalRoles(n.Roles)
	bad := map[string]string{}
	checkEmail(n.Email, bad)
	n.Name = checkName(n.Name, bad)
	checkRoles(n.Roles, bad)
	if err := invalid(bad); err != nil {
		return nil, err
	}
	u := &store.User{Email: n.Email, Name: n.Name, Roles: n.Roles, Active: true, PasswordHash: passwordHash}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEntry{Actor: operator, Action: "user.create", ObjectType: "user", ObjectID: fmt.Sprint(u.ID), Outcome: "ok",
			Detail: fmt.Sprintf("%s roles=%s; by the server operator, at once", u.Email, strings.Join(u.Roles, ","))})
	})
	if errors.Is(err, store.ErrEmailTaken) {
		return nil, ErrEmailTaken
	}
	return u, err
}
