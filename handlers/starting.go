package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"countersign/views"
)

// startingRetry is how long a client is asked to wait, in seconds, while the
// console starts.
const startingRetry = 10

// startingCSP allows the starting page its own style and nothing else.
var startingCSP = func() string {
	sum := sha256.Sum256([]byte(views.StartingCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'; base-uri 'none'"
}()

// Starting answers for the console while it starts, which after an upgrade
// may take minutes (its migrations): the listener is open at once, so a
// browser, a load balancer or the provider's webhook gets a quick 503 with
// Retry-After and the reason, rather than a connection that hangs until
// the console serves. Once Ready hands it the console's handler, every
// request goes there.
type Starting struct {
	console atomic.Pointer[http.Handler]
}

// Ready makes h answer every request from now on.
func (s *Starting) Ready(h http.Handler) { s.console.Store(&h) }

func (s *Starting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.console.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(startingRetry))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", startingCSP)
	fixedSecurityHeaders(h)
	const text = "Countersign is starting. " + views.StartingMessage
	switch {
	case r.URL.Path == "/healthz" || r.URL.Path == "/readyz":
		// The probes' own shape, so that a check reading it sees why.
		body, _ := json.Marshal(map[string]any{"ready": false, "database": "starting", "not_ready": []string{views.StartingMessage}})
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(body)
	case strings.Contains(r.Header.Get("Accept"), "text/html") && r.Header.Get("HX-Request") == "":
		var page bytes.Buffer
		if err := views.StartingPage(startingRetry).Render(r.Context(), &page); err != nil {
			http.Error(w, text, http.StatusServiceUnavailable)
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(page.Bytes())
	default:
		http.Error(w, text, http.StatusServiceUnavailable)
	}
}
