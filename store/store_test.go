package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
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
		_, err := tx.InsertWebhookEvent(ctx, &WebhookEvent{Key: "k1", Type: "payment_finished", SessionID: "ps_1", Outcome: WebhookUnknownSession, Body: body})
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
		VALUES ('k0', 'ready_to_confirm', 'ps_0', 'stale', '{"plain": true}', '2026-01-01T00:00:00.000000Z')`); err != nil {
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
	want := map[string]string{"k1": body, "k0": `{"plain": true}`}
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
				VALUES (?, 'payment_finished', ?, 'stale', ?, '2026-01-01T00:00:00.000000Z')`, fmt.Sprintf("key-%05d", i), fmt.Sprintf("ps_%d", i), body(i)); err != nil {
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
		fmt.Sscanf(e.Key, "key-%05d", &i)
		if e.Body != body(i) {
			t.Fatalf("delivery %s reads back %q, want its body as stored", e.Key, e.Body)
		}
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO webhook_events (event_key, type, session_id, outcome, body, received_at)
		VALUES ('key-00007', 'payment_finished', 'ps_7', 'stale', '', '2026-01-01T00:00:00.000000Z')`); err == nil {
		t.Error("a second delivery with a stored key was accepted: the rebuilt table lost its unique key")
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
