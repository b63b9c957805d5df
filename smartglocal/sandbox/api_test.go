package sandbox_test

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

// TestAuthentication: nothing unsigned, forged or from another project gets
// past the sandbox, and refused requests change nothing.
func TestAuthentication(t *testing.T) {
	srv, _ := sandboxtest.New(t, sandbox.Config{})
	other, err := sg.LoadPrivateKey("../testdata/key_pkcs8.pem")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/api/v1/session/create"
	body := []byte(`{"amount_details":{"amount":100,"currency":"usd"}}`)
	sig, _ := sg.Sign(srv.PartnerKey, body)
	raw, _ := base64.StdEncoding.DecodeString(sig)
	raw[len(raw)-1] ^= 1
	flippedBody := []byte(`{"amount_details":{"amount":900,"currency":"usd"}}`) // one bit from body

	tests := []struct {
		name    string
		project string
		key     *rsa.PrivateKey
		body    []byte
		header  map[string]string
		status  int
		code    string
	}{
		{"unsigned", "test", nil, body, nil, 401, sg.CodeAuthenticationError},
		{"signed with another key", "test", other, body, nil, 401, sg.CodeAuthenticationError},
		{"flipped bit in body", "test", nil, flippedBody, map[string]string{sg.HeaderSign: sig}, 401, sg.CodeAuthenticationError},
		{"flipped bit in signature", "test", nil, body, map[string]string{sg.HeaderSign: base64.StdEncoding.EncodeToString(raw)}, 401, sg.CodeAuthenticationError},
		{"bad base64", "test", nil, body, map[string]string{sg.HeaderSign: "%%%"}, 401, sg.CodeAuthenticationError},
		{"bare digest instead of signature", "test", nil, body, map[string]string{sg.HeaderSign: digestBase64(body)}, 401, sg.CodeAuthenticationError},
		{"wrong project", "other", srv.PartnerKey, body, nil, 401, sg.CodeIdentificationError},
		{"no project", "", srv.PartnerKey, body, nil, 401, sg.CodeIdentificationError},
		{"valid", "test", srv.PartnerKey, body, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reply := post(t, url, tt.project, tt.key, tt.body, tt.header)
			if status != tt.status || code(reply) != tt.code {
				t.Errorf("reply = %d %s, want %d %q", status, reply, tt.status, tt.code)
			}
		})
	}
	calls := srv.Calls()
	created := 0
	for _, c := range calls {
		if c.Status == 200 {
			created++
		}
	}
	if created != 1 || len(calls) != len(tests) {
		t.Errorf("%d of %d calls succeeded, want 1 of %d", created, len(calls), len(tests))
	}
}

func TestRequestShape(t *testing.T) {
	srv, _ := sandboxtest.New(t, sandbox.Config{})
	key := srv.PartnerKey
	tests := []struct {
		name, method string
		body         string
		status       int
		code         string
	}{
		{"unknown method", "session/get", `{}`, 404, sg.CodeInvalidRequest},
		{"not JSON", "session/status", `{"session_id":`, 400, sg.CodeInvalidRequest},
		{"wrong type", "session/status", `{"session_id":5}`, 400, sg.CodeInvalidRequest},
		{"too large", "session/create", `{"metadata":"` + strings.Repeat("x", 70<<10) + `"}`, 413, sg.CodeInvalidRequest},
		{"wallet/balance without request_datetime", "wallet/balance", `{}`, 400, sg.CodeInvalidRequest},
		{"wallet/balance with a bad datetime", "wallet/balance", `{"request_datetime":"yesterday"}`, 400, sg.CodeInvalidRequest},
		{"wallet/balance", "wallet/balance", `{"request_datetime":"2024-04-10T19:53:00+03:00"}`, 200, ""},
		{"unknown fields are ignored", "session/create", `{"payment_options":{"x":1},"future":true}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reply := post(t, srv.URL+"/api/v1/"+tt.method, "test", key, []byte(tt.body), nil)
			if status != tt.status || code(reply) != tt.code {
				t.Errorf("reply = %d %.200s, want %d %q", status, reply, tt.status, tt.code)
			}
		})
	}
}

// TestIdempotency: same key and body replays the stored reply byte for byte
// without executing again; same key with another body is refused; keys are
// scoped per method; concurrent duplicates execute once.
func TestIdempotency(t *testing.T) {
	srv, c := sandboxtest.New(t, sandbox.Config{})
	url := srv.URL + "/api/v1/session/init/payout"
	body, _ := json.Marshal(initReq(okPAN, 100))
	hdr := map[string]string{sg.HeaderIdempotencyKey: "payout-7/init"}

	s1, r1 := post(t, url, "test", srv.PartnerKey, body, hdr)
	s2, r2 := post(t, url, "test", srv.PartnerKey, body, hdr)
	if s1 != 200 || s2 != 200 || string(r1) != string(r2) {
		t.Errorf("replay differs:\n%d %s\n%d %s", s1, r1, s2, r2)
	}
	other, _ := json.Marshal(initReq(okPAN, 101))
	if s, r := post(t, url, "test", srv.PartnerKey, other, hdr); s != 400 || code(r) != sg.CodeInvalidRequest {
		t.Errorf("same key, other body: %d %s, want 400 invalid_request", s, r)
	}
	// The key is scoped to its method: session/create may use it too.
	if _, err := c.CreateSession(context.Background(), sg.CreateSessionRequest{}, "payout-7/init"); err != nil {
		t.Errorf("same key on another method: %v", err)
	}
	// Refusals are stored too, and replayed.
	bad, _ := json.Marshal(initReq("4242424242424241", 100))
	badHdr := map[string]string{sg.HeaderIdempotencyKey: "bad"}
	sa, ra := post(t, url, "test", srv.PartnerKey, bad, badHdr)
	sb, rb := post(t, url, "test", srv.PartnerKey, bad, badHdr)
	if sa != 400 || sa != sb || string(ra) != string(rb) {
		t.Errorf("refusal replay: %d %s / %d %s", sa, ra, sb, rb)
	}

	// Concurrent duplicates.
	const n = 16
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := c.InitPayout(context.Background(), initReq(okPAN, 555), "payout-8/init")
			if err != nil {
				t.Error(err)
				ids <- ""
				return
			}
			ids <- s.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("concurrent duplicates created sessions %v, want one", seen)
	}

	executed := map[string]int{}
	for _, call := range srv.Calls() {
		if call.Method == "session/init/payout" && !call.Replayed {
			executed[call.IdempotencyKey]++
		}
	}
	if executed["payout-7/init"] != 2 || executed["payout-8/init"] != 1 || executed["bad"] != 1 {
		// payout-7 executed once, and its different-body refusal is not a replay.
		t.Errorf("executions per key = %v, want payout-7/init 2 (run + refusal), payout-8/init 1, bad 1", executed)
	}
}

func code(reply []byte) string {
	var r struct {
		Status string `json:"status"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(reply, &r)
	return r.Error.Code
}

func digestBase64(b []byte) string {
	d := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(d[:])
}

// TestTimeoutFaultReleases: a held request ends when the client gives up,
// not after HangTimeout, and the call log names the session of a refusal.
func TestTimeoutFaultReleases(t *testing.T) {
	srv, _ := sandboxtest.New(t, sandbox.Config{HangTimeout: time.Minute})
	cfg := srv.ClientConfig(srv.PartnerKey)
	cfg.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	c := sg.New(cfg)
	if _, err := c.Confirm(context.Background(), "ps_unknown", "k1"); errCode(err) != sg.CodeInvalidRequest {
		t.Fatalf("err = %v", err)
	}
	if call := srv.Calls()[0]; call.SessionID != "ps_unknown" || call.Status != 404 || call.ErrorCode != sg.CodeInvalidRequest || call.IdempotencyKey != "k1" {
		t.Errorf("call = %+v", call)
	}

	srv.InjectFault("session/confirm", sandbox.FaultTimeout, 1)
	if _, err := c.Confirm(context.Background(), "ps_held", ""); !sg.IsUnknownOutcome(err) {
		t.Fatalf("err = %v", err)
	}
	if call := srv.Calls()[1]; call.Fault != sandbox.FaultTimeout || call.Status != 0 {
		t.Errorf("call = %+v", call)
	}
	// Shutdown waits for requests in flight: it returns well before the
	// minute of HangTimeout only if the held request ended with the client.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v (the held request did not end when the client gave up)", err)
	}
}

// TestCallLoggedBeforeItsReply: a confirm whose reply is held (the operation
// ran, the reply is lost) is in the call log as soon as its effects can be
// seen, here its payment_finished webhook, not only once the hold ends.
func TestCallLoggedBeforeItsReply(t *testing.T) {
	srv, c, rc := start(t, sandbox.Config{HangTimeout: time.Minute})
	ctx := context.Background()
	sess, err := c.InitPayout(ctx, initReq(okPAN, 3290), "init-1")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, sess.ID, sg.WebhookReadyToConfirm, 1)
	srv.InjectFaultAfterApply("session/confirm", sandbox.FaultTimeout, 1)
	held := make(chan error, 1)
	go func() {
		_, err := c.Confirm(ctx, sess.ID, "confirm-1") // waits for the whole minute, or the cleanup
		held <- err
	}()
	rc.waitFor(t, sess.ID, sg.WebhookPaymentFinished, 1)
	var logged bool
	for _, call := range srv.Calls() {
		if call.Method == "session/confirm" && call.SessionID == sess.ID && call.FaultAfterApply && call.ErrorCode == "" {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the payout finished but the confirm that paid it is not in the call log: %+v", srv.Calls())
	}
	select {
	case err := <-held:
		t.Fatalf("the held confirm returned early: %v", err)
	default:
	}
}

// TestCallLogOverHTTP: a test driving a standalone sandbox counts calls at
// /sandbox/calls, as the Go API's Calls does.
func TestCallLogOverHTTP(t *testing.T) {
	srv, c, rc := start(t, sandbox.Config{})
	ctx := context.Background()
	sess, err := c.InitPayout(ctx, initReq(okPAN, 3290), "init-1")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, sess.ID, sg.WebhookReadyToConfirm, 1)
	srv.InjectFault("session/confirm", sandbox.Fault5xx, 1)
	c.Confirm(ctx, sess.ID, "confirm-1")
	if _, err := c.Confirm(ctx, sess.ID, "confirm-1"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/sandbox/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Calls []sandbox.Call }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	var confirms []string
	for _, call := range got.Calls {
		if call.Method == "session/confirm" { // a faulted call never ran, so it names no session
			confirms = append(confirms, fmt.Sprintf("%d %v", call.Status, call.Fault))
		}
	}
	if want := []string{"500 5xx", "200 none"}; !slices.Equal(confirms, want) || len(got.Calls) != len(srv.Calls()) {
		t.Errorf("confirms in /sandbox/calls: %v of %d calls; want %v of %d", confirms, len(got.Calls), want, len(srv.Calls()))
	}
}

// TestReplyDelay: a slow provider has done what it was asked before it
// answers: the confirm pays even when the caller gives up waiting.
func TestReplyDelay(t *testing.T) {
	_, c, rc := start(t, sandbox.Config{ReplyDelay: 2 * time.Second})
	sess, err := c.InitPayout(context.Background(), initReq(okPAN, 3290), "init-1")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, sess.ID, sg.WebhookReadyToConfirm, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Confirm(ctx, sess.ID, "confirm-1"); !sg.IsUnknownOutcome(err) {
		t.Fatalf("confirm given up before the reply: %v; want an unknown outcome", err)
	}
	if done := rc.waitFor(t, sess.ID, sg.WebhookPaymentFinished, 1); done.Session.Payout().Status != sg.PaymentSucceeded {
		t.Errorf("payout %+v; want it paid", done.Session.Payout())
	}
}
