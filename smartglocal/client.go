// Package smartglocal is a client for the Smart Glocal payments API (v1):
// card payouts, tokens, wallet balance, and webhook verification.
//
// Every call returns one of three kinds of error: nil; *Error, when the
// provider refused (nothing happened); or *UnknownOutcomeError, when it may
// have happened. A few local failures (a request that cannot be encoded or
// signed) are plain errors: those requests were never sent.
package smartglocal

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Header names used on requests and webhooks. The idempotency header's name
// comes from the Bank 131 SDK, not from Smart Glocal's pages
// (provider-api.md §2.2, §9.4).
const (
	HeaderProject        = "X-PARTNER-PROJECT"
	HeaderSign           = "X-PARTNER-SIGN"
	HeaderIdempotencyKey = "X-PARTNER-IDEMPOTENCY-KEY"
)

// maxReplySize bounds how much of a reply we read; real replies are a few KiB.
const maxReplySize = 1 << 20

// Config configures a Client.
type Config struct {
	BaseURL    string          // e.g. "https://demo.smart-glocal.com"; methods are POSTed to BaseURL+"/api/v1/"+method
	Project    string          // sent as X-PARTNER-PROJECT
	PrivateKey *rsa.PrivateKey // partner key that signs requests
	HTTPClient *http.Client    // optional; the default has explicit timeouts and does not follow redirects
	// Observe, when set, hears every call: its method, its result
	// (ResultOK, ResultRefused, ResultUnknown) and how long it took. For metrics.
	Observe func(method, outcome string, elapsed time.Duration)
}

// Client calls the provider. It is safe for concurrent use.
type Client struct {
	baseURL string
	project string
	key     *rsa.PrivateKey
	hc      *http.Client
	observe func(method, outcome string, elapsed time.Duration)

	mu          sync.Mutex
	last        CallOutcome // the latest call to finish
	lastBalance time.Time   // when wallet/balance last answered
}

// Outcomes of a call, as CallOutcome.Result says them.
const (
	ResultOK      = "ok"      // the provider did it
	ResultRefused = "refused" // the provider answered with an error: it is there, and said no
	ResultUnknown = "unknown" // no usable answer: the provider may be unreachable
)

// CallOutcome is what became of one call: never its request or reply.
type CallOutcome struct {
	Method string
	At     time.Time // when it finished
	Result string    // ResultOK, ResultRefused or ResultUnknown
	Code   string    // the provider's error code, when refused
}

// LastCall returns what became of the latest call to finish; a zero At
// means none has yet. It asks the provider nothing.
func (c *Client) LastCall() CallOutcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// LastBalanceReading returns when wallet/balance last answered; zero if never.
func (c *Client) LastBalanceReading() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastBalance
}

// record notes what became of a call to method, and tells Config.Observe.
func (c *Client) record(method string, err error, elapsed time.Duration) {
	o := CallOutcome{Method: method, At: time.Now(), Result: ResultOK}
	var pe *Error
	switch {
	case errors.As(err, &pe):
		o.Result, o.Code = ResultRefused, pe.Code
	case err != nil:
		o.Result = ResultUnknown
	}
	c.mu.Lock()
	c.last = o
	if method == methodWalletBalance && err == nil {
		c.lastBalance = o.At
	}
	c.mu.Unlock()
	if c.observe != nil {
		c.observe(method, o.Result, elapsed)
	}
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	return &Client{
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		project: cfg.Project,
		key:     cfg.PrivateKey,
		hc:      hc,
		observe: cfg.Observe,
	}
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = 20 * time.Second
	return &http.Client{
		Transport: t,
		Timeout:   30 * time.Second,
		// A redirected POST would be re-sent (or turned into a GET) somewhere
		// we did not choose; treat the 3xx itself as the (unreadable) reply.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type sessionIDRequest struct {
	SessionID string `json:"session_id"`
}

type sessionReply struct {
	Session *Session `json:"session"`
}

func (r *sessionReply) check() error {
	if r.Session == nil || r.Session.ID == "" {
		return errors.New("reply has no session")
	}
	return nil
}

// CreateSession calls session/create.
func (c *Client) CreateSession(ctx context.Context, req CreateSessionRequest, idempotencyKey string) (*Session, error) {
	var r sessionReply
	if err := c.call(ctx, "session/create", req, idempotencyKey, &r); err != nil {
		return nil, err
	}
	return r.Session, nil
}

// InitPayout calls session/init/payout. Pass an idempotency key: if the
// outcome is unknown, retrying with the same key cannot create a second
// payout.
func (c *Client) InitPayout(ctx context.Context, req InitPayoutRequest, idempotencyKey string) (*Session, error) {
	var r sessionReply
	if err := c.call(ctx, "session/init/payout", req, idempotencyKey, &r); err != nil {
		return nil, err
	}
	return r.Session, nil
}

// StartPayout calls session/start/payout.
func (c *Client) StartPayout(ctx context.Context, req StartPayoutRequest, idempotencyKey string) (*Session, error) {
	var r sessionReply
	if err := c.call(ctx, "session/start/payout", req, idempotencyKey, &r); err != nil {
		return nil, err
	}
	return r.Session, nil
}

// Confirm calls session/confirm. The returned session does not carry the
// payout's result (provider-api.md §9.13): wait for payment_finished or poll
// Status.
func (c *Client) Confirm(ctx context.Context, sessionID, idempotencyKey string) (*Session, error) {
	var r sessionReply
	if err := c.call(ctx, "session/confirm", sessionIDRequest{sessionID}, idempotencyKey, &r); err != nil {
		return nil, err
	}
	return r.Session, nil
}

// Cancel calls session/cancel.
func (c *Client) Cancel(ctx context.Context, sessionID, idempotencyKey string) (*Session, error) {
	var r sessionReply
	if err := c.call(ctx, "session/cancel", sessionIDRequest{sessionID}, idempotencyKey, &r); err != nil {
		return nil, err
	}
	return r.Session, nil
}

// Status calls session/status: the session with all its payouts.
func (c *Client) Status(ctx context.Context, sessionID string) (*Session, error) {
	var r sessionReply
	if err := c.call(ctx, "session/status", sessionIDRequest{sessionID}, "", &r); err != nil {
		return nil, err
	}
	return r.Session, nil
}

type tokenReply struct {
	PublicToken string `json:"public_token"`
}

func (r *tokenReply) check() error {
	if r.PublicToken == "" {
		return errors.New("reply has no public_token")
	}
	return nil
}

// Token calls token and returns the public token (valid 24 h, single use).
func (c *Client) Token(ctx context.Context, req TokenRequest) (string, error) {
	var r tokenReply
	if err := c.call(ctx, "token", req, "", &r); err != nil {
		return "", err
	}
	return r.PublicToken, nil
}

type tokenInfoReply struct {
	Info *TokenInfo `json:"info"`
}

func (r *tokenInfoReply) check() error {
	if r.Info == nil {
		return errors.New("reply has no info")
	}
	return nil
}

// TokenInfo calls token/info.
func (c *Client) TokenInfo(ctx context.Context, req TokenInfoRequest) (*TokenInfo, error) {
	var r tokenInfoReply
	if err := c.call(ctx, "token/info", req, "", &r); err != nil {
		return nil, err
	}
	return r.Info, nil
}

const methodWalletBalance = "wallet/balance"

type walletRequest struct {
	RequestDatetime string `json:"request_datetime"`
}

type walletReply struct {
	Wallets []Wallet `json:"wallets"`
}

func (r *walletReply) check() error {
	if r.Wallets == nil {
		return errors.New("reply has no wallets")
	}
	return nil
}

// WalletBalance calls wallet/balance for the moment at (now when zero).
func (c *Client) WalletBalance(ctx context.Context, at time.Time) ([]Wallet, error) {
	if at.IsZero() {
		at = time.Now()
	}
	var r walletReply
	if err := c.call(ctx, methodWalletBalance, walletRequest{at.Format(time.RFC3339)}, "", &r); err != nil {
		return nil, err
	}
	return r.Wallets, nil
}

// reply is a method's success payload; check rejects replies that said "ok"
// but lack what the method must return.
type reply interface{ check() error }

// call POSTs req to method and decodes the reply into out.
//
// Every failure after the request may have left this process is an
// *UnknownOutcomeError, including a connection refused at dial time, which
// in fact proves the request never arrived. We do not special-case it:
// net/http does not reliably tell a dial failure from a failure after
// writing (proxies, reused connections), a wrong guess would double-pay,
// and the price of caution is one session/status read. For the read-only
// methods (status, token/info, wallet/balance) the distinction does not
// matter: the caller simply asks again.
func (c *Client) call(ctx context.Context, method string, req any, idempotencyKey string, out reply) (err error) {
	start := time.Now()
	defer func() { c.record(method, err, time.Since(start)) }()
	// Marshal once; the signature covers exactly these bytes and these bytes
	// go on the wire.
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("smartglocal: %s: encode request: %w", method, err)
	}
	sig, err := Sign(c.key, body)
	if err != nil {
		return fmt.Errorf("smartglocal: %s: %w", method, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/api/v1/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("smartglocal: %s: %w", method, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set(HeaderProject, c.project)
	hreq.Header.Set(HeaderSign, sig)
	if idempotencyKey != "" {
		hreq.Header.Set(HeaderIdempotencyKey, idempotencyKey)
	}

	resp, err := c.hc.Do(hreq)
	if err != nil {
		return &UnknownOutcomeError{Method: method, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplySize+1))
	resp.Body.Close()
	if err != nil {
		return &UnknownOutcomeError{Method: method, Err: fmt.Errorf("read reply: %w", err)}
	}
	if len(data) > maxReplySize {
		return &UnknownOutcomeError{Method: method, Err: fmt.Errorf("%w: larger than %d bytes", errMalformedReply, maxReplySize)}
	}
	err = decodeReply(resp.StatusCode, data, out)
	if perr, ok := err.(*Error); ok {
		return perr
	}
	if err != nil {
		return &UnknownOutcomeError{Method: method, Err: err}
	}
	return nil
}

// decodeReply interprets a reply. It returns nil when the provider said "ok"
// (out is filled), *Error when it refused, and any other error when we cannot
// tell what happened. The body's status decides, not the HTTP status, except
// that a 5xx is never trusted as a refusal: gateways answer 5xx after the
// request reached the provider.
func decodeReply(httpStatus int, body []byte, out reply) error {
	var env struct {
		Status string       `json:"status"`
		Error  *ErrorDetail `json:"error"`
	}
	jsonErr := json.Unmarshal(body, &env)
	if httpStatus >= 500 {
		if jsonErr == nil && env.Error != nil {
			return fmt.Errorf("HTTP %d (%s)", httpStatus, env.Error.Code)
		}
		return fmt.Errorf("HTTP %d", httpStatus)
	}
	if jsonErr != nil {
		return fmt.Errorf("%w (HTTP %d): %w", errMalformedReply, httpStatus, jsonErr)
	}
	switch env.Status {
	case "ok":
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%w: %w", errMalformedReply, err)
		}
		if err := out.check(); err != nil {
			return fmt.Errorf("%w: %w", errMalformedReply, err)
		}
		return nil
	case "error":
		e := &Error{HTTPStatus: httpStatus}
		if env.Error != nil {
			e.Code, e.Description = env.Error.Code, env.Error.Description
		}
		return e
	default:
		return fmt.Errorf("%w (HTTP %d): no status", errMalformedReply, httpStatus)
	}
}
