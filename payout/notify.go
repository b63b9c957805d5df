package payout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"countersign/notify"
	"countersign/store"
)

// DeadlineReminder is how long before the provider's deadline approvers are
// reminded of a payout still waiting for them.
const DeadlineReminder = 30 * time.Minute

// announce enqueues, in tx, what p's move from `from` to its current state
// tells people: approvers when it enters the queue, its maker when it
// finished or its outcome became unknown. Call it after saving the move, in
// the same transaction, so the news commits with the move or not at all.
func (s *Service) announce(ctx context.Context, tx *store.Tx, p *store.Payout, from State) error {
	if State(p.State) == from {
		return nil
	}
	m, ok := payoutNews(p)
	if !ok {
		return nil
	}
	return s.notify.Enqueue(ctx, tx, m)
}

// payoutNews is the message about p in its current state, if that state is
// news to anyone. Texts name the payout in the third person: the chat
// channel gets them too.
func payoutNews(p *store.Payout) (notify.Message, bool) {
	what := fmt.Sprintf("Payout #%d of %s to %s (%s)", p.ID, money(p.Amount, p.Currency), p.FullName, Destination(p))
	m := notify.Message{To: p.MakerID, Path: fmt.Sprintf("/payouts/%d", p.ID)}
	switch State(p.State) {
	case StatePendingApproval:
		m.Kind, m.To, m.Skip = notify.KindPayoutQueued, 0, p.MakerID
		m.Subject = fmt.Sprintf("Payout #%d waits for approval: %s to %s", p.ID, money(p.Amount, p.Currency), p.FullName)
		m.Text = what + ", prepared by " + p.MakerName + ", waits for approval."
		if !p.DeadlineAt.IsZero() {
			m.Text += " The provider cancels it unless it is approved by " + clock(p.DeadlineAt) + "."
		}
	case StateSucceeded:
		m.Kind = notify.KindPayoutSucceeded
		m.Subject = fmt.Sprintf("Payout #%d succeeded", p.ID)
		m.Text = what + " succeeded: the money was paid out."
	case StateFailed:
		m.Kind = notify.KindPayoutFailed
		m.Subject = fmt.Sprintf("Payout #%d failed", p.ID)
		m.Text = what + " failed" + because(p.FailureReason) + " No money was paid out."
	case StateRejected:
		m.Kind = notify.KindPayoutFailed
		m.Subject = fmt.Sprintf("Payout #%d was refused by the provider", p.ID)
		m.Text = what + " was refused by the provider" + because(p.FailureReason) + " No money was paid out."
	case StateCancelled:
		m.Kind = notify.KindPayoutCancelled
		m.Subject = fmt.Sprintf("Payout #%d was cancelled", p.ID)
		reason := p.CancelReason
		if reason == "" {
			reason = p.FailureReason
		}
		m.Text = what + " was cancelled" + because(reason) + " No money was paid out."
	case StateExpired:
		m.Kind = notify.KindPayoutCancelled
		m.Subject = fmt.Sprintf("Payout #%d expired", p.ID)
		m.Text = what + " expired: nobody approved it before the provider's deadline. No money was paid out."
	case StateUnknown:
		m.Kind = notify.KindPayoutUnknown
		m.Subject = fmt.Sprintf("The outcome of payout #%d is not known yet", p.ID)
		m.Text = what + ": the provider's answer was lost, so its outcome is not known yet. " +
			"Countersign keeps asking the provider; do not prepare it again until it is settled."
	default:
		return notify.Message{}, false
	}
	return m, true
}

// because is ": reason." or "." when there is none.
func because(reason string) string {
	reason = strings.TrimRight(strings.TrimSpace(reason), ".")
	if reason == "" {
		return "."
	}
	return ": " + reason + "."
}

// clock is a time as messages give it (people's time zones are not known here).
func clock(t time.Time) string { return t.UTC().Format("15:04 UTC on 2 Jan 2006") }

// RunAlerts runs AlertOnce every interval until ctx ends.
func (s *Service) RunAlerts(ctx context.Context, every time.Duration) {
	if !s.notify.Enabled() {
		return // nothing would be enqueued, and a mark set now would silence a later alert
	}
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.AlertOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// AlertOnce enqueues the alerts that are due and were not told yet: payouts in
// the queue DeadlineReminder from their deadline (to approvers, once per
// payout), and currencies whose money on hand is under its low mark (to
// admins, once per crossing). Each is claimed by a mark set in the
// transaction that enqueues it, so two watchers never tell anything twice.
func (s *Service) AlertOnce(ctx context.Context) error {
	if !s.notify.Enabled() {
		return nil
	}
	return errors.Join(s.remindDeadlines(ctx), s.alertLowBalances(ctx))
}

func (s *Service) remindDeadlines(ctx context.Context) error {
	ps, err := s.db.PayoutsInStates(ctx, string(StatePendingApproval))
	if err != nil {
		return err
	}
	var errs []error
	now := s.db.Now()
	for _, p := range ps {
		if p.DeadlineAt.IsZero() || !now.Before(p.DeadlineAt) || p.DeadlineAt.Sub(now) > DeadlineReminder {
			continue
		}
		key := fmt.Sprintf("deadline:%d", p.ID)
		if told, err := s.db.HasMark(ctx, key); err != nil || told {
			errs = append(errs, err)
			continue // a read spares the write transaction of every later look
		}
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			q, err := load(ctx, tx, p.ID)
			if err != nil || State(q.State) != StatePendingApproval {
				return err
			}
			first, err := tx.SetMark(ctx, key)
			if err != nil || !first {
				return err
			}
			left := q.DeadlineAt.Sub(tx.Now()).Round(time.Minute)
			return s.notify.Enqueue(ctx, tx, notify.Message{
				Kind: notify.KindDeadlineSoon, Skip: q.MakerID, Path: fmt.Sprintf("/payouts/%d", q.ID),
				Subject: fmt.Sprintf("Payout #%d expires in %d minutes", q.ID, int(left.Minutes())),
				Text: fmt.Sprintf("Payout #%d of %s to %s (%s) still waits for approval. The provider cancels it at %s unless it is approved before.",
					q.ID, money(q.Amount, q.Currency), q.FullName, Destination(q), clock(q.DeadlineAt)),
			})
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("deadline reminder for payout %d: %w", p.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Low reports whether the money on hand is under level: what is left once
// everything being paid and everything awaiting approval is paid.
func (p Position) Low(level int64) bool { return p.Read && p.Available() < level }

// alertLowBalances tells admins of each currency that went under its low
// mark since the last look, and re-arms the alert of each that is back above.
func (s *Service) alertLowBalances(ctx context.Context) error {
	levels, err := s.LowBalanceLevels(ctx)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		in, err := tx.BalanceInputs(ctx, balanceQuery(0))
		if err != nil {
			return err
		}
		for _, p := range Positions(in) {
			key := "balance_low:" + p.Currency
			level, ok := levels[p.Currency]
			if !ok || !p.Low(level) {
				if err := tx.ClearMark(ctx, key); err != nil {
					return err
				}
				continue
			}
			first, err := tx.SetMark(ctx, key)
			if err != nil {
				return err
			}
			if !first {
				continue
			}
			err = s.notify.Enqueue(ctx, tx, notify.Message{
				Kind: notify.KindBalanceLow, Path: "/",
				Subject: fmt.Sprintf("Low balance: %s %s available", FormatAmount(p.Available(), p.Currency), p.Currency),
				Text: fmt.Sprintf("The money on hand in %s is %s after what is being paid out and what awaits approval, under the low mark of %s. Top up the wallet before approving more.",
					p.Currency, money(p.Available(), p.Currency), money(level, p.Currency)),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
