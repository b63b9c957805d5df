package sandbox

import (
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	sg "countersign/smartglocal"
)

// Server is a Sandbox served over HTTP on its own listener.
type Server struct {
	*Sandbox
	URL string // e.g. "http://127.0.0.1:41234"; the client's BaseURL

	// PartnerKey signs requests to this sandbox. Only sandboxtest.New sets
	// it: it made the key; otherwise the partner keeps it.
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
