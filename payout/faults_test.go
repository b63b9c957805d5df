package payout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"countersign/fail"
	"countersign/smartglocal/sandbox"
	"countersign/store"
	"countersign/store/pgtest"
	"countersign/text"
)

// TestProviderFaults injects every fault on every provider write, before and
// after the provider applied it: the payout goes unknown (or straight to the
// truth when a webhook beat the lost reply), ReconcileOnce then brings it to
// the provider's truth, and no session is ever confirmed twice.
func TestProviderFaults(t *testing.T) {
	faults := []sandbox.Fault{sandbox.Fault5xx, sandbox.FaultTimeout, sandbox.FaultReset, sandbox.FaultMalformedJSON}
	type outcome struct {
		afterReconcile State // what ReconcileOnce proves
		final          State // after approving again where needed
	}
	want := map[string][2]outcome{ // method -> [before apply, after apply]
		"session/create":       {{StateRejected, StateRejected}, {StateRejected, StateRejected}},
		"session/start/payout": {{StateRejected, StateRejected}, {StatePendingApproval, StateSucceeded}},
		"session/confirm":      {{StatePendingApproval, StateSucceeded}, {StateSucceeded, StateSucceeded}},
		"session/cancel":       {{StateCancelled, StateCancelled}, {StateCancelled, StateCancelled}},
	}
	for _, method := range []string{"session/create", "session/start/payout", "session/confirm", "session/cancel"} {
		for _, f := range faults {
			for i, after := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/before", method, f)
				if after {
					name = fmt.Sprintf("%s/%s/after", method, f)
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					w := want[method][i]
					e := newEnv(t, envOptions{callTimeout: time.Second})
					ctx := context.Background()
					inject := func() {
						if after {
							e.sb.InjectFaultAfterApply(method, f, 1)
						} else {
							e.sb.InjectFault(method, f, 1)
						}
					}
					var p *store.Payout
					var err error
					switch method {
					case "session/create", "session/start/payout":
						inject()
						p, err = e.s().Submit(ctx, e.maker, draft(visa))
					case "session/confirm":
						p = e.pending(draft(visa))
						inject()
						p, err = e.s().Approve(ctx, e.approvers[0], p.ID, p.Version)
					case "session/cancel":
						p = e.pending(draft(visa))
						inject()
						p, err = e.s().Cancel(ctx, e.approvers[0], p.ID, p.Version, "stop it")
					}
					if err != nil {
						t.Fatalf("call with a fault: %v", err)
					}
					// A lost reply is unknown, unless a webhook already told the truth.
					if got := State(p.State); got != StateUnknown && !(after && (got == w.afterReconcile || got == StateSucceeded || got == StateConfirmed || got == StateCancelling)) {
						t.Errorf("right after the fault: %s; want unknown\n%s", got, e.timeline(p.ID))
					}
					got := e.reconcileUntil(p.ID, w.afterReconcile)
					if w.final != w.afterReconcile {
						if method == "session/confirm" && got.Version <= p.Version {
							t.Errorf("back to pending_approval at v%d; want a new version above v%d", got.Version, p.Version)
						}
						e.approve(e.approvers[1], got)
						got = e.waitState(p.ID, w.final)
					}
					switch sid := got.ProviderSessionID; {
					case w.final == StateSucceeded && appliedConfirms(e.sb, sid) != 1:
						t.Errorf("applied confirms = %d; want 1", appliedConfirms(e.sb, sid))
					case w.final != StateSucceeded && appliedConfirms(e.sb, sid) != 0:
						t.Errorf("applied confirms = %d; want 0", appliedConfirms(e.sb, sid))
					}
					if w.final == StateRejected {
						if got.FailureCode == "" || got.FailureReason == "" {
							t.Errorf("rejected without a reason: %+v", got)
						}
						if n := e.sb.CallCount("session/start/payout"); method == "session/create" && n != 0 {
							t.Errorf("start calls after a lost create = %d; want 0", n)
						}
					}
					// Nothing is left open.
					if open, _ := e.db.OpenProviderCalls(ctx, e.clock.Now().Add(time.Hour)); len(open) != 0 {
						t.Errorf("open provider calls: %+v", open)
					}
				})
			}
		}
	}
}

// TestCrashRecovery stops the workflow between intent and call, and between
// call and outcome, for every provider write, K times each; a restarted
// service then reconciles: nothing lost, nothing done twice.
func TestCrashRecovery(t *testing.T) {
	const K = 3
	type want struct{ reconciled, final State }
	cases := []struct {
		action, point string
		want          want
	}{
		{"session/create", "before", want{StateRejected, StateRejected}},
		{"session/create", "after", want{StateRejected, StateRejected}},
		{"session/start/payout", "before", want{StateRejected, StateRejected}},
		{"session/start/payout", "after", want{StatePendingApproval, StateSucceeded}},
		{"session/confirm", "before", want{StatePendingApproval, StateSucceeded}},
		{"session/confirm", "after", want{StateSucceeded, StateSucceeded}},
		{"session/cancel", "before", want{StateCancelled, StateCancelled}},
		{"session/cancel", "after", want{StateCancelled, StateCancelled}},
	}
	for _, tc := range cases {
		t.Run(tc.action+"/"+tc.point, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			ctx := context.Background()
			var ids []int64
			for i := range K {
				d := draft(visa)
				d.Amount = fmt.Sprintf("%d.00", 10+i)
				var p *store.Payout
				if tc.action == "session/confirm" || tc.action == "session/cancel" {
					p = e.pending(d)
				}
				crashing := NewService(e.cfg)
				crashing.crash = func(point, action string) bool { return point == tc.point && action == tc.action }
				e.svc.Store(crashing)
				var err error
				switch tc.action {
				case "session/create", "session/start/payout":
					_, err = crashing.Submit(ctx, e.maker, d)
				case "session/confirm":
					_, err = crashing.Approve(ctx, e.approvers[0], p.ID, p.Version)
				case "session/cancel":
					_, err = crashing.Cancel(ctx, e.approvers[0], p.ID, p.Version, "stop")
				}
				if !errors.Is(err, errCrashed) {
					t.Fatalf("crash %d: err %v; want the simulated crash", i, err)
				}
				e.restart()
			}
			ps, err := e.db.PayoutsInStates(ctx, stateNames(AllStates())...)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != K {
				t.Fatalf("%d payouts recorded; want %d", len(ps), K)
			}
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			// The restarted process finds the abandoned intents once they are old enough.
			e.clock.Advance(time.Minute)
			for _, id := range ids {
				got := e.reconcileUntil(id, tc.want.reconciled)
				if tc.want.final != tc.want.reconciled {
					e.approve(e.approvers[1], got)
					got = e.waitState(id, tc.want.final)
				}
				if n := appliedConfirms(e.sb, got.ProviderSessionID); (tc.want.final == StateSucceeded) != (n == 1) || n > 1 {
					t.Errorf("payout %d: %d applied confirms for final %s", id, n, got.State)
				}
			}
			// One session per payout: a lost create is replayed, not repeated.
			created := 0
			for _, c := range e.sb.Calls() {
				if c.Method == "session/create" && !c.Replayed && c.Status == 200 {
					created++
				}
			}
			if created != K {
				t.Errorf("sessions created = %d; want %d", created, K)
			}
			if open, _ := e.db.OpenProviderCalls(ctx, e.clock.Now().Add(time.Hour)); len(open) != 0 {
				t.Errorf("open provider calls after reconciling: %+v", open)
			}
		})
	}
}

func stateNames(ss []State) []string {
	var out []string
	for _, s := range ss {
		out = append(out, string(s))
	}
	return out
}

// TestCardDataNeverStored submits canary card numbers through every path
// (success, cancel, a lost start, a refused draft) and then searches the
// database file and its WAL, the logs, the audit log, stored webhooks and
// errors for them.
func TestCardDataNeverStored(t *testing.T) {
	canaries := []string{"4242424242424242", "5555555555554444"}
	e := newEnv(t, envOptions{callTimeout: time.Second})
	ctx := context.Background()
	var texts []string

	p := e.pending(draft("4242 4242 4242 4242"))
	e.approve(e.approvers[0], p)
	e.waitState(p.ID, StateSucceeded)

	q := e.pending(draft(canaries[1]))
	if _, err := e.s().Cancel(ctx, e.approvers[0], q.ID, q.Version, "stop"); err != nil {
		t.Fatal(err)
	}
	e.waitState(q.ID, StateCancelled)

	e.sb.InjectFault("session/start/payout", sandbox.FaultReset, 1)
	d := draft(canaries[1])
	d.Amount, d.Note = "5.00", "second try"
	r := e.submit(d)
	e.reconcileUntil(r.ID, StateRejected)

	bad := draft("4242424242424241")
	_, err := e.s().Submit(ctx, e.maker, bad)
	if err == nil {
		t.Fatal("bad Luhn accepted")
	}
	texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	_, err = e.s().Submit(ctx, e.maker, draft(canaries[0]))
	texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))

	// A card number typed into free text is refused at the service, field by
	// field, and goes nowhere: not stored, not sent, not in the error.
	refusedIn := func(what, field string, err error) {
		t.Helper()
		var fe *fail.FieldError
		if !errors.As(err, &fe) || !text.HoldsCardNumber(fe.Fields[field]) {
			t.Errorf("%s with a card number in %s: %v; want refused on that field", what, field, err)
			return
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	}
	inText := "backup card " + canaries[0][:4] + " " + canaries[0][4:8] + " " + canaries[0][8:12] + " " + canaries[0][12:] + " please"
	for field, set := range map[string]func(*Draft){
		"note":               func(d *Draft) { d.Note = inText },
		"customer_reference": func(d *Draft) { d.CustomerReference = canaries[1] },
		"full_name":          func(d *Draft) { d.FullName = "Pan " + canaries[0] },
	} {
		d := draft(canaries[1])
		set(&d)
		_, err := e.s().Submit(ctx, e.maker, d)
		refusedIn("a payout", field, err)
	}
	_, err = e.s().CreateRecipient(ctx, e.maker, RecipientDraft{FullName: "Pan " + canaries[0], Country: "GBR"})
	refusedIn("a recipient", "full_name", err)
	_, err = e.s().CreateRecipient(ctx, e.maker, RecipientDraft{FullName: "Ann Lee", CustomerReference: inText, Country: "GBR"})
	refusedIn("a recipient", "customer_reference", err)
	account := bankCases[0].account
	account.BankName = "Barclays " + canaries[1]
	_, err = e.s().AddAccount(ctx, e.maker, e.recipient(account.FirstName+" "+account.LastName).ID, account)
	refusedIn("a bank account", "bank_name", err)

	texts = append(texts, e.logs.String())
	for _, a := range e.audit(store.AuditFilter{}) {
		texts = append(texts, fmt.Sprintf("%+v", a))
	}
	evs, _ := e.db.WebhookEvents(ctx, 0, "", 1000)
	if len(evs) == 0 {
		t.Fatal("no webhooks stored")
	}
	for _, ev := range evs {
		texts = append(texts, ev.Body)
	}
	for _, id := range []int64{p.ID, q.ID, r.ID} {
		texts = append(texts, fmt.Sprintf("%+v", e.payout(id)))
		calls, _ := e.db.ProviderCalls(ctx, id)
		texts = append(texts, fmt.Sprintf("%+v", calls))
	}
	if pgtest.Postgres() {
		texts = append(texts, pgtest.Dump(t, e.dbPath))
	} else {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(e.dbPath + suffix)
			if err != nil && suffix != "-shm" {
				t.Fatal(err)
			}
			texts = append(texts, string(b))
		}
	}
	hits := 0
	for _, pan := range append(canaries, "4242424242424241") {
		for _, form := range []string{pan, pan[:4] + " " + pan[4:8] + " " + pan[8:12] + " " + pan[12:]} {
			for _, s := range texts {
				if n := strings.Count(s, form); n > 0 {
					hits += n
					t.Errorf("card number found in %.80q…", s)
				}
			}
		}
	}
	if hits != 0 {
		t.Errorf("card number occurrences = %d; want 0", hits)
	}
	if !strings.Contains(e.logs.String(), "provider call") {
		t.Error("the logs were not captured")
	}
}

// TestClosedTabCannotCancel cancels the request's context once the payout is
// claimed, as a closed browser tab would: the provider call and the record
// of its outcome still happen.
func TestClosedTabCannotCancel(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := NewService(e.cfg)
	e.svc.Store(s)
	var cancel context.CancelFunc
	s.crash = func(point, action string) bool {
		if point == "before" {
			cancel()
		}
		return false
	}
	ctx, c1 := context.WithCancel(context.Background())
	defer c1()
	cancel = c1
	p, err := s.Submit(ctx, e.maker, draft(visa))
	if err != nil {
		t.Fatalf("Submit with the tab closed mid-way: %v", err)
	}
	p = e.waitState(p.ID, StatePendingApproval)
	ctx, c2 := context.WithCancel(context.Background())
	defer c2()
	cancel = c2
	got, err := s.Approve(ctx, e.approvers[0], p.ID, p.Version)
	if err != nil {
		t.Fatalf("Approve with the tab closed mid-way: %v", err)
	}
	if st := State(got.State); st != StateConfirmed && st != StateSucceeded {
		t.Errorf("after Approve: %s", st)
	}
	e.waitState(p.ID, StateSucceeded)
	calls, _ := e.db.ProviderCalls(context.Background(), p.ID)
	for _, c := range calls {
		if c.Outcome != store.CallOK {
			t.Errorf("%s: outcome %s", c.Action, c.Outcome)
		}
	}
}

// TestLostWebhooks drops every webhook: the reconciler reads session/status
// for payouts with no news for StuckAfter and moves them on.
func TestLostWebhooks(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sb.SetWebhookMode(sandbox.WebhookDrop)
	p := e.submit(draft(visa))
	if p.State != string(StateAwaitingProvider) {
		t.Fatalf("after Submit: %s; want awaiting_provider", p.State)
	}
	if err := e.s().ReconcileOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.payout(p.ID); got.State != string(StateAwaitingProvider) {
		t.Fatalf("reconciled before StuckAfter: %s", got.State)
	}
	e.clock.Advance(6 * time.Minute)
	p = e.reconcileUntil(p.ID, StatePendingApproval)
	e.approve(e.approvers[0], p)
	e.clock.Advance(6 * time.Minute)
	got := e.reconcileUntil(p.ID, StateSucceeded)
	if es := e.audit(store.AuditFilter{ObjectID: fmt.Sprint(p.ID), Action: "payout.reconcile"}); len(es) < 2 || es[0].Actor != "system" {
		t.Errorf("reconcile audit entries: %+v", es)
	}
	if got.FinishedAt.IsZero() {
		t.Error("FinishedAt not set")
	}
}

// TestRunReconciler: the loop reconciles at once on start (crash recovery)
// and stops when its context ends.
func TestRunReconciler(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sb.InjectFault("session/create", sandbox.FaultReset, 1)
	p := e.submit(draft(visa))
	if p.State != string(StateUnknown) {
		t.Fatalf("after a reset: %s; want unknown", p.State)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.s().RunReconciler(ctx, time.Hour)
		close(done)
	}()
	e.waitState(p.ID, StateRejected)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunReconciler did not stop")
	}
	got := e.payout(p.ID)
	if got.FailureReason != reasonCardNotReceived {
		t.Errorf("reason %q", got.FailureReason)
	}
	if n := e.sb.CallCount("session/cancel"); n != 1 {
		t.Errorf("empty session cancels = %d; want 1", n)
	}
}

// TestWaitForCallsUnderWay: Wait, which a shutdown calls before closing the
// database, returns only once a provider call under way has ended and its
// outcome is recorded.
func TestWaitForCallsUnderWay(t *testing.T) {
	e := newEnv(t, envOptions{callTimeout: 2 * time.Second})
	ctx := context.Background()
	p := e.pending(draft(visa))
	e.sb.InjectFault("session/confirm", sandbox.FaultTimeout, 1)
	approved := make(chan error, 1)
	go func() {
		_, err := e.s().Approve(ctx, e.approvers[0], p.ID, p.Version)
		approved <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.sb.CallCount("session/confirm") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the confirm never reached the sandbox")
		}
		time.Sleep(5 * time.Millisecond)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.s().Wait(wctx); err != nil {
		t.Fatal(err)
	}
	// The call's outcome is already recorded: the database may close now.
	if open, err := e.db.OpenProviderCalls(ctx, e.clock.Now().Add(time.Hour)); err != nil || len(open) != 0 {
		t.Errorf("open provider calls when Wait returned: %+v, %v", open, err)
	}
	if got := e.payout(p.ID); State(got.State) != StateUnknown {
		t.Errorf("payout %s when Wait returned; want unknown (the confirm timed out)", got.State)
	}
	if err := <-approved; err != nil {
		t.Errorf("Approve: %v", err)
	}
	// With nothing under way, Wait returns at once.
	if err := e.s().Wait(wctx); err != nil {
		t.Error(err)
	}
}
