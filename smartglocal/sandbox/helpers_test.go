package sandbox_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
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

func initReq(pan string, amount int64) sg.InitPayoutRequest {
	return sg.InitPayoutRequest{PaymentMethod: sg.BankCardMethod(pan), AmountDetails: usd(amount), ParticipantDetails: recipient("John Johnson")}
}

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

// receiver is the partner's webhook endpoint: it verifies every webhook with
// the sandbox's public key and records what it accepted.
type receiver struct {
	pub *rsa.PublicKey
	srv *httptest.Server

	mu     sync.Mutex
	reply  func(n int) int // HTTP status for the n-th request (from 1); nil = 200
	n      int
	hooks  []sg.Webhook
	raw    [][]byte
	forged int // requests that failed verification
}

func newReceiver(t *testing.T, pub *rsa.PublicKey) *receiver {
	r := &receiver{pub: pub}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.n++
		status := http.StatusOK
		if r.reply != nil {
			status = r.reply(r.n)
		}
		wh, err := sg.VerifyWebhook([]*rsa.PublicKey{r.pub}, body, req.Header.Get(sg.HeaderSign))
		if err != nil || req.Header.Get("Content-Type") != "application/json" {
			r.forged++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if status == http.StatusOK {
			r.hooks = append(r.hooks, *wh)
			r.raw = append(r.raw, body)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setReply(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reply = f
}

func (r *receiver) forgedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forged
}

func (r *receiver) webhooks() []sg.Webhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sg.Webhook(nil), r.hooks...)
}

// waitFor waits until the receiver has accepted n webhooks of type typ for
// the session and returns the last of them.
func (r *receiver) waitFor(t *testing.T, sessionID, typ string, n int) sg.Webhook {
	t.Helper()
	var last sg.Webhook
	eventually(t, typ+" webhook", func() bool {
		k := 0
		for _, wh := range r.webhooks() {
			if wh.Session.ID == sessionID && wh.Type == typ {
				k++
				last = wh
			}
		}
		return k >= n
	})
	return last
}

// start runs a sandbox with a webhook receiver wired to it.
func start(t *testing.T, cfg sandbox.Config) (*sandbox.Server, *sg.Client, *receiver) {
	t.Helper()
	srv, c := sandboxtest.New(t, cfg)
	rc := newReceiver(t, srv.PublicKey())
	srv.SetWebhookURL(rc.srv.URL)
	return srv, c, rc
}

// post sends a raw request to the sandbox, signed with key unless sign is
// false, and returns the reply status and body.
func post(t *testing.T, url, project string, key *rsa.PrivateKey, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if project != "" {
		req.Header.Set(sg.HeaderProject, project)
	}
	if key != nil {
		sig, err := sg.Sign(key, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(sg.HeaderSign, sig)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
