// Package signin decides whether a sign-in attempt gets in, and audits every
// one that does not. Its rules (the same work and the same answer whatever
// went wrong; the attempt counted against the lockout before the password
// is checked) live here, not in the handler that asks.
package signin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"countersign/fail"
	"countersign/password"
	"countersign/store"
	"countersign/text"
)

// ErrRefused is the one answer to every refused attempt (an unknown or
// deactivated account, a lock, a wrong password), so that it reveals nothing.
var ErrRefused = fail.New(fail.Unauthorized, "sign_in_refused",
	"That email and password do not match an active account, or the account is locked. Try again, or ask an admin.")

// notAnEmail stands in the audit log for what was typed as the email of a
// refused attempt when it is not an email address: people type a password
// into the wrong field, and the log must never hold one.
const notAnEmail = "(not an email address)"

// Service checks sign-in attempts.
type Service struct {
	DB     *store.DB
	Limits store.LoginLimits
	// Hasher bounds the argon2id computations of every caller at once (a
	// password set through a sign-in link takes a slot too).
	Hasher *password.Limiter
}

// Attempt is one sign-in attempt: what was typed, from which address.
type Attempt struct {
	Email, Password, IP string
}

// Check returns the account that a signs in to. Every attempt costs the same
// (one argon2id computation, against a decoy when there is no password to
// check) and a refused one gets ErrRefused, so neither reveals whether the
// account exists. The attempt takes a hashing slot first (none free for a
// while: password.ErrBusy, nothing counted), then is counted against the
// account and its address before the password is checked, atomically, so
// that parallel guesses cannot outrun the lockout: of a hundred at once, at
// most the limit is checked. A refusal is audited with its reason; a
// success is not, because the caller audits it with the session it starts
// (store.DB.StartSession).
func (s *Service) Check(ctx context.Context, a Attempt) (*store.User, error) {
	email, pw := typedEmail(a.Email), a.Password
	if len(pw) > password.MaxLength {
		pw = pw[:password.MaxLength]
	}
	u, err := s.DB.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	release, err := s.Hasher.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	refuse := func(reason string, before ...store.AuditEntry) (*store.User, error) {
		e := store.AuditEntry{Actor: recordedAs(email), Action: "login.failed", ObjectType: "user", IP: a.IP, Outcome: "denied", Detail: reason}
		if u != nil {
			e.Actor, e.ActorID, e.ObjectID = u.Email, u.ID, strconv.FormatInt(u.ID, 10)
		}
		err := s.DB.InTx(ctx, func(tx *store.Tx) error {
			for _, b := range append(before, e) {
				if err := tx.Audit(ctx, b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return nil, ErrRefused
	}
	if u == nil || !u.Active {
		password.CheckAgainstDecoy(pw) // the same work as a real check
		if u == nil {
			return refuse("unknown account")
		}
		return refuse("account deactivated")
	}
	attempt, err := s.DB.ReserveLoginAttempt(ctx, u.ID, a.IP, s.Limits)
	if err != nil {
		return nil, err
	}
	if !attempt.Allowed {
		password.CheckAgainstDecoy(pw) // not checked, but the same work
		if attempt.AccountLocked {
			return refuse("account locked")
		}
		return refuse("locked out from this address")
	}
	if !password.Matches(u.PasswordHash, pw) {
		if lock, ok := s.lockout(u, a.IP, attempt); ok {
			return refuse("wrong password", lock)
		}
		return refuse("wrong password")
	}
	if err := s.DB.LoginSucceeded(ctx, u.ID, a.IP); err != nil {
		return nil, err
	}
	return u, nil
}

// Throttled audits an attempt refused before it was looked at, because its
// address sent too many too fast (the caller's rate limiter answers it):
// nothing is counted against an account or hashed, and the entry names
// what was typed, as a refused attempt's does.
func (s *Service) Throttled(ctx context.Context, a Attempt) error {
	return s.DB.Audit(ctx, store.AuditEntry{Actor: recordedAs(typedEmail(a.Email)), Action: "login.rate_limited", ObjectType: "user",
		IP: a.IP, Outcome: "denied", Detail: "too many sign-ins from " + a.IP})
}

// typedEmail is what an attempt is looked up by: the email as typed,
// trimmed, and cut to the longest an address can be.
func typedEmail(email string) string {
	email = strings.TrimSpace(email)
	if len(email) > text.MaxEmail {
		email = email[:text.MaxEmail]
	}
	return email
}

// recordedAs is how the audit log names the person behind an attempt
// whose account is unknown: by the email typed when it is one, else by
// notAnEmail.
func recordedAs(email string) string {
	if !text.IsEmail(email) {
		return notAnEmail
	}
	return email
}

// lockout is the entry recording that a failed attempt locked the account,
// or locked its address out of the account; ok is false if it locked
// neither.
func (s *Service) lockout(u *store.User, ip string, attempt store.LoginAttempt) (e store.AuditEntry, ok bool) {
	l := s.Limits
	var detail string
	switch {
	case attempt.LocksAccount:
		detail = fmt.Sprintf("account locked for %s after %d failures", l.LockFor, l.PerAccount)
	case attempt.LocksAddress:
		detail = fmt.Sprintf("%s locked out of the account for %s after %d failures from it", ip, l.LockFor, l.PerAddress)
	default:
		return e, false
	}
	return store.AuditEntry{ActorID: u.ID, Actor: u.Email, Action: "login.lockout", ObjectType: "user",
		ObjectID: strconv.FormatInt(u.ID, 10), IP: ip, Outcome: "denied", Detail: detail}, true
}
