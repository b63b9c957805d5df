package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
)

// tee records every reply body the client receives.
type tee struct {
	mu     sync.Mutex
	bodies bytes.Buffer
}

func (t *tee) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	t.mu.Lock()
	t.bodies.Write(b)
	t.mu.Unlock()
	return resp, nil
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCardNumberNeverLeaks drives canary card numbers through every path
// that sees one (raw card payouts, the decline card, an invalid number,
// tokenize, the widget) and then searches everything the sandbox and the
// client produced for them: reply bodies, webhooks, the call and delivery
// logs, the sandbox's log output, error strings and widget pages.
func TestCardNumberNeverLeaks(t *testing.T) {
	const (
		canary    = "4111111111111111" // goes through payouts
		tokenized = "5105105105105100" // goes through the widget and tokenize
		invalid   = "4111111111111112" // fails Luhn
	)
	canaries := []string{canary, tokenized, invalid, declinePAN}

	var logs syncBuffer
	srv, _, rc := start(t, sandbox.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	rec := &tee{}
	cfg := srv.ClientConfig(srv.PartnerKey)
	cfg.HTTPClient = &http.Client{Transport: rec}
	c := sg.New(cfg)
	ctx := context.Background()
	var seen []string // everything else to search

	for _, pan := range []string{canary, declinePAN} {
		s, err := c.InitPayout(ctx, initReq(pan, 100), "k-"+pan[:4])
		if err != nil {
			t.Fatal(err)
		}
		rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
		if _, err := c.Confirm(ctx, s.ID, ""); err != nil {
			t.Fatal(err)
		}
		rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
		st, err := c.Status(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, fmt.Sprintf("%+v", st))
	}
	created, _ := c.CreateSession(ctx, sg.CreateSessionRequest{}, "")
	_, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: created.ID, PaymentMethod: sg.BankCardMethod(invalid), AmountDetails: usd(5), ParticipantDetails: recipient("A")}, "")
	if err == nil {
		t.Fatal("invalid card accepted")
	}
	seen = append(seen, err.Error())
	if _, err := c.InitPayout(ctx, initReq(invalid, 100), ""); err != nil {
		seen = append(seen, err.Error())
	}
	srv.InjectFault("session/init/payout", sandbox.Fault5xx, 1)
	if _, err := c.InitPayout(ctx, initReq(canary, 100), ""); err != nil {
		seen = append(seen, err.Error())
	}

	// Tokenize: JSON endpoint and widget form.
	for _, n := range []string{tokenized, invalid} {
		resp, err := http.Post(srv.URL+"/sandbox/tokenize", "application/json", strings.NewReader(`{"number":"`+n+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen = append(seen, string(b))
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, n := range []string{tokenized, invalid, "4111 1111 1111 1111"} {
		for _, ret := range []string{"", "http://127.0.0.1:1/back"} {
			resp, err := noRedirect.PostForm(srv.URL+"/sandbox/widget", url.Values{"number": {n}, "return_to": {ret}})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen = append(seen, string(b), resp.Header.Get("Location"))
		}
	}
	if _, err := srv.Tokenize(invalid); err != nil {
		seen = append(seen, err.Error())
	}

	srv.Close() // flush every goroutine before reading the logs
	rec.mu.Lock()
	seen = append(seen, rec.bodies.String())
	rec.mu.Unlock()
	rc.mu.Lock()
	for _, b := range rc.raw {
		seen = append(seen, string(b))
	}
	rc.mu.Unlock()
	seen = append(seen, fmt.Sprintf("%+v", srv.Calls()), fmt.Sprintf("%+v", srv.Deliveries()), logs.String())

	all := strings.Join(seen, "\n")
	if !strings.Contains(all, "1111") || !strings.Contains(all, "session/init/payout") {
		t.Fatal("the search found nothing at all: the capture is broken")
	}
	for _, pan := range canaries {
		if n := strings.Count(all, pan); n != 0 {
			t.Errorf("card number %s…%s found %d times", pan[:4], pan[12:], n)
		}
	}
}
