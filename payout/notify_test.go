package payout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/notify"
	"countersign/notify/notifytest"
	"countersign/smartglocal/sandbox"
	"countersign/store"
)

// teller is the notification side of an env: the outbox, a real SMTP server
// and a real chat webhook receiver.
type teller struct {
	n    *notify.Service
	smtp *notifytest.SMTPServer
	hook *notifytest.WebhookReceiver
}

// withNotify restarts e's service with notifications on both channels.
func withNotify(e *env) *teller {
	e.t.Helper()
	tl := &teller{smtp: notifytest.StartSMTP(e.t), hook: notifytest.StartWebhook(e.t)}
	email, err := notify.ParseEmail(tl.smtp.URL(), "payouts@example.com")
	if err != nil {
		e.t.Fatal(err)
	}
	email.TLSConfig = tl.smtp.ClientTLS
	hook, err := notify.ParseWebhook(tl.hook.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	tl.n = notify.New(notify.Config{DB: e.db, Email: email, Webhook: hook, PublicURL: "https://console.example",
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	e.cfg.Notify = tl.n
	e.restart()
	return tl
}

// send empties the outbox.
func (tl *teller) send(t *testing.T) {
	t.Helper()
	if err := tl.n.SendOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// mailsAbout returns the emails whose subject contains s, and their recipients.
func (tl *teller) mailsAbout(s string) (mails []notifytest.Mail, to []string) {
	for _, m := range tl.smtp.Mails() {
		if strings.Contains(m.Subject, s) {
			mails = append(mails, m)
			to = append(to, m.To...)
		}
	}
	slices.Sort(to)
	return mails, to
}

func (tl *teller) hooksAbout(s string) int {
	n := 0
	for _, h := range tl.hook.Hooks() {
		if strings.Contains(h.Text, s) {
			n++
		}
	}
	return n
}

// outbox counts the notifications of kind not yet expanded.
func outbox(t *testing.T, db *store.DB, kind notify.Kind) int {
	t.Helper()
	ns, err := db.UnexpandedNotifications(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range ns {
		if x.Kind == string(kind) {
			n++
		}
	}
	return n
}

// TestPeopleAreToldWhatAPayoutDoes runs payouts through the real service and
// sandbox: approvers hear when each enters the queue (by email and in the
// chat), the maker hears how it ended; no message carries a card number.
func TestPeopleAreToldWhatAPayoutDoes(t *testing.T) {
	const canary = "4000056655665556"
	e := newEnv(t, envOptions{})
	tl := withNotify(e)
	ctx := context.Background()
	approvers := []string{"approver1@example.com", "approver2@example.com", "approver3@example.com"}
	draft := func(pan string) Draft {
		d := draft(pan)
		d.ConfirmDuplicate = true // the same payout, several times on purpose
		return d
	}

	p := e.pending(draft(canary))
	tl.send(t)
	subject := fmt.Sprintf("Payout #%d waits for approval", p.ID)
	mails, to := tl.mailsAbout(subject)
	// The maker holds the approver role too, but is never asked to approve their own payout.
	if !slices.Equal(to, approvers) {
		t.Fatalf("%q went to %v; want the approvers %v", subject, to, approvers)
	}
	for _, m := range mails {
		for _, want := range []string{"32.90 USD to John Johnson (VISA •••• 5556)", "prepared by Mia",
			fmt.Sprintf("https://console.example/payouts/%d", p.ID), "unless it is approved by"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("email to %v lacks %q:\n%s", m.To, want, m.Body)
			}
		}
		if !m.TLS {
			t.Errorf("email to %v was sent without TLS", m.To)
		}
	}
	if n := tl.hooksAbout(subject); n != 1 {
		t.Errorf("chat got %d messages about the queued payout; want 1", n)
	}

	e.approve(e.approvers[0], p)
	e.waitState(p.ID, StateSucceeded)
	tl.send(t)
	if _, to := tl.mailsAbout(fmt.Sprintf("Payout #%d succeeded", p.ID)); !slices.Equal(to, []string{"mia@example.com"}) {
		t.Errorf("success went to %v; want the maker", to)
	}

	cancelled := e.pending(draft(visa))
	// A card number never gets as far as a message through a reason: the
	// reason is refused (text.CheckReason).
	if _, err := e.s().Cancel(ctx, e.approvers[1], cancelled.ID, cancelled.Version, "card "+canary+" reported stolen"); !errors.Is(err, ErrReasonInvalid) {
		t.Fatalf("cancel with a card number as its reason: %v; want ErrReasonInvalid", err)
	}
	if _, err := e.s().Cancel(ctx, e.approvers[1], cancelled.ID, cancelled.Version, "card ending 5556 reported stolen"); err != nil {
		t.Fatal(err)
	}
	e.waitState(cancelled.ID, StateCancelled)
	tl.send(t)
	mails, to = tl.mailsAbout(fmt.Sprintf("Payout #%d was cancelled", cancelled.ID))
	if !slices.Equal(to, []string{"mia@example.com"}) || !strings.Contains(mails[0].Body, "card ending 5556 reported stolen") {
		t.Errorf("cancellation went to %v; want the maker, with the reason: %+v", to, mails)
	}

	failed := e.pending(draft(declined))
	e.approve(e.approvers[0], failed)
	e.waitState(failed.ID, StateFailed)
	tl.send(t)
	if _, to := tl.mailsAbout(fmt.Sprintf("Payout #%d failed", failed.ID)); !slices.Equal(to, []string{"mia@example.com"}) {
		t.Errorf("failure went to %v; want the maker", to)
	}

	lost := e.pending(draft(visa))
	e.sb.InjectFault("session/confirm", sandbox.Fault5xx, 1)
	e.s().Approve(ctx, e.approvers[0], lost.ID, lost.Version)
	e.waitState(lost.ID, StateUnknown)
	tl.send(t)
	if _, to := tl.mailsAbout(fmt.Sprintf("The outcome of payout #%d is not known yet", lost.ID)); !slices.Equal(to, []string{"mia@example.com"}) {
		t.Errorf("unknown outcome went to %v; want the maker", to)
	}

	// One chat message per event: 4 queued, 4 outcomes.
	if n := len(tl.hook.Hooks()); n != 8 {
		t.Errorf("chat got %d messages; want 8", n)
	}
	for _, m := range tl.smtp.Mails() {
		if bytes.Contains(m.Raw, []byte(canary)) || bytes.Contains(m.Raw, []byte(visa)) {
			t.Errorf("an email carries a card number:\n%s", m.Raw)
		}
	}
	for _, h := range tl.hook.Hooks() {
		if strings.Contains(h.Text, canary) || strings.Contains(h.Text, visa) {
			t.Errorf("a chat message carries a card number: %q", h.Text)
		}
	}
}

// TestDeadlineReminderOncePerPayout: 30 minutes before the provider's
// deadline approvers are reminded once, however many watchers look.
func TestDeadlineReminderOncePerPayout(t *testing.T) {
	e := newEnv(t, envOptions{})
	tl := withNotify(e)
	ctx := context.Background()
	p := e.pending(draft(visa))
	if err := e.s().AlertOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := outbox(t, e.db, notify.KindDeadlineSoon); n != 0 {
		t.Fatalf("%d reminders with 240 minutes left; want none", n)
	}

	e.clock.Advance(211 * time.Minute) // 29 minutes left
	other := NewService(e.cfg)         // a second watcher, as a second leader would run
	var wg sync.WaitGroup
	for _, s := range []*Service{e.s(), other, e.s(), other} {
		wg.Go(func() {
			if err := s.AlertOnce(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := outbox(t, e.db, notify.KindDeadlineSoon); n != 1 {
		t.Fatalf("%d reminders from 4 watchers; want exactly 1", n)
	}
	tl.send(t)
	e.s().AlertOnce(ctx)
	if n := outbox(t, e.db, notify.KindDeadlineSoon); n != 0 {
		t.Errorf("reminded again after it was sent")
	}
	mails, to := tl.mailsAbout(fmt.Sprintf("Payout #%d expires in 29 minutes", p.ID))
	if !slices.Equal(to, []string{"approver1@example.com", "approver2@example.com", "approver3@example.com"}) ||
		!strings.Contains(mails[0].Body, "still waits for approval") {
		t.Errorf("reminder went to %v: %+v", to, mails)
	}
}

// TestLowBalanceOncePerCrossing: admins hear when the money on hand falls
// under its mark, not again while it stays there, and again after it
// recovered and fell once more.
func TestLowBalanceOncePerCrossing(t *testing.T) {
	e := newEnv(t, envOptions{sandbox: sandbox.Config{Wallets: map[string]int64{"usd": 10000}}})
	ctx := context.Background()
	if err := RefreshBalance(ctx, e.db, e.client); err != nil {
		t.Fatal(err)
	}
	level := func(minor int64) {
		t.Helper()
		// As an approved admin change would.
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			_, err := SaveLowBalanceLevels(ctx, tx, map[string]int64{"USD": minor})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	level(20000) // 200.00 USD: under it already
	// Without a channel nothing is told, and nothing is marked as told.
	if err := e.s().AlertOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if told, _ := e.db.HasMark(ctx, "balance_low:USD"); told {
		t.Fatal("a low balance was marked as told with notifications off")
	}

	tl := withNotify(e)
	look := func() {
		t.Helper()
		if err := e.s().AlertOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	look()
	look()
	if n := outbox(t, e.db, notify.KindBalanceLow); n != 1 {
		t.Fatalf("%d low-balance alerts after two looks; want 1", n)
	}
	tl.send(t)
	mails, to := tl.mailsAbout("Low balance: 100.00 USD available")
	if !slices.Equal(to, []string{"admin@example.com", "mia@example.com"}) || !strings.Contains(mails[0].Body, "under the low mark of 200.00 USD") {
		t.Errorf("low balance went to %v (want the admins): %+v", to, mails)
	}

	level(5000) // 50.00: back above
	look()
	// A payout awaiting approval counts against the money on hand: 100.00 - 60.00 < 50.00.
	d := draft(visa)
	d.Amount = "60.00"
	e.pending(d)
	look()
	look()
	if n := outbox(t, e.db, notify.KindBalanceLow); n != 1 {
		t.Fatalf("%d alerts after falling under the mark again; want 1 more", n)
	}
	tl.send(t)
	if mails, _ := tl.mailsAbout("Low balance: 40.00 USD available"); len(mails) != 2 {
		t.Errorf("second crossing told %d admins; want 2", len(mails))
	}
}
