package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AttentionItem is something that needs a person's look (a flagged webhook,
// a success we did not expect, a payout the provider will not tell us
// about), kept until someone acknowledges it.
type AttentionItem struct {
	ID               int64
	Kind             string
	PayoutID         int64 // 0: about no payout of ours
	Detail           string
	RaisedAt         time.Time
	AcknowledgedBy   int64
	AcknowledgedName string // read-only, joined from users
	AcknowledgedAt   time.Time
}

// Open reports whether nobody has acknowledged the item yet.
func (a *AttentionItem) Open() bool { return a.AcknowledgedAt.IsZero() }

const attentionColumns = `a.id, a.kind, coalesce(a.payout_id, 0), a.detail, a.raised_at, coalesce(a.acknowledged_by, 0), coalesce(u.name, ''), a.acknowledged_at`

const attentionFrom = ` FROM attention_items a LEFT JOIN users u ON u.id = a.acknowledged_by`

func scanAttention(row interface{ Scan(...any) error }) (*AttentionItem, error) {
	var a AttentionItem
	var raised string
	var acked sql.NullString
	err := row.Scan(&a.ID, &a.Kind, &a.PayoutID, &a.Detail, &raised, &a.AcknowledgedBy, &a.AcknowledgedName, &acked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("item")
	}
	if err != nil {
		return nil, err
	}
	a.RaisedAt, a.AcknowledgedAt = parseTime(raised), nullTime(acked)
	return &a, nil
}

// RaiseAttention records an item in tx. While an item of the same kind about
// the same payout waits, raising it again adds nothing and reports false;
// items about no payout are all kept.
func (t *Tx) RaiseAttention(ctx context.Context, kind string, payoutID int64, detail string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO attention_items (kind, payout_id, detail, raised_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, payout_id) WHERE acknowledged_at IS NULL DO NOTHING`, kind, nullID(payoutID), detail, formatTime(t.now))
	if err != nil {
		return false, fmt.Errorf("raise attention: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// OpenAttention lists the items nobody acknowledged yet, oldest first, at most limit.
func (d *DB) OpenAttention(ctx context.Context, limit int) ([]*AttentionItem, error) {
	return d.attention(ctx, `WHERE a.acknowledged_at IS NULL ORDER BY a.id LIMIT ?`, limit)
}

// PayoutAttention lists every item about a payout, oldest first.
func (d *DB) PayoutAttention(ctx context.Context, payoutID int64) ([]*AttentionItem, error) {
	return d.attention(ctx, `WHERE a.payout_id = ? ORDER BY a.id`, payoutID)
}

func (d *DB) attention(ctx context.Context, where string, args ...any) ([]*AttentionItem, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+attentionColumns+attentionFrom+` `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list attention items: %w", err)
	}
	defer rows.Close()
	var out []*AttentionItem
	for rows.Next() {
		a, err := scanAttention(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// HasOpenAttention reports whether an item of one of kinds waits for the payout.
func (d *DB) HasOpenAttention(ctx context.Context, payoutID int64, kinds ...string) (bool, error) {
	for _, k := range kinds {
		var n int
		err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM attention_items WHERE payout_id = ? AND kind = ? AND acknowledged_at IS NULL`,
			payoutID, k).Scan(&n)
		if err != nil {
			return false, fmt.Errorf("attention for payout %d: %w", payoutID, err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// AcknowledgeAttention marks an open item as seen by userID and returns it.
// An item someone acknowledged first is ErrConflict.
func (t *Tx) AcknowledgeAttention(ctx context.Context, id, userID int64) (*AttentionItem, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE attention_items SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL`,
		userID, formatTime(t.now), id)
	if err != nil {
		return nil, fmt.Errorf("acknowledge attention item %d: %w", id, err)
	}
	item, err := scanAttention(t.tx.QueryRowContext(ctx, `SELECT `+attentionColumns+attentionFrom+` WHERE a.id = ?`, id))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrConflict
	}
	return item, nil
}

// CountStatusRefusal counts one more refused session/status for a payout and
// returns how many in a row there have been.
func (t *Tx) CountStatusRefusal(ctx context.Context, payoutID int64) (int, error) {
	return t.countReconcile(ctx, payoutID, "status_refusals")
}

// CountCancelReissue counts one more re-issued session/cancel for a payout
// and returns how many there have been.
func (t *Tx) CountCancelReissue(ctx context.Context, payoutID int64) (int, error) {
	return t.countReconcile(ctx, payoutID, "cancel_reissues")
}

func (t *Tx) countReconcile(ctx context.Context, payoutID int64, column string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `INSERT INTO reconcile_counts (payout_id, `+column+`) VALUES (?, 1)
		ON CONFLICT (payout_id) DO UPDATE SET `+column+` = reconcile_counts.`+column+` + 1 RETURNING `+column, payoutID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s of payout %d: %w", column, payoutID, err)
	}
	return n, nil
}

// ResetStatusRefusals forgets the refused session/status calls of a payout:
// the provider answered, or a person asked to try again.
func (t *Tx) ResetStatusRefusals(ctx context.Context, payoutID int64) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE reconcile_counts SET status_refusals = 0 WHERE payout_id = ? AND status_refusals > 0`, payoutID)
	return err
}

// ResetReconcileCounts forgets every refusal counted for a payout.
func (t *Tx) ResetReconcileCounts(ctx context.Context, payoutID int64) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM reconcile_counts WHERE payout_id = ?`, payoutID)
	return err
}
