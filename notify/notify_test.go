package notify

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"countersign/notify/notifytest"
	"countersign/store"
	"countersign/store/pgtest"
)

// testClock is real time plus an offset a test can advance.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().UTC().Add(time.Duration(c.off.Load())) }
func (c *testClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// world is a database with people in it, a real SMTP server and a real
// webhook receiver.
type world struct {
	t      *testing.T
	dbPath string
	db     *store.DB
	clock  *testClock
	smtp   *notifytest.SMTPServer
	hook   *notifytest.WebhookReceiver
	logs   *syncBuffer

	maker, ann, bob, carl, dora, ada *store.User
}

func TestMain(m *testing.M) { pgtest.Main(m) }

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, clock: &testClock{}, logs: &syncBuffer{}}
	w.dbPath = pgtest.DSN(t)
	w.db = w.open()
	w.smtp = notifytest.StartSMTP(t)
	w.hook = notifytest.StartWebhook(t)
	// The maker is an approver too: never asked to approve their own payout.
	w.maker = w.user("mia@example.com", "maker", "approver")
	w.ann = w.user("ann@example.com", "approver")
	w.bob = w.user("bob@example.com", "approver", "admin")
	w.carl = w.user("carl@example.com", "approver")
	w.dora = w.user("dora@example.com", "auditor")
	w.ada = w.user("ada@example.com", "admin")
	// Carl left: deactivated people get nothing.
	if err := w.db.UpdateUserAccess(context.Background(), w.carl.ID, w.carl.Name, w.carl.Roles, false); err != nil {
		t.Fatal(err)
	}
	return w
}

// open opens another handle on the database, as a second process would.
func (w *world) open() *store.DB {
	w.t.Helper()
	db, err := store.Open(context.Background(), w.dbPath)
	if err != nil {
		w.t.Fatal(err)
	}
	db.Now = w.clock.Now
	w.t.Cleanup(func() { db.Close() })
	return db
}

func (w *world) user(email string, roles ...string) *store.User {
	w.t.Helper()
	u := &store.User{Email: email, Name: strings.Split(email, "@")[0], PasswordHash: "x", Roles: roles, Active: true}
	if err := w.db.CreateUser(context.Background(), u); err != nil {
		w.t.Fatal(err)
	}
	return u
}

// email is the SMTP channel pointed at the test server, trusting its certificate.
func (w *world) email() *Email {
	w.t.Helper()
	e, err := ParseEmail(w.smtp.URL(), "Countersign <payouts@example.com>")
	if err != nil {
		w.t.Fatal(err)
	}
	e.TLSConfig = w.smtp.ClientTLS
	return e
}

func (w *world) webhook() *Webhook {
	w.t.Helper()
	h, err := ParseWebhook(w.hook.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	return h
}

// service is a sender on db with both channels; change fills in the rest.
func (w *world) service(db *store.DB, change func(*Config)) *Service {
	cfg := Config{DB: db, Email: w.email(), Webhook: w.webhook(), PublicURL: "https://payouts.example.com/",
		Logger: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if change != nil {
		change(&cfg)
	}
	return New(cfg)
}

func (w *world) enqueue(s *Service, m Message) {
	w.t.Helper()
	if err := w.db.InTx(context.Background(), func(tx *store.Tx) error { return s.Enqueue(context.Background(), tx, m) }); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) sendOnce(s *Service) {
	w.t.Helper()
	if err := s.SendOnce(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

func queued(id int64, maker int64) Message {
	return Message{Kind: KindPayoutQueued, Skip: maker, Path: fmt.Sprintf("/payouts/%d", id),
		Subject: fmt.Sprintf("Payout #%d waits for approval", id), Text: fmt.Sprintf("Payout #%d of 32.90 USD waits for approval.", id)}
}

func recipientsOf(mails []notifytest.Mail) []string {
	var out []string
	for _, m := range mails {
		out = append(out, m.To...)
	}
	slices.Sort(out)
	return out
}

func TestEmailAndWebhookReachTheRightPeople(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, nil)
	w.enqueue(s, queued(12, w.maker.ID))
	w.sendOnce(s)

	// Approvers, active, not the maker: ann and bob (carl is inactive, dora and ada hold no approver role).
	mails := w.smtp.Mails()
	if got, want := recipientsOf(mails), []string{"ann@example.com", "bob@example.com"}; !slices.Equal(got, want) {
		t.Fatalf("emails went to %v; want %v", got, want)
	}
	for _, m := range mails {
		if !m.TLS || m.User != w.smtp.User {
			t.Errorf("mail to %v: TLS %v, authenticated as %q; want STARTTLS and AUTH", m.To, m.TLS, m.User)
		}
		if m.From != "payouts@example.com" || m.Subject != "Countersign: Payout #12 waits for approval" {
			t.Errorf("mail from %q, subject %q", m.From, m.Subject)
		}
		for _, want := range []string{"Payout #12 of 32.90 USD waits for approval.", "https://payouts.example.com/payouts/12",
			"because you are an approver", "https://payouts.example.com/account"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("mail body lacks %q:\n%s", want, m.Body)
			}
		}
	}
	hooks := w.hook.Hooks()
	if len(hooks) != 1 {
		t.Fatalf("webhook got %d messages; want one per event", len(hooks))
	}
	if h := hooks[0]; h.ContentType != "application/json" || !strings.Contains(h.Text, "Payout #12 waits for approval") ||
		!strings.Contains(h.Text, "https://payouts.example.com/payouts/12") {
		t.Errorf("webhook message %+v", h)
	}

	// A message to one person reaches that person only, if they hold the role.
	w.enqueue(s, Message{Kind: KindPayoutSucceeded, To: w.maker.ID, Path: "/payouts/12", Subject: "Payout #12 succeeded", Text: "It succeeded."})
	w.enqueue(s, Message{Kind: KindPayoutSucceeded, To: w.ann.ID, Path: "/payouts/13", Subject: "Payout #13 succeeded", Text: "It succeeded."})
	w.sendOnce(s)
	mails = w.smtp.Mails()[2:]
	if len(mails) != 1 || mails[0].To[0] != "mia@example.com" || !strings.Contains(mails[0].Body, "because you are a maker") {
		t.Errorf("maker's news went to %v; want mia only (ann is no maker)", recipientsOf(mails))
	}
	if n := len(w.hook.Hooks()); n != 3 {
		t.Errorf("webhook got %d messages; want 3, one per event", n)
	}
}

func TestEnqueueInARolledBackTransactionSendsNothing(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, nil)
	boom := errors.New("the payout could not be saved")
	err := w.db.InTx(context.Background(), func(tx *store.Tx) error {
		if err := s.Enqueue(context.Background(), tx, queued(1, w.maker.ID)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	w.sendOnce(s)
	if n, h := len(w.smtp.Mails()), len(w.hook.Hooks()); n != 0 || h != 0 {
		t.Fatalf("a rolled-back event sent %d emails and %d webhook messages; want none", n, h)
	}
	w.enqueue(s, queued(2, w.maker.ID))
	w.sendOnce(s)
	if n := len(w.smtp.Mails()); n != 2 {
		t.Errorf("a committed event sent %d emails; want 2", n)
	}
}

func TestWithoutChannelsNothingIsEnqueued(t *testing.T) {
	w := newWorld(t)
	off := New(Config{DB: w.db})
	var none *Service
	for _, s := range []*Service{off, none} {
		if s.Enabled() {
			t.Error("a service with no channel says it is enabled")
		}
		w.enqueue(s, queued(1, w.maker.ID))
	}
	if got, err := w.db.UnexpandedNotifications(context.Background(), 10); err != nil || len(got) != 0 {
		t.Errorf("outbox without channels = %v, %v; want empty", got, err)
	}
	off.Run(context.Background()) // returns at once: there is nothing to send
}

func TestOnlyConfiguredChannelsGetDeliveries(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Email = nil })
	w.enqueue(s, queued(3, w.maker.ID))
	w.sendOnce(s)
	if n, h := len(w.smtp.Mails()), len(w.hook.Hooks()); n != 0 || h != 1 {
		t.Errorf("webhook only: %d emails, %d webhook messages; want 0 and 1", n, h)
	}
}

// TestSentOnceWithTwoSendersRacing: two senders, each with its own database
// handle as two processes (or two leaders by mistake) would have, empty the
// same outbox at once; every message arrives exactly once.
func TestSentOnceWithTwoSendersRacing(t *testing.T) {
	w := newWorld(t)
	a := w.service(w.db, nil)
	b := w.service(w.open(), nil)
	const events = 15
	for i := range events {
		w.enqueue(a, queued(int64(100+i), w.maker.ID))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range []*Service{a, b, a, b} {
		wg.Go(func() {
			for len(w.smtp.Mails()) < 2*events || len(w.hook.Hooks()) < events {
				if ctx.Err() != nil {
					return
				}
				if err := s.SendOnce(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Let any late duplicate land before counting.
	a.SendOnce(context.Background())
	b.SendOnce(context.Background())

	mails := w.smtp.Mails()
	ids := map[string]int{}
	for _, m := range mails {
		ids[m.MessageID]++
	}
	if len(mails) != 2*events || len(ids) != 2*events {
		t.Errorf("%d emails with %d distinct ids; want %d, each once", len(mails), len(ids), 2*events)
	}
	texts := map[string]int{}
	for _, h := range w.hook.Hooks() {
		texts[h.Text]++
	}
	if n := len(w.hook.Hooks()); n != events || len(texts) != events {
		t.Errorf("%d webhook messages, %d distinct; want %d, each once", n, len(texts), events)
	}
}

// TestRetriedWithBackoffAfterRefusals: the SMTP server refuses twice, then
// accepts; the waits between attempts double; the chat is not held up.
func TestRetriedWithBackoffAfterRefusals(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Backoff, c.MaxBackoff = time.Minute, time.Hour })
	w.smtp.Refuse(3)
	w.enqueue(s, Message{Kind: KindBalanceLow, Path: "/", Subject: "Low balance", Text: "USD is low."})

	w.sendOnce(s) // to the admins, bob and ada: both refused
	if n := len(w.smtp.Mails()); n != 0 {
		t.Fatalf("%d emails got through a refusing server", n)
	}
	if n := len(w.hook.Hooks()); n != 1 {
		t.Errorf("webhook got %d messages; want 1 (email trouble must not hold it up)", n)
	}
	for _, d := range w.allDeliveries() {
		if d.Channel != ChannelEmail {
			continue
		}
		if d.State != store.DeliveryPending || d.Attempts != 1 || !strings.Contains(d.LastError, "451") {
			t.Fatalf("after a refusal: %+v; want pending, 1 attempt, the server's 451", d)
		}
		if wait := d.NextAt.Sub(w.clock.Now()); wait < 55*time.Second || wait > time.Minute {
			t.Errorf("first retry in %v; want about the 1m backoff", wait)
		}
	}
	w.sendOnce(s) // not due yet
	if n := len(w.smtp.Mails()); n != 0 {
		t.Fatalf("retried before the backoff passed")
	}

	w.clock.Advance(time.Minute)
	w.sendOnce(s) // one of the two is refused a second time, the other goes
	mails := w.smtp.Mails()
	if len(mails) != 1 {
		t.Fatalf("after the first backoff %d emails; want 1", len(mails))
	}
	var again *store.Delivery
	for _, d := range w.allDeliveries() {
		if d.Channel == ChannelEmail && d.State == store.DeliveryPending {
			again = d
		}
	}
	if again == nil || again.Attempts != 2 {
		t.Fatalf("the twice-refused delivery: %+v", again)
	}
	if wait2 := again.NextAt.Sub(w.clock.Now()); wait2 < 115*time.Second || wait2 > 2*time.Minute {
		t.Errorf("second retry in %v; want the backoff doubled to 2m", wait2)
	}
	w.clock.Advance(2 * time.Minute)
	w.sendOnce(s)
	if got := recipientsOf(w.smtp.WaitMails(t, 2)); !slices.Equal(got, []string{"ada@example.com", "bob@example.com"}) {
		t.Errorf("emails went to %v; want both admins, once each", got)
	}
	for _, d := range w.allDeliveries() {
		if d.State != store.DeliverySent {
			t.Errorf("delivery %d is %s; want sent", d.ID, d.State)
		}
	}
}

// allDeliveries returns every delivery of every notification, by id.
func (w *world) allDeliveries() []*store.Delivery {
	w.t.Helper()
	driver, source := "sqlite", "file:"+w.dbPath
	if pgtest.Postgres() {
		driver, source = "pgx", w.dbPath
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		w.t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT id FROM notifications ORDER BY id`)
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var out []*store.Delivery
	for _, id := range ids {
		ds, err := w.db.Deliveries(context.Background(), id)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, ds...)
	}
	return out
}

func TestGivenUpAfterMaxAttempts(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Email, c.MaxAttempts, c.Backoff = nil, 3, time.Second })
	w.hook.Refuse(100)
	w.enqueue(s, queued(5, w.maker.ID))
	for range 3 {
		w.sendOnce(s)
		w.clock.Advance(time.Hour)
	}
	w.sendOnce(s)
	ds := w.allDeliveries()
	if len(ds) != 1 || ds[0].State != store.DeliveryFailed || ds[0].Attempts != 3 || !strings.Contains(ds[0].LastError, "429") {
		t.Fatalf("deliveries after 3 refusals: %+v; want one, failed after 3 attempts, saying why", ds)
	}
	if logs := w.logs.String(); !strings.Contains(logs, "giving up") || strings.Contains(logs, "secret-token") {
		t.Errorf("the give-up is not logged, or the webhook's secret URL is:\n%s", logs)
	}
}

// TestLeaseLetsAnotherSenderTakeOver: a sender that claimed a delivery and
// died holds it only until its lease passes.
func TestLeaseLetsAnotherSenderTakeOver(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Email, c.Lease = nil, time.Minute })
	w.enqueue(s, queued(6, w.maker.ID))
	// Expand, then claim as a sender that dies right after.
	ns, _ := w.db.UnexpandedNotifications(context.Background(), 10)
	for _, n := range ns {
		if err := s.expand(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	ds := w.allDeliveries()
	if len(ds) != 1 {
		t.Fatalf("deliveries: %+v", ds)
	}
	if a, err := w.db.ClaimDelivery(context.Background(), ds[0].ID, w.clock.Now().Add(time.Minute)); err != nil || a != 1 {
		t.Fatalf("claim = %d, %v", a, err)
	}
	w.sendOnce(s)
	if n := len(w.hook.Hooks()); n != 0 {
		t.Fatalf("a delivery under another sender's lease was sent")
	}
	w.clock.Advance(61 * time.Second)
	w.sendOnce(s)
	if n := len(w.hook.Hooks()); n != 1 {
		t.Fatalf("after the lease passed %d messages; want 1", n)
	}
}

// TestNoCardNumberInAnyMessage: a card number that reached a message's text
// (a name, a reason someone typed) is masked before it is stored or sent.
func TestNoCardNumberInAnyMessage(t *testing.T) {
	const canary = "4000056655665556"
	w := newWorld(t)
	s := w.service(w.db, nil)
	w.enqueue(s, Message{Kind: KindPayoutQueued, Path: "/payouts/9",
		Subject: "Payout #9 to Jo " + canary, Text: "Payout #9 to Jo " + canary + " (card " + canary + ") waits."})
	w.sendOnce(s)
	mails := w.smtp.WaitMails(t, 2)
	hooks := w.hook.WaitHooks(t, 1)
	for _, m := range mails {
		if bytes.Contains(m.Raw, []byte(canary)) || strings.Contains(m.Body, canary) || strings.Contains(m.Subject, canary) {
			t.Errorf("email to %v carries the card number:\n%s", m.To, m.Raw)
		}
		if !strings.Contains(m.Body, "************5556") {
			t.Errorf("email body does not show the masked number:\n%s", m.Body)
		}
	}
	if strings.Contains(hooks[0].Text, canary) {
		t.Errorf("webhook message carries the card number: %q", hooks[0].Text)
	}
	for _, d := range w.allDeliveries() {
		if strings.Contains(d.Notification.Subject+d.Notification.Body, canary) {
			t.Errorf("the outbox stores the card number: %+v", d.Notification)
		}
	}
}

func TestChatMarkupIsShownNotObeyed(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Email = nil })
	w.enqueue(s, Message{Kind: KindWebhookFlagged, Path: "/", Subject: "Flagged", Text: "Recipient <!channel> & <https://evil.example|bank>"})
	w.sendOnce(s)
	text := w.hook.WaitHooks(t, 1)[0].Text
	if strings.Contains(text, "<!channel>") || !strings.Contains(text, "&lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt;") {
		t.Errorf("chat text %q; want the markup escaped", text)
	}
}

func TestSubjectCannotAddHeaders(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Webhook = nil })
	w.enqueue(s, Message{Kind: KindBalanceLow, Path: "/", Subject: "Low\r\nBcc: eve@example.com", Text: "Low."})
	w.sendOnce(s)
	for _, m := range w.smtp.WaitMails(t, 2) {
		if bytes.Contains(m.Raw, []byte("\r\nBcc:")) || slices.Contains(m.To, "eve@example.com") {
			t.Errorf("a subject added a header:\n%s", m.Raw)
		}
	}
}

func TestHelpersForOtherEvents(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Webhook = nil })
	ctx := context.Background()
	err := w.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.WebhookFlagged(ctx, tx, 42, "the provider says 10.00 EUR, we have 10.00 USD"); err != nil {
			return err
		}
		return s.AdminChangeWaits(ctx, tx, w.ada.ID, "Ada", "make Dora an approver")
	})
	if err != nil {
		t.Fatal(err)
	}
	w.sendOnce(s)
	var flagged, change []string
	for _, m := range w.smtp.WaitMails(t, 3) {
		switch {
		case strings.Contains(m.Body, "/payouts/42") && strings.Contains(m.Body, "10.00 EUR"):
			flagged = append(flagged, m.To...)
		case strings.Contains(m.Body, "/admin/changes") && strings.Contains(m.Body, "make Dora an approver"):
			change = append(change, m.To...)
		default:
			t.Errorf("unexpected mail: %s", m.Body)
		}
	}
	slices.Sort(flagged)
	if !slices.Equal(flagged, []string{"ada@example.com", "bob@example.com"}) || !slices.Equal(change, []string{"bob@example.com"}) {
		t.Errorf("flagged webhook to %v (want both admins), admin change to %v (want bob: not its proposer)", flagged, change)
	}
}

func TestPreferences(t *testing.T) {
	w := newWorld(t)
	s := w.service(w.db, func(c *Config) { c.Webhook = nil })
	ctx := context.Background()
	prefs, err := s.Preferences(ctx, w.bob) // approver and admin
	if err != nil {
		t.Fatal(err)
	}
	var kinds []Kind
	for _, p := range prefs {
		if !p.On || p.Label == "" {
			t.Errorf("default preference %+v; want on, with a label", p)
		}
		kinds = append(kinds, p.Kind)
	}
	want := []Kind{KindPayoutQueued, KindDeadlineSoon, KindBalanceLow, KindWebhookFlagged, KindAdminChange}
	if !slices.Equal(kinds, want) {
		t.Errorf("bob's kinds = %v; want %v", kinds, want)
	}

	if err := s.SetPreferences(ctx, w.bob, "192.0.2.7", []Kind{KindDeadlineSoon, KindBalanceLow}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPreferences(ctx, w.bob, "192.0.2.7", []Kind{KindPayoutSucceeded}); !errors.Is(err, ErrKindNotForYou) {
		t.Errorf("bob chose a maker's kind: %v; want ErrKindNotForYou", err)
	}
	prefs, _ = s.Preferences(ctx, w.bob)
	for _, p := range prefs {
		if on := p.Kind == KindDeadlineSoon || p.Kind == KindBalanceLow; p.On != on {
			t.Errorf("after choosing: %s on = %v; want %v", p.Kind, p.On, on)
		}
	}
	es, err := w.db.AuditEntries(ctx, store.AuditFilter{Action: "notify.preferences"})
	if err != nil || len(es) != 1 || es[0].ActorID != w.bob.ID || es[0].IP != "192.0.2.7" || !strings.Contains(es[0].Detail, "payout_queued") {
		t.Errorf("audit of the change: %+v, %v", es, err)
	}

	// Bob opted out of the queue: ann alone gets it.
	w.enqueue(s, queued(20, w.maker.ID))
	w.sendOnce(s)
	if got := recipientsOf(w.smtp.WaitMails(t, 1)); !slices.Equal(got, []string{"ann@example.com"}) {
		t.Errorf("queue news went to %v; want ann only", got)
	}
}

func TestRetryAfterDoublesUpToTheCap(t *testing.T) {
	s := New(Config{Backoff: 30 * time.Second, MaxBackoff: 10 * time.Minute})
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, s.retryAfter(n))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	if !slices.Equal(got, want) {
		t.Errorf("retry waits %v; want %v", got, want)
	}
}

func TestParseEmail(t *testing.T) {
	for _, tt := range []struct {
		url, from, addr string
		implicit        bool
		user, pass      string
	}{
		{"smtp://mail.example.com", "a@example.com", "mail.example.com:587", false, "", ""},
		{"smtp://u:p%40ss@mail.example.com:25", "A <a@example.com>", "mail.example.com:25", false, "u", "p@ss"},
		{"smtps://u:p@mail.example.com", "a@example.com", "mail.example.com:465", true, "u", "p"},
	} {
		e, err := ParseEmail(tt.url, tt.from)
		if err != nil {
			t.Errorf("ParseEmail(%q): %v", tt.url, err)
			continue
		}
		if e.addr != tt.addr || e.implicitTLS != tt.implicit || e.user != tt.user || e.pass != tt.pass {
			t.Errorf("ParseEmail(%q) = %+v", tt.url, e)
		}
	}
	for _, bad := range []struct{ url, from string }{
		{"http://u:hunter2-secret@mail.example.com", "a@example.com"},
		{"smtp://u:hunter2-secret@", "a@example.com"},
		{"smtp://u:hunter2-secret@mail.example.com", ""},
		{"smtp://u:hunter2-secret@mail.example.com", "not an address"},
		{"smtp://u:hunter2-secret@mail.example.com/path", "a@example.com"},
	} {
		_, err := ParseEmail(bad.url, bad.from)
		if err == nil {
			t.Errorf("ParseEmail(%q, %q) accepted", bad.url, bad.from)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseEmail's error repeats the password: %v", err)
		}
	}
}

func TestWebhookErrorsKeepTheURLSecret(t *testing.T) {
	if _, err := ParseWebhook("ftp://hooks.example.com/secret-token"); err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("ParseWebhook(ftp): %v", err)
	}
	h, err := ParseWebhook("http://127.0.0.1:1/services/secret-token")
	if err != nil {
		t.Fatal(err)
	}
	err = h.Send(context.Background(), "hello")
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("Send to a closed port: %v; want an error without the URL", err)
	}
}
