package store

import (
	"context"
	"database/sql"
	"fmt"
)

// hotStatements are prepared once, when the database opens: the webhook
// writer runs them thousands of times a second, and compiling them again
// each time (the payout update with its triggers most of all) was a quarter
// of the console's CPU under a burst. database/sql keeps a statement
// prepared per connection, so a transaction that runs one (Tx.stmt)
// prepares it again only on a connection that has not run it yet, and on
// its own connection: a transaction never waits for a second connection
// from the pool (on PostgreSQL, with every connection waiting for the write
// lock, that would never come). The same works with SQLite and with pgx,
// where the rebound text is prepared on the server.
var hotStatements = []string{sqlSavePayout, sqlPayoutBySessionID, sqlInsertWebhookEvent, sqlInsertAudit}

// prepareHot prepares hotStatements (at Open, after the migrations).
func (d *DB) prepareHot(ctx context.Context) error {
	d.stmts = map[string]*sql.Stmt{}
	for _, q := range hotStatements {
		s, err := d.db.PrepareContext(ctx, q)
		if err != nil {
			d.closeStmts()
			return fmt.Errorf("prepare: %w", err)
		}
		d.stmts[q] = s
	}
	return nil
}

// closeStmts closes the prepared statements (at Close). The map stays as it
// is, read-only after Open: a webhook writer still finishing its group while
// the database closes may read it, and gets "statement is closed" from
// database/sql rather than a data race.
func (d *DB) closeStmts() {
	for _, s := range d.stmts {
		s.Close()
	}
}

// stmt is query prepared for this transaction: one of hotStatements bound
// to it, or else prepared on its connection for as long as it lasts (a
// group of webhooks runs the same statements hundreds of times in one
// transaction). Either is closed with the transaction.
func (t *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if hot, ok := t.db.stmts[query]; ok {
		s = t.tx.StmtContext(ctx, hot)
	} else {
		var err error
		if s, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = s
	return s, nil
}

// execPrepared runs a writing statement, prepared (see stmt), in the transaction.
func (t *Tx) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// queryRowPrepared runs a statement, prepared (see stmt), that returns at most one row.
func (t *Tx) queryRowPrepared(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryRowContext(ctx, args...), nil
}
