package store

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// candidate is one instance running Lead, recording what it lived through.
type candidate struct {
	name    string
	cancel  context.CancelFunc
	stopped chan struct{}
	leading atomic.Bool
	mu      sync.Mutex
	changes []bool
}

// working counts the candidates whose work runs right now; most is the
// largest count seen.
type working struct{ now, most atomic.Int32 }

func (w *working) run(ctx context.Context) {
	n := w.now.Add(1)
	for {
		m := w.most.Load()
		if n <= m || w.most.CompareAndSwap(m, n) {
			break
		}
	}
	<-ctx.Done()
	w.now.Add(-1)
}

func runCandidate(db *DB, name string, w *working) *candidate {
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{name: name, cancel: cancel, stopped: make(chan struct{})}
	go func() {
		defer close(c.stopped)
		db.Lead(ctx, 50*time.Millisecond, func(l bool) {
			c.leading.Store(l)
			c.mu.Lock()
			c.changes = append(c.changes, l)
			c.mu.Unlock()
		}, w.run)
	}()
	return c
}

func (c *candidate) stop() { c.cancel(); <-c.stopped }

// waitLeader waits until one of cs leads and returns it.
func waitLeader(t *testing.T, cs ...*candidate) *candidate {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range cs {
			if c.leading.Load() {
				return c
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("nobody took the lead")
	return nil
}

func TestSQLiteProcessLeads(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "lead.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var w working
	c := runCandidate(db, "only", &w)
	waitLeader(t, c)
	c.stop()
	if c.leading.Load() || w.now.Load() != 0 {
		t.Error("still leading, or working, after its context ended")
	}
}

// TestOneLeaderAmongInstances: of two instances one leads; when it stops
// the other takes over; when the leader's connection is cut it steps down
// and the lock goes to whoever takes it next; the work never runs twice at
// once while leaders hand over in order.
func TestOneLeaderAmongInstances(t *testing.T) {
	a, b := twoInstances(t)
	var w working
	ca, cb := runCandidate(a, "a", &w), runCandidate(b, "b", &w)
	defer ca.stop()
	defer cb.stop()
	first := waitLeader(t, ca, cb)
	time.Sleep(300 * time.Millisecond) // several rounds of the other trying
	if ca.leading.Load() && cb.leading.Load() {
		t.Fatal("both instances lead")
	}
	second := map[*candidate]*candidate{ca: cb, cb: ca}[first]
	first.stop()
	if got := waitLeader(t, second); got != second {
		t.Fatalf("%s leads; want %s to take over", got.name, second.name)
	}
	if m := w.most.Load(); m != 1 {
		t.Errorf("the work ran %d times at once; want 1", m)
	}

	// Cut the leader's connection from the server's side, as a failover or
	// a network fault would: it must notice and step down, and the lock must
	// be free for the next leader.
	var killed int
	err := a.db.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = ?`, lockKeyLeader).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the leader's connection: %d, %v", killed, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		second.mu.Lock()
		ch := append([]bool(nil), second.changes...)
		second.mu.Unlock()
		if len(ch) >= 3 && !ch[1] && ch[2] {
			break // stepped down, then led again once the lock was free
		}
		if time.Now().After(deadline) {
			t.Fatalf("after its connection was cut, %s's leadership went %v; want [true false true]", second.name, ch)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
