package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"countersign/fail"
)

// ErrEmailTaken is returned when an account with that email already exists.
var ErrEmailTaken = fail.New(fail.Conflict, "email_taken", "An account with that email already exists")

// User is a console account.
type User struct {
	ID           int64
	Email        string
	Name         string
	PasswordHash string
	Roles        []string
	Active       bool
	FailedLogins int
	LockedUntil  time.Time
	TimeZone     string // IANA name the person reads times in; "UTC" unless they chose another
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// HasRole reports whether the user holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

const userColumns = `id, email, name, password_hash, roles, active, failed_logins, locked_until, time_zone, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var roles, created, updated string
	var locked sql.NullString
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &roles, &u.Active, &u.FailedLogins, &locked, &u.TimeZone, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	if err != nil {
		return nil, err
	}
	u.Roles = splitRoles(roles)
	u.LockedUntil = nullTime(locked)
	u.CreatedAt, u.UpdatedAt = parseTime(created), parseTime(updated)
	return &u, nil
}

func splitRoles(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func joinRoles(roles []string) string {
	r := slices.Clone(roles)
	slices.Sort(r)
	return strings.Join(slices.Compact(r), ",")
}

// CreateUser adds an account in its own transaction.
func (d *DB) CreateUser(ctx context.Context, u *User) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.CreateUser(ctx, u) })
}

// CreateUser adds an account as part of the transaction. An empty
// PasswordHash is an account nobody can sign in to until a sign-in link sets
// its password.
func (t *Tx) CreateUser(ctx context.Context, u *User) error {
	now := t.now
	err := t.tx.QueryRowContext(ctx, `INSERT INTO users (email, name, password_hash, roles, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		RETURNING id`, strings.TrimSpace(u.Email), u.Name, u.PasswordHash, joinRoles(u.Roles), u.Active, formatTime(now), formatTime(now)).Scan(&u.ID)
	if isUniqueViolation(err) {
		return ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = now, now
	return nil
}

// UserByID returns the account with that id.
func (d *DB) UserByID(ctx context.Context, id int64) (*User, error) {
	return scanUser(d.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByID returns the account as this transaction sees it: rules that depend
// on someone's roles read them where they act.
func (t *Tx) UserByID(ctx context.Context, id int64) (*User, error) {
	return scanUser(t.tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByEmail returns the account with that email as this transaction sees it.
func (t *Tx) UserByEmail(ctx context.Context, email string) (*User, error) {
	return scanUser(t.tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.TrimSpace(email)))
}

// UserByEmail returns the account with that email (case-insensitive).
func (d *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	return scanUser(d.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.TrimSpace(email)))
}

// Users returns every account, by name.
func (d *DB) Users(ctx context.Context) ([]*User, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var users []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// CountUsers returns how many accounts exist.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// UpdateUserAccess changes a user's name, roles and active flag. Sessions of a
// deactivated user stop working on their next request because every request
// reloads the user.
func (d *DB) UpdateUserAccess(ctx context.Context, id int64, name string, roles []string, active bool) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.UpdateUserAccess(ctx, id, name, roles, active) })
}

// UpdateUserAccess changes a user's name, roles and active flag as part of the transaction.
func (t *Tx) UpdateUserAccess(ctx context.Context, id int64, name string, roles []string, active bool) error {
	return t.execOne(ctx, "user", `UPDATE users SET name = ?, roles = ?, active = ?, updated_at = ? WHERE id = ?`,
		name, joinRoles(roles), active, formatTime(t.now), id)
}

// SetPassword replaces a user's password hash and clears any lockout.
func (d *DB) SetPassword(ctx context.Context, id int64, hash string) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.SetPassword(ctx, id, hash) })
}

// SetPassword replaces a user's password hash and clears any lockout, as part
// of the transaction. An empty hash means no password works.
func (t *Tx) SetPassword(ctx context.Context, id int64, hash string) error {
	return t.execOne(ctx, "user", `UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ? WHERE id = ?`,
		hash, formatTime(t.now), id)
}

// CountActiveAdmins returns how many active accounts hold the admin role: with
// one, changes under dual control wait for an admin who does not exist yet.
func (d *DB) CountActiveAdmins(ctx context.Context) (int, error) {
	users, err := d.Users(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if u.Active && u.HasRole("admin") {
			n++
		}
	}
	return n, nil
}

// SetUserTimeZone stores the time zone a person reads times in, as part of
// the transaction, so that the change commits with its audit entry.
func (t *Tx) SetUserTimeZone(ctx context.Context, id int64, zone string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE users SET time_zone = ?, updated_at = ? WHERE id = ?`, zone, formatTime(t.now), id)
	if err != nil {
		return fmt.Errorf("set time zone: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("user")
	}
	return nil
}

// execOne runs a statement, as part of the transaction, that must change
// exactly one row; what names the row's kind for the refusal when there is none.
func (t *Tx) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(what)
	}
	return nil
}
