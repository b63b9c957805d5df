package store

import (
	"context"
	"fmt"
)

// queueOrder is how the approval queue is sorted: the provider's deadline
// first, then the oldest.
const queueOrder = `p.deadline_at IS NULL, p.deadline_at, p.id`

// QueuePage is one page of the payouts in a state, in the queue's order.
type QueuePage struct {
	Payouts []*Payout
	Total   int64            // payouts in the state, all pages
	Above   map[string]int64 // per currency, the amounts of the payouts on earlier pages
}

// QueuePage reads the payouts in state from offset, at most limit of them,
// with what the queue shows beside them: how many there are in all, and
// what the earlier pages add up to per currency (the balance "after
// approving" counts every payout above). It reads the page and the rows
// before it, never the whole state when a later page is not asked for.
func (d *DB) QueuePage(ctx context.Context, state string, offset, limit int) (*QueuePage, error) {
	tx, err := d.db.BeginTx(ctx, d.dialect.readOnly())
	if err != nil {
		return nil, fmt.Errorf("queue page: %w", err)
	}
	defer tx.Rollback()
	rd := d.db.reading(tx)
	qp := &QueuePage{Above: map[string]int64{}}
	if err := rd.QueryRowContext(ctx, `SELECT count(*) FROM payouts WHERE state = ?`, state).Scan(&qp.Total); err != nil {
		return nil, fmt.Errorf("queue page: %w", err)
	}
	if offset > 0 {
		rows, err := rd.QueryContext(ctx, `SELECT currency, sum(amount) FROM (SELECT p.currency, p.amount FROM payouts p
			WHERE p.state = ? ORDER BY `+queueOrder+` LIMIT ?) above GROUP BY currency`, state, offset)
		if err != nil {
			return nil, fmt.Errorf("queue page: %w", err)
		}
		for rows.Next() {
			var cur string
			var sum int64
			if err := rows.Scan(&cur, &sum); err != nil {
				rows.Close()
				return nil, err
			}
			qp.Above[cur] = sum
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	qp.Payouts, err = queryPayouts(ctx, rd, `SELECT `+payoutColumns+payoutFrom+` WHERE p.state = ? ORDER BY `+queueOrder+` LIMIT ? OFFSET ?`, state, limit, offset)
	if err != nil {
		return nil, err
	}
	return qp, nil
}

// ApprovalsOf returns every approval of each of the payouts, by payout id,
// each payout's oldest first: one query for a page of them.
func (d *DB) ApprovalsOf(ctx context.Context, payoutIDs []int64) (map[int64][]Approval, error) {
	out := map[int64][]Approval{}
	if len(payoutIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(payoutIDs))
	for i, id := range payoutIDs {
		args[i] = id
	}
	rows, err := d.db.QueryContext(ctx, `SELECT a.payout_id, a.user_id, u.name, a.version, a.at, u.active, u.roles FROM approvals a JOIN users u ON u.id = a.user_id
		WHERE a.payout_id IN (?`+repeat(",?", len(args)-1)+`) ORDER BY a.payout_id, a.at, a.user_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("approvals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Approval
		var at, roles string
		if err := rows.Scan(&a.PayoutID, &a.UserID, &a.UserName, &a.Version, &at, &a.UserActive, &roles); err != nil {
			return nil, err
		}
		a.At, a.UserRoles = parseTime(at), splitRoles(roles)
		out[a.PayoutID] = append(out[a.PayoutID], a)
	}
	return out, rows.Err()
}
