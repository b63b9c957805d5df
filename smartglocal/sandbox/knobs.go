package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	sg "countersign/smartglocal"
)

// Fault is a failure injected into an API reply.
type Fault int

// Faults for InjectFault and InjectFaultAfterApply.
const (
	FaultNone          Fault = iota
	Fault5xx                 // HTTP 500 with an internal_error body
	FaultTimeout             // hold the request until the client gives up (or HangTimeout), then drop the connection
	FaultReset               // close the connection without a reply (TCP RST where possible)
	FaultMalformedJSON       // HTTP 200 with a truncated JSON body
)

// String names the fault, e.g. "5xx".
func (f Fault) String() string {
	switch f {
	case FaultNone:
		return "none"
	case Fault5xx:
		return "5xx"
	case FaultTimeout:
		return "timeout"
	case FaultReset:
		return "reset"
	case FaultMalformedJSON:
		return "malformed_json"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// status is the HTTP status a client receives under f; 0 when the
// connection is dropped without a reply.
func (f Fault) status() int {
	switch f {
	case Fault5xx:
		return http.StatusInternalServerError
	case FaultMalformedJSON:
		return http.StatusOK
	}
	return 0
}

type faultRule struct {
	method     string
	fault      Fault
	afterApply bool
	remaining  int // < 0: until cleared
}

// InjectFault makes the next times requests for method (e.g.
// "session/confirm") fail with f before anything is executed; times < 0
// means until ClearFaults. Rules are used in the order they were injected.
func (s *Sandbox) InjectFault(method string, f Fault, times int) {
	s.addFault(faultRule{method: method, fault: f, remaining: times})
}

// InjectFaultAfterApply is InjectFault, except that the operation runs (and
// its reply is stored under the idempotency key) before the reply is
// replaced by the fault: the realistic "unknown outcome", where the client
// cannot tell that the confirm did happen.
func (s *Sandbox) InjectFaultAfterApply(method string, f Fault, times int) {
	s.addFault(faultRule{method: method, fault: f, afterApply: true, remaining: times})
}

func (s *Sandbox) addFault(r faultRule) {
	if r.remaining == 0 || r.fault == FaultNone {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, r)
}

// ClearFaults removes every injected fault.
func (s *Sandbox) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one use of the first rule for method.
func (s *Sandbox) takeFault(method string) (faultRule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		r := &s.faults[i]
		if r.method != method {
			continue
		}
		rule := *r
		if r.remaining > 0 {
			r.remaining--
			if r.remaining == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return rule, true
	}
	return faultRule{}, false
}

// applyFault answers with f instead of res, with the status f.status() says.
func (s *Sandbox) applyFault(w http.ResponseWriter, r *http.Request, f Fault, res result) {
	switch f {
	case Fault5xx:
		writeResult(w, errResult(http.StatusInternalServerError, sg.CodeInternalError, "sandbox: injected fault"))
	case FaultMalformedJSON:
		body := res.body
		if len(body) == 0 {
			body = []byte(`{"status":"ok","session":{"id":"ps_`)
		}
		writeResult(w, result{status: http.StatusOK, body: body[:len(body)/2]})
	case FaultTimeout:
		// Read the body first: net/http notices the client hanging up only
		// once the body is consumed.
		io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBody))
		t := time.NewTimer(s.cfg.HangTimeout)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-t.C:
		case <-s.done:
		}
		dropConn(w)
	default: // FaultReset
		dropConn(w)
	}
}

// dropConn closes the client's connection without a reply: with a TCP RST
// when the connection can be hijacked, else by aborting the handler, which
// net/http turns into a closed connection.
func dropConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// MarshalText names the fault in the call log's JSON.
func (f Fault) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads a fault's name back, for clients of /sandbox/calls.
func (f *Fault) UnmarshalText(b []byte) error {
	for _, k := range []Fault{FaultNone, Fault5xx, FaultTimeout, FaultReset, FaultMalformedJSON} {
		if k.String() == string(b) {
			*f = k
			return nil
		}
	}
	return fmt.Errorf("sandbox: unknown fault %q", b)
}

// serveCalls is GET /sandbox/calls: the call log as JSON ({"calls":[…]}),
// oldest first, so that a test driving a standalone sandbox can count what
// reached the provider (say, one session/confirm per payout).
func (s *Sandbox) serveCalls(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	calls := s.Calls()
	if calls == nil {
		calls = []Call{}
	}
	b, _ := json.Marshal(struct {
		Calls []Call `json:"calls"`
	}{calls})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
