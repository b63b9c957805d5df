package payout

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"countersign/smartglocal"
	"countersign/store"
	"countersign/store/pgtest"
)

// TestWebhookGroupOneEventFails: a group is applied straight through, and
// when one of its events fails the group is applied again event by event,
// so that the failed one is answered with its error and changes nothing,
// while the others (a duplicate among them) commit with audit entries that
// still chain.
func TestWebhookGroupOneEventFails(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.forward.Store(false) // capture only; this test delivers
	ctx := context.Background()
	var ps []*store.Payout
	var hooks []hook
	for i := range 3 {
		d := draft(visa)
		d.Amount = fmt.Sprintf("3%d.00", i) // not similar payouts
		p := e.submit(d)
		hooks = append(hooks, e.waitHook(p.ProviderSessionID, smartglocal.WebhookReadyToConfirm))
		ps = append(ps, e.payout(p.ID))
	}
	refuseWebhookRows(t, e.dbPath, ps[1].ProviderSessionID)

	var group []*webhookEvent
	for _, h := range []hook{hooks[0], hooks[1], hooks[2], hooks[0]} {
		wh, err := smartglocal.VerifyWebhook(e.cfg.WebhookKeys, h.Body, h.Sig)
		if err != nil {
			t.Fatal(err)
		}
		group = append(group, newWebhookEvent(wh, h.Body))
	}
	e.s().commitWebhooks(group)

	want := []struct {
		result string
		failed bool
	}{{store.WebhookApplied, false}, {"", true}, {store.WebhookApplied, false}, {"duplicate", false}}
	for i, ev := range group {
		if ev.result != want[i].result || (ev.err != nil) != want[i].failed {
			t.Errorf("event %d: result %q, err %v; want %q, failed %v", i, ev.result, ev.err, want[i].result, want[i].failed)
		}
	}
	if !strings.Contains(e.logs.String(), "applied again event by event") {
		t.Errorf("the group was not applied again event by event; logs:\n%s", e.logs.String())
	}
	for i, p := range ps {
		got := e.payout(p.ID)
		wantState, wantVersion := StatePendingApproval, p.Version+1
		if i == 1 {
			wantState, wantVersion = State(p.State), p.Version
		}
		if State(got.State) != wantState || got.Version != wantVersion {
			t.Errorf("payout %d: %s v%d; want %s v%d", i, got.State, got.Version, wantState, wantVersion)
		}
		wantStored := 1
		if i == 1 {
			wantStored = 0
		}
		if evs, err := e.db.WebhookEvents(ctx, p.ID, "", 10); err != nil || len(evs) != wantStored {
			t.Errorf("payout %d: %d webhook rows stored (%v); want %d", i, len(evs), err, wantStored)
		}
		if n := e.countAudit(p.ID, "webhook.", ""); n != wantStored {
			t.Errorf("payout %d: %d webhook audit entries; want %d", i, n, wantStored)
		}
	}
	if c, err := e.db.VerifyAudit(ctx, nil, 0); err != nil || c.Break != nil || c.Checked == 0 {
		t.Errorf("VerifyAudit = %+v, %v", c, err)
	}

	// Delivered again once the database takes it, the refused event applies.
	refuseWebhookRows(t, e.dbPath, "")
	if err := e.s().HandleWebhook(ctx, hooks[1].Body, hooks[1].Sig); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if got := e.payout(ps[1].ID); State(got.State) != StatePendingApproval {
		t.Errorf("after redelivery: %s; want pending_approval", got.State)
	}
}

// refuseWebhookRows makes the database refuse to store a webhook row for
// sessionID (a fault the store cannot be asked for otherwise); "" lifts it.
func refuseWebhookRows(t *testing.T, dsn, sessionID string) {
	t.Helper()
	if strings.ContainsAny(sessionID, `'\`) {
		t.Fatalf("session id %q cannot go into the trigger", sessionID)
	}
	raw := pgtest.Raw(t, dsn)
	var stmts []string
	switch {
	case pgtest.Postgres() && sessionID == "":
		stmts = []string{`DROP TRIGGER refuse_webhook ON webhook_events`}
	case pgtest.Postgres():
		stmts = []string{
			`CREATE FUNCTION refuse_webhook() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
			fmt.Sprintf(`CREATE TRIGGER refuse_webhook BEFORE INSERT ON webhook_events FOR EACH ROW WHEN (NEW.session_id = '%s') EXECUTE FUNCTION refuse_webhook()`, sessionID),
		}
	case sessionID == "":
		stmts = []string{`DROP TRIGGER refuse_webhook`}
	default:
		stmts = []string{fmt.Sprintf(`CREATE TRIGGER refuse_webhook BEFORE INSERT ON webhook_events WHEN new.session_id = '%s'
			BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`, sessionID)}
	}
	for _, q := range stmts {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
