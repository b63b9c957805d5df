package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebhookAnsweredOnlyOnceStored: the webhook writer answers 200 only for
// what it committed. The real binary is killed (SIGKILL, no shutdown) in the
// middle of a burst of signed webhooks from many clients; after a restart,
// every event that was answered 200 is in the database with its payout moved.
func TestWebhookAnsweredOnlyOnceStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := buildConsole(ctx, "..", dir)
	if err != nil {
		t.Fatal(err)
	}
	f := files{dir: filepath.Join(dir, "data")}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A fresh database as the console makes it, then payouts the provider
	// is about to finish, written beside it.
	c, err := startConsole(bin, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	db, err := openForBench(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := newGen(ctx, db, 5)
	if err := g.addPeople(time.Now().UTC().Add(-48 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := g.loadPeople(); err != nil {
		t.Fatal(err)
	}
	if err := g.addRecipients(40, time.Now().UTC().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := g.run(time.Now().UTC(), nil); err != nil {
		t.Fatal(err)
	}
	ps, err := addConfirmed(ctx, db, 1200, 6)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := sandboxKey(f)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := sign.signAll(finishedBodies(ps))
	if err != nil {
		t.Fatal(err)
	}

	c, err = startConsole(bin, f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	url := c.url + "/webhooks/smartglocal"
	hc := &http.Client{Transport: transport, Timeout: time.Minute}
	answered := make([]bool, len(ds)) // answered[i]: ds[i] got 200
	var next, ok, failed atomic.Int64
	var kill sync.Once
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ds) {
					return
				}
				status, err := post(hc, url, ds[i])
				if err != nil || status != http.StatusOK {
					failed.Add(1)
					continue
				}
				answered[i] = true
				// Killed once a good part of the burst was answered, so that
				// groups are committing and others are waiting to.
				if ok.Add(1) == int64(len(ds)/4) {
					kill.Do(func() { c.cmd.Process.Kill() })
				}
			}
		})
	}
	wg.Wait()
	kill.Do(func() { c.cmd.Process.Kill() })
	// Reaped here, and its stop (deferred above) made a no-op.
	c.once.Do(func() {
		<-c.exited
		c.logFile.Close()
	})
	if ok.Load() == 0 || failed.Load() == 0 {
		t.Fatalf("the kill did not land in the burst: %d answered 200, %d not", ok.Load(), failed.Load())
	}

	// Started again (recovery runs as it would), then asked.
	c, err = startConsole(bin, f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	missing := 0
	for i, p := range ps {
		if !answered[i] {
			continue
		}
		evs, err := db.WebhookEvents(ctx, p.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		stored := false
		for _, e := range evs {
			stored = stored || e.Key == sha256Hex(ds[i].body)
		}
		q, err := db.PayoutByID(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored || q.State != "succeeded" {
			missing++
			if missing <= 5 {
				t.Errorf("payout %d: its payment_finished was answered 200, but stored=%v and the payout is %s", p.ID, stored, q.State)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d events answered 200 are not in the database", missing, ok.Load())
	}
	t.Logf("%d events answered 200 before the kill, %d not answered or refused", ok.Load(), failed.Load())
}
