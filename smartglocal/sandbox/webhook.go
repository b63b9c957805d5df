package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	sg "countersign/smartglocal"
)

// WebhookMode changes how webhooks are delivered, to exercise receivers.
type WebhookMode int

// Webhook delivery modes for SetWebhookMode.
const (
	WebhookNormal    WebhookMode = iota // each webhook once, with retries
	WebhookDrop                         // never send (recorded in Deliveries with Err "dropped")
	WebhookDuplicate                    // send each webhook twice, independently
	WebhookReorder                      // hold a session's webhooks until its next one, then send the newest first
)

// String names the mode, e.g. "reorder".
func (m WebhookMode) String() string {
	switch m {
	case WebhookNormal:
		return "normal"
	case WebhookDrop:
		return "drop"
	case WebhookDuplicate:
		return "duplicate"
	case WebhookReorder:
		return "reorder"
	}
	return fmt.Sprintf("WebhookMode(%d)", int(m))
}

// Delivery is one webhook attempt.
type Delivery struct {
	Time       time.Time
	Type       string
	SessionID  string
	Attempt    int    // 1 for the first try of a copy
	HTTPStatus int    // 0 when no reply
	Err        string // why the attempt failed; "" on 2xx
	GaveUp     bool   // the last attempt: the retry window is spent or the sandbox closed
}

// Deliveries returns a copy of the webhook attempt log, oldest first.
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// SetWebhookMode changes the delivery mode for webhooks emitted from now on.
// Leaving WebhookReorder sends what it held, in order.
func (s *Sandbox) SetWebhookMode(m WebhookMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
	if m == WebhookReorder {
		return
	}
	for id, held := range s.held {
		delete(s.held, id)
		s.sendLocked(held...)
	}
}

// outgoing is one webhook, encoded and signed once; every attempt sends
// exactly these bytes.
type outgoing struct {
	typ, sessionID string
	body           []byte
	sig            string
}

// emitLocked snapshots the session into a webhook and hands it to the
// current delivery mode. s.mu must be held.
func (s *Sandbox) emitLocked(typ string, ss *session) {
	body, err := json.Marshal(sg.Webhook{Type: typ, Session: ss.view()})
	if err != nil {
		s.log.Error("sandbox: encode webhook", "err", err)
		return
	}
	sig, err := sg.Sign(s.cfg.PrivateKey, body)
	if err != nil {
		s.log.Error("sandbox: sign webhook", "err", err)
		return
	}
	o := &outgoing{typ: typ, sessionID: ss.id, body: body, sig: sig}
	s.saveLocked() // what a webhook tells is on disk before it leaves
	switch s.mode {
	case WebhookDrop:
		s.deliveries = append(s.deliveries, Delivery{Time: s.now(), Type: typ, SessionID: ss.id, Err: "dropped", GaveUp: true})
	case WebhookDuplicate:
		s.sendLocked(o)
		s.sendLocked(o)
	case WebhookReorder:
		held := s.held[ss.id]
		if len(held) == 0 && typ != sg.WebhookPaymentFinished {
			s.held[ss.id] = []*outgoing{o}
			return
		}
		delete(s.held, ss.id)
		batch := []*outgoing{o}
		for _, h := range slices.Backward(held) {
			batch = append(batch, h)
		}
		s.sendLocked(batch...)
	default:
		s.sendLocked(o)
	}
}

// sendLocked delivers the webhooks one after another in one goroutine, so
// their order is kept (a later one waits for the earlier one's retries).
func (s *Sandbox) sendLocked(batch ...*outgoing) {
	s.goLocked(func() {
		if !s.sleep(s.cfg.WebhookDelay) {
			return
		}
		for _, o := range batch {
			s.deliver(o)
		}
	})
}

// deliver POSTs o until a 2xx reply or until the retry window is spent.
func (s *Sandbox) deliver(o *outgoing) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		status, err := s.post(o)
		d := Delivery{Time: s.now(), Type: o.typ, SessionID: o.sessionID, Attempt: attempt, HTTPStatus: status}
		if err == nil {
			s.recordDelivery(d)
			return
		}
		d.Err = err.Error()
		gap := s.cfg.RetrySchedule[min(attempt-1, len(s.cfg.RetrySchedule)-1)]
		d.GaveUp = time.Since(start)+gap > s.cfg.RetryWindow
		s.recordDelivery(d)
		s.log.Warn("sandbox webhook failed", "type", o.typ, "session", o.sessionID, "attempt", attempt, "err", d.Err)
		if d.GaveUp || !s.sleep(gap) {
			return
		}
	}
}

func (s *Sandbox) recordDelivery(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = append(s.deliveries, d)
}

// post makes one attempt; any non-2xx reply is an error.
func (s *Sandbox) post(o *outgoing) (int, error) {
	s.mu.Lock()
	url := s.webhookURL
	s.mu.Unlock()
	if url == "" {
		return 0, fmt.Errorf("no webhook URL set")
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, url, bytes.NewReader(o.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sg.HeaderSign, o.sig)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
