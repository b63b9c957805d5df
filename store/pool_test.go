package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestReadStatementsAreKept: on SQLite a read query's text is prepared once
// and kept; at most maxReadStatements texts are, the least recently used
// going first; a long text is never kept; every query answers the same
// whether or not its statement was kept.
func TestReadStatementsAreKept(t *testing.T) {
	db, _ := openTest(t)
	if db.Postgres() {
		t.Skip("pgx keeps PostgreSQL's statements prepared itself")
	}
	ctx := t.Context()
	r := db.db.reads
	r.close() // start empty: Open's own queries were kept too
	r.closed = false
	ask := func(i int) {
		t.Helper()
		var got int
		if err := db.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + ?`, i), 1).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("query %d: %d, %v", i, got, err)
		}
	}
	ask(0)
	first := r.byText[`SELECT 0 + ?`]
	ask(0)
	if len(r.byText) != 1 || first == nil || r.byText[`SELECT 0 + ?`] != first {
		t.Fatalf("one text asked twice: kept %d statements", len(r.byText))
	}
	for i := 1; i <= maxReadStatements; i++ {
		ask(i)
		ask(1) // keeps 1 recently used
	}
	if len(r.byText) != maxReadStatements {
		t.Errorf("kept %d statements; want at most %d", len(r.byText), maxReadStatements)
	}
	if r.byText[`SELECT 0 + ?`] != nil || r.byText[`SELECT 1 + ?`] == nil || r.byText[fmt.Sprintf(`SELECT %d + ?`, maxReadStatements)] == nil {
		t.Error("the least recently used statement was not the one dropped")
	}
	long := `SELECT ? /*` + strings.Repeat("x", maxReadStatementText) + `*/`
	var got int
	if err := db.db.QueryRowContext(ctx, long, 7).Scan(&got); err != nil || got != 7 || r.byText[long] != nil {
		t.Errorf("a long text: %d, %v, kept %v", got, err, r.byText[long] != nil)
	}
	if err := db.db.QueryRowContext(ctx, `SELECT nonsense FROM nowhere`).Scan(&got); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("a query that does not compile: %v", err)
	}
}

// TestReadStatementEvictedInUse: a statement dropped while a query holds it
// stays open for that query and closes when it is released.
func TestReadStatementEvictedInUse(t *testing.T) {
	db, _ := openTest(t)
	if db.Postgres() {
		t.Skip("pgx keeps PostgreSQL's statements prepared itself")
	}
	ctx := t.Context()
	r := db.db.reads
	held := r.acquire(ctx, db.db.DB, `SELECT 40 + ?`)
	for i := range maxReadStatements {
		r.release(r.acquire(ctx, db.db.DB, fmt.Sprintf(`SELECT %d`, i)))
	}
	if r.byText[`SELECT 40 + ?`] != nil || !held.evicted {
		t.Fatal("the held statement was not the one dropped")
	}
	var got int
	if err := held.stmt.QueryRowContext(ctx, 2).Scan(&got); err != nil || got != 42 {
		t.Fatalf("a dropped statement in use: %d, %v", got, err)
	}
	r.release(held)
	if err := held.stmt.QueryRowContext(ctx, 2).Scan(&got); err == nil {
		t.Error("a dropped statement still runs after its last user released it")
	}
}

// TestReadStatementsUnderLoad: many goroutines asking more texts than are
// kept (run with -race) all get their own answers.
func TestReadStatementsUnderLoad(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 3 * maxReadStatements {
				n := (i*7 + g) % (2 * maxReadStatements)
				var got int
				rows, err := db.db.QueryContext(ctx, fmt.Sprintf(`SELECT %d + ?`, n), g)
				if err != nil {
					t.Error(err)
					return
				}
				for rows.Next() {
					err = rows.Scan(&got)
				}
				rows.Close()
				if err != nil || got != n+g {
					t.Errorf("query %d + %d: %d, %v", n, g, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestReadStatementsInATransaction: a read transaction's queries run the
// kept statements on its own connection, seeing its snapshot, and the
// statement stays kept, and usable, after the transaction ends.
func TestReadStatementsInATransaction(t *testing.T) {
	db, _ := openTest(t)
	if db.Postgres() {
		t.Skip("pgx keeps PostgreSQL's statements prepared itself")
	}
	ctx := t.Context()
	const count = `SELECT count(*) FROM users`
	users := func(q querier) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, count).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tx, err := db.db.BeginTx(ctx, db.dialect.readOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rd := db.db.reading(tx)
	before := users(rd)
	if err := db.CreateUser(ctx, &User{Email: "new@example.com", Name: "New", PasswordHash: "x", Active: true}); err != nil {
		t.Fatal(err)
	}
	if got := users(rd); got != before {
		t.Errorf("the transaction saw a user created after its first read: %d, then %d", before, got)
	}
	kept := db.db.reads.byText[count]
	tx.Rollback()
	if kept == nil {
		t.Fatal("a read transaction's query was not kept")
	}
	if got := users(db.db); got != before+1 || db.db.reads.byText[count] != kept {
		t.Errorf("after the transaction: %d users (want %d), same statement %v", got, before+1, db.db.reads.byText[count] == kept)
	}
}

// TestGroupReadsKeepTheirStatements: the webhook writer's reads of a group
// (which keys are stored) answer right whatever the group's size, and
// groups of 3 and 4 keys share one kept statement: lists are padded to a
// power of two.
func TestGroupReadsKeepTheirStatements(t *testing.T) {
	if got, args := inList([]string{"a", "b", "c"}); got != `(?,?,?,?)` || len(args) != 4 || args[3] != "c" {
		t.Errorf("inList of 3 = %s %v", got, args)
	}
	if got, args := inList([]string{"a"}); got != `(?)` || len(args) != 1 {
		t.Errorf("inList of 1 = %s %v", got, args)
	}
	db, _ := openTest(t)
	ctx := t.Context()
	if err := db.InTx(ctx, func(tx *Tx) error {
		for _, k := range []string{"k1", "k2"} {
			if _, err := tx.InsertWebhookEvent(ctx, &WebhookEvent{Key: testKey(k), Type: "payment_finished", Outcome: "applied", Body: "{}"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	kept := func() int {
		if db.db.reads == nil {
			return 0
		}
		db.db.reads.mu.Lock()
		defer db.db.reads.mu.Unlock()
		n := 0
		for text := range db.db.reads.byText {
			if strings.Contains(text, "FROM webhook_events WHERE event_key IN") {
				n++
			}
		}
		return n
	}
	for _, names := range [][]string{{"k1", "x", "k2"}, {"y", "k2", "z", "w"}} {
		var keys []string
		for _, n := range names {
			keys = append(keys, testKey(n))
		}
		var seen map[string]bool
		if err := db.InTx(ctx, func(tx *Tx) (err error) { seen, err = tx.WebhookEventsSeen(ctx, keys); return err }); err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			if seen[keys[i]] != (n == "k1" || n == "k2") {
				t.Errorf("%v: %s seen %v", names, n, seen[keys[i]])
			}
		}
	}
	if n := kept(); !db.Postgres() && n != 1 {
		t.Errorf("groups of 3 and 4 keys kept %d statements; want 1", n)
	}
}
