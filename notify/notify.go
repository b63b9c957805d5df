// Package notify tells people what needs them: approvers when a payout waits,
// makers when theirs finished, admins when the balance runs low, a webhook is
// flagged or an admin change waits. Messages go by email (SMTP) and to a
// Slack-compatible chat webhook.
//
// It is a durable outbox. An event enqueues its notification in the event's
// own transaction (one insert), so a rolled-back event tells nobody and a
// committed one is never lost. The sender (Run) expands each notification into
// one delivery per person and channel, claims deliveries with a conditional
// update so that two senders never send one twice, retries failures with
// exponential backoff and gives up after MaxAttempts. Sending never happens
// on the money path.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"countersign/card"
	"countersign/store"
)

// Config wires the outbox and its senders.
type Config struct {
	DB      *store.DB
	Email   *Email   // nil: no email
	Webhook *Webhook // nil: no chat webhook
	// PublicURL is where people reach the console; links are PublicURL + path.
	PublicURL string
	Logger    *slog.Logger

	Interval    time.Duration // how often the sender looks for work; default 5s
	Lease       time.Duration // how long a claimed delivery is left to its sender; default 2m
	MaxAttempts int           // attempts before a delivery is marked failed; default 8
	Backoff     time.Duration // wait after the first failure, doubled after each; default 30s
	MaxBackoff  time.Duration // longest wait between attempts; default 1h
	Keep        time.Duration // how long sent and failed messages are kept; default 30 days
}

// Service is the outbox, its senders and people's preferences.
type Service struct {
	db          *store.DB
	email       *Email
	webhook     *Webhook
	publicURL   string
	log         *slog.Logger
	interval    time.Duration
	lease       time.Duration
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	keep        time.Duration
}

// New returns a Service for cfg, filling in defaults.
func New(cfg Config) *Service {
	s := &Service{
		db: cfg.DB, email: cfg.Email, webhook: cfg.Webhook, publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		log: cfg.Logger, interval: cfg.Interval, lease: cfg.Lease, maxAttempts: cfg.MaxAttempts,
		backoff: cfg.Backoff, maxBackoff: cfg.MaxBackoff, keep: cfg.Keep,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "notify")
	if s.interval <= 0 {
		s.interval = 5 * time.Second
	}
	if s.lease <= 0 {
		s.lease = 2 * time.Minute
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 8
	}
	if s.backoff <= 0 {
		s.backoff = 30 * time.Second
	}
	if s.maxBackoff <= 0 {
		s.maxBackoff = time.Hour
	}
	if s.keep <= 0 {
		s.keep = 30 * 24 * time.Hour
	}
	return s
}

// Enabled reports whether any channel is configured. Without one nothing is
// enqueued at all: an outbox nobody empties would only grow, and telling
// people about last month's events once a channel is set up helps nobody.
// A nil Service is not enabled.
func (s *Service) Enabled() bool { return s != nil && (s.email != nil || s.webhook != nil) }

// Channels reports which channels are configured: email (SMTP) and the chat webhook.
func (s *Service) Channels() (email, chat bool) {
	if s == nil {
		return false, false
	}
	return s.email != nil, s.webhook != nil
}

// Message is one event to tell people about.
type Message struct {
	Kind    Kind
	To      int64  // only this person (who must hold the kind's role); 0: everyone who holds it
	Skip    int64  // never this person, e.g. the maker of a payout approvers are asked to approve
	Subject string // one line
	Text    string // what happened, in a sentence or three
	Path    string // the console page it is about, e.g. "/payouts/12"
}

// Field limits of a stored message, in characters.
const (
	maxSubject = 200
	maxText    = 2000
)

// Enqueue adds m to the outbox as part of tx, so it is sent only if tx
// commits. It is one insert and does nothing when no channel is configured
// (or s is nil). Card numbers are masked in the subject and text, whatever
// text reached them. A malformed message is a programming error: it is
// logged and dropped rather than failing the event that sent it.
func (s *Service) Enqueue(ctx context.Context, tx *store.Tx, m Message) error {
	if !s.Enabled() {
		return nil
	}
	if !m.Kind.Valid() || !strings.HasPrefix(m.Path, "/") || strings.HasPrefix(m.Path, "//") {
		s.log.Error("malformed notification dropped", "kind", m.Kind, "path", m.Path)
		return nil
	}
	n := &store.Notification{
		Kind: string(m.Kind), UserID: m.To, SkipUserID: m.Skip,
		Subject: clip(oneLine(card.MaskText(m.Subject)), maxSubject),
		Body:    clip(card.MaskText(m.Text), maxText),
		Path:    m.Path,
	}
	return tx.EnqueueNotification(ctx, n)
}

// WebhookFlagged tells admins, in tx, that a provider webhook needs a
// person's look: why says what is wrong with it. payoutID is the payout it is
// about, or 0 when it matches none.
func (s *Service) WebhookFlagged(ctx context.Context, tx *store.Tx, payoutID int64, why string) error {
	m := Message{Kind: KindWebhookFlagged, Subject: "A provider webhook was flagged", Path: "/"}
	m.Text = "A webhook from the payment provider was flagged for review: " + why + "."
	if payoutID > 0 {
		m.Subject = fmt.Sprintf("A provider webhook about payout #%d was flagged", payoutID)
		m.Text = fmt.Sprintf("A webhook from the payment provider about payout #%d was flagged for review: %s.", payoutID, why)
		m.Path = fmt.Sprintf("/payouts/%d", payoutID)
	}
	return s.Enqueue(ctx, tx, m)
}

// AdminChangeWaits tells the other admins, in tx, that proposerID proposed a
// change (what, in words) that waits for a second admin at /admin/changes.
func (s *Service) AdminChangeWaits(ctx context.Context, tx *store.Tx, proposerID int64, proposer, what string) error {
	return s.Enqueue(ctx, tx, Message{
		Kind: KindAdminChange, Skip: proposerID, Path: "/admin/changes",
		Subject: "An admin change waits for your approval",
		Text:    proposer + " proposed a change that needs a second admin: " + what + ".",
	})
}

// oneLine replaces line breaks and other control characters by spaces, so
// that a subject cannot add a header to an email.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
