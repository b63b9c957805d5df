package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"countersign/store/pgtest"
)

// oldAuditLog writes entries into dsn's audit log the way the store did
// before migration 094 (prev_hash beside a hex hash), migrating only up to
// 093 first: three plain entries, the switch-over, three keyed ones. It
// returns them as the store should read them back. change, if set, alters
// an entry's stored hash text the way a tampered row might carry it.
func oldAuditLog(t *testing.T, dsn string, change func(id int64, hash string) string) []AuditEntry {
	t.Helper()
	ctx := t.Context()
	old := openMigratedTo(t, dsn, "093")
	defer old.Close()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var entries []AuditEntry
	prev := ""
	for id := int64(1); id <= 7; id++ {
		e := AuditEntry{ID: id, At: start.Add(time.Duration(id) * time.Minute), ActorID: id % 3, Actor: "ann@example.com",
			Action: "payout.approve", ObjectType: "payout", ObjectID: fmt.Sprint(id), IP: "192.0.2.7", Outcome: "ok",
			Detail: fmt.Sprintf("approved payout %d", id), PrevHash: prev}
		if id == 4 {
			e.ActorID, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.IP, e.Detail = 0, "system", AuditChainKeyed, "", "", "", "keyed from here"
		}
		if id < 4 {
			e.Hash = auditHash(e)
		} else {
			e.Hash = auditMAC(testAuditKey, e)
		}
		stored := e.Hash
		if change != nil {
			stored = change(id, e.Hash)
		}
		var actorID any
		if e.ActorID != 0 {
			actorID = e.ActorID
		}
		if _, err := old.db.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_id, actor, action, object_type, object_id, ip, outcome, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, formatTime(e.At), actorID, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.IP, e.Outcome, e.Detail, e.PrevHash, stored); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
		prev = e.Hash
	}
	return entries
}

// TestAuditLogCompactMigration: a log written in the layout before 094
// verifies after it, under the key it was chained with, reads back the same
// hex hashes (and previous hashes, for the export), and goes on chaining.
func TestAuditLogCompactMigration(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	want := oldAuditLog(t, dsn, nil)
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.VerifyAudit(ctx, testAuditKey, 6)
	if err != nil || c.Break != nil || c.Checked != 7 || c.KeyedFrom != 4 || c.Head != want[6].Hash || c.MarkHash != want[5].Hash {
		t.Fatalf("after 094: %+v err=%v; want 7 intact entries keyed from 4, head %s", c, err, want[6].Hash)
	}
	got, err := db.AuditEntries(ctx, AuditFilter{Ascending: true, PrevHash: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(g, w AuditEntry) bool { return g == w }) {
		t.Errorf("read back after 094:\n got %+v\nwant %+v", got, want)
	}
	// 097 moved the actions into audit_actions: the filter finds them there.
	if es, err := db.AuditEntries(ctx, AuditFilter{Action: "payout."}); err != nil || len(es) != 6 || es[0].ID != 7 || es[5].ID != 1 {
		t.Errorf("entries with a payout. action after 097: %+v err=%v; want entries 7 to 1 but 4", es, err)
	}
	if err := db.UseAuditKey(ctx, testAuditKey, AuditStart{From: 4}); err != nil {
		t.Fatalf("the migrated log under its key: %v", err)
	}
	appendSome(t, db, 2)
	if c, err := db.VerifyAudit(ctx, testAuditKey, 0); err != nil || c.Break != nil || c.Checked != 9 {
		t.Errorf("after appending to the migrated log: %+v err=%v; want 9 intact entries", c, err)
	}
	if db.Postgres() {
		return
	}
	// The rebuilt table has what the old one had after all migrations.
	schema := texts(t, db, `SELECT type || ' ' || name FROM sqlite_schema WHERE tbl_name = 'audit_log' ORDER BY type, name`)
	if w := []string{"index audit_action", "index audit_at", "index audit_object", "table audit_log", "trigger audit_no_delete", "trigger audit_no_update"}; !slices.Equal(schema, w) {
		t.Errorf("audit_log's schema after 094: %q; want %q", schema, w)
	}
	// After 097, every time is an integer, old ones and new, and a date
	// range still finds the entries in it.
	var text int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE typeof(at) <> 'integer'`).Scan(&text); err != nil || text != 0 {
		t.Errorf("%d entries keep their time as something other than an integer (err=%v), want none", text, err)
	}
	ranged, err := db.AuditEntries(ctx, AuditFilter{From: want[1].At, To: want[4].At, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ranged) != 3 || ranged[0].ID != 2 || ranged[2].ID != 4 {
		t.Errorf("entries from %s to %s: %+v; want entries 2 to 4", want[1].At, want[4].At, ranged)
	}
}

// TestIntegerTimesMigrationKeepsATamperedTime: a time that is not in the
// stored layout (a row someone edited) does not stop migration 097, is kept
// as it was, and verification reports that row.
func TestIntegerTimesMigrationKeepsATamperedTime(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	if IsPostgres(dsn) {
		t.Skip("PostgreSQL keeps a timestamptz, which holds no free text")
	}
	oldAuditLog(t, dsn, nil)
	tamperWith(t, dsn, `UPDATE audit_log SET at = 'the day before' WHERE id = 5`)
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var at string
	if err := db.db.QueryRowContext(ctx, `SELECT at FROM audit_log WHERE id = 5`).Scan(&at); err != nil || at != "the day before" {
		t.Errorf("entry 5's time after 097: %q (err=%v), want the text it had", at, err)
	}
	c, err := db.VerifyAudit(ctx, testAuditKey, 0)
	if err != nil || c.Break == nil || c.Break.ID != 5 || c.Checked != 4 {
		t.Errorf("after 097: %+v err=%v; want the chain broken at entry 5", c, err)
	}
}

// TestAuditLogCompactMigrationKeepsATamperedRow: a hash that is not hex
// (a row someone edited) does not stop the migration, and verification
// still reports that row.
func TestAuditLogCompactMigrationKeepsATamperedRow(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	oldAuditLog(t, dsn, func(id int64, hash string) string {
		if id == 5 {
			return "not a hash"
		}
		return hash
	})
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.VerifyAudit(ctx, testAuditKey, 0)
	if err != nil || c.Break == nil || c.Break.ID != 5 || c.Checked != 4 {
		t.Errorf("after 094: %+v err=%v; want the chain broken at entry 5", c, err)
	}
}

// TestAuditRemovedEntryIsFoundAtTheNext: with no copy of the previous hash
// in a row, an entry deleted from the middle of the log is still found,
// at the entry after it: its hash covers the one that is gone. In the plain
// part, where ids are not hashed, renumbering the rest does not hide it.
func TestAuditRemovedEntryIsFoundAtTheNext(t *testing.T) {
	for _, tt := range []struct {
		name  string
		keyed bool
		sql   []string
		want  int64
		words string
	}{
		{"keyed", true, []string{`DELETE FROM audit_log WHERE id = 3`}, 4, "removed"},
		{"plain", false, []string{`DELETE FROM audit_log WHERE id = 3`}, 4, "removed"},
		{"plain, renumbered", false, []string{`DELETE FROM audit_log WHERE id = 3`,
			`UPDATE audit_log SET id = id - 1 WHERE id = 4`, `UPDATE audit_log SET id = id - 1 WHERE id = 5`}, 3, "removed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, path := openTest(t)
			var key []byte
			if tt.keyed {
				key = testAuditKey
				if err := db.UseAuditKey(t.Context(), key, AuditStart{From: 1}); err != nil {
					t.Fatal(err)
				}
			}
			appendSome(t, db, 5)
			tamperWith(t, path, tt.sql...)
			c, err := db.VerifyAudit(t.Context(), key, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.Break == nil || c.Break.ID != tt.want || c.Checked != 2 || !strings.Contains(c.Break.Reason, tt.words) {
				t.Errorf("%+v, break %+v; want the chain broken at entry %d after 2 intact, saying %q", c, c.Break, tt.want, tt.words)
			}
		})
	}
}
