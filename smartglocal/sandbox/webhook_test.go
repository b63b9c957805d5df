package sandbox_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

var fast = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}

func deliveriesOf(srv *sandbox.Server, typ string) []sandbox.Delivery {
	var ds []sandbox.Delivery
	for _, d := range srv.Deliveries() {
		if d.Type == typ {
			ds = append(ds, d)
		}
	}
	return ds
}

// TestWebhookRetries: a receiver that fails the first attempts gets the
// webhook on a later one, with the same signed bytes.
func TestWebhookRetries(t *testing.T) {
	for _, failures := range []int{1, 3} {
		srv, c, rc := start(t, sandbox.Config{RetrySchedule: fast})
		rc.setReply(func(n int) int {
			if n <= failures {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		s, err := c.InitPayout(context.Background(), initReq(okPAN, 100), "")
		if err != nil {
			t.Fatal(err)
		}
		rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
		// The sandbox logs the attempt after the receiver has answered.
		var ds []sandbox.Delivery
		eventually(t, "the successful attempt", func() bool {
			ds = deliveriesOf(srv, sg.WebhookReadyToConfirm)
			return len(ds) > 0 && ds[len(ds)-1].Err == ""
		})
		if len(ds) != failures+1 {
			t.Fatalf("%d failures: %d attempts, want %d: %+v", failures, len(ds), failures+1, ds)
		}
		for i, d := range ds {
			wantStatus := http.StatusInternalServerError
			if i == failures {
				wantStatus = http.StatusOK
			}
			if d.Attempt != i+1 || d.HTTPStatus != wantStatus || (d.Err == "") != (wantStatus == http.StatusOK) || d.GaveUp {
				t.Errorf("attempt %d = %+v", i+1, d)
			}
		}
		if n := rc.forgedCount(); n != 0 {
			t.Errorf("receiver rejected %d retried webhooks", n)
		}
	}
}

// TestWebhookGiveUp: after the retry window the sandbox stops trying.
func TestWebhookGiveUp(t *testing.T) {
	srv, c, rc := start(t, sandbox.Config{RetrySchedule: fast, RetryWindow: 60 * time.Millisecond})
	rc.setReply(func(int) int { return http.StatusServiceUnavailable })
	if _, err := c.InitPayout(context.Background(), initReq(okPAN, 100), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "give-up", func() bool {
		return slices.ContainsFunc(srv.Deliveries(), func(d sandbox.Delivery) bool { return d.GaveUp })
	})
	srv.Close() // waits for every delivery goroutine
	ds := srv.Deliveries()
	if last := ds[len(ds)-1]; !last.GaveUp || last.HTTPStatus != http.StatusServiceUnavailable {
		t.Errorf("last attempt = %+v, want the give-up", last)
	}
	if len(ds) < 3 {
		t.Errorf("only %d attempts before giving up", len(ds))
	}
	if n := len(rc.webhooks()); n != 0 {
		t.Errorf("receiver accepted %d webhooks", n)
	}
}

// TestWebhookURLSetLater: a missing URL is retried like a failing endpoint,
// and a URL set later is used by the next attempt.
func TestWebhookURLSetLater(t *testing.T) {
	srv, c := sandboxtest.New(t, sandbox.Config{RetrySchedule: []time.Duration{20 * time.Millisecond}})
	s, err := c.InitPayout(context.Background(), initReq(okPAN, 100), "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failed attempt", func() bool { return len(srv.Deliveries()) > 0 })
	if d := srv.Deliveries()[0]; d.Err == "" || d.HTTPStatus != 0 {
		t.Errorf("attempt without URL = %+v", d)
	}
	rc := newReceiver(t, srv.PublicKey())
	srv.SetWebhookURL(rc.srv.URL)
	rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
}

func TestWebhookModes(t *testing.T) {
	ctx := context.Background()
	// run takes a payout through confirm in the given mode and returns the
	// webhook types the receiver accepted, in arrival order.
	run := func(t *testing.T, mode sandbox.WebhookMode) (*sandbox.Server, *receiver, string) {
		srv, c, rc := start(t, sandbox.Config{})
		srv.SetWebhookMode(mode)
		s, err := c.InitPayout(ctx, initReq(okPAN, 100), "")
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "pending", func() bool {
			st, err := c.Status(ctx, s.ID)
			return err == nil && st.Payout().Status == sg.PaymentPending
		})
		if _, err := c.Confirm(ctx, s.ID, ""); err != nil {
			t.Fatal(err)
		}
		eventually(t, "succeeded", func() bool {
			st, err := c.Status(ctx, s.ID)
			return err == nil && st.Payout().Status == sg.PaymentSucceeded
		})
		return srv, rc, s.ID
	}
	types := func(hooks []sg.Webhook) []string {
		var ts []string
		for _, h := range hooks {
			ts = append(ts, h.Type)
		}
		return ts
	}

	t.Run("drop", func(t *testing.T) {
		srv, rc, _ := run(t, sandbox.WebhookDrop)
		srv.Close()
		if n := len(rc.webhooks()); n != 0 {
			t.Errorf("receiver got %d webhooks", n)
		}
		ds := srv.Deliveries()
		if len(ds) != 2 || ds[0].Err != "dropped" || ds[1].Err != "dropped" {
			t.Errorf("deliveries = %+v, want two dropped", ds)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		_, rc, id := run(t, sandbox.WebhookDuplicate)
		rc.waitFor(t, id, sg.WebhookReadyToConfirm, 2)
		rc.waitFor(t, id, sg.WebhookPaymentFinished, 2)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.raw) != 4 {
			t.Fatalf("receiver got %d webhooks, want 4", len(rc.raw))
		}
		// Copies are the same signed bytes.
		n := 0
		for i := range rc.raw {
			for j := range i {
				if string(rc.raw[i]) == string(rc.raw[j]) {
					n++
				}
			}
		}
		if n != 2 {
			t.Errorf("%d identical pairs, want 2", n)
		}
	})
	t.Run("reorder", func(t *testing.T) {
		srv, rc, id := run(t, sandbox.WebhookReorder)
		rc.waitFor(t, id, sg.WebhookReadyToConfirm, 1)
		want := []string{sg.WebhookPaymentFinished, sg.WebhookReadyToConfirm}
		if got := types(rc.webhooks()); !slices.Equal(got, want) {
			t.Errorf("arrival order = %v, want %v", got, want)
		}
		// Leaving reorder mode flushes what is held.
		s2, err := sg.New(srv.ClientConfig(srv.PartnerKey)).InitPayout(ctx, initReq(okPAN, 100), "")
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "ready_to_confirm held", func() bool {
			st, _ := sg.New(srv.ClientConfig(srv.PartnerKey)).Status(ctx, s2.ID)
			return st != nil && st.Payout().Status == sg.PaymentPending
		})
		srv.SetWebhookMode(sandbox.WebhookNormal)
		rc.waitFor(t, s2.ID, sg.WebhookReadyToConfirm, 1)
	})
	t.Run("normal", func(t *testing.T) {
		_, rc, id := run(t, sandbox.WebhookNormal)
		rc.waitFor(t, id, sg.WebhookPaymentFinished, 1)
		if got := types(rc.webhooks()); len(got) != 2 {
			t.Errorf("webhooks = %v, want 2", got)
		}
	})
}

// TestWebhookDelay: nothing is sent before WebhookDelay has passed.
func TestWebhookDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	_, c, rc := start(t, sandbox.Config{WebhookDelay: delay})
	began := time.Now()
	s, err := c.InitPayout(context.Background(), initReq(okPAN, 100), "")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
	if el := time.Since(began); el < delay {
		t.Errorf("webhook after %v, want at least %v", el, delay)
	}
}

// TestCloseIsPrompt: Close returns quickly although a 240-minute deadline
// timer and a failing webhook's retries are pending.
func TestCloseIsPrompt(t *testing.T) {
	srv, c, rc := start(t, sandbox.Config{})
	rc.setReply(func(int) int { return http.StatusInternalServerError })
	if _, err := c.InitPayout(context.Background(), initReq(okPAN, 100), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first attempt", func() bool { return len(srv.Deliveries()) > 0 })
	began := time.Now()
	srv.Close()
	if el := time.Since(began); el > 2*time.Second {
		t.Errorf("Close took %v", el)
	}
}
