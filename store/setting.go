package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// Setting returns a stored setting, or def if it was never set.
func (d *DB) Setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a setting as part of the transaction.
func (t *Tx) SetSetting(ctx context.Context, key, value string) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}

// Setting returns a stored setting as this transaction sees it, or def if it
// was never set: rules that enforce a setting read it where they act.
func (t *Tx) Setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := t.tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return v, nil
}

// settingOnce returns the stored value of key, storing fresh() first if the
// key has none. Several processes starting at once agree on one value: the
// first insert wins and everyone reads it back.
func (d *DB) settingOnce(ctx context.Context, key string, fresh func() string) (string, error) {
	// Read first: once the value exists (every start but the first), opening
	// the database writes nothing, and waits for no writer.
	if v, err := d.Setting(ctx, key, ""); err != nil || v != "" {
		return v, err
	}
	if _, err := d.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, fresh()); err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return d.Setting(ctx, key, "")
}

// InstallationID is this installation's random id (16 hex digits), created
// with the database and kept in it, so a backup keeps it too. Provider
// idempotency keys carry it: two installations pointed at the same provider
// project never reuse each other's keys.
func (d *DB) InstallationID() string { return d.installation }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
