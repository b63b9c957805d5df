package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/store/pgtest"
)

// TestPanicInTransactionReleasesTheLock: a callback that panics (Echo
// recovers it and the process goes on) must not leave the transaction open:
// SQLite's write lock would stay held and every later write would fail.
func TestPanicInTransactionReleasesTheLock(t *testing.T) {
	db, _ := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not come through InTx")
			}
		}()
		db.InTx(ctx, func(tx *Tx) error {
			if err := tx.SetSetting(ctx, "panic.test", "half-written"); err != nil {
				t.Fatal(err)
			}
			panic("a bug in a callback")
		})
	}()
	// The pool's other connections must be able to write at once; with the
	// lock held they would wait out busy_timeout and fail with SQLITE_BUSY.
	db.db.SetMaxOpenConns(4)
	done := make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx *Tx) error { return tx.SetSetting(ctx, "after.panic", "ok") })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("write after a panicking transaction: %v", err)
		}
	case <-time.After(8 * time.Second): // busy_timeout is 10 s: a held lock would still be waited on
		t.Fatal("write after a panicking transaction still waits for the lock")
	}
	if v, err := db.Setting(ctx, "panic.test", "none"); err != nil || v != "none" {
		t.Errorf("the panicking transaction's write = %q, %v; want it rolled back", v, err)
	}
	if v, err := db.Setting(ctx, "after.panic", ""); err != nil || v != "ok" {
		t.Errorf("the next write = %q, %v; want ok", v, err)
	}
}

// TestOpeningAnUpToDateDatabaseWritesNothing: a command (countersign
// backup) or a second instance opening a database that is up to date must
// not wait for the write lock a busy console holds: it reads what is applied
// and finds nothing to do.
func TestOpeningAnUpToDateDatabaseWritesNothing(t *testing.T) {
	db, dsn := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx *Tx) error {
			if err := tx.SetSetting(ctx, "held", "yes"); err != nil {
				return err
			}
			close(holding)
			<-release // the write lock is held until the other Open returns
			return nil
		})
	}()
	<-holding
	other, err := Open(ctx, dsn)
	close(release)
	if err != nil {
		t.Fatalf("open while another holds the write lock: %v", err)
	}
	other.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWebhookBodiesPacked: a webhook's body is stored packed, far smaller,
// and read back byte for byte (it may have to prove what the provider said);
// bodies stored plain before are packed when the store opens, once.
func TestWebhookBodiesPacked(t *testing.T) {
	db, path := openTest(t)
	ctx := t.Context()
	body := `{"type":"payment_finished","session":{"id":"ps_71a3b04f11ddb2ff65601af0","status":"accepted","created_at":"2025-12-06T15:50:21.057743Z",` +
		`"updated_at":"2025-12-06T15:53:51.311208Z","payments":[{"id":"po_fbdce1125b401c3fde2c89ba","status":"succeeded",` +
		`"created_at":"2025-12-06T15:50:21.057743Z","finished_at":"2025-12-06T15:53:51.311208Z","payment_method":{"type":"card",` +
		`"card":{"type":"bank_card","last4":"8784","brand":"mastercard","bin":"424242","country_iso3":"GBR"}},"amount_details":` +
		`{"amount":1414,"currency":"eur"},"participant_details":{"recipient":{"full_name":"Sophia Álvarez"}},"customer":` +
		`{"reference":"INV-6523186"},"transaction_info":{"rrn":"000000015838","auth_code":"000002"},"metadata":{"payout_id":2}}]}}`
	err := db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.InsertWebhookEvent(ctx, &WebhookEvent{Key: testKey("k1"), Type: "payment_finished", SessionID: "ps_1", Outcome: WebhookUnknownSession, Body: body})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := db.db.QueryRowContext(ctx, `SELECT length(body) + length(body_packed) FROM webhook_events`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored*3 > len(body) {
		t.Errorf("a %d-byte body takes %d bytes stored, want under a third", len(body), stored)
	}
	// A row from before: plain, unpacked until the store opens again.
	if _, err := db.db.ExecContext(ctx, `INSERT INTO webhook_events (event_key, type, session_id, outcome, body, received_at)
		VALUES (?, 'ready_to_confirm', 'ps_0', 'stale', '{"plain": true}', ?)`, packedTestKey(t, "k0"), db.dialect.instant(time.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM migrations WHERE name = ?`, packedBodiesDone); err != nil {
		t.Fatal(err)
	}
	read := func(db *DB) map[string]string {
		evs, err := db.WebhookEvents(ctx, 0, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range evs {
			out[e.Key] = e.Body
		}
		return out
	}
	want := map[string]string{testKey("k1"): body, testKey("k0"): `{"plain": true}`}
	if got := read(db); !maps.Equal(got, want) {
		t.Errorf("bodies read = %q, want %q", got, want)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var plain int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events WHERE body_packed IS NULL OR body <> ''`).Scan(&plain); err != nil {
		t.Fatal(err)
	}
	if plain != 0 {
		t.Errorf("%d bodies still plain after the store opened", plain)
	}
	if got := read(db); !maps.Equal(got, want) {
		t.Errorf("bodies read after packing = %q, want %q", got, want)
	}
}

// TestWebhookEventsCompactedAfterPacking: packing the bodies of an older
// database shrinks its webhook rows but not the table's pages; the store
// then rebuilds the table once, so the pages hold about what the rows do,
// and the rows, the unique event key and the payout index are as before.
func TestWebhookEventsCompactedAfterPacking(t *testing.T) {
	db, path := openTest(t)
	if db.Postgres() {
		t.Skip("SQLite's pages")
	}
	ctx := t.Context()
	// An older database: 3,000 deliveries stored plain, about 700 bytes each.
	body := func(i int) string {
		return fmt.Sprintf(`{"type":"payment_finished","session":{"id":"ps_%024d","status":"accepted","payments":[{"id":"po_%024d",`+
			`"status":"succeeded","metadata":{"payout_id":%d},"padding":"%s"}]}}`, i, i, i, strings.Repeat("ab", 280))
	}
	err := db.InTx(ctx, func(tx *Tx) error {
		for i := range 3000 {
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO webhook_events (event_key, type, session_id, outcome, body, received_at)
				VALUES (?, 'payment_finished', ?, 'stale', ?, ?)`, packedTestKey(t, fmt.Sprint(i)), fmt.Sprintf("ps_%d", i), body(i), db.dialect.instant(time.Now())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM migrations WHERE name IN (?, ?)`, packedBodiesDone, webhookEventsCompacted); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages, payload int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*), sum(payload) FROM dbstat WHERE name = 'webhook_events'`).Scan(&pages, &payload); err != nil {
		t.Fatal(err)
	}
	// Packed in place, the rows would fill a third of the pages they had;
	// rebuilt, four fifths and more.
	if full := float64(payload) / float64(pages*4096); full < 0.8 {
		t.Errorf("the webhook table's %d pages are %.0f%% full of its rows, want 80%% and more", pages, 100*full)
	}
	evs, err := db.WebhookEvents(ctx, 0, "", 3000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3000 {
		t.Fatalf("%d deliveries after the rebuild, want 3000", len(evs))
	}
	for _, e := range evs {
		var i int
		fmt.Sscanf(e.SessionID, "ps_%d", &i)
		if e.Key != testKey(fmt.Sprint(i)) || e.Body != body(i) {
			t.Fatalf("delivery %s reads back %q, want its key and body as stored", e.SessionID, e.Body)
		}
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO webhook_events (event_key, type, session_id, outcome, body, received_at)
		VALUES (?, 'payment_finished', 'ps_7', 'stale', '', 0)`, packedTestKey(t, "7")); err == nil {
		t.Error("a second delivery with a stored key was accepted: the rebuilt table lost its unique key")
	}
	// The rebuild made the table from its own definition: 097's integer
	// times stay integers (a copy of an older shape would make them text).
	var text int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events WHERE typeof(received_at) <> 'integer'`).Scan(&text); err != nil || text != 0 {
		t.Errorf("%d deliveries received at a time that is not an integer after the rebuild (err=%v), want none", text, err)
	}
	if plan := explain(t, db, `SELECT id FROM webhook_events WHERE payout_id = ? ORDER BY id`, 7); !strings.Contains(plan, "webhook_events_payout") {
		t.Errorf("a payout's deliveries are read by %q, want the webhook_events_payout index", plan)
	}
	var recorded int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, webhookEventsCompacted).Scan(&recorded); err != nil || recorded != 1 {
		t.Errorf("the rebuild is recorded %d times (%v), want once", recorded, err)
	}
}

// TestTheLogIsCheckpointedBesideTheWriters: the connections never
// checkpoint the write-ahead log themselves (a commit would do it while its
// writer holds the turn to write); the DB's checkpointer copies the log
// into the database file on its own, so the file grows with what was
// written and the log does not grow for ever.
func TestTheLogIsCheckpointedBesideTheWriters(t *testing.T) {
	db, path := openTest(t)
	if db.Postgres() {
		t.Skip("SQLite's write-ahead log")
	}
	ctx := t.Context()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	before := st.Size()
	// About 2 MB in 1,000 commits: past the thousand pages at which a
	// connection would checkpoint inside its commit.
	for i := range 1000 {
		if err := db.InTx(ctx, func(tx *Tx) error {
			return tx.SetSetting(ctx, fmt.Sprintf("padding.%d", i), strings.Repeat("x", 2000))
		}); err != nil {
			t.Fatal(err)
		}
	}
	var autocheckpoint int
	if err := db.db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&autocheckpoint); err != nil || autocheckpoint != 0 {
		t.Errorf("wal_autocheckpoint = %d, %v; want 0 (the commits never checkpoint)", autocheckpoint, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() >= before+2_000_000 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes after 2 MB written (it was %d): the log was not checkpointed", st.Size(), before)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPackedBodiesReadForever: a body packed by an earlier build reads back
// byte for byte. The packing is primed with a built-in dictionary; an edit
// to it would make every stored body unreadable, and this packed form,
// written once by the first packing build, is what catches that.
func TestPackedBodiesReadForever(t *testing.T) {
	packed, err := hex.DecodeString("012231aa0db11645b5b580000000ffff")
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"type":"ready_to_confirm","session":{"id":"ps_1","status":"accepted"}}`
	if got, err := unpackBody("", packed); err != nil || got != want {
		t.Errorf("an earlier build's packed body reads %q, %v; want %q", got, err, want)
	}
}

// TestBodiesPackAtOnce: many requests packing at once share the few
// packers, and every body reads back as it was.
func TestBodiesPackAtOnce(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			body := fmt.Sprintf(`{"type":"payment_finished","session":{"id":"ps_%d","status":"accepted"}}`, i)
			for range 20 {
				if got, err := unpackBody("", PackWebhookBody(body)); err != nil || got != body {
					t.Errorf("%q read back as %q, %v", body, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(packers) != cap(packers) {
		t.Errorf("%d of %d packers back after packing", len(packers), cap(packers))
	}
}

// testKey is a webhook event's key as payout computes one: the hex of the
// SHA-256 of a body (here, of s).
func testKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// packedTestKey is testKey(s) as stored, for rows written in SQL.
func packedTestKey(t *testing.T, s string) []byte {
	t.Helper()
	b, err := packWebhookKey(testKey(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWebhookKeysAndTimesMigration: deliveries stored before migration 097
// (the key as hex text, the time as text) read back the same after it, and
// a retry of one of them is still recognised and stored once.
func TestWebhookKeysAndTimesMigration(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	old := openMigratedTo(t, dsn, "096")
	at := time.Date(2026, 3, 1, 9, 30, 15, 123456000, time.UTC)
	for _, k := range []string{"a", "b"} {
		if _, err := old.db.ExecContext(ctx, `INSERT INTO webhook_events (event_key, type, session_id, outcome, body, body_packed, received_at)
			VALUES (?, 'payment_finished', ?, 'stale', '', ?, ?)`, testKey(k), "ps_"+k, PackWebhookBody(`{"k":"`+k+`"}`), formatTime(at)); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.WebhookEvents(ctx, 0, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Key != testKey("b") || evs[1].Key != testKey("a") || !evs[0].ReceivedAt.Equal(at) || evs[1].Body != `{"k":"a"}` {
		t.Fatalf("after 097: %+v; want deliveries b and a, received at %s", evs, at)
	}
	err = db.InTx(ctx, func(tx *Tx) error {
		seen, err := tx.WebhookEventsSeen(ctx, []string{testKey("a"), testKey("c")})
		if err != nil {
			return err
		}
		if !seen[testKey("a")] || seen[testKey("c")] {
			t.Errorf("seen after 097: %v; want a and not c", seen)
		}
		fresh, err := tx.InsertWebhookEvent(ctx, &WebhookEvent{Key: testKey("a"), Type: "payment_finished", SessionID: "ps_a", Outcome: WebhookStale, Body: `{"k":"a"}`})
		if fresh {
			t.Error("a retry of a delivery stored before 097 was stored again")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if db.Postgres() {
		return
	}
	var loose int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events WHERE typeof(event_key) <> 'blob' OR length(event_key) <> 32 OR typeof(received_at) <> 'integer'`).Scan(&loose); err != nil || loose != 0 {
		t.Errorf("%d deliveries keep a text key or time (err=%v), want none", loose, err)
	}
}

// TestProviderCallTimes: a provider call's times read back to the
// microsecond, and the reconciler's two questions (calls left open before a
// time, calls under way since one) compare them as times.
func TestProviderCallTimes(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	start := f.clock.now.Add(time.Hour + 123456*time.Microsecond)
	call := func(at time.Time, action string, finish bool) {
		f.clock.now = at
		err := f.db.InTx(ctx, func(tx *Tx) error {
			c := &ProviderCall{PayoutID: f.ids["p2"], Action: action, IdempotencyKey: action}
			if err := tx.StartProviderCall(ctx, c); err != nil || !finish {
				return err
			}
			f.clock.now = at.Add(time.Second)
			tx.SetNow(f.clock.now)
			return tx.FinishProviderCall(ctx, c.ID, CallOK, "", "")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	call(start, "session/create", true)
	call(start.Add(time.Minute), "session/confirm", false)
	calls, err := f.db.ProviderCalls(ctx, f.ids["p2"])
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || !calls[0].StartedAt.Equal(start) || !calls[0].FinishedAt.Equal(start.Add(time.Second)) ||
		!calls[1].StartedAt.Equal(start.Add(time.Minute)) || !calls[1].FinishedAt.IsZero() {
		t.Fatalf("calls read back: %+v; want started at %s, finished a second later, then one open a minute later", calls, start)
	}
	open, err := f.db.OpenProviderCalls(ctx, start.Add(time.Minute))
	if err != nil || len(open) != 0 {
		t.Errorf("calls open before the open one started: %+v err=%v; want none", open, err)
	}
	open, err = f.db.OpenProviderCalls(ctx, start.Add(time.Minute+time.Microsecond))
	if err != nil || len(open) != 1 || open[0].Action != "session/confirm" {
		t.Errorf("calls open a microsecond after it started: %+v err=%v; want the confirm", open, err)
	}
	for since, want := range map[time.Duration]bool{time.Minute: true, time.Minute + time.Microsecond: false} {
		under, err := f.db.PayoutsWithCallsUnderWay(ctx, start.Add(since))
		if err != nil || under[f.ids["p2"]] != want {
			t.Errorf("under way since start+%s: %v err=%v; want p2 %v", since, under, err, want)
		}
	}
}

// TestTablesRebuiltBy097KeepTheirIndexesAndTriggers: SQLite rebuilds four
// tables in 097; each must come back with every index and trigger it had.
func TestTablesRebuiltBy097KeepTheirIndexesAndTriggers(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	if IsPostgres(dsn) {
		t.Skip("PostgreSQL changes the columns in place")
	}
	schema := func(db *DB) []string {
		return texts(t, db, `SELECT type || ' ' || name || ' on ' || tbl_name FROM sqlite_schema
			WHERE tbl_name IN ('audit_log', 'webhook_events', 'provider_calls', 'balance_snapshots') ORDER BY 1`)
	}
	old := openMigratedTo(t, dsn, "096")
	before := schema(old)
	old.Close()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if after := schema(db); !slices.Equal(before, after) || len(after) < 12 {
		t.Errorf("after 097:\n %q\nbefore:\n %q", after, before)
	}
}

// texts runs q and returns its one text column, row by row.
func texts(t *testing.T, db *DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// openMigratedTo opens dsn with the migrations up to the one numbered last
// applied, for a test to write rows in an older layout. The caller closes it.
func openMigratedTo(t *testing.T, dsn, last string) *DB {
	t.Helper()
	open := openSQLite
	if IsPostgres(dsn) {
		open = openPostgres
	}
	db, err := open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.migrateTo(t.Context(), last); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db
}
