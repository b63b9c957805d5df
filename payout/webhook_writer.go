package payout

import (
	"context"
	"fmt"

	"countersign/smartglocal"
	"countersign/store"
)

// maxWebhookGroup bounds how many webhooks one transaction commits: enough
// that a burst costs a few commits a second, few enough that the first of a
// group does not wait long for the last.
const maxWebhookGroup = 512

// webhookEvent is one verified delivery on its way to the database, and what
// storing it did once done is closed.
type webhookEvent struct {
	wh  *smartglocal.Webhook
	raw []byte
	key string // SHA-256 of raw, hex

	done     chan struct{}
	result   string // the stored outcome, or "duplicate"
	payoutID int64
	ended    bool  // the payout ended unpaid (see releaseAfterEnd)
	err      error // nil: committed (or a duplicate of one that is)
}

// webhookQueue gathers the deliveries that arrive while a group commits.
// Nobody writes webhooks while it is empty: the first delivery to find no
// writer at work becomes the writer, and the writer stops when it finds the
// queue empty. So there is no goroutine to start or stop with the service.
type webhookQueue struct {
	waiting []*webhookEvent
	writing bool
}

// writeWebhook hands ev to the webhook writer and waits until its group has
// committed (or failed): a provider is told 200 only for what is in the
// database. Signatures are checked before, in each request's goroutine, so
// on every core; the writer only writes.
func (s *Service) writeWebhook(ctx context.Context, ev *webhookEvent) error {
	s.mu.Lock()
	s.webhooks.waiting = append(s.webhooks.waiting, ev)
	start := !s.webhooks.writing
	s.webhooks.writing = true
	s.mu.Unlock()
	if start {
		go s.writeWebhooks()
	}
	select {
	case <-ev.done:
		return ev.err
	case <-ctx.Done():
		// The sender went away; its event may still commit, and a retry of it
		// is then a duplicate.
		return ctx.Err()
	}
}

// writeWebhooks commits the waiting deliveries in groups, one transaction a
// group, until none wait. Each event is applied under a savepoint, so one that
// fails (answered 500, and retried by the provider) undoes only its own
// changes; the others commit with their audit entries.
func (s *Service) writeWebhooks() {
	for {
		s.mu.Lock()
		group := s.webhooks.waiting
		if len(group) > maxWebhookGroup {
			group = group[:maxWebhookGroup]
		}
		s.webhooks.waiting = s.webhooks.waiting[len(group):]
		if len(group) == 0 {
			s.webhooks.waiting = nil
			s.webhooks.writing = false
		}
		s.mu.Unlock()
		if len(group) == 0 {
			return
		}
		s.commitWebhooks(group)
	}
}

func (s *Service) commitWebhooks(group []*webhookEvent) {
	// A handler's panic is Echo's to recover; this goroutine is nobody's, so
	// it recovers its own and the group is answered 500 (the transaction was
	// rolled back by InTx), rather than the process dying.
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("webhook writer panicked", "panic", r, "events", len(group))
			for _, ev := range group {
				ev.err = fmt.Errorf("webhook writer panicked: %v", r)
				close(ev.done)
			}
		}
	}()
	// No request's context: one sender leaving must not undo the others' events.
	ctx := context.Background()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, ev := range group {
			ev.err = tx.Savepoint(ctx, func() error { return s.applyWebhookEvent(ctx, tx, ev) })
			if ev.err != nil {
				ev.result, ev.payoutID, ev.ended = "", 0, false
			}
		}
		return nil
	})
	for _, ev := range group {
		if err != nil && ev.err == nil {
			ev.err = fmt.Errorf("commit with %d others: %w", len(group)-1, err)
		}
		close(ev.done)
	}
}
