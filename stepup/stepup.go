// Package stepup is the second factor: TOTP enrolment, and the proof a
// person gives before a decision (approve or cancel a payout, verify a saved
// card, decide an admin change). A code is accepted once per account; a
// correct one opens a short window for that session in which the same
// person's further decisions need no new code; wrong codes lock decisions.
//
// The services that decide take a Proof, which only this package can make,
// so a decision whose handler forgot to ask for the code is refused.
package stepup

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"countersign/fail"
	"countersign/secret"
	"countersign/store"
)

// The RFC 6238 parameters every authenticator app understands.
const (
	period = 30 // seconds per time step
	skew   = 1  // steps accepted either side of now
	digits = otp.DigitsSix
)

var codeOpts = totp.ValidateOpts{Period: period, Skew: 0, Digits: digits, Algorithm: otp.AlgorithmSHA1}

// Lockout after wrong codes.
const (
	MaxFailures = 5
	LockFor     = 15 * time.Minute
)

// Issuer names the console in authenticator apps.
const Issuer = "Countersign"

// The refusals of a proof or an enrolment. A code is a form field (Invalid);
// a lockout is TooMany; someone who must enrol first is Forbidden.
var (
	ErrMustEnrol    = fail.New(fail.Forbidden, "second_factor_not_enrolled", "Set up your second factor on your account page before deciding anything.")
	ErrCodeRequired = fail.New(fail.Invalid, "second_factor_required", "Enter the 6-digit code from your authenticator app.")
	ErrWrongCode    = fail.New(fail.Invalid, "second_factor_wrong", "That code is not right. Enter the current code from your authenticator app.")
	ErrReplayed     = fail.New(fail.Invalid, "second_factor_replayed", "That code was already used. Wait for the next code and enter it.")
	ErrLocked       = fail.New(fail.TooMany, "second_factor_locked", "Too many wrong codes: deciding is locked for 15 minutes.")
	ErrEnrolled     = fail.New(fail.Conflict, "second_factor_enrolled", "Your second factor is already set up. To use another device, ask an admin to reset it.")
	ErrNoEnrolment  = fail.New(fail.Conflict, "second_factor_no_enrolment", "Start setting up your second factor again: this set-up expired.")
)

// Service checks second factors. Its clock is the store's.
type Service struct {
	db  *store.DB
	key *secret.Key
	log *slog.Logger
}

// New returns a Service that seals secrets with key.
func New(db *store.DB, key *secret.Key, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, key: key, log: logger}
}

// Proof says that a person proved their second factor (or needs none) for
// the decisions of this request. The zero Proof proves nothing.
type Proof struct {
	userID int64
	at     time.Time // when the code that opened the window was accepted; zero if none was needed
	until  time.Time // the window's end
}

// Covers reports whether the proof is for userID.
func (p Proof) Covers(userID int64) bool { return userID > 0 && p.userID == userID }

// At is when the window opened (zero if no code was needed): what the session keeps.
func (p Proof) At() time.Time { return p.at }

// Until is when the step-up window ends; zero if no code was needed.
func (p Proof) Until() time.Time { return p.until }

// Status is what a person's account page and the gate before decisions need.
type Status struct {
	Required    bool      // the policy asks this person for a code
	Enrolled    bool      // they confirmed a second factor
	Enrolling   bool      // they started setting one up
	LockedUntil time.Time // decisions are locked until then (zero if not)
}

// MustEnrol reports whether the person must set up a second factor before acting.
func (s Status) MustEnrol() bool { return s.Required && !s.Enrolled }

// Status returns u's second-factor status.
func (s *Service) Status(ctx context.Context, u *store.User) (Status, error) {
	pol, err := s.Policy(ctx)
	if err != nil {
		return Status{}, err
	}
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		return Status{}, err
	}
	st := Status{Required: pol.RequiredFor(u.Roles), Enrolled: f.Enrolled(), Enrolling: f.Pending != ""}
	if f.LockedUntil.After(s.db.Now()) {
		st.LockedUntil = f.LockedUntil
	}
	return st, nil
}

// Prove checks u's second factor for a decision. steppedUpAt is when this
// session's window opened (zero if it never did); code is what the person
// typed. Where the policy asks nothing of u, the proof needs no code. Inside
// an open window it needs none either. Otherwise the code must be right,
// current and unused; it then opens a new window. Refusals are *Error, and
// wrong, replayed and locked-out codes are audited.
func (s *Service) Prove(ctx context.Context, u *store.User, steppedUpAt time.Time, code, ip string) (Proof, error) {
	pol, err := s.Policy(ctx)
	if err != nil {
		return Proof{}, err
	}
	if !pol.RequiredFor(u.Roles) {
		return Proof{userID: u.ID}, nil
	}
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		return Proof{}, err
	}
	now := s.db.Now()
	switch {
	case !f.Enrolled():
		return Proof{}, ErrMustEnrol
	case f.LockedUntil.After(now):
		return Proof{}, lockedUntil(f.LockedUntil)
	case !steppedUpAt.IsZero() && !steppedUpAt.After(now) && now.Before(steppedUpAt.Add(pol.Window)):
		return Proof{userID: u.ID, at: steppedUpAt, until: steppedUpAt.Add(pol.Window)}, nil
	}
	step, attempt, err := s.checkCounted(ctx, u, f.Secret, code, ip, "stepup", now)
	if err != nil {
		return Proof{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		fresh, err := tx.UseTOTPStep(ctx, u.ID, step)
		if err != nil {
			return err
		}
		if !fresh {
			return ErrReplayed
		}
		return tx.Audit(ctx, entry(u, ip, "stepup.ok", "ok", "window until "+now.Add(pol.Window).Format(time.RFC3339)))
	})
	if errors.Is(err, ErrReplayed) {
		return Proof{}, s.refuse(ctx, u, ip, "stepup", err, attempt)
	}
	if err != nil {
		return Proof{}, err
	}
	return Proof{userID: u.ID, at: now, until: now.Add(pol.Window)}, nil
}

// checkCounted counts an attempt towards the lockout before it checks the
// code (store.ReserveTOTPAttempt), so that parallel wrong codes cannot get
// more guesses checked than the limit, nor any after the lock. A missing
// code is no guess and is not counted.
func (s *Service) checkCounted(ctx context.Context, u *store.User, sealed, code, ip, action string, now time.Time) (int64, store.TOTPAttempt, error) {
	var attempt store.TOTPAttempt
	if strings.Join(strings.Fields(code), "") == "" {
		return 0, attempt, s.refuse(ctx, u, ip, action, ErrCodeRequired, attempt)
	}
	attempt, err := s.db.ReserveTOTPAttempt(ctx, u.ID, MaxFailures, LockFor)
	if err != nil {
		return 0, attempt, err
	}
	if !attempt.Allowed {
		return 0, attempt, lockedUntil(attempt.LockedUntil)
	}
	step, err := s.check(ctx, u, sealed, code, now)
	if err != nil {
		return 0, attempt, s.refuse(ctx, u, ip, action, err, attempt)
	}
	return step, attempt, nil
}

// check finds the time step whose code the person typed, within one step of
// now, or says why there is none.
func (s *Service) check(ctx context.Context, u *store.User, sealed, code string, now time.Time) (int64, error) {
	code = strings.Join(strings.Fields(code), "")
	if code == "" {
		return 0, ErrCodeRequired
	}
	raw, err := s.key.Open(secret.PurposeTOTP, sealed, owner(u.ID))
	if err != nil {
		return 0, fmt.Errorf("second factor of user %d: %w", u.ID, err)
	}
	step, ok := matchStep(string(raw), code, now)
	if !ok {
		return 0, ErrWrongCode
	}
	return step, nil
}

// matchStep returns the time step within ±skew of now whose code is code.
func matchStep(secretB32, code string, now time.Time) (int64, bool) {
	if len(code) != digits.Length() {
		return 0, false
	}
	cur := now.Unix() / period
	for d := int64(-skew); d <= skew; d++ {
		want, err := totp.GenerateCodeCustom(secretB32, time.Unix((cur+d)*period, 0), codeOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return cur + d, true
		}
	}
	return 0, false
}

// refuse audits a refused code in its own transaction (the decision it was
// for is refused too, but the attempt stays on record), and the lock if
// this attempt was the last one allowed, and returns the refusal to show.
func (s *Service) refuse(ctx context.Context, u *store.User, ip, action string, why error, attempt store.TOTPAttempt) error {
	var pe *fail.Error
	if !errors.As(why, &pe) {
		return why
	}
	ctx = context.WithoutCancel(ctx)
	out := why
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if attempt.Locks {
			out = lockedUntil(attempt.LockedUntil)
			if err := tx.Audit(ctx, entry(u, ip, action+".locked", "denied", fmt.Sprintf("%d wrong codes: locked for 15 minutes", MaxFailures))); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, entry(u, ip, action+".failed", "denied", pe.Code))
	})
	if err != nil {
		s.log.Error("audit a refused second factor", "user", u.ID, "err", err)
	}
	return out
}

func lockedUntil(t time.Time) error {
	return ErrLocked.With("Too many wrong codes: deciding is locked until " + t.UTC().Format("15:04 UTC") + ".")
}

func entry(u *store.User, ip, action, outcome, detail string) store.AuditEntry {
	return store.AuditEntry{ActorID: u.ID, Actor: u.Email, Action: action, ObjectType: "user", ObjectID: strconv.FormatInt(u.ID, 10),
		IP: ip, Outcome: outcome, Detail: detail}
}

// owner binds a sealed secret to its user's row.
func owner(userID int64) []byte { return []byte("user " + strconv.FormatInt(userID, 10)) }

// Enrolment is a second factor being set up: what the person's app needs.
type Enrolment struct {
	Secret string // base32, to type into an app by hand
	URI    string // otpauth://totp/...
	QR     []byte // the URI as a QR code, PNG
}

// PendingEnrolment returns the second factor u is setting up, changing
// nothing (pages and the QR code are GETs): ErrNoEnrolment if none was
// started, or it was sealed under another key; ErrEnrolled once set up.
func (s *Service) PendingEnrolment(ctx context.Context, u *store.User) (Enrolment, error) {
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		return Enrolment{}, err
	}
	if f.Enrolled() {
		return Enrolment{}, ErrEnrolled
	}
	raw, err := s.key.Open(secret.PurposeTOTP, f.Pending, owner(u.ID))
	if f.Pending == "" || err != nil {
		return Enrolment{}, ErrNoEnrolment
	}
	return enrolment(u.Email, string(raw))
}

// BeginEnrolment starts setting up u's second factor with a new secret, or
// returns the one already started (a second click shows the same code).
func (s *Service) BeginEnrolment(ctx context.Context, u *store.User) (Enrolment, error) {
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		return Enrolment{}, err
	}
	if f.Enrolled() {
		return Enrolment{}, ErrEnrolled
	}
	if f.Pending != "" {
		if raw, err := s.key.Open(secret.PurposeTOTP, f.Pending, owner(u.ID)); err == nil {
			return enrolment(u.Email, string(raw))
		}
		// Sealed under another key (the key file was replaced): start afresh.
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: u.Email, Period: period, Digits: digits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, fmt.Errorf("generate second factor: %w", err)
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetPendingTOTP(ctx, u.ID, s.key.Seal(secret.PurposeTOTP, []byte(key.Secret()), owner(u.ID)))
	})
	if err != nil {
		return Enrolment{}, err
	}
	return enrolment(u.Email, key.Secret())
}

// enrolment builds the URI and QR code of a secret.
func enrolment(account, secretB32 string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Period: period, Digits: digits,
		Algorithm: otp.AlgorithmSHA1, Secret: mustDecode(secretB32)})
	if err != nil {
		return Enrolment{}, fmt.Errorf("second factor URI: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, fmt.Errorf("second factor QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: key.Secret(), URI: key.URL(), QR: buf.Bytes()}, nil
}

// ConfirmEnrolment finishes setting up u's second factor with a current code
// from the app. Wrong codes count towards the lockout. The code is used up
// like any other, so it opens a step-up window as a decision's code would:
// the person's first decision need not wait for the app's next code. It
// returns when the window opened.
func (s *Service) ConfirmEnrolment(ctx context.Context, u *store.User, code, ip string) (time.Time, error) {
	f, err := s.db.SecondFactor(ctx, u.ID)
	if err != nil {
		return time.Time{}, err
	}
	now := s.db.Now()
	switch {
	case f.Enrolled():
		return time.Time{}, ErrEnrolled
	case f.Pending == "":
		return time.Time{}, ErrNoEnrolment
	case f.LockedUntil.After(now):
		return time.Time{}, lockedUntil(f.LockedUntil)
	}
	step, _, err := s.checkCounted(ctx, u, f.Pending, code, ip, "totp.enrol", now)
	if errors.Is(err, secret.ErrOpen) {
		return time.Time{}, ErrNoEnrolment
	}
	if err != nil {
		return time.Time{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ConfirmTOTP(ctx, u.ID, step); errors.Is(err, store.ErrConflict) {
			return ErrEnrolled
		} else if err != nil {
			return err
		}
		return tx.Audit(ctx, entry(u, ip, "totp.enrol", "ok", "second factor set up"))
	})
	if err != nil {
		return time.Time{}, err
	}
	return now, nil
}

// EnrolWithSecret enrols u at once with a known secret: only for the
// sandbox's demo accounts, whose secrets are published so that the demo
// stays a few clicks. Never for a real account.
func (s *Service) EnrolWithSecret(ctx context.Context, u *store.User, secretB32, why string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetTOTP(ctx, u.ID, s.key.Seal(secret.PurposeTOTP, []byte(secretB32), owner(u.ID))); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEntry{Actor: "system", Action: "totp.enrol", ObjectType: "user", ObjectID: strconv.FormatInt(u.ID, 10),
			Outcome: "ok", Detail: why})
	})
}

// Code returns the current code of a secret: the sandbox's demo panel shows
// the codes of its published secrets, and tests type them.
func Code(secretB32 string, at time.Time) (string, error) {
	return totp.GenerateCodeCustom(secretB32, at, codeOpts)
}

func mustDecode(secretB32 string) []byte {
	b, err := b32.DecodeString(strings.ToUpper(secretB32))
	if err != nil {
		return nil
	}
	return b
}

// RequiredFor reports whether someone holding roles must give a code.
func (p Policy) RequiredFor(roles []string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(p.Roles, r) })
}
