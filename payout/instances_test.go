package payout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"countersign/store"
)

// instance is another console process on the same database: its own store
// handle and service, nothing in memory shared with the first.
func (e *env) instance() *Service {
	e.t.Helper()
	db, err := store.Open(context.Background(), e.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	db.Now = e.clock.Now
	e.t.Cleanup(func() { db.Close() })
	cfg := e.cfg
	cfg.DB = db
	return NewService(cfg)
}

func (e *env) statusCalls(sessionID string) int {
	n := 0
	for _, c := range e.sb.Calls() {
		if c.Method == "session/status" && c.SessionID == sessionID {
			n++
		}
	}
	return n
}

// TestReconcilerLeavesAnotherInstancesCallAlone: a provider call under way
// in another instance (its intent committed, its outcome not yet) keeps
// this instance's reconciler off the payout until the call must be over.
func TestReconcilerLeavesAnotherInstancesCallAlone(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(draft(visa))
	// The other instance's reconciler is cancelling the payout's session.
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		q, err := tx.PayoutByID(ctx, p.ID)
		if err != nil {
			return err
		}
		q.State = string(StateUnknown)
		if err := tx.SavePayout(ctx, q); err != nil {
			return err
		}
		return tx.StartProviderCall(ctx, &store.ProviderCall{PayoutID: q.ID, Action: actionCancel, IdempotencyKey: "elsewhere"})
	})
	if err != nil {
		t.Fatal(err)
	}
	other := e.instance()
	before := e.statusCalls(p.ProviderSessionID)
	if err := other.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.statusCalls(p.ProviderSessionID) - before; n != 0 {
		t.Errorf("reconciler asked session/status %d times about a payout with a call under way", n)
	}
	if got := e.payout(p.ID); State(got.State) != StateUnknown {
		t.Errorf("payout %s; want it left unknown", got.State)
	}
	// Past the longest a call can last, the intent is abandoned: the
	// reconciler closes it and finds the truth.
	e.clock.Advance(other.intentGrace() + time.Second)
	if err := other.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.payout(p.ID); State(got.State) != StatePendingApproval {
		t.Errorf("payout %s after the grace; want pending_approval again\n%s", got.State, e.timeline(p.ID))
	}
}

// TestTwoReconcilersSettleEachPayoutOnce: two instances that both believe
// they lead reconcile the same payouts in doubt at once; each payout is
// settled once, with one record of it.
func TestTwoReconcilersSettleEachPayoutOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	var ps []*store.Payout
	for i := range 4 {
		d := draft(visa)
		d.Amount = fmt.Sprintf("%d.00", 20+i)
		ps = append(ps, e.pending(d))
	}
	e.forward.Store(false) // no payment_finished: only the reconcilers may settle them
	var ids []int64
	for _, p := range ps {
		crashing := NewService(e.cfg)
		crashing.crash = func(point, action string) bool { return point == "after" && action == actionConfirm }
		if _, err := crashing.Approve(ctx, e.approvers[0], p.ID, p.Version); !errors.Is(err, errCrashed) {
			t.Fatalf("approve: %v; want the simulated crash after the confirm", err)
		}
		ids = append(ids, p.ID)
	}
	e.clock.Advance(10 * time.Minute)
	a, b := e.instance(), e.instance()
	var wg sync.WaitGroup
	for _, s := range []*Service{a, b, a, b} {
		wg.Go(func() {
			if err := s.ReconcileOnce(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		got := e.payout(id)
		if State(got.State) != StateSucceeded {
			t.Errorf("payout %d: %s; want succeeded\n%s", id, got.State, e.timeline(id))
		}
		if n := e.countAudit(id, "payout.reconcile", ""); n != 1 {
			t.Errorf("payout %d: %d reconcile entries; want 1\n%s", id, n, e.timeline(id))
		}
		if n := e.countAudit(id, "provider.session/confirm", store.CallUnknown); n != 1 {
			t.Errorf("payout %d: the abandoned confirm closed %d times; want once\n%s", id, n, e.timeline(id))
		}
		if n := appliedConfirms(e.sb, got.ProviderSessionID); n != 1 {
			t.Errorf("payout %d: %d confirms at the provider; want 1", id, n)
		}
	}
}
