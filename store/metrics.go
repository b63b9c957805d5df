package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PayoutCounts returns how many payouts are in each state (states with none
// may be missing or 0). It sums the totals triggers keep per currency and
// state (payout_totals), not the payouts.
func (d *DB) PayoutCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT state, CAST(sum(payouts) AS BIGINT) FROM payout_totals GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("payout counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[state] = n
	}
	return out, rows.Err()
}

// QueueSummary describes the payouts in one state (the queue's): how many,
// the earliest ready_at and the earliest deadline_at (zero when none). It
// reads only that state's rows.
func (d *DB) QueueSummary(ctx context.Context, state string) (n int64, oldestReady, nextDeadline time.Time, err error) {
	var ready, deadline sql.NullString
	err = d.db.QueryRowContext(ctx, `SELECT count(*), min(ready_at), min(deadline_at) FROM payouts WHERE state = ?`, state).
		Scan(&n, &ready, &deadline)
	if err != nil {
		return 0, time.Time{}, time.Time{}, fmt.Errorf("queue summary: %w", err)
	}
	return n, nullTime(ready), nullTime(deadline), nil
}

// OutboxDepth counts the notifications not yet expanded and the deliveries
// not yet sent or given up: what the sender still has to do.
func (d *DB) OutboxDepth(ctx context.Context) (int64, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM notifications WHERE expanded_at IS NULL)
		+ (SELECT count(*) FROM notification_deliveries WHERE state IN (?, ?))`, DeliveryPending, DeliverySending).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	return n, nil
}
