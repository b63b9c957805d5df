package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchRows is how many payouts the history benchmarks seed:
// COUNTERSIGN_BENCH_ROWS=1000000 for the million-row figure.
func benchRows(b *testing.B) int {
	if v := os.Getenv("COUNTERSIGN_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 100_000
}

// seedHistory fills a database with n payouts spread over a year, four
// currencies, 20 makers, ten approvers (half the payouts approved), every
// state, and a third of them to bank accounts in four countries (one in
// about a thousand of those returned), in one statement so that seeding a
// million rows takes seconds.
func seedHistory(b *testing.B, n int) *DB {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for i := range 30 {
		u := &User{Email: "user" + strconv.Itoa(i) + "@example.com", Name: "User " + strconv.Itoa(i), PasswordHash: "x", Active: true}
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Date(2025, 11, 21, 0, 0, 0, 0, time.UTC)
	_, err = db.db.ExecContext(ctx, `
		WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO payouts (state, version, maker_id, full_name, amount, currency, card_last4, card_brand, created_at, updated_at, finished_at,
			method, account_country, account_label, returned_at, returned_on)
		SELECT
			CASE i % 10 WHEN 0 THEN 'pending_approval' WHEN 1 THEN 'failed' WHEN 2 THEN 'cancelled' WHEN 3 THEN 'confirmed' ELSE 'succeeded' END,
			1, 1 + i % 20, 'Recipient ' || (i % 5000), 100 + (i * 7919) % 500000,
			CASE i % 4 WHEN 0 THEN 'USD' WHEN 1 THEN 'EUR' WHEN 2 THEN 'RUB' ELSE 'GBP' END,
			printf('%04d', i % 10000), 'visa',
			strftime('%Y-%m-%dT%H:%M:%f000Z', ?, '+' || (i * 31) || ' seconds'),
			strftime('%Y-%m-%dT%H:%M:%f000Z', ?, '+' || (i * 31) || ' seconds'),
			CASE WHEN i % 10 >= 4 THEN strftime('%Y-%m-%dT%H:%M:%f000Z', ?, '+' || (i * 31 + 60) || ' seconds') END,
			CASE i % 3 WHEN 0 THEN 'bank_account' ELSE 'card' END,
			CASE i % 3 WHEN 0 THEN CASE i % 4 WHEN 0 THEN 'USA' WHEN 1 THEN 'HUN' WHEN 2 THEN 'TUR' ELSE 'GBR' END ELSE '' END,
			CASE i % 3 WHEN 0 THEN 'Barclays ••••' || printf('%04d', i % 10000) ELSE '' END,
			CASE WHEN i % 2991 = 6 THEN strftime('%Y-%m-%dT%H:%M:%f000Z', ?, '+' || (i * 31 + 86400) || ' seconds') END,
			CASE WHEN i % 2991 = 6 THEN strftime('%Y-%m-%d', ?, '+' || (i * 31 + 86400) || ' seconds') ELSE '' END
		FROM seq`, n, start.Format(time.RFC3339), start.Format(time.RFC3339), start.Format(time.RFC3339), start.Format(time.RFC3339), start.Format(time.RFC3339))
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.db.ExecContext(ctx, `INSERT INTO approvals (payout_id, user_id, version, at)
		SELECT id, 21 + id % 10, 1, created_at FROM payouts WHERE id % 2 = 0`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkHistory measures one page (50 rows) of the history list and the
// per-currency totals under each filter people use.
func BenchmarkHistory(b *testing.B) {
	n := benchRows(b)
	db := seedHistory(b, n)
	ctx := context.Background()
	mid := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	filters := []struct {
		name string
		f    PayoutFilter
	}{
		{"none", PayoutFilter{}},
		{"state", PayoutFilter{States: []string{"failed"}}},
		{"state+currency", PayoutFilter{States: []string{"succeeded"}, Currency: "EUR"}},
		{"month", PayoutFilter{From: mid, To: mid.AddDate(0, 1, 0)}},
		{"maker", PayoutFilter{MakerID: 7}},
		{"approver", PayoutFilter{ApproverID: 23}},
		{"recipient-name", PayoutFilter{Recipient: "recipient 4321"}},
		{"amount-range", PayoutFilter{Currency: "USD", MinAmount: 100000, MaxAmount: 110000}},
		{"last4", PayoutFilter{Last4: "4242"}},
		{"method", PayoutFilter{Method: "bank_account"}},
		{"country", PayoutFilter{Country: "GBR"}},
		{"returned", PayoutFilter{Returned: OnlyReturned}},
	}
	b.Logf("%d payouts", n)
	for _, tc := range filters {
		b.Run("page/"+tc.name, func(b *testing.B) {
			f := tc.f
			f.Limit = 50
			for b.Loop() {
				if _, err := db.Payouts(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("totals/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := db.PayoutTotals(ctx, tc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEachPayout measures the export's reading of one currency's
// payouts (a quarter of them), reported as rows a second.
func BenchmarkEachPayout(b *testing.B) {
	db := seedHistory(b, benchRows(b))
	ctx := context.Background()
	rows := 0
	for b.Loop() {
		err := db.EachPayout(ctx, PayoutFilter{Currency: "EUR"}, func(*PayoutRow) error { rows++; return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
