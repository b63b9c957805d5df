package payout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/fail"
	"countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/store"
)

const (
	visa     = "4242424242424242"
	declined = "4000000000000002"
)

func TestHappyPathTypedCard(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.submit(draft("4242 4242 4242 4242"))
	if s := State(p.State); s != StateAwaitingProvider && s != StatePendingApproval {
		t.Fatalf("after Submit: state %s; want awaiting_provider or pending_approval", s)
	}
	if p.CardLast4 != "4242" || p.CardBrand != "visa" || p.ProviderSessionID == "" || p.Amount != 3290 || p.Currency != "USD" {
		t.Errorf("after Submit: %+v", p)
	}
	p = e.waitState(p.ID, StatePendingApproval)
	if p.ReadyAt.IsZero() || p.DeadlineAt.Sub(p.ReadyAt) != 240*time.Minute || p.ProviderPayoutID == "" {
		t.Errorf("pending: ready %v, deadline %v, provider payout %q", p.ReadyAt, p.DeadlineAt, p.ProviderPayoutID)
	}

	if _, err := e.s().Approve(ctx, e.maker, p.ID, p.Version); !errors.Is(err, ErrOwnPayout) {
		t.Errorf("maker (all roles) approving own payout: err %v; want ErrOwnPayout", err)
	}
	got := e.approve(e.approvers[0], p)
	if s := State(got.State); s != StateConfirmed && s != StateSucceeded {
		t.Errorf("after Approve: state %s; want confirmed or succeeded", s)
	}
	got = e.waitState(p.ID, StateSucceeded)
	if got.FinishedAt.IsZero() || !got.ConfirmAttempted {
		t.Errorf("succeeded payout: %+v", got)
	}
	if n := e.sb.CallCount("session/confirm"); n != 1 {
		t.Errorf("session/confirm calls = %d; want 1", n)
	}

	var actions []string
	for _, a := range e.audit(store.AuditFilter{ObjectType: "payout", ObjectID: fmt.Sprint(p.ID), Ascending: true}) {
		actions = append(actions, a.Action+"/"+a.Outcome)
	}
	for _, want := range []string{"payout.create/ok", "provider.session/create/ok", "provider.session/start/payout/ok",
		"webhook.ready_to_confirm/applied", "payout.approve/denied", "payout.approve/ok", "provider.session/confirm/ok",
		"webhook.payment_finished/applied"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit trail lacks %s; have %v", want, actions)
		}
	}
	calls, err := e.db.ProviderCalls(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range calls {
		if c.Outcome != store.CallOK {
			t.Errorf("call %s outcome %s", c.Action, c.Outcome)
		}
		keys = append(keys, c.IdempotencyKey)
	}
	wantKeys := []string{
		fmt.Sprintf("countersign-%s-payout-%d-create-v1", e.db.InstallationID(), p.ID),
		fmt.Sprintf("countersign-%s-payout-%d-start-v2", e.db.InstallationID(), p.ID),
		fmt.Sprintf("countersign-%s-payout-%d-confirm-v%d", e.db.InstallationID(), p.ID, p.Version),
	}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("idempotency keys %v; want %v", keys, wantKeys)
	}
	if c, err := e.db.VerifyAudit(ctx, nil, 0); err != nil || c.Break != nil || c.Checked == 0 {
		t.Errorf("VerifyAudit = %+v, %v", c, err)
	}
}

func TestSelfApprovalRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.pending(draft(visa))
	ctx := context.Background()
	stranger := e.user("aud@example.com", "Aud", RoleAuditor, RoleAdmin, RoleMaker)
	tests := []struct {
		name string
		a    Actor
		want error
	}{
		{"maker with every role", e.maker, ErrOwnPayout},
		{"maker id, approver role only", Actor{UserID: e.maker.UserID, Email: "forged", Roles: []Role{RoleApprover}}, ErrOwnPayout},
		{"admin, not approver", e.admin, ErrNotApprover},
		{"maker+admin+auditor, not approver", stranger, ErrNotApprover},
		{"no user", Actor{Roles: []Role{RoleApprover}}, ErrNotApprover},
	}
	for _, tt := range tests {
		if _, err := e.s().Approve(ctx, tt.a, p.ID, p.Version); !errors.Is(err, tt.want) {
			t.Errorf("%s: Approve err %v; want %v", tt.name, err, tt.want)
		}
	}
	if got := e.payout(p.ID); got.State != string(StatePendingApproval) || got.Version != p.Version {
		t.Errorf("after refused approvals: %s v%d; want pending_approval v%d", got.State, got.Version, p.Version)
	}
	if n := e.countAudit(p.ID, "payout.approve", "denied"); n != len(tests) {
		t.Errorf("denied approvals audited: %d; want %d", n, len(tests))
	}
	if n := e.sb.CallCount("session/confirm"); n != 0 {
		t.Errorf("session/confirm calls = %d; want 0", n)
	}
}

func TestApproveRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(draft(visa))
	if _, err := e.s().Approve(ctx, e.approvers[0], p.ID, p.Version-1); !errors.Is(err, ErrVersionChanged) {
		t.Errorf("stale version: err %v; want ErrVersionChanged", err)
	} else if msg := err.Error(); msg != "This payout changed since you opened it. Review it again." {
		t.Errorf("stale version message %q", msg)
	}
	if _, err := e.s().Approve(ctx, e.approvers[0], 999, 1); !errors.Is(err, ErrPayoutNotFound) {
		t.Errorf("no such payout: err %v; want ErrPayoutNotFound", err)
	}
	e.approve(e.approvers[0], p)
	if _, err := e.s().Approve(ctx, e.approvers[1], p.ID, p.Version); !errors.Is(err, ErrNotPending) {
		t.Errorf("second approval after confirm: err %v; want ErrNotPending", err)
	}
	if _, err := e.s().Cancel(ctx, e.approvers[1], p.ID, p.Version, "too late"); !errors.Is(err, ErrNotPending) {
		t.Errorf("cancel after confirm: err %v; want ErrNotPending", err)
	}
	e.waitState(p.ID, StateSucceeded)
}

func TestTwoApproverPolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.setPolicy(Policy{Thresholds: map[string]int64{"usd": 1000, "EUR": 500000}})
	pol, err := e.s().Policy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pol.Thresholds; len(got) != 2 || got["USD"] != 1000 || got["EUR"] != 500000 {
		t.Errorf("Policy() = %v", got)
	}
	if v, _ := e.db.Setting(ctx, PolicySetting, ""); v != "EUR=500000,USD=1000" {
		t.Errorf("stored policy %q", v)
	}

	p := e.pending(draft(visa)) // 32.90 USD ≥ 10.00 USD: two approvers
	got := e.approve(e.approvers[0], p)
	if got.State != string(StatePendingApproval) || got.Version != p.Version {
		t.Fatalf("after first approval: %s v%d; want pending_approval v%d", got.State, got.Version, p.Version)
	}
	if n := e.sb.CallCount("session/confirm"); n != 0 {
		t.Fatalf("session/confirm after one of two approvals: %d calls", n)
	}
	if _, err := e.s().Approve(ctx, e.approvers[0], p.ID, p.Version); !errors.Is(err, ErrAlreadyApproved) {
		t.Errorf("same approver again: err %v; want ErrAlreadyApproved", err)
	}
	e.approve(e.approvers[1], p)
	e.waitState(p.ID, StateSucceeded)
	if n := e.sb.CallCount("session/confirm"); n != 1 {
		t.Errorf("session/confirm calls = %d; want 1", n)
	}
}

func TestConcurrentApprovals(t *testing.T) {
	const C = 20
	e := newEnv(t, envOptions{approvers: C})
	p := e.pending(draft(visa))
	var wg sync.WaitGroup
	errs := make([]error, C)
	for i, a := range e.approvers {
		wg.Go(func() { _, errs[i] = e.s().Approve(context.Background(), a, p.ID, p.Version) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, ErrNotPending), errors.Is(err, ErrVersionChanged):
		default:
			t.Errorf("Approve: unexpected error %v", err)
		}
	}
	if won != 1 {
		t.Errorf("successful approvals = %d; want 1", won)
	}
	e.waitState(p.ID, StateSucceeded)
	if n := e.sb.CallCount("session/confirm"); n != 1 {
		t.Errorf("session/confirm calls at the provider = %d; want 1", n)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	p := e.pending(draft(visa))
	for _, reason := range []string{"", "   "} {
		if _, err := e.s().Cancel(ctx, e.approvers[0], p.ID, p.Version, reason); !errors.Is(err, ErrReasonRequired) {
			t.Errorf("Cancel(reason %q): err %v; want ErrReasonRequired", reason, err)
		}
	}
	if _, err := e.s().Cancel(ctx, e.admin, p.ID, p.Version, "no"); !errors.Is(err, ErrCannotCancel) {
		t.Errorf("Cancel by admin only: err %v; want ErrCannotCancel", err)
	}
	if _, err := e.s().Cancel(ctx, e.approvers[0], p.ID, p.Version+1, "wrong version"); !errors.Is(err, ErrVersionChanged) {
		t.Errorf("Cancel at a stale version: err %v; want ErrVersionChanged", err)
	}
	got, err := e.s().Cancel(ctx, e.approvers[0], p.ID, p.Version, "  Recipient asked to stop  ")
	if err != nil {
		t.Fatal(err)
	}
	if s := State(got.State); s != StateCancelling && s != StateCancelled {
		t.Errorf("after Cancel: %s", s)
	}
	got = e.waitState(p.ID, StateCancelled)
	if got.CancelReason != "Recipient asked to stop" || got.FailureCode != smartglocal.CodeSessionCancelledByPartner || got.FinishedAt.IsZero() {
		t.Errorf("cancelled payout: reason %q, code %q, finished %v", got.CancelReason, got.FailureCode, got.FinishedAt)
	}
	es := e.audit(store.AuditFilter{ObjectType: "payout", ObjectID: fmt.Sprint(p.ID), Action: "payout.cancel"})
	if len(es) == 0 || es[0].Outcome != "ok" || !strings.Contains(es[0].Detail, "Recipient asked to stop") {
		t.Errorf("payout.cancel audit: %+v", es)
	}
	if _, err := e.s().Approve(ctx, e.approvers[1], got.ID, got.Version); !errors.Is(err, ErrNotPending) {
		t.Errorf("approve a cancelled payout: err %v; want ErrNotPending", err)
	}
	if n := e.sb.CallCount("session/confirm"); n != 0 {
		t.Errorf("session/confirm calls = %d; want 0", n)
	}
}

func TestDeclineAndExpiry(t *testing.T) {
	t.Run("declined", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		p := e.pending(draft(declined))
		e.approve(e.approvers[0], p)
		got := e.waitState(p.ID, StateFailed)
		if got.FailureCode != smartglocal.CodeDeclinedByIssuerBank || got.FailureReason == "" {
			t.Errorf("failure %q %q", got.FailureCode, got.FailureReason)
		}
	})
	t.Run("provider deadline", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		p := e.pending(draft(visa))
		e.sb.ExpirePending()
		got := e.waitState(p.ID, StateExpired)
		if got.FailureCode != smartglocal.CodeConfirmTimeout {
			t.Errorf("failure code %q", got.FailureCode)
		}
		if _, err := e.s().Approve(context.Background(), e.approvers[0], p.ID, got.Version); !errors.Is(err, ErrNotPending) {
			t.Errorf("approve expired: %v", err)
		}
	})
	t.Run("short provider deadline", func(t *testing.T) {
		e := newEnv(t, envOptions{sandbox: sandbox.Config{ConfirmDeadline: 300 * time.Millisecond}})
		p := e.submit(draft(visa))
		e.waitState(p.ID, StateExpired)
	})
	t.Run("our deadline, webhook lost", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		p := e.pending(draft(visa))
		e.sb.SetWebhookMode(sandbox.WebhookDrop)
		e.clock.Advance(241 * time.Minute)
		got := e.reconcileUntil(p.ID, StateExpired)
		if got.FailureCode != smartglocal.CodeConfirmTimeout {
			t.Errorf("failure code %q", got.FailureCode)
		}
	})
}

func TestTokenizedCard(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	hash, err := e.sb.Tokenize(visa)
	if err != nil {
		t.Fatal(err)
	}
	r := store.Recipient{FullName: "John Johnson", CustomerReference: "cust-9", CreatedBy: e.maker.UserID}
	if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRecipient(ctx, &r) }); err != nil {
		t.Fatal(err)
	}
	var ve *fail.FieldError
	if _, err := e.s().AddCard(ctx, e.maker, r.ID, "unknown-hash"); !errors.As(err, &ve) || ve.Fields["number_hash"] == "" {
		t.Errorf("AddCard(unknown hash): %v; want a number_hash ValidationError", err)
	}
	if _, err := e.s().AddCard(ctx, e.approvers[0], r.ID, hash); !errors.Is(err, ErrNotMaker) {
		t.Errorf("AddCard by an approver: %v; want ErrNotMaker", err)
	}
	card, err := e.s().AddCard(ctx, e.maker, r.ID, hash)
	if err != nil {
		t.Fatal(err)
	}
	if card.Last4 != "4242" || card.Brand != "visa" {
		t.Errorf("card from token/info: %+v", card)
	}
	if _, err := e.s().AddCard(ctx, e.maker, r.ID, hash); !errors.As(err, &ve) {
		t.Errorf("same card twice: %v; want ValidationError", err)
	}
	d := Draft{RecipientID: r.ID, FullName: "John Johnson", Amount: "1,250.00", Currency: "eur", CardID: card.ID}
	if _, err := e.s().Submit(ctx, e.maker, d); !errors.As(err, &ve) || ve.Fields["card_id"] == "" {
		t.Fatalf("unverified card: err %v; want a card_id FieldError", err)
	}
	if err := e.s().VerifyCard(ctx, e.maker, card.ID); !errors.Is(err, ErrOwnCard) {
		t.Errorf("adder verifies own card: %v; want ErrOwnCard", err)
	}
	if err := e.s().VerifyCard(ctx, e.approvers[0], card.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s().VerifyCard(ctx, e.approvers[1], card.ID); !errors.Is(err, ErrCardChanged) {
		t.Errorf("verify twice: %v; want ErrCardChanged", err)
	}
	p := e.pending(d)
	if p.CardID != card.ID || p.CardLast4 != "4242" || p.CardBrand != "visa" || p.RecipientID != r.ID || p.Amount != 125000 || p.Currency != "EUR" {
		t.Errorf("payout from saved card: %+v", p)
	}
	e.approve(e.approvers[1], p)
	e.waitState(p.ID, StateSucceeded)

	// A removed card can no longer be used.
	if err := e.s().RemoveCard(ctx, e.maker, card.ID); err != nil {
		t.Fatal(err)
	}
	d.ConfirmDuplicate = true
	if _, err := e.s().Submit(ctx, e.maker, d); !errors.As(err, &ve) || ve.Fields["card_id"] == "" {
		t.Errorf("removed card: err %v; want a card_id FieldError", err)
	}
	var actions []string
	for _, a := range e.audit(store.AuditFilter{ObjectType: "card", Ascending: true}) {
		actions = append(actions, a.Action+"/"+a.Outcome)
	}
	if want := []string{"card.add/ok", "card.verify/denied", "card.verify/ok", "card.remove/ok"}; !slices.Equal(actions, want) {
		t.Errorf("card audit %v; want %v", actions, want)
	}
}

func TestSubmitValidation(t *testing.T) {
	e := newEnv(t, envOptions{maxAmount: Limits{Default: 100_000, ByCurrency: map[string]int64{"KWD": 30_000}}})
	ctx := context.Background()
	ok := draft(visa)
	with := func(f func(*Draft)) Draft { d := ok; f(&d); return d }
	long := strings.Repeat("x", 101)
	tests := []struct {
		name   string
		d      Draft
		fields []string
	}{
		{"empty", Draft{}, []string{"card_number", "currency", "full_name"}},
		{"blank name", with(func(d *Draft) { d.FullName = "   " }), []string{"full_name"}},
		{"long name", with(func(d *Draft) { d.FullName = long }), []string{"full_name"}},
		{"name with newline", with(func(d *Draft) { d.FullName = "John\nJohnson" }), []string{"full_name"}},
		{"unknown currency", with(func(d *Draft) { d.Currency = "XXX" }), []string{"currency"}},
		{"fund code", with(func(d *Draft) { d.Currency = "CLF" }), []string{"currency"}},
		{"zero", with(func(d *Draft) { d.Amount = "0" }), []string{"amount"}},
		{"too many decimals", with(func(d *Draft) { d.Amount = "1.234" }), []string{"amount"}},
		{"over the maximum", with(func(d *Draft) { d.Amount = "100,000.01" }), []string{"amount"}},
		{"JPY over the maximum", with(func(d *Draft) { d.Amount, d.Currency = "100001", "JPY" }), []string{"amount"}},
		{"KWD over its own maximum", with(func(d *Draft) { d.Amount, d.Currency = "30000.001", "KWD" }), []string{"amount"}},
		{"bad Luhn", with(func(d *Draft) { d.CardNumber = "4242424242424241" }), []string{"card_number"}},
		{"too short", with(func(d *Draft) { d.CardNumber = "424242424242" }), []string{"card_number"}},
		{"letters", with(func(d *Draft) { d.CardNumber = "4242x24242424242" }), []string{"card_number"}},
		{"card and saved card", with(func(d *Draft) { d.CardID = 1 }), []string{"card_number"}},
		{"no such saved card", with(func(d *Draft) { d.CardNumber, d.CardID = "", 77 }), []string{"card_id"}},
		{"no such recipient", with(func(d *Draft) { d.RecipientID = 77 }), []string{"recipient_id"}},
		{"long reference", with(func(d *Draft) { d.CustomerReference = strings.Repeat("r", 65) }), []string{"customer_reference"}},
		{"long note", with(func(d *Draft) { d.Note = strings.Repeat("n", 501) }), []string{"note"}},
		{"unknown method", with(func(d *Draft) { d.Method = "wire" }), []string{"method"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s().Submit(ctx, e.maker, tt.d)
			var ve *fail.FieldError
			if !errors.As(err, &ve) {
				t.Fatalf("err %v; want *fail.FieldError", err)
			}
			var got []string
			for f, msg := range ve.Fields {
				got = append(got, f)
				if tt.d.CardNumber != "" && strings.Contains(msg, tt.d.CardNumber) {
					t.Errorf("message for %s echoes the card number: %q", f, msg)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields %v; want %v (%v)", got, tt.fields, ve.Fields)
			}
		})
	}
	if p, err := e.s().Submit(ctx, e.maker, with(func(d *Draft) { d.Amount = "100,000.00" })); err != nil || p.Amount != 10_000_000 {
		t.Errorf("amount at the maximum: %v, %v", p, err)
	}
	if _, err := e.s().Submit(ctx, e.approvers[0], ok); !errors.Is(err, ErrNotMaker) {
		t.Errorf("Submit by a non-maker: %v", err)
	}
	if n := e.sb.CallCount("session/create"); n != 1 {
		t.Errorf("session/create calls = %d; want 1 (only the valid draft)", n)
	}
}

func TestDuplicateWarning(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	first := e.submit(draft(visa))
	_, err := e.s().Submit(ctx, e.maker, draft("4242-4242-4242-4242"))
	var de *DuplicateError
	if !errors.As(err, &de) || len(de.Matches) != 1 || de.Matches[0].ID != first.ID || de.Matches[0].MakerName != "Mia" {
		t.Fatalf("same card and amount: err %v; want DuplicateError naming #%d", err, first.ID)
	}
	other := draft(visa)
	other.Amount = "32.91"
	if _, err := e.s().Submit(ctx, e.maker, other); err != nil {
		t.Errorf("another amount: %v", err)
	}
	again := draft(visa)
	again.ConfirmDuplicate = true
	p, err := e.s().Submit(ctx, e.maker, again)
	if err != nil || p.ID == first.ID {
		t.Fatalf("confirmed duplicate: %v, %v", p, err)
	}
	if es := e.audit(store.AuditFilter{ObjectID: fmt.Sprint(p.ID), Action: "payout.create"}); len(es) != 1 || !strings.Contains(es[0].Detail, "duplicate warning acknowledged") {
		t.Errorf("audit of confirmed duplicate: %+v", es)
	}
	// Rejected payouts are not duplicates.
	e.sb.InjectFault("session/create", sandbox.Fault5xx, 1)
	rej := draft("5555555555554444")
	rej.ConfirmDuplicate = true
	p, _ = e.s().Submit(ctx, e.maker, rej)
	e.reconcileUntil(p.ID, StateRejected)
	if _, err := e.s().Submit(ctx, e.maker, draft("5555555555554444")); err != nil {
		t.Errorf("after a rejected payout to the same card: %v", err)
	}
}
