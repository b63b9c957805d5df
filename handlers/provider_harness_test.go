package handlers

import (
	"bytes"
	"crypto/rsa"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"countersign/payout"
	"countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

// newHarnessWithProvider is newHarness plus the payout workflow talking to a
// real sandbox over HTTP, whose webhooks come back to the console.
func newHarnessWithProvider(t *testing.T) (*harness, *sandbox.Server) {
	t.Helper()
	var sb *sandbox.Server
	h := newHarness(t, func(c *Config) {
		srv, client := sandboxtest.New(t, sandbox.Config{})
		sb = srv
		c.Payouts = payout.NewService(payout.ServiceConfig{DB: c.DB, Provider: client, WebhookKeys: []*rsa.PublicKey{srv.PublicKey()}, Logger: c.Logger, MaxAmount: payout.Limits{Default: 100000}})
	})
	sb.SetWebhookURL(h.srv.URL + "/webhooks/smartglocal")
	return h, sb
}

// waitPayoutState polls the store until the payout reaches want.
func (h *harness) waitPayoutState(t *testing.T, id int64, want payout.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := h.db.PayoutByID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if payout.State(p.State) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("payout %d is %s, want %s", id, p.State, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPayoutFormKeepsWhatWasTypedButTheCardNumber(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	b.get("/payouts/new")
	const pan = "4242424242424241" // fails Luhn
	p := b.post("/payouts", url.Values{"full_name": {"Jane <Doe>"}, "amount": {"32.901"}, "currency": {"USD"}, "card_number": {pan},
		"customer_reference": {"ref-77"}, "note": {"for March"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", p.status)
	}
	for _, want := range []string{`value="Jane &lt;Doe&gt;"`, `value="32.901"`, `value="ref-77"`, "for March", "at most 2 decimals"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("re-rendered form lacks %q", want)
		}
	}
	if strings.Contains(p.body, pan) || strings.Contains(p.body, "424242424242") {
		t.Error("the card number was rendered back into the form")
	}
	if !strings.Contains(p.body, `id="card_number-error"`) && !strings.Contains(p.body, "card number") {
		t.Error("no message about the card number")
	}
}

func TestPayoutOverHTTP(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	h.user("dual@example.com", "maker", "approver")
	h.user("approver@example.com", "approver")
	maker, approver := h.browser(), h.browser()
	maker.login("dual@example.com")
	approver.login("approver@example.com")
	maker.get("/payouts/new")
	p := maker.post("/payouts", url.Values{"full_name": {"Jane Doe"}, "amount": {"32.90"}, "currency": {"USD"}, "card_number": {"4242 4242 4242 4242"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/payouts/") {
		t.Fatalf("submit: %d %q", p.status, p.location)
	}
	id := int64(1)
	h.waitPayoutState(t, id, payout.StatePendingApproval)

	// The maker holds the approver role too, and forges the approve request by hand.
	page := maker.get(p.location)
	if strings.Contains(page.body, `data-testid="approve"`) {
		t.Error("the maker is offered an approve button on their own payout")
	}
	got, _ := h.db.PayoutByID(t.Context(), id)
	forged := maker.post(p.location+"/approve", url.Values{"version": {itoa(got.Version)}})
	if n := sb.CallCount("session/confirm"); n != 0 {
		t.Fatalf("self-approval reached the provider: %d confirms", n)
	}
	if forged.status != http.StatusForbidden || !strings.Contains(forged.body, "someone else must approve") {
		t.Errorf("forged self-approval: status %d, want 403 with the reason", forged.status)
	}

	approver.get(p.location)
	if r := approver.post(p.location+"/approve", url.Values{"version": {itoa(got.Version)}, "otp": {h.code()}}); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.status)
	}
	h.waitPayoutState(t, id, payout.StateSucceeded)
	if n := sb.CallCount("session/confirm"); n != 1 {
		t.Errorf("session/confirm calls = %d, want 1", n)
	}
}

func TestWebhookRoute(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest("POST", h.srv.URL+"/webhooks/smartglocal", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-PARTNER-SIGN", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := []byte(`{"type":"ready_to_confirm","session":{"id":"ps_x","status":"in_progress","payments":[]}}`)
	keyPEM, err := os.ReadFile(filepath.Join("..", "smartglocal", "testdata", "key_pkcs8.pem"))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := smartglocal.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	wrongSig, _ := smartglocal.Sign(otherKey, body)
	for name, tc := range map[string]struct {
		body []byte
		sig  string
	}{
		"unsigned":   {body, ""},
		"wrong key":  {body, wrongSig},
		"not base64": {body, "%%%"},
	} {
		if got := post(tc.body, tc.sig); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	events, err := h.db.WebhookEvents(t.Context(), 0, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("%d forged webhooks were stored", len(events))
	}
}

func TestDuplicateWarningNeedsConfirmation(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	b.get("/payouts/new")
	form := url.Values{"full_name": {"Jane Doe"}, "amount": {"32.90"}, "currency": {"USD"}, "card_number": {"4242424242424242"}}
	if p := b.post("/payouts", form); p.status != http.StatusSeeOther {
		t.Fatalf("first payout: %d", p.status)
	}
	b.get("/payouts/new")
	p := b.post("/payouts", form)
	if p.status != http.StatusConflict || !strings.Contains(p.body, `data-testid="duplicate-warning"`) || !strings.Contains(p.body, "VISA •••• 4242") {
		t.Fatalf("same card and amount again: status %d, want 409 with a duplicate warning", p.status)
	}
	if !strings.Contains(p.body, `name="confirm_duplicate"`) {
		t.Error("no way to confirm the duplicate")
	}
	form.Set("confirm_duplicate", "1")
	if p := b.post("/payouts", form); p.status != http.StatusSeeOther {
		t.Errorf("confirmed duplicate: status %d, want 303", p.status)
	}
	n := 0
	for id := int64(1); ; id++ {
		if _, err := h.db.PayoutByID(t.Context(), id); err != nil {
			break
		}
		n++
	}
	if n != 2 {
		t.Errorf("payouts recorded: %d, want 2 (the warned one was not)", n)
	}
}
