package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/payout"
	"countersign/smartglocal/sandbox"
	"countersign/store"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestShutdownWaitsForWorkers: the reconciler is inside a provider call when
// the console is told to stop; the shutdown waits for that call to end (it
// is never cancelled half-way) before the database may close.
func TestShutdownWaitsForWorkers(t *testing.T) {
	ctx := context.Background()
	cfg, err := parseConfig([]string{"-db", filepath.Join(t.TempDir(), "c.db"), "-provider-timeout", "2s",
		"-reconcile-interval", "1h", "-balance-interval", "1h"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if shutdownTimeout(cfg) <= cfg.ProviderTimeout {
		t.Errorf("shutdown timeout %v is not longer than a provider call (%v)", shutdownTimeout(cfg), cfg.ProviderTimeout)
	}
	logs := &lockedBuffer{}
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), "http://127.0.0.1:1/webhooks/smartglocal")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// A payout whose outcome is unknown: the reconciler's first pass asks
	// session/status about it, and the sandbox holds that call.
	maker, err := a.db.UserByEmail(ctx, "maker@example.com")
	if err != nil {
		t.Fatal(err)
	}
	p := &store.Payout{State: string(payout.StateSubmitting), MakerID: maker.ID, FullName: "Jane Doe", Amount: 100, Currency: "USD",
		CardLast4: "4242", CardBrand: "visa"}
	err = a.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		p.State, p.ProviderSessionID = string(payout.StateUnknown), "ps_held"
		return tx.SavePayout(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	a.sandbox.InjectFault("session/status", sandbox.FaultTimeout, -1)

	workCtx, stopWork := context.WithCancel(ctx)
	a.background(workCtx, cfg)
	deadline := time.Now().Add(20 * time.Second)
	for a.sandbox.CallCount("session/status") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reconciler never asked session/status")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopWork()
	waitCtx, cancel := context.WithTimeout(ctx, shutdownTimeout(cfg))
	defer cancel()
	if err := a.wait(waitCtx); err != nil {
		t.Fatal(err)
	}
	// The reconciler finished its call and said so before wait returned.
	if !strings.Contains(logs.String(), "reconcile: session/status failed") {
		t.Errorf("wait returned while the reconciler was still in its provider call; logs:\n%s", logs.String())
	}
	if err := a.db.Ping(ctx); err != nil {
		t.Errorf("database: %v", err)
	}
}
