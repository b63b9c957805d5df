package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lead runs work while this instance leads the console's background work
// (reconciler, balance poller, deadline watcher, notification sender,
// sweepers), until ctx ends. onChange hears every change of leadership.
//
// On SQLite the one process is the leader: work runs at once. On PostgreSQL
// the leader is the instance that holds a session-level advisory lock on a
// connection of its own; the others try for it every `every`. A leader that
// dies frees the lock with its connection (a killed process at once, a
// vanished host when the server's keepalives give up, about 25 seconds), so
// another instance takes over within `every` of that. A leader that can no
// longer reach the database through that connection (checked every
// `every`) stops its work and tries again like the others.
//
// Leadership keeps the work on one instance, but it cannot promise that two
// never overlap for a moment (a leader cut off from the database may not
// know yet that it lost): every piece of work claims what it does with
// conditional updates, so two leaders by mistake double nothing.
func (d *DB) Lead(ctx context.Context, every time.Duration, onChange func(leading bool), work func(ctx context.Context)) {
	if !d.dialect.postgres {
		onChange(true)
		work(ctx)
		onChange(false)
		return
	}
	for {
		d.tryLead(ctx, every, onChange, work)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// tryLead takes the leader's lock if it is free and leads until the lock's
// connection fails or ctx ends.
func (d *DB) tryLead(ctx context.Context, every time.Duration, onChange func(bool), work func(context.Context)) {
	cctx, cancel := context.WithTimeout(ctx, every)
	conn, err := d.dedicated(cctx)
	cancel()
	if err != nil {
		return
	}
	defer conn.Close(context.Background()) // frees the lock, if we hold it
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKeyLeader).Scan(&got); err != nil || !got {
		return
	}
	onChange(true)
	defer onChange(false)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(wctx)
	}()
	defer func() { stop(); <-done }() // the work has stopped before the lock is let go
	holding(ctx, conn, every, done)
}

// holding returns when ctx ends, the work returns, or the lock's connection
// stops answering.
func holding(ctx context.Context, conn *pgx.Conn, every time.Duration, done <-chan struct{}) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, every)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		}
	}
}
