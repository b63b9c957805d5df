package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SecondFactor is a user's TOTP state. Secret and Pending are sealed (the
// store never sees a secret in the clear); "" means none.
type SecondFactor struct {
	UserID      int64
	Secret      string
	Pending     string
	EnrolledAt  time.Time
	LastStep    int64
	Failures    int
	LockedUntil time.Time
}

// Enrolled reports whether the user confirmed a second factor.
func (f *SecondFactor) Enrolled() bool { return f.Secret != "" }

func secondFactor(ctx context.Context, q querier, userID int64) (*SecondFactor, error) {
	f := SecondFactor{UserID: userID}
	var enrolled, locked sql.NullString
	err := q.QueryRowContext(ctx, `SELECT totp_secret, totp_pending, totp_enrolled_at, totp_last_step, totp_failures, totp_locked_until FROM users WHERE id = ?`, userID).
		Scan(&f.Secret, &f.Pending, &enrolled, &f.LastStep, &f.Failures, &locked)
	if err != nil {
		return nil, asNotFound(err, "user")
	}
	f.EnrolledAt, f.LockedUntil = nullTime(enrolled), nullTime(locked)
	return &f, nil
}

// SecondFactor returns a user's TOTP state.
func (d *DB) SecondFactor(ctx context.Context, userID int64) (*SecondFactor, error) {
	return secondFactor(ctx, d.db, userID)
}

// SecondFactor returns a user's TOTP state as this transaction sees it.
func (t *Tx) SecondFactor(ctx context.Context, userID int64) (*SecondFactor, error) {
	return secondFactor(ctx, t.tx, userID)
}

// SetPendingTOTP stores a sealed secret being enrolled, replacing any other.
func (t *Tx) SetPendingTOTP(ctx context.Context, userID int64, sealed string) error {
	return t.execOne(ctx, "user", `UPDATE users SET totp_pending = ?, updated_at = ? WHERE id = ?`, sealed, formatTime(t.now), userID)
}

// ConfirmTOTP makes the pending secret the user's second factor, recording
// the step of the code that confirmed it as used. It returns ErrConflict if
// there is no pending secret or the user is already enrolled.
func (t *Tx) ConfirmTOTP(ctx context.Context, userID, step int64) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE users SET totp_secret = totp_pending, totp_pending = '', totp_enrolled_at = ?, totp_last_step = ?,
		totp_failures = 0, totp_locked_until = NULL, updated_at = ? WHERE id = ? AND totp_pending != '' AND totp_secret = ''`, formatTime(t.now), step, formatTime(t.now), userID)
	if err != nil {
		return fmt.Errorf("confirm second factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// SetTOTP enrols a user with a sealed secret at once (the sandbox's demo
// accounts, whose secrets are published).
func (t *Tx) SetTOTP(ctx context.Context, userID int64, sealed string) error {
	return t.execOne(ctx, "user", `UPDATE users SET totp_secret = ?, totp_pending = '', totp_enrolled_at = ?, totp_failures = 0, totp_locked_until = NULL, updated_at = ? WHERE id = ?`,
		sealed, formatTime(t.now), formatTime(t.now), userID)
}

// UseTOTPStep records a code's time step as used, and clears the failure
// count and a lock the attempt's reservation set (ReserveTOTPAttempt: the
// last attempt allowed locks before its code is checked). It reports false,
// changing nothing, if that step or a later one was already used: a replayed
// code, from this session or any other.
func (t *Tx) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE users SET totp_last_step = ?, totp_failures = 0, totp_locked_until = NULL WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("use second-factor code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TOTPAttempt is what ReserveTOTPAttempt decided.
type TOTPAttempt struct {
	Allowed bool // the code may be checked
	// Locks: this attempt was the last one allowed, and locked decisions
	// until LockedUntil unless its code is right. A refused attempt's
	// LockedUntil is the lock that refused it.
	Locks       bool
	LockedUntil time.Time
}

// ReserveTOTPAttempt counts a second-factor attempt before its code is
// checked, in one conditional update: of many parallel attempts at most
// maxFailures are ever checked, and none after the lock. The count stands as
// a failure unless UseTOTPStep clears it. The attempt that reaches
// maxFailures locks at once (for lockFor); a lock that has run out starts
// the count again.
func (d *DB) ReserveTOTPAttempt(ctx context.Context, userID int64, maxFailures int, lockFor time.Duration) (TOTPAttempt, error) {
	now := d.now()
	until := now.Add(lockFor)
	var a TOTPAttempt
	var failures int
	err := d.db.QueryRowContext(ctx, `UPDATE users SET
			totp_failures = CASE WHEN totp_locked_until IS NULL THEN totp_failures + 1 ELSE 1 END,
			totp_locked_until = CASE WHEN (CASE WHEN totp_locked_until IS NULL THEN totp_failures + 1 ELSE 1 END) >= ?
				THEN `+d.dialect.timeParam()+` ELSE NULL END
		WHERE id = ? AND (totp_locked_until IS NULL OR totp_locked_until <= ?)
		RETURNING totp_failures`, maxFailures, formatTime(until), userID, formatTime(now)).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		f, err := d.SecondFactor(ctx, userID)
		if err != nil {
			return a, err
		}
		return TOTPAttempt{LockedUntil: f.LockedUntil}, nil
	}
	if err != nil {
		return a, fmt.Errorf("reserve second-factor attempt: %w", err)
	}
	a.Allowed = true
	if failures >= maxFailures {
		a.Locks, a.LockedUntil = true, until
	}
	return a, nil
}

// ResetTOTP removes a user's second factor: they must enrol again.
func (t *Tx) ResetTOTP(ctx context.Context, userID int64) error {
	return t.execOne(ctx, "user", `UPDATE users SET totp_secret = '', totp_pending = '', totp_enrolled_at = NULL, totp_failures = 0, totp_locked_until = NULL,
		updated_at = ? WHERE id = ?`, formatTime(t.now), userID)
}
