package store

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBalanceSnapshots(t *testing.T) {
	db, _ := openTest(t)
	clk := &listClock{now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	db.Now = clk.Now
	ctx := t.Context()
	at := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	// usd readings at 10:00, 10:20, 10:40, 11:05; eur at 10:00 only.
	for _, r := range []struct {
		at  time.Time
		usd int64
	}{{at(10, 0), 500}, {at(10, 20), 400}, {at(10, 40), 300}, {at(11, 5), 200}} {
		clk.now = r.at
		snaps := []BalanceSnapshot{{Currency: "usd", Amount: r.usd}}
		if r.at.Equal(at(10, 0)) {
			snaps = append(snaps, BalanceSnapshot{Currency: "EUR", Amount: 90})
		}
		if err := db.InsertBalanceSnapshot(ctx, snaps...); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := db.LatestBalances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		cur    string
		amount int64
		at     time.Time
	}
	rows := func(ss []BalanceSnapshot) []row {
		var out []row
		for _, s := range ss {
			out = append(out, row{s.Currency, s.Amount, s.ReadAt})
		}
		return out
	}
	if got, want := rows(latest), []row{{"EUR", 90, at(10, 0)}, {"USD", 200, at(11, 5)}}; !slices.Equal(got, want) {
		t.Errorf("LatestBalances = %v, want %v", got, want)
	}
	hist, err := db.BalanceHistory(ctx, "usd", at(10, 10), 1)
	if err != nil {
		t.Fatal(err)
	}
	// 10:00 is before since; 10:20 and 10:40 share an hour, the later wins.
	if got, want := rows(hist), []row{{"USD", 300, at(10, 40)}, {"USD", 200, at(11, 5)}}; !slices.Equal(got, want) {
		t.Errorf("BalanceHistory = %v, want %v", got, want)
	}
	if none, err := db.BalanceHistory(ctx, "GBP", time.Time{}, 1); err != nil || len(none) != 0 {
		t.Errorf("GBP history = %v, %v; want nothing", none, err)
	}
	if db.Postgres() {
		return // the plan below is SQLite's
	}
	// A month's chart seeks its first hour, not the currency's first reading.
	plan := explain(t, db, db.balanceHistory(), "USD", "2026-01-01T00", "2026-01-01T00:00:00.000000Z", 1, "2026-01-02T00")
	if !strings.Contains(plan, "hour>?") {
		t.Errorf("the balance history does not seek by hour:\n%s", plan)
	}
}

func TestBalanceInputs(t *testing.T) {
	f := newListFixture(t) // p1 (USD 1000) succeeded at 09:30, p6 (JPY 99) at 14:30, p3 failed, p4 cancelled
	ctx := t.Context()
	f.clock.now = day(1).Add(12 * time.Hour)
	if err := f.db.InsertBalanceSnapshot(ctx, BalanceSnapshot{Currency: "USD", Amount: 1_000_000}, BalanceSnapshot{Currency: "JPY", Amount: 5000}); err != nil {
		t.Fatal(err)
	}
	q := BalanceQuery{OpenStates: []string{"pending_approval", "confirmed"}, SettledState: "succeeded"}
	in, err := f.db.BalanceInputs(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	wantOpen := []Exposure{
		{"EUR", "pending_approval", false, 1, 2500},
		{"USD", "confirmed", true, 1, 1000},
		{"USD", "pending_approval", false, 2, 1001 + 999},
	}
	if !slices.Equal(in.Open, wantOpen) {
		t.Errorf("Open = %v, want %v", in.Open, wantOpen)
	}
	// p1 finished before the 12:00 reading, p6 after it.
	if len(in.Settled) != 1 || in.Settled["JPY"] != 99 {
		t.Errorf("Settled = %v, want JPY 99 only", in.Settled)
	}
	if len(in.Readings) != 2 || in.Readings[0].Currency != "JPY" || in.Readings[1].Amount != 1_000_000 {
		t.Errorf("Readings = %v", in.Readings)
	}

	// Leaving one payout out removes it from whichever sum it was in.
	q.ExcludeID = f.ids["p8"]
	err = f.db.InTx(ctx, func(tx *Tx) error {
		in, err = tx.BalanceInputs(ctx, q)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Exposure{wantOpen[0], wantOpen[1], {"USD", "pending_approval", false, 1, 1001}}; !slices.Equal(in.Open, want) {
		t.Errorf("without p8: Open = %v, want %v", in.Open, want)
	}
	q.ExcludeID = f.ids["p6"]
	if in, err = f.db.BalanceInputs(ctx, q); err != nil || len(in.Settled) != 0 {
		t.Errorf("without p6: Settled = %v, %v; want none", in.Settled, err)
	}
}

// TestLatestBalancesDoesNotReadEverySnapshot: a reading a minute per
// currency is half a million rows a year, and every page shows the gauges.
func TestLatestBalancesDoesNotReadEverySnapshot(t *testing.T) {
	db, _ := openTest(t)
	plan := explain(t, db, latestBalances)
	if strings.Contains(plan, "SCAN balance_snapshots") {
		t.Errorf("the latest readings scan every snapshot:\n%s", plan)
	}
	plan = explain(t, db, `SELECT (SELECT coalesce(sum(p.amount), 0) FROM payouts p
		WHERE p.state = ? AND p.finished_at > ? AND p.currency = ? AND p.id != ?)`, "succeeded", "x", "USD", 0)
	if !strings.Contains(plan, "payouts_finished (state=? AND finished_at>?)") {
		t.Errorf("what finished since a reading is not a range of payouts_finished:\n%s", plan)
	}
}

// TestBalanceStoredWhenChangedOrHourly: a poller reads every minute; an
// unchanged amount within the hour only moves the latest row's CheckedAt,
// so the gauges do not call a just-checked balance old, while what finished
// since the reading still goes by when the amount was first read.
func TestBalanceStoredWhenChangedOrHourly(t *testing.T) {
	db, _ := openTest(t)
	clk := &listClock{}
	db.Now = clk.Now
	ctx := t.Context()
	at := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	type step struct {
		at     time.Time
		amount int64
	}
	for _, s := range []step{
		{at(10, 0), 500}, {at(10, 1), 500}, {at(10, 2), 500}, // one row, checked at 10:02
		{at(10, 3), 400}, {at(10, 59), 400}, // changed: a new row, checked at 10:59
		{at(11, 0), 400}, {at(11, 30), 400}, // a new hour: a new row, checked at 11:30
	} {
		clk.now = s.at
		snap := []BalanceSnapshot{{Currency: "usd", Amount: s.amount}}
		if err := db.InsertBalanceSnapshot(ctx, snap...); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM balance_snapshots`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 3 {
		t.Errorf("stored %d rows for 7 readings, want 3 (10:00, 10:03, 11:00)", rows)
	}
	latest, err := db.LatestBalances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || latest[0].Amount != 400 || !latest[0].ReadAt.Equal(at(11, 0)) || !latest[0].CheckedAt.Equal(at(11, 30)) {
		t.Errorf("LatestBalances = %+v, want 400 read at 11:00, checked at 11:30", latest)
	}
	hist, err := db.BalanceHistory(ctx, "USD", time.Time{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Amount != 400 || !hist[0].ReadAt.Equal(at(10, 3)) || hist[1].Amount != 400 || !hist[1].ReadAt.Equal(at(11, 0)) {
		t.Errorf("BalanceHistory = %+v, want 400 at 10:03 and 400 at 11:00", hist)
	}
	// A reading older than the latest row (a slow reply) never moves it back.
	clk.now = at(11, 10)
	if err := db.InsertBalanceSnapshot(ctx, BalanceSnapshot{Currency: "USD", Amount: 400}); err != nil {
		t.Fatal(err)
	}
	if latest, _ := db.LatestBalances(ctx); !latest[0].CheckedAt.Equal(at(11, 30)) {
		t.Errorf("an older reading moved CheckedAt to %v", latest[0].CheckedAt)
	}
}

// TestBalanceMigrationThinsReadings: migration 090 keeps, of the readings
// stored a minute apart before it, those a reader storing only changes and
// one row an hour would have kept, each checked at the last reading of its run.
func TestBalanceMigrationThinsReadings(t *testing.T) {
	db, _ := openTest(t)
	ctx := t.Context()
	// The table as it was before 090, and the readings of a minute poller.
	if _, err := db.db.ExecContext(ctx, `ALTER TABLE balance_snapshots DROP COLUMN checked_at`); err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	for _, r := range []struct {
		cur    string
		at     time.Time
		amount int64
	}{
		{"USD", at(10, 0), 500}, {"EUR", at(10, 0), 90}, {"USD", at(10, 1), 500}, {"USD", at(10, 2), 500},
		{"USD", at(10, 3), 400}, {"USD", at(10, 59), 400}, {"USD", at(11, 0), 400}, {"USD", at(11, 30), 400},
	} {
		if _, err := db.db.ExecContext(ctx, `INSERT INTO balance_snapshots (currency, amount, read_at) VALUES (?, ?, ?)`,
			r.cur, r.amount, formatTime(r.at)); err != nil {
			t.Fatal(err)
		}
	}
	names, err := migrationNames(db.dialect)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(names, func(n string) bool { return strings.Contains(n, "/090_") })
	if i < 0 {
		t.Fatal("no migration 090")
	}
	body, err := migrations.ReadFile(names[i])
	if err != nil {
		t.Fatal(err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, string(body)); return err })
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		cur             string
		amount          int64
		read, checkedAt time.Time
	}
	rows, err := db.db.QueryContext(ctx, `SELECT currency, amount, read_at, checked_at FROM balance_snapshots ORDER BY currency, read_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []row
	for rows.Next() {
		var r row
		var read, checked string
		if err := rows.Scan(&r.cur, &r.amount, &read, &checked); err != nil {
			t.Fatal(err)
		}
		r.read, r.checkedAt = parseTime(read), parseTime(checked)
		got = append(got, r)
	}
	want := []row{
		{"EUR", 90, at(10, 0), at(10, 0)},
		{"USD", 500, at(10, 0), at(10, 2)},
		{"USD", 400, at(10, 3), at(10, 59)},
		{"USD", 400, at(11, 0), at(11, 30)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("after 090:\n got %v\nwant %v", got, want)
	}
}

// TestOpenExposuresReadTheIndexAlone: the balance banner's sums of the open
// payouts never read the payouts' rows.
func TestOpenExposuresReadTheIndexAlone(t *testing.T) {
	f := newListFixture(t)
	plan := explain(t, f.db, openExposures(3), 0, "pending_approval", "approved", "confirming")
	if !strings.Contains(plan, "COVERING INDEX payouts_state") {
		t.Errorf("the open payouts' sums read the payouts' rows:\n%s", plan)
	}
}

// TestBalanceHistoryThinned: every 4 keeps the hours of the day divisible
// by 4 and the last four hours whole, so the line reaches the latest.
func TestBalanceHistoryThinned(t *testing.T) {
	db, _ := openTest(t)
	clk := &listClock{}
	db.Now = clk.Now
	ctx := t.Context()
	at := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	for h := range 12 {
		clk.now = at(h, 30)
		if err := db.InsertBalanceSnapshot(ctx, BalanceSnapshot{Currency: "USD", Amount: int64(100 + h)}); err != nil {
			t.Fatal(err)
		}
	}
	clk.now = at(11, 45)
	for every, want := range map[int][]int{1: {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 4: {0, 4, 8, 9, 10, 11}, 6: {0, 6, 7, 8, 9, 10, 11}} {
		hist, err := db.BalanceHistory(ctx, "USD", at(0, 0), every)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, s := range hist {
			got = append(got, s.ReadAt.Hour())
			if s.Amount != int64(100+s.ReadAt.Hour()) {
				t.Errorf("every %d: %d at %v", every, s.Amount, s.ReadAt)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("every %d: hours %v, want %v", every, got, want)
		}
	}
}
