package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/secret"
	"countersign/store"
	"countersign/store/pgtest"
)

type fixture struct {
	t          *testing.T
	db         *store.DB
	dbPath     string
	key        *secret.Key
	checkpoint string
}

func TestMain(m *testing.M) { pgtest.Main(m) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dbPath: pgtest.DSN(t), checkpoint: filepath.Join(dir, "countersign.checkpoint")}
	var err error
	if f.db, err = store.Open(t.Context(), f.dbPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	if f.key, _, err = secret.LoadOrCreate(filepath.Join(dir, "countersign.key"), 1); err != nil {
		t.Fatal(err)
	}
	if err := f.db.UseAuditKey(t.Context(), f.key.Derive(secret.PurposeAuditChain), store.AuditStart{From: 1, Created: true}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) append(n int) {
	f.t.Helper()
	for i := range n {
		if err := f.db.Audit(context.Background(), store.AuditEntry{Actor: "ann@example.com", Action: "payout.approve", ObjectType: "payout", ObjectID: fmt.Sprint(i), Outcome: "ok"}); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) checkpointer() *Checkpointer {
	return &Checkpointer{DB: f.db, Key: f.key, Path: f.checkpoint}
}

func (f *fixture) tamper(stmts ...string) {
	f.t.Helper()
	raw := pgtest.Raw(f.t, f.dbPath)
	off := []string{`DROP TRIGGER IF EXISTS audit_no_update`, `DROP TRIGGER IF EXISTS audit_no_delete`}
	if store.IsPostgres(f.dbPath) {
		off = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
	}
	for _, q := range append(off, stmts...) {
		if _, err := raw.Exec(q); err != nil {
			f.t.Fatalf("%s: %v", q, err)
		}
	}
}

func (f *fixture) verify() (Report, *Problem) {
	f.t.Helper()
	r, err := Verify(context.Background(), f.db, f.key, f.checkpoint)
	var p *Problem
	if err != nil && !errors.As(err, &p) {
		f.t.Fatalf("Verify: %v", err)
	}
	return r, p
}

func TestVerifyIntactLogWithCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.append(5)
	if err := f.checkpointer().WriteNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.append(2) // entries after the checkpoint are fine: it is a lower bound
	r, p := f.verify()
	if p != nil {
		t.Fatalf("intact log: %v", p)
	}
	if r.Entries != 8 || r.KeyedFrom != 1 || r.Checkpoint.Entry != 6 {
		t.Errorf("report = %+v; want 8 entries, keyed from 1, checkpoint at 6", r)
	}
}

// TestVerifyDetects is the table of every way the log may be rewritten with
// database access only; each must be caught, naming the first bad entry.
func TestVerifyDetects(t *testing.T) {
	for _, tt := range []struct {
		name      string
		change    func(f *fixture)
		wantEntry int64
		wantWords string
	}{
		{"edited entry", func(f *fixture) { f.tamper(`UPDATE audit_log SET actor = 'eve@example.com' WHERE id = 3`) }, 3, "edited"},
		{"removed entry", func(f *fixture) { f.tamper(`DELETE FROM audit_log WHERE id = 4`) }, 5, "removed or inserted"},
		{"inserted entry", func(f *fixture) {
			f.tamper(`INSERT INTO audit_log (id, at, actor, action_id, outcome, hash) SELECT 7, at, actor, action_id, outcome, hash FROM audit_log WHERE id = 6`)
		}, 7, "does not match its keyed hash"},
		{"truncated log", func(f *fixture) { f.tamper(`DELETE FROM audit_log WHERE id >= 5`) }, 5, "entries 5 to 6 were removed"},
		{"recomputed without the key", func(f *fixture) { recompute(f, 2) }, 2, "without the key"},
		{"checkpoint file removed", func(f *fixture) { os.Remove(f.checkpoint) }, 7, "no checkpoint file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.append(5)
			if err := f.checkpointer().WriteNow(t.Context()); err != nil {
				t.Fatal(err)
			}
			tt.change(f)
			_, p := f.verify()
			if p == nil {
				t.Fatal("the change went unnoticed")
			}
			if p.Entry != tt.wantEntry || !strings.Contains(p.Error(), tt.wantWords) {
				t.Errorf("problem = %v; want entry %d and %q", p, tt.wantEntry, tt.wantWords)
			}
		})
	}
}

// recompute edits entry from and recomputes every hash after it with the
// plain hash of the pre-key log, as someone without the key would have to.
func recompute(f *fixture, from int64) {
	entries, err := f.db.AuditEntries(context.Background(), store.AuditFilter{Ascending: true})
	if err != nil {
		f.t.Fatal(err)
	}
	var stmts []string
	prev := entries[from-2].Hash
	for _, e := range entries[from-1:] {
		if e.ID == from {
			e.Actor = "eve@example.com"
		}
		e.PrevHash = prev
		h := sha256Hex(e)
		stmts = append(stmts, fmt.Sprintf(`UPDATE audit_log SET actor = '%s', hash = %s WHERE id = %d`, e.Actor, hashLiteral(f.dbPath, h), e.ID))
		prev = h
	}
	f.tamper(stmts...)
}

func TestCheckpointFileCannotBeForged(t *testing.T) {
	f := newFixture(t)
	f.append(3)
	if err := f.checkpointer().WriteNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.checkpoint)
	os.WriteFile(f.checkpoint, bytes.Replace(b, []byte(`"entry":4`), []byte(`"entry":2`), 1), 0o600)
	if _, err := Verify(t.Context(), f.db, f.key, f.checkpoint); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("edited checkpoint: %v; want refused", err)
	}
	other, _ := secret.New(bytes.Repeat([]byte{1}, 32))
	if _, err := ReadCheckpoint(f.checkpoint, other); err == nil {
		t.Error("a checkpoint read under another key")
	}
}

func TestCheckpointerKeepsEvidenceOfTruncation(t *testing.T) {
	f := newFixture(t)
	f.append(5)
	if err := f.checkpointer().WriteNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(f.checkpoint)
	f.tamper(`DELETE FROM audit_log WHERE id >= 4`)
	err := f.checkpointer().WriteNow(t.Context()) // a restarted process
	if err == nil || !strings.Contains(err.Error(), "entries were removed") {
		t.Errorf("WriteNow on a truncated log: %v; want it refused", err)
	}
	if after, _ := os.ReadFile(f.checkpoint); !bytes.Equal(before, after) {
		t.Error("the checkpoint was overwritten by a shorter log")
	}
}

// TestCheckpointerRuns: a checkpoint follows new entries on the tick, is
// written to the log too, and a last one is written when the worker stops.
func TestCheckpointerRuns(t *testing.T) {
	f := newFixture(t)
	var logs syncBuffer
	c := f.checkpointer()
	c.Every, c.Logger = 20*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil))
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	f.append(3)
	waitFor(t, func() bool { cp, err := ReadCheckpoint(f.checkpoint, f.key); return err == nil && cp.Entry == 4 })
	// The line is logged once the file is written: wait for it too.
	waitFor(t, func() bool { return strings.Contains(logs.String(), "entry=4") })
	if !strings.Contains(logs.String(), "audit checkpoint") {
		t.Errorf("no checkpoint log line:\n%s", logs.String())
	}
	f.append(1)
	stop()
	<-done
	if cp, err := ReadCheckpoint(f.checkpoint, f.key); err != nil || cp.Entry != 5 {
		t.Errorf("after shutdown the checkpoint is at %d (%v); want 5", cp.Entry, err)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestCheckpointerKeepsEvidenceOfARewrite: when the checkpointed entry no
// longer carries the checkpointed hash, a restarted checkpointer says so and
// keeps the old file, however far the log grew since.
func TestCheckpointerKeepsEvidenceOfARewrite(t *testing.T) {
	f := newFixture(t)
	f.append(3)
	if err := f.checkpointer().WriteNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(f.checkpoint)
	f.tamper(`UPDATE audit_log SET detail = 'nothing happened', hash = 'ab' WHERE id = 4`)
	f.append(2)
	err := f.checkpointer().WriteNow(t.Context())
	if err == nil || !strings.Contains(err.Error(), "entry 4 no longer has the hash") {
		t.Errorf("WriteNow over a rewritten log: %v; want it refused", err)
	}
	if after, _ := os.ReadFile(f.checkpoint); !bytes.Equal(before, after) {
		t.Error("the checkpoint was overwritten after the log was rewritten")
	}
}
