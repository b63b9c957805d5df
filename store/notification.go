package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Notification is one event in the outbox, written in the transaction of the
// event it tells about. Kind holds a notify.Kind value.
type Notification struct {
	ID         int64
	Kind       string
	UserID     int64 // only this person; 0: everyone holding the kind's role
	SkipUserID int64 // never this person; 0: nobody skipped
	Subject    string
	Body       string
	Path       string // the page it links to, e.g. "/payouts/12"
	CreatedAt  time.Time
}

// Delivery states.
const (
	DeliveryPending = "pending" // waits for its next attempt
	DeliverySending = "sending" // claimed by a sender until its lease passes
	DeliverySent    = "sent"
	DeliveryFailed  = "failed" // given up after the last attempt
)

// Delivery is one message to send on one channel: an email to one address,
// or the event's one post to the chat webhook (Address ""). The notification's
// text comes with it.
type Delivery struct {
	ID             int64
	NotificationID int64
	Channel        string
	Address        string
	UserID         int64
	State          string
	Attempts       int
	NextAt         time.Time
	LeaseUntil     time.Time
	LastError      string
	SentAt         time.Time
	Notification   Notification
}

// EnqueueNotification adds n to the outbox as part of the transaction: if the
// event rolls back, so does its notification. It is one insert.
func (t *Tx) EnqueueNotification(ctx context.Context, n *Notification) error {
	n.CreatedAt = t.now
	err := t.tx.QueryRowContext(ctx, `INSERT INTO notifications (kind, user_id, skip_user_id, subject, body, path, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		n.Kind, nullID(n.UserID), nullID(n.SkipUserID), n.Subject, n.Body, n.Path, formatTime(t.now)).Scan(&n.ID)
	if err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	return nil
}

const notificationColumns = `n.id, n.kind, coalesce(n.user_id, 0), coalesce(n.skip_user_id, 0), n.subject, n.body, n.path, n.created_at`

func scanNotification(row interface{ Scan(...any) error }, extra ...any) (Notification, error) {
	var n Notification
	var created string
	err := row.Scan(append([]any{&n.ID, &n.Kind, &n.UserID, &n.SkipUserID, &n.Subject, &n.Body, &n.Path, &created}, extra...)...)
	n.CreatedAt = parseTime(created)
	return n, err
}

// UnexpandedNotifications returns up to limit notifications not yet expanded
// into deliveries, oldest first.
func (d *DB) UnexpandedNotifications(ctx context.Context, limit int) ([]Notification, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications n WHERE n.expanded_at IS NULL ORDER BY n.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("unexpanded notifications: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ClaimNotification marks a notification expanded, if nobody did yet; it
// reports whether this transaction won. The deliveries go in the same
// transaction, so of two senders exactly one expands each notification.
func (t *Tx) ClaimNotification(ctx context.Context, id int64) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE notifications SET expanded_at = ? WHERE id = ? AND expanded_at IS NULL`, formatTime(t.now), id)
	if err != nil {
		return false, fmt.Errorf("claim notification %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ActiveUsers returns every active account, by id.
func (t *Tx) ActiveUsers(ctx context.Context) ([]*User, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE active = 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("active users: %w", err)
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

// OptedOut returns the ids of the people who chose not to get kind.
func (t *Tx) OptedOut(ctx context.Context, kind string) (map[int64]bool, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT user_id FROM notification_optouts WHERE kind = ?`, kind)
	if err != nil {
		return nil, fmt.Errorf("opt-outs of %s: %w", kind, err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// AddDelivery queues one message of a notification, first attempt now. A
// delivery that exists already (same notification, channel and address) is
// left alone.
func (t *Tx) AddDelivery(ctx context.Context, d *Delivery) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO notification_deliveries (notification_id, channel, address, user_id, state, next_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (notification_id, channel, address) DO NOTHING`,
		d.NotificationID, d.Channel, d.Address, nullID(d.UserID), DeliveryPending, formatTime(t.now))
	if err != nil {
		return fmt.Errorf("add delivery: %w", err)
	}
	return nil
}

const deliveryColumns = `d.id, d.notification_id, d.channel, d.address, coalesce(d.user_id, 0), d.state, d.attempts, d.next_at,
	d.lease_until, d.last_error, d.sent_at`

// The condition under which a delivery may be claimed at a time (given twice):
// its next attempt is due, or the sender that claimed it let its lease pass.
const deliveryDue = `((d.state = 'pending' AND d.next_at <= ?) OR (d.state = 'sending' AND d.lease_until <= ?))`

func scanDelivery(row interface{ Scan(...any) error }) (*Delivery, error) {
	var d Delivery
	var next string
	var lease, sent sql.NullString
	n, err := scanNotification(row, &d.ID, &d.NotificationID, &d.Channel, &d.Address, &d.UserID, &d.State, &d.Attempts, &next, &lease, &d.LastError, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	d.Notification = n
	d.NextAt, d.LeaseUntil, d.SentAt = parseTime(next), nullTime(lease), nullTime(sent)
	return &d, nil
}

// DueDeliveries returns up to limit deliveries that may be claimed now, the
// longest waiting first.
func (d *DB) DueDeliveries(ctx context.Context, limit int) ([]*Delivery, error) {
	now := formatTime(d.now())
	return d.deliveries(ctx, `WHERE `+deliveryDue+` ORDER BY d.next_at, d.id LIMIT ?`, now, now, limit)
}

// Deliveries returns every delivery of a notification, by id.
func (d *DB) Deliveries(ctx context.Context, notificationID int64) ([]*Delivery, error) {
	return d.deliveries(ctx, `WHERE d.notification_id = ? ORDER BY d.id`, notificationID)
}

func (d *DB) deliveries(ctx context.Context, where string, args ...any) ([]*Delivery, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+notificationColumns+`, `+deliveryColumns+`
		FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		dl, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, dl)
	}
	return out, rows.Err()
}

// ClaimDelivery takes a due delivery for one attempt that lasts until
// leaseUntil, in one conditional update: of several senders exactly one gets
// it. It returns the attempt's number (the fence for marking its outcome), or
// 0 when the delivery was not due any more (someone else has it, or sent it).
func (d *DB) ClaimDelivery(ctx context.Context, id int64, leaseUntil time.Time) (int, error) {
	now := formatTime(d.now())
	var attempt int
	unlock, err := d.lockWriter(ctx)
	if err != nil {
		return 0, fmt.Errorf("claim delivery %d: %w", id, err)
	}
	defer unlock()
	err = d.db.QueryRowContext(ctx, `UPDATE notification_deliveries AS d SET state = 'sending', attempts = attempts + 1, lease_until = ?
		WHERE d.id = ? AND `+deliveryDue+` RETURNING attempts`, formatTime(leaseUntil), id, now, now).Scan(&attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("claim delivery %d: %w", id, err)
	}
	return attempt, nil
}

// FinishDelivery records the outcome of attempt number attempt: sent, or
// failed for good, or pending again from nextAt. It changes nothing (and
// returns ErrConflict) when the attempt is no longer the delivery's current
// claim, because its lease passed and another sender took it.
func (d *DB) FinishDelivery(ctx context.Context, id int64, attempt int, state, lastError string, nextAt time.Time) error {
	now := d.now()
	var sent any
	if state == DeliverySent {
		sent = formatTime(now)
	}
	res, err := d.exec(ctx, `UPDATE notification_deliveries SET state = ?, last_error = ?, next_at = ?, lease_until = NULL, sent_at = ?
		WHERE id = ? AND state = 'sending' AND attempts = ?`,
		state, lastError, formatTime(nextAt), sent, id, attempt)
	if err != nil {
		return fmt.Errorf("finish delivery %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// DeleteOldNotifications removes notifications expanded before the given time
// whose deliveries are all sent or failed, with their deliveries.
func (d *DB) DeleteOldNotifications(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.exec(ctx, `DELETE FROM notifications WHERE expanded_at < ? AND NOT EXISTS (
		SELECT 1 FROM notification_deliveries d WHERE d.notification_id = notifications.id AND d.state IN ('pending', 'sending'))`,
		formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("delete old notifications: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// NotificationOptOuts returns the kinds a person chose not to get.
func (d *DB) NotificationOptOuts(ctx context.Context, userID int64) ([]string, error) {
	return optOuts(ctx, d.db, userID)
}

// NotificationOptOuts returns the kinds a person chose not to get, as this transaction sees them.
func (t *Tx) NotificationOptOuts(ctx context.Context, userID int64) ([]string, error) {
	return optOuts(ctx, t.tx, userID)
}

func optOuts(ctx context.Context, q querier, userID int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind FROM notification_optouts WHERE user_id = ? ORDER BY kind`, userID)
	if err != nil {
		return nil, fmt.Errorf("opt-outs of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// SetNotificationOptOuts replaces the kinds a person chose not to get.
func (t *Tx) SetNotificationOptOuts(ctx context.Context, userID int64, kinds []string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM notification_optouts WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("clear opt-outs of user %d: %w", userID, err)
	}
	for _, k := range kinds {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO notification_optouts (user_id, kind) VALUES (?, ?) ON CONFLICT (user_id, kind) DO NOTHING`,
			userID, k); err != nil {
			return fmt.Errorf("opt user %d out of %s: %w", userID, k, err)
		}
	}
	return nil
}

// SetMark records that something was told, unless it was already; it reports
// whether this transaction set it (and so should tell it).
func (t *Tx) SetMark(ctx context.Context, key string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO notification_marks (key, set_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, formatTime(t.now))
	if err != nil {
		return false, fmt.Errorf("set mark %s: %w", key, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ClearMark forgets a mark, so that the next time the thing happens it is told again.
func (t *Tx) ClearMark(ctx context.Context, key string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM notification_marks WHERE key = ?`, key); err != nil {
		return fmt.Errorf("clear mark %s: %w", key, err)
	}
	return nil
}

// HasMark reports whether a mark is set.
func (d *DB) HasMark(ctx context.Context, key string) (bool, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM notification_marks WHERE key = ?`, key).Scan(&n); err != nil {
		return false, fmt.Errorf("mark %s: %w", key, err)
	}
	return n > 0, nil
}
