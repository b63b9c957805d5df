package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LoginLimits say how many failed sign-ins lock what, and for how long.
type LoginLimits struct {
	PerAccount int           // failures from all addresses that lock the account
	PerAddress int           // failures from one address that lock that address out of the account
	LockFor    time.Duration // how long a lock lasts
}

// LoginAttempt is what ReserveLoginAttempt decided.
type LoginAttempt struct {
	Allowed       bool // the password may be checked
	AccountLocked bool // refused: the account is locked
	AddressLocked bool // refused: this address is locked out of the account
	// LocksAccount and LocksAddress: this attempt was the last one allowed;
	// if it fails, the account (or the address) stays locked.
	LocksAccount, LocksAddress bool
}

// errNotAllowed rolls back a reservation that one of the limits refused.
var errNotAllowed = errors.New("login attempt not allowed")

// ReserveLoginAttempt counts a sign-in attempt for the account from address
// before its password is checked, atomically: of many parallel attempts at
// most the limits are ever checked. The count stands as a failure unless
// LoginSucceeded clears it. An attempt that reaches a limit locks at once
// (for LockFor), so the attempts after it are refused unchecked; a lock that
// has run out starts the count again.
func (d *DB) ReserveLoginAttempt(ctx context.Context, userID int64, address string, l LoginLimits) (LoginAttempt, error) {
	now := d.now()
	until := formatTime(now.Add(l.LockFor))
	var a LoginAttempt
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `INSERT INTO login_failures (user_id, address, failures, locked_until, last_at) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (user_id, address) DO UPDATE SET
				failures = CASE WHEN login_failures.locked_until IS NULL THEN login_failures.failures + 1 ELSE 1 END,
				locked_until = CASE WHEN (CASE WHEN login_failures.locked_until IS NULL THEN login_failures.failures + 1 ELSE 1 END) >= ?
					THEN `+d.dialect.timeParam()+` ELSE NULL END,
				last_at = excluded.last_at
			WHERE login_failures.locked_until IS NULL OR login_failures.locked_until <= ?
			RETURNING failures`,
			userID, address, lockedIf(l.PerAddress <= 1, until), formatTime(now), l.PerAddress, until, formatTime(now)).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			a.AddressLocked = true
			return errNotAllowed
		}
		if err != nil {
			return err
		}
		a.LocksAddress = n >= l.PerAddress
		err = tx.QueryRowContext(ctx, `UPDATE users SET
				failed_logins = CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END,
				locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END) >= ?
					THEN `+d.dialect.timeParam()+` ELSE NULL END
			WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?)
			RETURNING failed_logins`, l.PerAccount, until, userID, formatTime(now)).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			a.AccountLocked = true
			return errNotAllowed
		}
		if err != nil {
			return err
		}
		a.LocksAccount = n >= l.PerAccount
		return nil
	})
	switch {
	case errors.Is(err, errNotAllowed):
		return LoginAttempt{AccountLocked: a.AccountLocked, AddressLocked: a.AddressLocked}, nil
	case err != nil:
		return LoginAttempt{}, fmt.Errorf("reserve login attempt: %w", err)
	}
	a.Allowed = true
	return a, nil
}

func lockedIf(lock bool, until string) any {
	if lock {
		return until
	}
	return nil
}

// LoginSucceeded clears the account's failures and those of the address it
// signed in from.
func (d *DB) LoginSucceeded(ctx context.Context, userID int64, address string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?`, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE user_id = ? AND address = ?`, userID, address)
		return err
	})
}

// DeleteOldLoginFailures forgets the failures of addresses not seen since
// before and no longer locked.
func (d *DB) DeleteOldLoginFailures(ctx context.Context, before time.Time) error {
	_, err := d.exec(ctx, `DELETE FROM login_failures WHERE last_at < ? AND (locked_until IS NULL OR locked_until < ?)`,
		formatTime(before), formatTime(d.now()))
	return err
}
