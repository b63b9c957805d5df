package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	sg "countersign/smartglocal"
)

// Server is a Sandbox served over HTTP on its own listener.
type Server struct {
	*Sandbox
	URL string // e.g. "http://127.0.0.1:41234"; the client's BaseURL

	// PartnerKey signs requests to this sandbox. Only NewTest sets it: it
	// made the key; otherwise the partner keeps it.
	PartnerKey *rsa.PrivateKey

	srv *http.Server
}

// Start runs a sandbox on a fresh loopback port.
func Start(cfg Config) (*Server, error) {
	return listen(cfg, "127.0.0.1:0")
}

func listen(cfg Config, addr string) (*Server, error) {
	sb, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		sb.Close()
		return nil, err
	}
	srv := &http.Server{
		Handler:           sb,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      sb.cfg.HangTimeout + 30*time.Second, // FaultTimeout holds replies that long
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(sb.log.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	return &Server{Sandbox: sb, URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops serving at once, then closes the sandbox.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.Sandbox.Close()
	return err
}

// Shutdown stops serving after in-flight requests finish (or ctx ends), then
// closes the sandbox.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = errors.Join(err, s.srv.Close())
	}
	s.Sandbox.Close()
	return err
}

// ClientConfig returns a client configuration for this sandbox, signing with
// key (the partner's private key).
func (s *Server) ClientConfig(key *rsa.PrivateKey) sg.Config {
	return sg.Config{BaseURL: s.URL, Project: s.Project(), PrivateKey: key}
}

// testKeys caches one partner and one provider key per process: tests
// create many sandboxes and key generation is the slow part under -race.
// It is set once and never changed.
var testKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return keys, err
		}
		keys[i] = k
	}
	return keys, nil
})

// NewTest starts a sandbox for a test and returns it with the real client
// pointed at it, like golang/pkgsite's proxytest. Missing keys are generated
// (cached per process), Project defaults to "test", and the server is closed
// by t.Cleanup. Server.PartnerKey is the client's signing key; verify
// webhooks with Server.PublicKey(). When cfg brings its own
// PartnerPublicKey, PartnerKey is nil and the returned client cannot sign:
// build one with smartglocal.New(srv.ClientConfig(yourKey)).
func NewTest(t testing.TB, cfg Config) (*Server, *sg.Client) {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatalf("sandbox: generate keys: %v", err)
	}
	partner := keys[0]
	if cfg.PartnerPublicKey == nil {
		cfg.PartnerPublicKey = &partner.PublicKey
	} else if !cfg.PartnerPublicKey.Equal(&partner.PublicKey) {
		partner = nil // the caller brought its own partner key pair
	}
	if cfg.PrivateKey == nil {
		cfg.PrivateKey = keys[1]
	}
	if cfg.Project == "" {
		cfg.Project = "test"
	}
	srv, err := Start(cfg)
	if err != nil {
		t.Fatalf("sandbox: start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.PartnerKey = partner
	return srv, sg.New(srv.ClientConfig(partner))
}
