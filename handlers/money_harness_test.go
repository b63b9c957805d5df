package handlers

import (
	"context"
	"crypto/rsa"
	"regexp"
	"strings"
	"testing"
	"time"

	"countersign/payout"
	"countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
	"countersign/store"
)

// moneyHarness is the console with the workflow, the balance and the card
// widget all behind a real sandbox over HTTP.
type moneyHarness struct {
	*harness
	sb     *sandbox.Server
	client *smartglocal.Client
}

// provider is the client the console uses.
func (m *moneyHarness) provider(t *testing.T) *smartglocal.Client { return m.client }

func newMoneyHarness(t *testing.T, wallets map[string]int64, tweak ...func(*Config)) *moneyHarness {
	t.Helper()
	var sb *sandbox.Server
	var sgc *smartglocal.Client
	h := newHarness(t, append([]func(*Config){func(c *Config) {
		srv, client := sandboxtest.New(t, sandbox.Config{Wallets: wallets})
		sb, sgc = srv, client
		c.Payouts = payout.NewService(payout.ServiceConfig{DB: c.DB, Provider: client, WebhookKeys: []*rsa.PublicKey{srv.PublicKey()}, Logger: c.Logger, CallTimeout: 5 * time.Second})
		c.Provider, c.WidgetURL, c.Sandbox = client, srv.URL+"/sandbox/widget", true
	}}, tweak...)...)
	sb.SetWebhookURL(h.srv.URL + "/webhooks/smartglocal")
	return &moneyHarness{harness: h, sb: sb, client: sgc}
}

// seed is a payout written straight into the store, in any state.
type seed struct {
	maker       *store.User
	recipientID int64
	name        string
	amount      int64
	currency    string
	last4       string
	state       payout.State
	confirmed   bool
	approvers   []*store.User
	failure     string
	deadline    time.Duration // from now, for pending payouts
	finishedAgo time.Duration // for final states: how long before now it finished
}

func (h *harness) seed(t *testing.T, s seed) *store.Payout {
	t.Helper()
	ctx := context.Background()
	if s.currency == "" {
		s.currency = "USD"
	}
	if s.last4 == "" {
		s.last4 = "4242"
	}
	p := &store.Payout{State: string(s.state), MakerID: s.maker.ID, RecipientID: s.recipientID, FullName: s.name, Amount: s.amount,
		Currency: s.currency, CardLast4: s.last4, CardBrand: "visa"}
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		for _, a := range s.approvers {
			if err := tx.AddApproval(ctx, store.Approval{PayoutID: p.ID, UserID: a.ID, Version: p.Version}); err != nil {
				return err
			}
		}
		p.ConfirmAttempted, p.FailureReason = s.confirmed, s.failure
		if s.deadline != 0 {
			p.ReadyAt, p.DeadlineAt = tx.Now(), tx.Now().Add(s.deadline)
		}
		if s.state.Final() {
			p.FinishedAt = tx.Now().Add(-s.finishedAgo)
		}
		return tx.SavePayout(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (h *harness) recipient(t *testing.T, name string, by *store.User) *store.Recipient {
	t.Helper()
	ctx := context.Background()
	r := &store.Recipient{FullName: name, CreatedBy: by.ID}
	if err := h.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRecipient(ctx, r) }); err != nil {
		t.Fatal(err)
	}
	return r
}

// attrs returns every value of attr on elements that carry data-testid=testid, in page order.
func attrs(body, testid, attr string) []string {
	re := regexp.MustCompile(`<[^>]*data-testid="` + regexp.QuoteMeta(testid) + `"[^>]*>`)
	val := regexp.MustCompile(`\s` + regexp.QuoteMeta(attr) + `="([^"]*)"`)
	out := []string{}
	for _, tag := range re.FindAllString(body, -1) {
		if m := val.FindStringSubmatch(tag); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// tagWith returns the opening tag of the first element whose data-testid is
// testid and whose attribute key equals value, or "".
func tagWith(body, testid, key, value string) string {
	re := regexp.MustCompile(`<[^>]*data-testid="` + regexp.QuoteMeta(testid) + `"[^>]*>`)
	for _, tag := range re.FindAllString(body, -1) {
		if regexp.MustCompile(`\s` + regexp.QuoteMeta(key) + `="` + regexp.QuoteMeta(value) + `"`).MatchString(tag) {
			return tag
		}
	}
	return ""
}

// between returns the text of body from the first "from" up to the next "to" after it.
func between(body, from, to string) string {
	i := strings.Index(body, from)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	j := strings.Index(rest[len(from):], to)
	if j < 0 {
		return rest
	}
	return rest[:len(from)+j]
}
