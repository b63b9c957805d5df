package sandbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
)

// TestPayoutLifecycle follows a payout from init to its final webhook for
// each ending, checking the webhooks (verified by the receiver), the final
// session/status and the wallet.
func TestPayoutLifecycle(t *testing.T) {
	const amount = 12_345
	tests := []struct {
		name        string
		pan         string
		wallet      int64
		end         func(t *testing.T, srv *sandbox.Server, c *sg.Client, sessionID string)
		wantPayout  string
		wantSession string
		wantCode    string
		wantDebit   int64
	}{
		{"confirm succeeds", okPAN, 1_000_000, confirm, sg.PaymentSucceeded, sg.SessionAccepted, "", amount},
		{"cancel", okPAN, 1_000_000, cancel, sg.PaymentFailed, sg.SessionCancelled, sg.CodeSessionCancelledByPartner, 0},
		{"decline card", declinePAN, 1_000_000, confirm, sg.PaymentFailed, sg.SessionCancelled, sg.CodeDeclinedByIssuerBank, 0},
		{"decline card via widget hash", "hash:" + declinePAN, 1_000_000, confirm, sg.PaymentFailed, sg.SessionCancelled, sg.CodeDeclinedByIssuerBank, 0},
		{"succeeds via widget hash", "hash:" + okPAN, 1_000_000, confirm, sg.PaymentSucceeded, sg.SessionAccepted, "", amount},
		{"insufficient balance", okPAN, amount - 1, confirm, sg.PaymentFailed, sg.SessionCancelled, sg.CodeInsufficientWalletBalance, 0},
		{"confirm deadline via ExpirePending", okPAN, 1_000_000,
			func(t *testing.T, srv *sandbox.Server, c *sg.Client, id string) { srv.ExpirePending() },
			sg.PaymentFailed, sg.SessionCancelled, sg.CodeConfirmTimeout, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c, rc := start(t, sandbox.Config{Wallets: map[string]int64{"usd": tt.wallet}})
			req := initReq(tt.pan, amount)
			if pan, ok := strings.CutPrefix(tt.pan, "hash:"); ok {
				hash, err := srv.Tokenize(pan)
				if err != nil {
					t.Fatal(err)
				}
				req.PaymentMethod = sg.EncryptedCardMethod(hash)
				tt.pan = pan
			}
			s, err := c.InitPayout(context.Background(), req, "")
			if err != nil {
				t.Fatal(err)
			}
			if p := s.Payout(); s.Status != sg.SessionInProgress || p.Status != sg.PaymentInProgress {
				t.Errorf("after init: session %q, payout %q; want in_progress, in_progress", s.Status, p.Status)
			}
			ready := rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
			if p := ready.Session.Payout(); ready.Session.NextAction != sg.NextActionConfirm || p.Status != sg.PaymentPending ||
				p.AmountDetails != usd(amount) || p.PaymentMethod.Card.Last4 != tt.pan[12:] {
				t.Errorf("ready_to_confirm: %+v, payout %+v", ready.Session, p)
			}

			tt.end(t, srv, c, s.ID)

			fin := rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
			p := fin.Session.Payout()
			if fin.Session.Status != tt.wantSession || p.Status != tt.wantPayout || fin.Session.NextAction != "" || p.FinishedAt == "" {
				t.Errorf("payment_finished: session %q, payout %q, next_action %q, finished_at %q; want %q, %q",
					fin.Session.Status, p.Status, fin.Session.NextAction, p.FinishedAt, tt.wantSession, tt.wantPayout)
			}
			gotCode := ""
			if p.Error != nil {
				gotCode = p.Error.Code
			}
			if gotCode != tt.wantCode {
				t.Errorf("payout error code = %q, want %q", gotCode, tt.wantCode)
			}
			if succeeded := tt.wantPayout == sg.PaymentSucceeded; succeeded != (p.TransactionInfo != nil) {
				t.Errorf("transaction_info = %+v on a %s payout", p.TransactionInfo, p.Status)
			}
			if got := srv.Balance("usd"); got != tt.wallet-tt.wantDebit {
				t.Errorf("balance = %d, want %d", got, tt.wallet-tt.wantDebit)
			}
			st, err := c.Status(context.Background(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != fin.Session.Status || st.Payout().Status != p.Status {
				t.Errorf("session/status = %q/%q, webhook said %q/%q", st.Status, st.Payout().Status, fin.Session.Status, p.Status)
			}
			// A finished payout accepts neither confirm nor cancel.
			for _, op := range []func(context.Context, string, string) (*sg.Session, error){c.Confirm, c.Cancel} {
				if _, err := op(context.Background(), s.ID, ""); errCode(err) != sg.CodeSessionWrongState {
					t.Errorf("confirm/cancel after the end: %v, want session_wrong_state", err)
				}
			}
			if n := len(rc.webhooks()); n != 2 {
				t.Errorf("receiver accepted %d webhooks, want 2", n)
			}
		})
	}
}

func confirm(t *testing.T, srv *sandbox.Server, c *sg.Client, id string) {
	t.Helper()
	s, err := c.Confirm(context.Background(), id, "")
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if s.NextAction != "" {
		t.Errorf("confirm reply next_action = %q", s.NextAction)
	}
}

func cancel(t *testing.T, srv *sandbox.Server, c *sg.Client, id string) {
	t.Helper()
	if _, err := c.Cancel(context.Background(), id, ""); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
}

func errCode(err error) string {
	if e, ok := err.(*sg.Error); ok {
		return e.Code
	}
	return ""
}

// TestConfirmDeadline: the real timer, and an injected clock that has passed
// the deadline, both cancel an unconfirmed payout with confirm_timeout.
func TestConfirmDeadline(t *testing.T) {
	t.Run("timer", func(t *testing.T) {
		_, c, rc := start(t, sandbox.Config{ConfirmDeadline: 50 * time.Millisecond})
		s, err := c.InitPayout(context.Background(), initReq(okPAN, 100), "")
		if err != nil {
			t.Fatal(err)
		}
		fin := rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
		if p := fin.Session.Payout(); p.Error == nil || p.Error.Code != sg.CodeConfirmTimeout {
			t.Errorf("payout = %+v, want confirm_timeout", p)
		}
	})
	t.Run("clock", func(t *testing.T) {
		clock := newClock(time.Date(2024, 5, 27, 2, 3, 0, 0, time.UTC))
		_, c, rc := start(t, sandbox.Config{Now: clock.now})
		s, err := c.InitPayout(context.Background(), initReq(okPAN, 100), "")
		if err != nil {
			t.Fatal(err)
		}
		rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
		if st, _ := c.Status(context.Background(), s.ID); st.Payout().Status != sg.PaymentPending || st.CreatedAt != "2024-05-27T02:03:00.000000Z" {
			t.Fatalf("before the deadline: %+v", st)
		}
		clock.add(240 * time.Minute)
		if _, err := c.Confirm(context.Background(), s.ID, ""); errCode(err) != sg.CodeSessionWrongState {
			t.Errorf("confirm after the deadline: %v, want session_wrong_state", err)
		}
		fin := rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
		if p := fin.Session.Payout(); p.Error == nil || p.Error.Code != sg.CodeConfirmTimeout || p.FinishedAt != "2024-05-27T06:03:00.000000Z" {
			t.Errorf("payout = %+v, want confirm_timeout at the deadline", p)
		}
	})
}

// TestCreateThenStart: fields from session/create carry over to
// session/start/payout, which may override them; a session starts once.
func TestCreateThenStart(t *testing.T) {
	srv, c, rc := start(t, sandbox.Config{})
	ctx := context.Background()
	s, err := c.CreateSession(ctx, sg.CreateSessionRequest{
		AmountDetails:      &sg.AmountDetails{Amount: 500, Currency: "usd"},
		ParticipantDetails: recipient("Ivanov Ivan"),
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: s.ID}, ""); errCode(err) != sg.CodeInvalidRequest {
		t.Errorf("start without a card: %v, want invalid_request", err)
	}
	hash, err := srv.Tokenize("5555555555554444")
	if err != nil {
		t.Fatal(err)
	}
	started, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: s.ID, PaymentMethod: sg.EncryptedCardMethod(hash), AmountDetails: usd(800)}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := started.Payout()
	if p.AmountDetails.Amount != 800 || p.ParticipantDetails.Recipient.FullName != "Ivanov Ivan" || p.PaymentMethod.Card.Brand != "mastercard" {
		t.Errorf("started payout = %+v", p)
	}
	if _, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: s.ID, PaymentMethod: sg.BankCardMethod(okPAN)}, ""); errCode(err) != sg.CodeSessionWrongState {
		t.Errorf("second start: %v, want session_wrong_state", err)
	}
	rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)

	// Cancelling a session that never started needs no webhook.
	s2, err := c.CreateSession(ctx, sg.CreateSessionRequest{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Cancel(ctx, s2.ID, ""); err != nil || got.Status != sg.SessionCancelled {
		t.Errorf("cancel created session = %+v, %v", got, err)
	}
	if _, err := c.StartPayout(ctx, sg.StartPayoutRequest{SessionID: s2.ID, PaymentMethod: sg.BankCardMethod(okPAN), AmountDetails: usd(1), ParticipantDetails: recipient("A")}, ""); errCode(err) != sg.CodeSessionWrongState {
		t.Errorf("start after cancel: %v, want session_wrong_state", err)
	}
}

// TestProcessingDelay: with a delay, replies and session/status show the
// intermediate in_progress states before the asynchronous steps happen.
func TestProcessingDelay(t *testing.T) {
	_, c, rc := start(t, sandbox.Config{ProcessingDelay: 100 * time.Millisecond})
	ctx := context.Background()
	s, err := c.InitPayout(ctx, initReq(okPAN, 100), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Confirm(ctx, s.ID, ""); errCode(err) != sg.CodeSessionWrongState {
		t.Errorf("confirm before ready_to_confirm: %v, want session_wrong_state", err)
	}
	rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
	got, err := c.Confirm(ctx, s.ID, "")
	if err != nil || got.Payout().Status != sg.PaymentInProgress || got.Status != sg.SessionInProgress {
		t.Fatalf("confirm = %+v, %v; want in_progress", got, err)
	}
	rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
}

// TestConcurrentConfirms: many confirms of one session race; exactly one
// wins and the wallet is debited once.
func TestConcurrentConfirms(t *testing.T) {
	srv, c, rc := start(t, sandbox.Config{})
	s, err := c.InitPayout(context.Background(), initReq(okPAN, 1000), "")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
	const n = 10
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Confirm(context.Background(), s.ID, "")
			errs <- err
		}()
	}
	ok, wrong := 0, 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errCode(err) == sg.CodeSessionWrongState:
			wrong++
		default:
			t.Errorf("Confirm: %v", err)
		}
	}
	if ok != 1 || wrong != n-1 {
		t.Errorf("%d confirms succeeded, %d refused; want 1 and %d", ok, wrong, n-1)
	}
	rc.waitFor(t, s.ID, sg.WebhookPaymentFinished, 1)
	if b := srv.Balance("usd"); b != 100_000_000-1000 {
		t.Errorf("balance = %d, want one debit", b)
	}
}
