package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// BalanceSnapshot is one stored reading of the provider's prefunding balance
// in one currency (upper-case ISO 4217), in minor units: the amount, when it
// was first read, and when the provider last said the same.
type BalanceSnapshot struct {
	ID       int64
	Currency string
	Amount   int64
	ReadAt   time.Time // when this amount was read (and stored)
	// CheckedAt is when the provider last gave this amount: ReadAt, or later
	// when later readings found it unchanged. How old the reading is shown to
	// be goes by it; what finished since the reading goes by ReadAt, because
	// the amount has not moved since then.
	CheckedAt time.Time
}

// InsertBalanceSnapshot records one reading of the wallets: every currency in
// one transaction, so a reading is never half there. A zero ReadAt is now.
func (d *DB) InsertBalanceSnapshot(ctx context.Context, snaps ...BalanceSnapshot) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.InsertBalanceSnapshot(ctx, snaps...) })
}

// InsertBalanceSnapshot records one reading of the wallets as part of the
// transaction. A zero ReadAt is the transaction's time. A currency's reading
// is stored as a new row only when its amount changed since the latest row
// or that row was read in an earlier UTC hour (so the hourly roll-up keeps a
// point an hour); otherwise the latest row's CheckedAt moves to ReadAt. A
// poller reading every minute then stores a few rows an hour, not sixty.
// Each snapshot gets the ID of the row that holds it.
func (t *Tx) InsertBalanceSnapshot(ctx context.Context, snaps ...BalanceSnapshot) error {
	for i := range snaps {
		s := &snaps[i]
		if s.ReadAt.IsZero() {
			s.ReadAt = t.now
		}
		s.Currency = strings.ToUpper(s.Currency)
		s.CheckedAt = s.ReadAt
		var last BalanceSnapshot
		var at string
		err := t.tx.QueryRowContext(ctx, `SELECT id, amount, read_at FROM balance_snapshots
			WHERE currency = ? ORDER BY read_at DESC, id DESC LIMIT 1`, s.Currency).Scan(&last.ID, &last.Amount, &at)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("latest balance snapshot: %w", err)
		}
		last.ReadAt = parseTime(at)
		if err == nil && last.Amount == s.Amount && !s.ReadAt.Before(last.ReadAt) &&
			last.ReadAt.Truncate(time.Hour).Equal(s.ReadAt.Truncate(time.Hour)) {
			if _, err := t.tx.ExecContext(ctx, `UPDATE balance_snapshots SET checked_at = ? WHERE id = ? AND checked_at < ?`,
				formatTime(s.ReadAt), last.ID, formatTime(s.ReadAt)); err != nil {
				return fmt.Errorf("balance snapshot checked: %w", err)
			}
			s.ID, s.ReadAt = last.ID, last.ReadAt
			continue
		}
		err = t.tx.QueryRowContext(ctx, `INSERT INTO balance_snapshots (currency, amount, read_at, checked_at) VALUES (?, ?, ?, ?) RETURNING id`,
			s.Currency, s.Amount, formatTime(s.ReadAt), formatTime(s.ReadAt)).Scan(&s.ID)
		if err != nil {
			return fmt.Errorf("insert balance snapshot: %w", err)
		}
	}
	return nil
}

// The latest reading per currency. The table grows by a row per currency a
// minute, and every page shows the gauges, so this must not read it all: the
// recursive part hops from one currency to the next along the
// (currency, read_at) index, and each currency's latest row is one more probe.
const latestBalances = `WITH RECURSIVE cur(c) AS (
		SELECT min(currency) FROM balance_snapshots
		UNION ALL
		SELECT (SELECT min(currency) FROM balance_snapshots WHERE currency > cur.c) FROM cur WHERE cur.c IS NOT NULL)
	SELECT s.id, s.currency, s.amount, s.read_at, s.checked_at FROM cur
	JOIN balance_snapshots s ON s.id = (SELECT id FROM balance_snapshots WHERE currency = cur.c ORDER BY read_at DESC, id DESC LIMIT 1)
	ORDER BY s.currency`

// scanSnapshots reads rows of id, currency, amount, read_at, checked_at.
func scanSnapshots(rows *sql.Rows, err error) ([]BalanceSnapshot, error) {
	if err != nil {
		return nil, fmt.Errorf("balance snapshots: %w", err)
	}
	defer rows.Close()
	var out []BalanceSnapshot
	for rows.Next() {
		var s BalanceSnapshot
		var at, checked string
		if err := rows.Scan(&s.ID, &s.Currency, &s.Amount, &at, &checked); err != nil {
			return nil, err
		}
		s.ReadAt, s.CheckedAt = parseTime(at), parseTime(checked)
		out = append(out, s)
	}
	return out, rows.Err()
}

// LatestBalances returns the most recent reading of each currency, by currency.
func (d *DB) LatestBalances(ctx context.Context) ([]BalanceSnapshot, error) {
	return scanSnapshots(d.db.QueryContext(ctx, latestBalances))
}

// BalanceHistory returns the readings of currency since the given time, oldest
// first, thinned to the last reading of each UTC hour: a 60-second poller
// makes 43,200 readings a month, and a chart needs a few hundred points.
// They come from balance_hours, which triggers keep as readings are stored
// (migration 072), so a month's chart reads at most 720 rows, not every reading.
// Their CheckedAt is their ReadAt: the chart plots amounts, not checks. The
// hour bounds the walk of the key (currency, hour); read_at alone is no key,
// and the walk read the currency's whole year to keep a month of it.
//
// every thins further, to the hours of the day divisible by it (every 4:
// 00:00, 04:00, … UTC), and the last every hours whole, so that the line
// still reaches the latest reading: a month's chart of four currencies
// handed 2,880 rows to Go, and drew them 1.5 pixels apart. 1 is every hour.
func (d *DB) BalanceHistory(ctx context.Context, currency string, since time.Time, every int) ([]BalanceSnapshot, error) {
	every = max(every, 1)
	latest := d.Now().Truncate(time.Hour).Add(-time.Duration(every-1) * time.Hour)
	return scanSnapshots(d.db.QueryContext(ctx, d.balanceHistory(), strings.ToUpper(currency), d.balanceHour(since), formatTime(since),
		every, d.balanceHour(latest)))
}

// balanceHistory is BalanceHistory's query.
func (d *DB) balanceHistory() string {
	return `SELECT snapshot_id, currency, amount, read_at, read_at FROM balance_hours
	WHERE currency = ? AND hour >= ? AND read_at >= ? AND (` + d.dialect.hourOfDay("hour") + ` % ? = 0 OR hour >= ?) ORDER BY hour`
}

// balanceHour is the key of t's UTC hour in balance_hours: its first 13
// characters (hourLayout) on SQLite, a timestamptz on PostgreSQL (see its
// migration 072).
func (d *DB) balanceHour(t time.Time) any {
	if d.dialect.postgres {
		return formatTime(t.Truncate(time.Hour))
	}
	return t.UTC().Format(hourLayout)
}

// Exposure is the total of the payouts in one state and currency, split by
// whether session/confirm was ever sent for them.
type Exposure struct {
	Currency         string
	State            string
	ConfirmAttempted bool
	Count            int64
	Amount           int64
}

// BalanceQuery says which payouts weigh on the money on hand. The store does
// not know the payout states' meaning; the payout package does.
type BalanceQuery struct {
	OpenStates   []string // states whose payouts may still take money
	SettledState string   // the state of a payout whose money left (succeeded)
	ExcludeID    int64    // leave this payout out (the one being decided); 0 for none
}

// BalanceInputs is what the balance arithmetic needs, read at one instant.
type BalanceInputs struct {
	Readings []BalanceSnapshot // the latest reading per currency
	Open     []Exposure        // payouts in OpenStates, by currency, state and confirm_attempted
	// Settled is, per currency, the total of payouts that reached SettledState
	// after that currency's latest reading: money that has left but that the
	// reading may not show yet.
	Settled map[string]int64
}

// BalanceInputs reads the latest balances and the payouts that weigh on them
// in one read transaction, so that a payout moving between states is counted
// exactly once.
func (d *DB) BalanceInputs(ctx context.Context, q BalanceQuery) (BalanceInputs, error) {
	tx, err := d.db.BeginTx(ctx, d.dialect.readOnly())
	if err != nil {
		return BalanceInputs{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	return balanceInputs(ctx, d.db.reading(tx), q)
}

// BalanceInputs reads the same as DB.BalanceInputs, as this transaction sees
// it. Called inside a write transaction it sees exactly what that
// transaction will decide on, with no other writer in between.
func (t *Tx) BalanceInputs(ctx context.Context, q BalanceQuery) (BalanceInputs, error) {
	return balanceInputs(ctx, t.tx, q)
}

// openExposures sums the payouts in n states but one, from payouts_state
// alone (migration 093).
func openExposures(n int) string {
	return `SELECT currency, state, confirm_attempted != 0, count(*), sum(amount) FROM payouts
		WHERE id != ? AND state IN (?` + repeat(",?", n-1) + `) GROUP BY currency, state, confirm_attempted != 0
		ORDER BY currency, state, 3`
}

func balanceInputs(ctx context.Context, q querier, bq BalanceQuery) (BalanceInputs, error) {
	var in BalanceInputs
	var err error
	if in.Readings, err = scanSnapshots(q.QueryContext(ctx, latestBalances)); err != nil {
		return in, err
	}
	if len(bq.OpenStates) > 0 {
		args := []any{bq.ExcludeID}
		for _, s := range bq.OpenStates {
			args = append(args, s)
		}
		rows, err := q.QueryContext(ctx, openExposures(len(bq.OpenStates)), args...)
		if err != nil {
			return in, fmt.Errorf("open payouts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e Exposure
			if err := rows.Scan(&e.Currency, &e.State, &e.ConfirmAttempted, &e.Count, &e.Amount); err != nil {
				return in, err
			}
			in.Open = append(in.Open, e)
		}
		if err := rows.Err(); err != nil {
			return in, err
		}
		rows.Close()
	}
	in.Settled = map[string]int64{}
	if bq.SettledState != "" {
		// Per currency a range of payouts_finished: only what finished since the reading.
		rows, err := q.QueryContext(ctx, `SELECT b.currency, (SELECT coalesce(sum(p.amount), 0) FROM payouts p
			WHERE p.state = ? AND p.finished_at > b.read_at AND p.currency = b.currency AND p.id != ?)
			FROM (`+latestBalances+`) AS b`, bq.SettledState, bq.ExcludeID)
		if err != nil {
			return in, fmt.Errorf("settled payouts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var cur string
			var amount int64
			if err := rows.Scan(&cur, &amount); err != nil {
				return in, err
			}
			if amount != 0 {
				in.Settled[cur] = amount
			}
		}
		if err := rows.Err(); err != nil {
			return in, err
		}
	}
	return in, nil
}
