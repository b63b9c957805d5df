package smartglocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

const (
	okPAN      = "4242424242424242"
	declinePAN = "4000000000000002"
)

func recipient(name string) *sg.ParticipantDetails {
	return &sg.ParticipantDetails{Recipient: &sg.Participant{FullName: name}}
}

func usd(amount int64) sg.AmountDetails { return sg.AmountDetails{Amount: amount, Currency: "usd"} }

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// payoutStatus polls session/status until the payout reaches want.
func waitPayout(t *testing.T, c *sg.Client, sessionID, want string) *sg.Session {
	t.Helper()
	var s *sg.Session
	eventually(t, "payout "+want, func() bool {
		var err error
		s, err = c.Status(context.Background(), sessionID)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		return s.Payout() != nil && s.Payout().Status == want
	})
	return s
}

// TestEveryMethod round-trips each API method through the real client and
// the sandbox over HTTP.
func TestEveryMethod(t *testing.T) {
	srv, c := sandboxtest.New(t, sandbox.Config{})
	ctx := context.Background()

	tok, err := c.Token(ctx, sg.TokenRequest{TokenizeWidget: &sg.TokenizeWidget{Access: true, Locale: "en"}})
	if err != nil || len(tok) < 32 {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	info, err := c.TokenInfo(ctx, sg.TokenInfoRequest{Type: "public_token", PublicToken: &sg.PublicToken{Token: tok}})
	if err != nil || info.Type != "public_token" || info.Active == nil || !*info.Active || info.ExpiresAt == "" {
		t.Fatalf("TokenInfo(public token) = %+v, %v", info, err)
	}

	hash, err := srv.Tokenize(okPAN)
	if err != nil {
		t.Fatal(err)
	}
	info, err = c.TokenInfo(ctx, sg.TokenInfoRequest{Type: "card", Card: sg.EncryptedCardMethod(hash).Card})
	if err != nil {
		t.Fatalf("TokenInfo(card): %v", err)
	}
	if want := (sg.TokenInfo{Type: "card", NumberHash: hash, Brand: "visa", Last4: "4242"}); *info != want {
		t.Errorf("TokenInfo(card) = %+v, want %+v", *info, want)
	}

	created, err := c.CreateSession(ctx, sg.CreateSessionRequest{AmountDetails: &sg.AmountDetails{Amount: 3290, Currency: "EUR"}}, "create-1")
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if !strings.HasPrefix(created.ID, "ps_") || created.Status != sg.SessionCreated || created.Payout() != nil || created.CreatedAt == "" {
		t.Errorf("CreateSession = %+v", created)
	}
	started, err := c.StartPayout(ctx, sg.StartPayoutRequest{
		SessionID:          created.ID,
		PaymentMethod:      sg.EncryptedCardMethod(hash),
		ParticipantDetails: recipient("John Johnson"),
		Customer:           &sg.Customer{Reference: "984753"},
		Metadata:           json.RawMessage(`{"metadata":"withdrawal_116"}`),
	}, "start-1")
	if err != nil {
		t.Fatalf("StartPayout: %v", err)
	}
	p := started.Payout()
	if started.ID != created.ID || started.Status != sg.SessionInProgress || p == nil || p.Status != sg.PaymentInProgress ||
		!strings.HasPrefix(p.ID, "po_") || p.AmountDetails != (sg.AmountDetails{Amount: 3290, Currency: "eur"}) ||
		p.PaymentMethod.Card.Last4 != "4242" || p.PaymentMethod.Card.Brand != "visa" || p.PaymentMethod.Card.Bin != "424242" ||
		p.Customer.Reference != "984753" || string(p.Metadata) != `{"metadata":"withdrawal_116"}` {
		t.Errorf("StartPayout = %+v, payout %+v", started, p)
	}

	pending := waitPayout(t, c, created.ID, sg.PaymentPending)
	if pending.NextAction != sg.NextActionConfirm {
		t.Errorf("pending session next_action = %q, want confirm", pending.NextAction)
	}
	confirmed, err := c.Confirm(ctx, created.ID, "confirm-1")
	if err != nil || confirmed.Payout().Status == sg.PaymentPending {
		t.Fatalf("Confirm = %+v, %v", confirmed, err)
	}
	done := waitPayout(t, c, created.ID, sg.PaymentSucceeded)
	if done.Status != sg.SessionAccepted || done.Payout().TransactionInfo == nil || done.Payout().FinishedAt == "" {
		t.Errorf("finished session = %+v", done)
	}

	initd, err := c.InitPayout(ctx, sg.InitPayoutRequest{
		PaymentMethod: sg.BankCardMethod("5555555555554444"), AmountDetails: usd(1000), ParticipantDetails: recipient("Jane Roe"),
	}, "init-1")
	if err != nil {
		t.Fatalf("InitPayout: %v", err)
	}
	if initd.Payout().PaymentMethod.Card.Brand != "mastercard" {
		t.Errorf("InitPayout payout = %+v", initd.Payout())
	}
	waitPayout(t, c, initd.ID, sg.PaymentPending)
	cancelled, err := c.Cancel(ctx, initd.ID, "cancel-1")
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if cancelled.Status != sg.SessionCancelled || cancelled.Payout().Status != sg.PaymentFailed ||
		cancelled.Payout().Error.Code != sg.CodeSessionCancelledByPartner {
		t.Errorf("Cancel = %+v, payout %+v", cancelled, cancelled.Payout())
	}

	wallets, err := c.WalletBalance(ctx, time.Time{})
	if err != nil {
		t.Fatalf("WalletBalance: %v", err)
	}
	var got []string
	for _, w := range wallets {
		got = append(got, w.AmountDetails.Currency)
		if w.ID == "" {
			t.Errorf("wallet %+v has no id", w)
		}
	}
	if strings.Join(got, ",") != "eur,gbp,rub,usd" {
		t.Errorf("wallet currencies = %v, want eur,gbp,rub,usd (sorted)", got)
	}
	if wallets[0].AmountDetails.Amount != 100_000_000-3290 {
		t.Errorf("eur balance = %d, want %d", wallets[0].AmountDetails.Amount, 100_000_000-3290)
	}
}

// TestRefusals: the provider saying no is an *Error with its code, never an
// unknown outcome, and never quotes the card number.
func TestRefusals(t *testing.T) {
	srv, c := sandboxtest.New(t, sandbox.Config{})
	ctx := context.Background()
	created, err := c.CreateSession(ctx, sg.CreateSessionRequest{}, "")
	if err != nil {
		t.Fatal(err)
	}
	const badLuhn = "4242424242424241"
	init := func(pm sg.PaymentMethod, a sg.AmountDetails, pd *sg.ParticipantDetails) func() error {
		return func() error {
			_, err := c.InitPayout(ctx, sg.InitPayoutRequest{PaymentMethod: pm, AmountDetails: a, ParticipantDetails: pd}, "")
			return err
		}
	}
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"bad Luhn", init(sg.BankCardMethod(badLuhn), usd(100), recipient("A B")), 400, sg.CodeInvalidRequest},
		{"short number", init(sg.BankCardMethod("424242"), usd(100), recipient("A B")), 400, sg.CodeInvalidRequest},
		{"zero amount", init(sg.BankCardMethod(okPAN), usd(0), recipient("A B")), 400, sg.CodeInvalidRequest},
		{"negative amount", init(sg.BankCardMethod(okPAN), usd(-5), recipient("A B")), 400, sg.CodeInvalidRequest},
		{"unsupported currency", init(sg.BankCardMethod(okPAN), sg.AmountDetails{Amount: 100, Currency: "xts"}, recipient("A B")), 400, sg.CodeInvalidRequest},
		{"no recipient", init(sg.BankCardMethod(okPAN), usd(100), nil), 400, sg.CodeInvalidRequest},
		{"blank full name", init(sg.BankCardMethod(okPAN), usd(100), recipient("  ")), 400, sg.CodeInvalidRequest},
		{"unknown hash", init(sg.EncryptedCardMethod("00ff"), usd(100), recipient("A B")), 400, sg.CodeInvalidRequest},
		{"tokenized card", init(sg.PaymentMethod{Type: "card", Card: &sg.Card{Type: "tokenized_card", TokenizedCard: &sg.TokenizedCard{Token: "t"}}}, usd(100), recipient("A B")), 400, sg.CodeInvalidRequest},
		{"bank account", init(sg.PaymentMethod{Type: "bank_account"}, usd(100), recipient("A B")), 400, sg.CodeInvalidRequest},
		{"start without card", func() error {
			_, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: created.ID, AmountDetails: usd(100), ParticipantDetails: recipient("A B")}, "")
			return err
		}, 400, sg.CodeInvalidRequest},
		{"status of unknown session", func() error { _, err := c.Status(ctx, "ps_nope"); return err }, 404, sg.CodeInvalidRequest},
		{"confirm a created session", func() error { _, err := c.Confirm(ctx, created.ID, ""); return err }, 409, sg.CodeSessionWrongState},
		{"token without widget", func() error { _, err := c.Token(ctx, sg.TokenRequest{}); return err }, 400, sg.CodeInvalidRequest},
		{"token info of unknown hash", func() error {
			_, err := c.TokenInfo(ctx, sg.TokenInfoRequest{Type: "card", Card: sg.EncryptedCardMethod("00").Card})
			return err
		}, 400, sg.CodeInvalidRequest},
		{"token info of unknown type", func() error {
			_, err := c.TokenInfo(ctx, sg.TokenInfoRequest{Type: "recurrent_token"})
			return err
		}, 400, sg.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var perr *sg.Error
			if !errors.As(err, &perr) {
				t.Fatalf("err = %v, want *smartglocal.Error", err)
			}
			if sg.IsUnknownOutcome(err) {
				t.Errorf("IsUnknownOutcome(%v) = true for a refusal", err)
			}
			if perr.HTTPStatus != tt.status || perr.Code != tt.code {
				t.Errorf("err = HTTP %d %q, want HTTP %d %q", perr.HTTPStatus, perr.Code, tt.status, tt.code)
			}
			if msg := err.Error(); strings.Contains(msg, okPAN) || strings.Contains(msg, badLuhn) {
				t.Errorf("error quotes the card number: %s", msg)
			}
		})
	}
	if n := srv.CallCount("session/init/payout"); n != 10 {
		t.Errorf("CallCount(session/init/payout) = %d, want 10", n)
	}
}

// TestFaultsSeenByClient: every injected fault, on every method, is an
// unknown outcome for the client, never a refusal or a success.
func TestFaultsSeenByClient(t *testing.T) {
	srv, _ := sandboxtest.New(t, sandbox.Config{})
	cfg := srv.ClientConfig(srv.PartnerKey)
	// A short client timeout: FaultTimeout holds the reply until we give up.
	cfg.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
	c := sg.New(cfg)
	ctx := context.Background()

	s, err := c.InitPayout(ctx, sg.InitPayoutRequest{PaymentMethod: sg.BankCardMethod(okPAN), AmountDetails: usd(100), ParticipantDetails: recipient("A B")}, "")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"session/create": func() error { _, err := c.CreateSession(ctx, sg.CreateSessionRequest{}, ""); return err },
		"session/init/payout": func() error {
			_, err := c.InitPayout(ctx, sg.InitPayoutRequest{PaymentMethod: sg.BankCardMethod(okPAN), AmountDetails: usd(100), ParticipantDetails: recipient("A B")}, "")
			return err
		},
		"session/start/payout": func() error { _, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: "ps_x"}, ""); return err },
		"session/confirm":      func() error { _, err := c.Confirm(ctx, s.ID, ""); return err },
		"session/cancel":       func() error { _, err := c.Cancel(ctx, s.ID, ""); return err },
		"session/status":       func() error { _, err := c.Status(ctx, s.ID); return err },
		"token": func() error {
			_, err := c.Token(ctx, sg.TokenRequest{TokenizeWidget: &sg.TokenizeWidget{Access: true}})
			return err
		},
		"token/info":     func() error { _, err := c.TokenInfo(ctx, sg.TokenInfoRequest{Type: "card"}); return err },
		"wallet/balance": func() error { _, err := c.WalletBalance(ctx, time.Now()); return err },
	}
	for method, call := range calls {
		for _, f := range []sandbox.Fault{sandbox.Fault5xx, sandbox.FaultTimeout, sandbox.FaultReset, sandbox.FaultMalformedJSON} {
			t.Run(method+"/"+f.String(), func(t *testing.T) {
				srv.InjectFault(method, f, 1)
				err := call()
				if !sg.IsUnknownOutcome(err) {
					t.Fatalf("err = %v, want an unknown outcome", err)
				}
				var u *sg.UnknownOutcomeError
				if errors.As(err, &u); u.Method != method {
					t.Errorf("UnknownOutcomeError.Method = %q, want %q", u.Method, method)
				}
				var perr *sg.Error
				if errors.As(err, &perr) {
					t.Errorf("an unknown outcome also unwraps to *Error: %v", err)
				}
			})
		}
	}
	// The faults were used up: the next call works again.
	if _, err := c.Status(ctx, s.ID); err != nil {
		t.Errorf("Status after faults: %v", err)
	}
}

// TestFaultAfterApply: the confirm happened although the client saw an
// unknown outcome; session/status reveals it, and a retry under the same
// idempotency key replays the stored reply instead of confirming twice.
func TestFaultAfterApply(t *testing.T) {
	for _, f := range []sandbox.Fault{sandbox.Fault5xx, sandbox.FaultTimeout, sandbox.FaultReset, sandbox.FaultMalformedJSON} {
		t.Run(f.String(), func(t *testing.T) {
			srv, _ := sandboxtest.New(t, sandbox.Config{})
			cfg := srv.ClientConfig(srv.PartnerKey)
			cfg.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
			c := sg.New(cfg)
			ctx := context.Background()

			srv.InjectFaultAfterApply("session/init/payout", f, 1)
			req := sg.InitPayoutRequest{PaymentMethod: sg.BankCardMethod(okPAN), AmountDetails: usd(700), ParticipantDetails: recipient("A B")}
			if _, err := c.InitPayout(ctx, req, "payout-1/init"); !sg.IsUnknownOutcome(err) {
				t.Fatalf("InitPayout err = %v, want unknown outcome", err)
			}
			s, err := c.InitPayout(ctx, req, "payout-1/init") // the retry
			if err != nil {
				t.Fatalf("InitPayout retry: %v", err)
			}
			waitPayout(t, c, s.ID, sg.PaymentPending)

			srv.InjectFaultAfterApply("session/confirm", f, 1)
			if _, err := c.Confirm(ctx, s.ID, "payout-1/confirm"); !sg.IsUnknownOutcome(err) {
				t.Fatalf("Confirm err = %v, want unknown outcome", err)
			}
			got := waitPayout(t, c, s.ID, sg.PaymentSucceeded)
			if got.Status != sg.SessionAccepted {
				t.Errorf("session status = %q, want accepted", got.Status)
			}
			if _, err := c.Confirm(ctx, s.ID, "payout-1/confirm"); err != nil {
				t.Errorf("Confirm replay with the same key: %v, want the stored reply", err)
			}
			var executed, replayed int
			for _, call := range srv.Calls() {
				if call.Method == "session/init/payout" || call.Method == "session/confirm" {
					if call.Replayed {
						replayed++
					} else {
						executed++
					}
				}
			}
			if executed != 2 || replayed != 2 {
				t.Errorf("executed %d, replayed %d init/confirm calls; want 2 and 2", executed, replayed)
			}
			if b := srv.Balance("usd"); b != 100_000_000-700 {
				t.Errorf("balance = %d, want one debit of 700", b)
			}
		})
	}
}

func TestTransportFailures(t *testing.T) {
	ctx := context.Background()
	srv, _ := sandboxtest.New(t, sandbox.Config{})

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cfg := srv.ClientConfig(srv.PartnerKey)
		cfg.BaseURL = "http://" + addr
		_, err = sg.New(cfg).Confirm(ctx, "ps_1", "k")
		if !sg.IsUnknownOutcome(err) {
			t.Errorf("err = %v, want unknown outcome", err)
		}
	})
	t.Run("context already cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := sg.New(srv.ClientConfig(srv.PartnerKey)).Confirm(cctx, "ps_1", "k")
		if !sg.IsUnknownOutcome(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want unknown outcome wrapping context.Canceled", err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		srv.InjectFault("session/status", sandbox.FaultTimeout, 1)
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := sg.New(srv.ClientConfig(srv.PartnerKey)).Status(dctx, "ps_1")
		if !sg.IsUnknownOutcome(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want unknown outcome wrapping context.DeadlineExceeded", err)
		}
	})
	t.Run("wrong key is refused, not unknown", func(t *testing.T) {
		other, err := sg.LoadPrivateKey("testdata/key_pkcs8.pem")
		if err != nil {
			t.Fatal(err)
		}
		_, err = sg.New(srv.ClientConfig(other)).Status(ctx, "ps_1")
		var perr *sg.Error
		if !errors.As(err, &perr) || perr.Code != sg.CodeAuthenticationError || perr.HTTPStatus != 401 {
			t.Errorf("err = %v, want authentication_error", err)
		}
	})
	t.Run("no key: not sent", func(t *testing.T) {
		_, err := sg.New(sg.Config{BaseURL: srv.URL, Project: "test"}).Status(ctx, "ps_1")
		if err == nil || sg.IsUnknownOutcome(err) {
			t.Errorf("err = %v, want a local error", err)
		}
	})
}

// TestWireFormat checks the request as it arrives: POST to the method path,
// headers, and a signature over exactly the bytes received. It also feeds
// the client replies no sandbox would send.
func TestWireFormat(t *testing.T) {
	key, err := sg.LoadPrivateKey("testdata/key_pkcs8.pem")
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		method, path string
		header       http.Header
		body         []byte
	}
	got := make(chan seen, 1)
	var reply func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Clone(), b}
		reply(w)
	}))
	defer srv.Close()
	c := sg.New(sg.Config{BaseURL: srv.URL + "/", Project: "proj-1", PrivateKey: key})
	ctx := context.Background()

	reply = func(w http.ResponseWriter) {
		io.WriteString(w, `{"status":"ok","session":{"id":"ps_1","status":"in_progress"}}`)
	}
	req := sg.InitPayoutRequest{PaymentMethod: sg.BankCardMethod(okPAN), AmountDetails: usd(1000), ParticipantDetails: recipient("John Johnson")}
	if _, err := c.InitPayout(ctx, req, "idem-1"); err != nil {
		t.Fatal(err)
	}
	r := <-got
	want, _ := json.Marshal(req)
	if r.method != http.MethodPost || r.path != "/api/v1/session/init/payout" || string(r.body) != string(want) {
		t.Errorf("request = %s %s %s", r.method, r.path, r.body)
	}
	for h, v := range map[string]string{"Content-Type": "application/json", sg.HeaderProject: "proj-1", sg.HeaderIdempotencyKey: "idem-1"} {
		if r.header.Get(h) != v {
			t.Errorf("header %s = %q, want %q", h, r.header.Get(h), v)
		}
	}
	if err := sg.Verify(&key.PublicKey, r.body, r.header.Get(sg.HeaderSign)); err != nil {
		t.Errorf("signature does not cover the bytes sent: %v", err)
	}

	if _, err := c.Status(ctx, "ps_1"); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.header.Values(sg.HeaderIdempotencyKey) != nil || string(r.body) != `{"session_id":"ps_1"}` {
		t.Errorf("status request: key %q, body %s", r.header.Values(sg.HeaderIdempotencyKey), r.body)
	}

	if _, err := c.WalletBalance(ctx, time.Date(2024, 4, 10, 19, 53, 0, 0, time.FixedZone("", 3*3600))); err == nil {
		t.Error("WalletBalance accepted a session reply")
	}
	if r := <-got; string(r.body) != `{"request_datetime":"2024-04-10T19:53:00+03:00"}` {
		t.Errorf("wallet/balance body = %s", r.body)
	}

	odd := []struct {
		name  string
		reply func(w http.ResponseWriter)
	}{
		{"reply over 1 MiB", func(w http.ResponseWriter) {
			io.WriteString(w, `{"status":"ok","session":{"id":"ps_1","status":"`+strings.Repeat("x", 1<<20)+`"}}`)
		}},
		{"redirect is not followed", func(w http.ResponseWriter) {
			w.Header().Set("Location", srv.URL+"/elsewhere")
			w.WriteHeader(http.StatusTemporaryRedirect)
		}},
		{"503 with an ok body", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"ok","session":{"id":"ps_1"}}`)
		}},
	}
	for _, tt := range odd {
		t.Run(tt.name, func(t *testing.T) {
			reply = tt.reply
			_, err := c.Confirm(ctx, "ps_1", "k")
			<-got
			if !sg.IsUnknownOutcome(err) {
				t.Errorf("err = %v, want unknown outcome", err)
			}
			select {
			case r := <-got:
				t.Errorf("client made a second request to %s", r.path)
			default:
			}
		})
	}
}
