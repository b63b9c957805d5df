package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SessionRow is a login session as kept on the server. The cookie holds only the
// token whose hash is IDHash.
type SessionRow struct {
	IDHash     string
	UserID     int64 // 0 before login
	Data       []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// SessionByHash returns the session with that token hash.
func (d *DB) SessionByHash(ctx context.Context, idHash string) (*SessionRow, error) {
	var s SessionRow
	var userID sql.NullInt64
	var created, seen string
	err := d.db.QueryRowContext(ctx, `SELECT id_hash, user_id, data, created_at, last_seen_at FROM sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &userID, &s.Data, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session")
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	s.UserID = userID.Int64
	s.CreatedAt, s.LastSeenAt = parseTime(created), parseTime(seen)
	return &s, nil
}

// SaveSession inserts or updates a session; CreatedAt is kept from the first save.
func (d *DB) SaveSession(ctx context.Context, s *SessionRow) error {
	var userID any
	if s.UserID != 0 {
		userID = s.UserID
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, data, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id_hash) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, last_seen_at = excluded.last_seen_at`,
		s.IDHash, userID, s.Data, formatTime(s.CreatedAt), formatTime(s.LastSeenAt))
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// TouchSession records activity on a session, for the idle timeout.
func (d *DB) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, formatTime(at), idHash)
	return err
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteUserSessions ends every session of a user and reports how many there were.
func (d *DB) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return res.RowsAffected()
}

// DeleteUserSessions ends every session of a user as part of the transaction.
func (t *Tx) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return res.RowsAffected()
}

// CountUserSessions reports how many live session rows a user has.
func (d *DB) CountUserSessions(ctx context.Context, userID int64) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE user_id = ?`, userID).Scan(&n)
	return n, err
}

// DeleteStaleSessions removes sessions idle since before idleBefore or created before createdBefore.
func (d *DB) DeleteStaleSessions(ctx context.Context, idleBefore, createdBefore time.Time) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?`, formatTime(idleBefore), formatTime(createdBefore))
	return err
}
