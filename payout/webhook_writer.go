package payout

import (
	"context"
	"errors"
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
	wh     *smartglocal.Webhook
	raw    []byte
	key    string // SHA-256 of raw, hex
	packed []byte // raw packed for storage, done before the writer (store.PackWebhookBody)

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
// group (see commitWebhooks), until none wait.
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

// commitWebhooks stores a group in one transaction and answers each event.
//
// Events almost never fail (a failure is the database's), so the group is
// first applied straight through. Should one fail, that transaction is
// rolled back and the group applied again with each event under a
// savepoint, so that the failed one (answered 500, and retried by the
// provider) undoes only its own changes and the others commit with their
// audit entries.
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
	err := s.db.InTx(ctx, func(tx *store.Tx) error { return s.applyWebhookGroup(ctx, tx, group, false) })
	var failed *eventFailed
	if errors.As(err, &failed) {
		s.log.Warn("webhook group applied again event by event", "events", len(group), "err", failed.err)
		err = s.db.InTx(ctx, func(tx *store.Tx) error { return s.applyWebhookGroup(ctx, tx, group, true) })
	}
	for _, ev := range group {
		if err != nil && ev.err == nil {
			ev.err = fmt.Errorf("commit with %d others: %w", len(group)-1, err)
		}
		close(ev.done)
	}
}

// eventFailed is one event's failure, which ends a group applied straight through.
type eventFailed struct{ err error }

func (e *eventFailed) Error() string { return "one event failed: " + e.err.Error() }

// applyWebhookGroup applies group in tx, each event straight through, or
// under a savepoint of its own when bySavepoint (then an event's failure is
// its own and the others go on).
func (s *Service) applyWebhookGroup(ctx context.Context, tx *store.Tx, group []*webhookEvent, bySavepoint bool) error {
	g, err := readWebhookGroup(ctx, tx, group)
	if err != nil {
		return err
	}
	for _, ev := range group {
		ev.result, ev.payoutID, ev.ended, ev.err = "", 0, false, nil
		if !bySavepoint {
			if err := s.applyWebhookEvent(ctx, tx, g, ev); err != nil {
				return &eventFailed{err}
			}
			g.seen[ev.key] = true
			continue
		}
		ev.err = tx.Savepoint(ctx, func() error { return s.applyWebhookEvent(ctx, tx, g, ev) })
		if ev.err != nil {
			ev.result, ev.payoutID, ev.ended = "", 0, false
			// The payouts it changed in memory were not changed in the database.
			g.payouts = map[string]*store.Payout{}
			continue
		}
		g.seen[ev.key] = true
	}
	return nil
}

// webhookGroup is what a group's transaction read once for all its events.
type webhookGroup struct {
	// seen holds the keys stored already: before the group, or by an
	// earlier event of it.
	seen map[string]bool
	// payouts are the payouts that own the group's sessions, as this
	// transaction changed them so far. A session missing here is looked up
	// again (an event of the group may have given a payout that session).
	payouts map[string]*store.Payout
}

func readWebhookGroup(ctx context.Context, tx *store.Tx, group []*webhookEvent) (*webhookGroup, error) {
	keys := make([]string, 0, len(group))
	sessions := make([]string, 0, len(group))
	for _, ev := range group {
		keys = append(keys, ev.key)
		if ev.wh.Session.ID != "" {
			sessions = append(sessions, ev.wh.Session.ID)
		}
	}
	seen, err := tx.WebhookEventsSeen(ctx, keys)
	if err != nil {
		return nil, err
	}
	payouts, err := tx.PayoutsBySessionIDs(ctx, sessions)
	if err != nil {
		return nil, err
	}
	return &webhookGroup{seen: seen, payouts: payouts}, nil
}

// payoutBySession is the payout that owns the session, nil when none does.
func (g *webhookGroup) payoutBySession(ctx context.Context, tx *store.Tx, sessionID string) (*store.Payout, error) {
	if p, ok := g.payouts[sessionID]; ok {
		return p, nil
	}
	p, err := tx.PayoutBySessionID(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	g.payouts[sessionID] = p
	return p, nil
}
