// Package notifytest runs real receivers for notify's channels inside a test:
// an SMTP server (github.com/emersion/go-smtp) that offers STARTTLS with a
// certificate of its own and requires AUTH PLAIN, and an HTTP server standing
// in for a chat's incoming webhook. Both can be told to refuse the next few
// messages, and record what they accepted.
package notifytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From      string
	To        []string
	User      string // who authenticated
	TLS       bool   // the message came over TLS
	MessageID string
	Subject   string // decoded
	Body      string // decoded
	Raw       []byte
}

// SMTPServer is a real SMTP server on a loopback port.
type SMTPServer struct {
	Addr     string
	User     string
	Password string
	// ClientTLS trusts the server's certificate: give it to notify.Email.TLSConfig.
	ClientTLS *tls.Config
	// CertPEM is the server's certificate. A console binary under test trusts
	// it when it is written to a file named by SSL_CERT_FILE in its environment.
	CertPEM []byte

	mu     sync.Mutex
	mails  []Mail
	refuse int
}

// StartSMTP starts a server that offers STARTTLS, accepts AUTH PLAIN only
// over TLS, and refuses mail from anyone who did not authenticate.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	serverTLS, clientTLS := selfSigned(t)
	s := &SMTPServer{User: "mailer", Password: "mail-secret-" + rand.Text()[:8], ClientTLS: clientTLS,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: serverTLS.Certificates[0].Certificate[0]})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = serverTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	// Connection errors after a test ended would be logged to a finished test: drop them.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the server as COUNTERSIGN_SMTP_URL names it, with its user and password.
func (s *SMTPServer) URL() string {
	return (&url.URL{Scheme: "smtp", User: url.UserPassword(s.User, s.Password), Host: s.Addr}).String()
}

// Refuse makes the server refuse the next n messages with a temporary error.
func (s *SMTPServer) Refuse(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = n
}

// Mails returns what the server accepted so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitMails waits until the server accepted at least n messages and returns them.
func (s *SMTPServer) WaitMails(t testing.TB, n int) []Mail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server got %d mails in 20s; want %d", len(s.Mails()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type session struct {
	srv  *SMTPServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.User || pass != s.srv.Password {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.refuse > 0 {
		s.srv.refuse--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	m := Mail{From: s.from, To: s.to, User: s.user, TLS: isTLS, Raw: raw}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.MessageID = msg.Header.Get("Message-ID")
		m.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		m.Body = string(body)
	}
	s.srv.mails = append(s.srv.mails, m)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// Hook is one message the webhook receiver accepted.
type Hook struct {
	Text        string
	ContentType string
}

// WebhookReceiver is a real HTTP server standing in for a chat's incoming webhook.
type WebhookReceiver struct {
	URL string

	mu     sync.Mutex
	hooks  []Hook
	refuse int
}

// StartWebhook starts a receiver that wants POST with JSON {"text": "..."}.
func StartWebhook(t testing.TB) *WebhookReceiver {
	t.Helper()
	w := &WebhookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(srv.Close)
	w.URL = srv.URL + "/services/T000/B000/secret-token"
	return w
}

func (w *WebhookReceiver) serve(rw http.ResponseWriter, r *http.Request) {
	var body struct {
		Text *string `json:"text"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body) != nil || body.Text == nil {
		http.Error(rw, "invalid_payload", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.refuse > 0 {
		w.refuse--
		http.Error(rw, "rate_limited", http.StatusTooManyRequests)
		return
	}
	w.hooks = append(w.hooks, Hook{Text: *body.Text, ContentType: r.Header.Get("Content-Type")})
	io.WriteString(rw, "ok")
}

// Refuse makes the receiver answer 429 to the next n messages.
func (w *WebhookReceiver) Refuse(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refuse = n
}

// Hooks returns what the receiver accepted so far.
func (w *WebhookReceiver) Hooks() []Hook {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Hook(nil), w.hooks...)
}

// WaitHooks waits until the receiver accepted at least n messages and returns them.
func (w *WebhookReceiver) WaitHooks(t testing.TB, n int) []Hook {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if h := w.Hooks(); len(h) >= n {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook receiver got %d messages in 20s; want %d", len(w.Hooks()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a client
// configuration that trusts it (and nothing else).
func selfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "notifytest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	return server, &tls.Config{RootCAs: pool}
}
