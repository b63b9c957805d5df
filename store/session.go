package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

// StartSession stores a newly issued session with e, the audit entry of the
// sign-in that issued it, in one transaction, and drops the row of the
// session the browser had before (replaced, its ID's hash; "" if none). It
// is the only way a session row comes to exist: a session whose row is gone
// stays gone, and no one is signed in without the log saying so.
func (d *DB) StartSession(ctx context.Context, replaced string, s *SessionRow, e AuditEntry) error {
	var userID any
	if s.UserID != 0 {
		userID = s.UserID
	}
	err := d.InTx(ctx, func(tx *Tx) error {
		if replaced != "" {
			if _, err := tx.tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, replaced); err != nil {
				return err
			}
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, data, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`,
			s.IDHash, userID, s.Data, formatTime(s.CreatedAt), formatTime(s.LastSeenAt)); err != nil {
			return err
		}
		return tx.Audit(ctx, e)
	})
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	return nil
}

// UpdateSession writes the data and activity time of an existing session and
// reports whether it still existed. It never inserts: a request that loaded
// a session before someone ended it (a logout, "end sessions", a password
// reset) must not bring it back when it saves afterwards.
func (d *DB) UpdateSession(ctx context.Context, s *SessionRow) (bool, error) {
	res, err := d.exec(ctx, `UPDATE sessions SET data = ?, last_seen_at = ? WHERE id_hash = ?`,
		s.Data, formatTime(s.LastSeenAt), s.IDHash)
	if err != nil {
		return false, fmt.Errorf("save session: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// TouchSession records activity on a session, for the idle timeout.
func (d *DB) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	_, err := d.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, formatTime(at), idHash)
	return err
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := d.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteUserSessions ends every session of a user and reports how many there were.
func (d *DB) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := d.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
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
	_, err := d.exec(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?`, formatTime(idleBefore), formatTime(createdBefore))
	return err
}

// CountSessions reports how many session rows exist, signed in or not.
func (d *DB) CountSessions(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&n)
	return n, err
}

// Flash is a message for the next page a session shows.
type Flash struct {
	Kind, Text string
}

// AddFlash queues a message for the session with that token hash. A session
// that has ended meanwhile gets none (and its row is not brought back).
func (d *DB) AddFlash(ctx context.Context, sessionHash string, f Flash) error {
	return d.InTx(ctx, func(tx *Tx) error {
		var n int
		if err := tx.tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE id_hash = ?`, sessionHash).Scan(&n); err != nil || n == 0 {
			return err
		}
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO flashes (session_hash, kind, text, created_at) VALUES (?, ?, ?, ?)`,
			sessionHash, f.Kind, f.Text, formatTime(tx.now))
		return err
	})
}

// TakeFlashes returns the session's queued messages, oldest first, and
// deletes them in the same statement: two pages shown at once never both
// show one, and a message queued meanwhile waits for the next page.
func (d *DB) TakeFlashes(ctx context.Context, sessionHash string) ([]Flash, error) {
	// Most pages have none: a read finds that without waiting to write.
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM flashes WHERE session_hash = ?`, sessionHash).Scan(&n); err != nil {
		return nil, fmt.Errorf("take flashes: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	unlock, err := d.lockWriter(ctx)
	if err != nil {
		return nil, fmt.Errorf("take flashes: %w", err)
	}
	defer unlock()
	rows, err := d.db.QueryContext(ctx, `DELETE FROM flashes WHERE session_hash = ? RETURNING id, kind, text`, sessionHash)
	if err != nil {
		return nil, fmt.Errorf("take flashes: %w", err)
	}
	defer rows.Close()
	type row struct {
		id int64
		f  Flash
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.f.Kind, &r.f.Text); err != nil {
			return nil, err
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	out := make([]Flash, len(got))
	for i, r := range got {
		out[i] = r.f
	}
	return out, nil
}
