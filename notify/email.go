package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Email sends mail through one SMTP server: smtp://user:pass@host:587 talks
// plain SMTP and upgrades with STARTTLS when the server offers it;
// smtps://…:465 speaks TLS from the start. With a user, it authenticates with
// AUTH PLAIN, which the client refuses to do over an unencrypted connection
// (except to localhost), so a password never crosses the network in clear.
type Email struct {
	addr        string // host:port
	host        string
	implicitTLS bool
	user, pass  string
	from        *mail.Address

	// TLSConfig, when set, is used for STARTTLS and smtps instead of the
	// system's roots (tests trust their own server's certificate this way).
	TLSConfig *tls.Config
	// Timeout bounds one whole message: connecting, TLS, AUTH and DATA. Default 30s.
	Timeout time.Duration
}

// ParseEmail reads an SMTP URL (smtp://[user:pass@]host[:port], default port
// 587; smtps://…, default port 465) and the From address. Its errors never
// repeat the URL, which may hold a password.
func ParseEmail(smtpURL, from string) (*Email, error) {
	u, err := url.Parse(smtpURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return nil, errors.New("want an SMTP URL like smtp://user:pass@host:587 or smtps://user:pass@host:465")
	}
	e := &Email{host: u.Hostname(), implicitTLS: u.Scheme == "smtps"}
	port := u.Port()
	switch {
	case port != "":
	case e.implicitTLS:
		port = "465"
	default:
		port = "587"
	}
	e.addr = net.JoinHostPort(e.host, port)
	if u.User != nil {
		e.user = u.User.Username()
		e.pass, _ = u.User.Password()
	}
	if strings.TrimSpace(from) == "" {
		return nil, errors.New("set the From address of notification emails too")
	}
	if e.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("the From address %q: %w", from, err)
	}
	return e, nil
}

func (e *Email) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 30 * time.Second
}

func (e *Email) tlsConfig() *tls.Config {
	if e.TLSConfig != nil {
		c := e.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = e.host
		}
		return c
	}
	return &tls.Config{ServerName: e.host, MinVersion: tls.VersionTLS12}
}

// Send delivers one message to one address. messageID makes a resend of the
// same message recognisable to the receiving mail system.
func (e *Email) Send(ctx context.Context, to, subject, body, messageID string) error {
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("recipient address: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout())
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	defer conn.Close()
	// One deadline for the whole conversation; cancelling ctx ends it at once.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if e.implicitTLS {
		conn = tls.Client(conn, e.tlsConfig())
	}
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if !e.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(e.tlsConfig()); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		}
	}
	if e.user != "" {
		if err := c.Auth(smtp.PlainAuth("", e.user, e.pass, e.host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(e.message(rcpt, subject, body, messageID, time.Now())); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	// The server took the message: a failed goodbye must not make us send it again.
	c.Quit()
	return nil
}

// message is the whole email: headers and a quoted-printable UTF-8 body.
func (e *Email) message(to *mail.Address, subject, body, messageID string, now time.Time) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", e.from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+messageID+"@"+domainOf(e.from.Address)+">")
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(body))
	qp.Close()
	return b.Bytes()
}

func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return "countersign.invalid"
}
