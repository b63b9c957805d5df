package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"countersign/card"
	"countersign/store"
)

// Channels, as deliveries record them.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// batch is how many notifications, and how many deliveries, one pass takes on.
const batch = 100

// Run sends what the outbox holds, every Interval, until ctx ends. It
// returns at once when no channel is configured: then nothing is enqueued.
func (s *Service) Run(ctx context.Context) {
	if !s.Enabled() {
		return
	}
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	var pruned time.Time
	for {
		if err := s.SendOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("notifications", "err", err)
		}
		if now := s.db.Now(); now.Sub(pruned) > time.Hour {
			pruned = now
			if n, err := s.db.DeleteOldNotifications(ctx, now.Add(-s.keep)); err != nil && ctx.Err() == nil {
				s.log.Warn("prune notifications", "err", err)
			} else if n > 0 {
				s.log.Info("pruned old notifications", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// SendOnce expands new notifications into deliveries, then makes one attempt
// at each delivery that is due. Any number of SendOnce may run at once, in
// one process or several: every notification is expanded once and every
// delivery claimed by one of them at a time.
func (s *Service) SendOnce(ctx context.Context) error {
	if !s.Enabled() {
		return nil
	}
	fresh, err := s.db.UnexpandedNotifications(ctx, batch)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range fresh {
		if err := s.expand(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("expand notification %d: %w", n.ID, err))
		}
	}
	due, err := s.db.DueDeliveries(ctx, batch)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		if err := s.deliver(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("delivery %d: %w", d.ID, err))
		}
	}
	return errors.Join(errs...)
}

// expand turns one notification into its deliveries: an email to each person
// it is for, and one post to the chat webhook. The claim and the deliveries
// commit together, so a crash in between leaves it to expand again.
func (s *Service) expand(ctx context.Context, n store.Notification) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		won, err := tx.ClaimNotification(ctx, n.ID)
		if err != nil || !won {
			return err
		}
		if s.email != nil {
			users, err := tx.ActiveUsers(ctx)
			if err != nil {
				return err
			}
			out, err := tx.OptedOut(ctx, n.Kind)
			if err != nil {
				return err
			}
			for _, u := range recipients(n, users, out) {
				if err := tx.AddDelivery(ctx, &store.Delivery{NotificationID: n.ID, Channel: ChannelEmail, Address: u.Email, UserID: u.ID}); err != nil {
					return err
				}
			}
		}
		if s.webhook != nil {
			return tx.AddDelivery(ctx, &store.Delivery{NotificationID: n.ID, Channel: ChannelWebhook})
		}
		return nil
	})
}

// recipients picks who gets a notification by email: active people holding
// the kind's role who did not opt out of it, narrowed to n.UserID when set,
// never n.SkipUserID.
func recipients(n store.Notification, active []*store.User, optedOut map[int64]bool) []*store.User {
	role := Kind(n.Kind).Role()
	var out []*store.User
	for _, u := range active {
		switch {
		case !u.Active, !slices.Contains(u.Roles, role), optedOut[u.ID]:
		case n.UserID != 0 && u.ID != n.UserID:
		case n.SkipUserID != 0 && u.ID == n.SkipUserID:
		default:
			out = append(out, u)
		}
	}
	return out
}

// deliver claims a due delivery, makes one attempt and records the outcome.
// Losing the claim to another sender is not an error.
func (s *Service) deliver(ctx context.Context, d *store.Delivery) error {
	attempt, err := s.db.ClaimDelivery(ctx, d.ID, s.db.Now().Add(s.lease))
	if err != nil || attempt == 0 {
		return err
	}
	sendErr := s.send(ctx, d)
	// The outcome is recorded even when shutdown cancels ctx mid-send.
	ctx = context.WithoutCancel(ctx)
	log := s.log.With("delivery", d.ID, "notification", d.NotificationID, "kind", d.Notification.Kind, "channel", d.Channel, "attempt", attempt)
	var state, why string
	next := s.db.Now()
	switch {
	case sendErr == nil:
		state = store.DeliverySent
		log.Info("notification sent", "user", d.UserID)
	case attempt >= s.maxAttempts:
		state, why = store.DeliveryFailed, clip(card.MaskText(sendErr.Error()), 300)
		log.Error("notification failed: giving up", "user", d.UserID, "err", why)
	default:
		state, why = store.DeliveryPending, clip(card.MaskText(sendErr.Error()), 300)
		next = next.Add(s.retryAfter(attempt))
		log.Warn("notification not sent: will retry", "user", d.UserID, "at", next, "err", why)
	}
	err = s.db.FinishDelivery(ctx, d.ID, attempt, state, why, next)
	if errors.Is(err, store.ErrConflict) {
		// The lease passed while sending and another sender took it over.
		log.Warn("notification outcome not recorded: the claim had expired")
		return nil
	}
	return err
}

// retryAfter is how long to wait after failed attempt number n (1, 2, …):
// Backoff doubled n-1 times, at most MaxBackoff.
func (s *Service) retryAfter(n int) time.Duration {
	d := s.backoff
	for i := 1; i < n && d < s.maxBackoff; i++ {
		d *= 2
	}
	return min(d, s.maxBackoff)
}

// send makes one attempt at a delivery on its channel.
func (s *Service) send(ctx context.Context, d *store.Delivery) error {
	n := d.Notification
	link := s.publicURL + n.Path
	switch d.Channel {
	case ChannelEmail:
		if s.email == nil {
			return errors.New("email is not configured")
		}
		id := fmt.Sprintf("countersign.%d.%d", d.NotificationID, d.ID)
		return s.email.Send(ctx, d.Address, "Countersign: "+n.Subject, emailBody(n, link, s.publicURL), id)
	case ChannelWebhook:
		if s.webhook == nil {
			return errors.New("the chat webhook is not configured")
		}
		return s.webhook.Send(ctx, chatText(n, link))
	}
	return fmt.Errorf("unknown channel %q", d.Channel)
}

// emailBody is the text of a notification email: what happened, the link,
// and why the person gets it.
func emailBody(n store.Notification, link, publicURL string) string {
	var b strings.Builder
	b.WriteString(n.Body)
	b.WriteString("\n\nOpen it in Countersign: ")
	b.WriteString(link)
	b.WriteString("\n\n-- \nYou get this because you are ")
	b.WriteString(article(Kind(n.Kind).Role()))
	b.WriteString(" in Countersign. Choose which notifications you get at ")
	b.WriteString(publicURL)
	b.WriteString("/account\n")
	return b.String()
}

// chatText is a notification as one chat message.
func chatText(n store.Notification, link string) string {
	return chatEscape(n.Subject) + "\n" + chatEscape(n.Body) + "\n" + link
}

func article(role string) string {
	if role == roleAdmin || role == roleApprover {
		return "an " + role
	}
	return "a " + role
}
