package store

import (
	"context"
	"database/sql"
	"sync"
)

// pool is the database's connection pool. On SQLite its reads outside a
// transaction run prepared statements it keeps (see readStatements):
// compiling the same query again on every page was a fifth of the pages'
// CPU in the benchmark's profile at a million payouts. PostgreSQL needs no
// such help: pgx keeps each connection's statements prepared itself.
type pool struct {
	*sql.DB
	reads *readStatements // nil: every query is compiled where it runs
}

// QueryContext runs a query, prepared if the pool keeps statements.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s := p.reads.acquire(ctx, p.DB, query)
	if s == nil {
		return p.DB.QueryContext(ctx, query, args...)
	}
	defer p.reads.release(s)
	return s.stmt.QueryContext(ctx, args...)
}

// QueryRowContext runs a query that returns at most one row, prepared if
// the pool keeps statements.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s := p.reads.acquire(ctx, p.DB, query)
	if s == nil {
		return p.DB.QueryRowContext(ctx, query, args...)
	}
	defer p.reads.release(s)
	return s.stmt.QueryRowContext(ctx, args...)
}

// reading is tx as a querier whose queries run the pool's kept statements
// on the transaction's connection: the pages' read transactions (the
// balance banner on every page, the queue) and the webhook writer's reads
// of a group in its write transaction. The connection has one of each
// statement: a query must not run again while its own earlier rows in the
// transaction are still open. (Outside a transaction that cannot happen:
// open rows hold their connection, and the next query takes another.)
func (p *pool) reading(tx *sql.Tx) querier { return txReads{Tx: tx, pool: p} }

// txReads is what pool.reading returns.
type txReads struct {
	*sql.Tx
	pool *pool
}

// QueryContext runs a query in the transaction, prepared if the pool keeps
// statements: database/sql reuses the statement its connection already
// has, and leaves it prepared when the transaction ends.
func (t txReads) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	// A statement new to the pool is prepared on a connection of its own
	// (SQLite's pool has no limit), then again on the transaction's.
	s := t.pool.reads.acquire(ctx, t.pool.DB, query)
	if s == nil {
		return t.Tx.QueryContext(ctx, query, args...)
	}
	defer t.pool.reads.release(s)
	return t.Tx.StmtContext(ctx, s.stmt).QueryContext(ctx, args...)
}

// QueryRowContext is QueryContext for at most one row.
func (t txReads) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s := t.pool.reads.acquire(ctx, t.pool.DB, query)
	if s == nil {
		return t.Tx.QueryRowContext(ctx, query, args...)
	}
	defer t.pool.reads.release(s)
	return t.Tx.StmtContext(ctx, s.stmt).QueryRowContext(ctx, args...)
}

// Close closes the kept statements, then the pool.
func (p *pool) Close() error {
	p.reads.close()
	return p.DB.Close()
}

// maxReadStatements is how many query texts a pool keeps prepared, and
// maxReadStatementText the longest text it keeps. The console's read
// queries are a few dozen constant texts and the filters' combinations; the
// least recently used goes when one more is needed, so that queries built
// from what someone typed cannot grow memory without end. A statement is
// prepared on every connection that runs it, and its compiled form is about
// thirty times its text (550 KB for the queue's 18 KB weighing of a page), so
// long texts, built per page, are compiled where they run.
const (
	maxReadStatements    = 64
	maxReadStatementText = 4 << 10
)

// readStatements are the prepared read statements a pool keeps, by text.
type readStatements struct {
	mu     sync.Mutex
	byText map[string]*readStmt
	clock  uint64 // counts uses, to find the least recently used
	closed bool
}

// readStmt is one kept statement. users counts the queries between
// acquire and release; a statement evicted while in use is closed by its
// last user. (A query's rows may outlive the release: database/sql closes
// a statement only once its rows are closed.)
type readStmt struct {
	stmt    *sql.Stmt
	used    uint64
	users   int
	evicted bool
}

func newReadStatements() *readStatements {
	return &readStatements{byText: map[string]*readStmt{}}
}

// acquire returns query's kept statement, prepared now if it is new; nil
// when there is none to use (no cache, closed, or the text does not
// prepare, whose error the unprepared query then reports).
func (r *readStatements) acquire(ctx context.Context, db *sql.DB, query string) *readStmt {
	if r == nil || len(query) > maxReadStatementText {
		return nil
	}
	r.mu.Lock()
	if s := r.byText[query]; s != nil {
		r.clock++
		s.used, s.users = r.clock, s.users+1
		r.mu.Unlock()
		return s
	}
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil
	}
	// Prepared outside the lock: compiling takes long, and other queries
	// should not wait for it. Two goroutines may both prepare a new text;
	// the second keeps the first's.
	stmt, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		stmt.Close()
		return nil
	}
	s := r.byText[query]
	if s != nil {
		stmt.Close()
	} else {
		if len(r.byText) >= maxReadStatements {
			r.evictLocked()
		}
		s = &readStmt{stmt: stmt}
		r.byText[query] = s
	}
	r.clock++
	s.used, s.users = r.clock, s.users+1
	return s
}

// release says a query no longer needs s.
func (r *readStatements) release(s *readStmt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.users--; s.users == 0 && s.evicted {
		s.stmt.Close()
	}
}

// evictLocked drops the least recently used statement, closing it unless
// a query is using it (release closes it then).
func (r *readStatements) evictLocked() {
	var oldest string
	var at uint64
	for text, s := range r.byText {
		if oldest == "" || s.used < at {
			oldest, at = text, s.used
		}
	}
	s := r.byText[oldest]
	delete(r.byText, oldest)
	s.evicted = true
	if s.users == 0 {
		s.stmt.Close()
	}
}

// close closes the statements no query uses, and lets those in use close
// on release; nothing is prepared after it.
func (r *readStatements) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for text := range r.byText {
		s := r.byText[text]
		delete(r.byText, text)
		s.evicted = true
		if s.users == 0 {
			s.stmt.Close()
		}
	}
}
