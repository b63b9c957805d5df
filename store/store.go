// Package store keeps everything Countersign knows: in one SQLite file, or
// in a PostgreSQL database that several console instances share. The SQL is
// the same for both; dialect.go holds what differs.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" driver

	"countersign/fail"
)

// ErrNotFound matches (under errors.Is) every "no such row" the store
// returns. Lookups return a NotFound refusal that names what is missing
// ("There is no such payout."), so that it can go to a person as it is.
var ErrNotFound = fail.New(fail.NotFound, "not_found", "There is no such thing here. It may have been removed.")

// notFound is the refusal of a lookup by key; what names the thing as people do.
func notFound(what string) *fail.Error {
	return ErrNotFound.With("There is no such " + what + ".")
}

// ErrConflict is returned when a conditional update found the row changed by someone else.
var ErrConflict = fail.New(fail.Conflict, "conflict", "This changed since you opened it. Reload the page and try again.")

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrations embed.FS

// DB is the console's database.
type DB struct {
	db           *pool
	dialect      dialect
	auditKey     atomic.Pointer[[]byte] // set by UseAuditKey
	installation string                 // see InstallationID
	// pgConfig is how to open a connection outside the pool (PostgreSQL only).
	pgConfig *pgx.ConnConfig
	// writer is held by whoever writes to a SQLite file (nil on PostgreSQL,
	// whose advisory lock serialises writers across instances): writers queue
	// here in the process, in order and without polling, instead of in
	// SQLite's busy handler, which sleeps and retries and after its timeout
	// hands a client "database is locked".
	writer chan struct{}
	// stmts are hotStatements, prepared once at Open (read-only after).
	stmts map[string]*sql.Stmt
	// stopCheckpoints ends the SQLite file's checkpointer (see checkpoints)
	// and waits for it; nil on PostgreSQL.
	stopCheckpoints func()
	// Now is the clock every stored time comes from; tests replace it.
	Now func() time.Time
}

// Open opens the database named by dsn and applies pending migrations: a
// postgres:// URL is a PostgreSQL database, anything else the path of a
// SQLite file (created if needed).
func Open(ctx context.Context, dsn string) (*DB, error) {
	open := openSQLite
	if IsPostgres(dsn) {
		open = openPostgres
	}
	d, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.prepareHot(ctx); err != nil {
		d.Close()
		return nil, err
	}
	// Created with the database, never later inside someone's transaction.
	if d.installation, err = d.settingOnce(ctx, "installation.id", func() string { return randomHex(8) }); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Postgres reports whether the database is PostgreSQL (else SQLite).
func (d *DB) Postgres() bool { return d.dialect.postgres }

func openSQLite(ctx context.Context, path string) (*DB, error) {
	sqldb, err := sql.Open("sqlite", SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	d := &DB{db: &pool{DB: sqldb, reads: newReadStatements()}, writer: make(chan struct{}, 1), Now: func() time.Time { return time.Now().UTC() }}
	d.stopCheckpoints = d.checkpoints(time.Second)
	return d, nil
}

// checkpoints copies the write-ahead log back into the database file every
// interval, beside the writers, and returns the function that stops it.
// SQLite would otherwise run the checkpoint inside the commit that takes the
// log past a thousand pages, while that writer still holds this process's
// turn to write (lockWriter): 15–22 % of the webhook writer's time in the
// benchmark's profiles. The connections' own checkpoints are off
// (wal_autocheckpoint(0), see SQLiteDSN); this one is PASSIVE, so it waits
// for no writer and no reader, and copies what it can.
func (d *DB) checkpoints(interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// A failure (the file busy, a full disk) is the next tick's to try again.
				_, _ = d.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// lockWriter waits for this process's turn to write (SQLite), or for ctx to
// end; the returned function gives the turn back. On PostgreSQL it returns at
// once: the write transaction's advisory lock serialises writers there.
func (d *DB) lockWriter(ctx context.Context) (unlock func(), err error) {
	if d.writer == nil {
		return func() {}, nil
	}
	select {
	case d.writer <- struct{}{}:
		return func() { <-d.writer }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to write: %w", ctx.Err())
	}
}

// exec runs one writing statement outside a transaction, in its turn (see lockWriter).
func (d *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := d.lockWriter(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return d.db.ExecContext(ctx, query, args...)
}

// SQLiteDSN is how the store opens the SQLite file at path: the modernc
// driver's data source name with the console's pragmas (the benchmark's
// ceiling opens its bare table the same way).
//
// Pragmas go in the DSN so that every pooled connection gets them; modernc
// reads only _pragma=name(value). The log is checkpointed by the DB, not by
// the committing connection (see checkpoints). Writes take the lock up front
// (_txlock=immediate) so a transaction never fails half-way when it upgrades
// from read to write.
//
// Temporary storage is memory (temp_store(MEMORY)). Its users are the
// journals SQLite keeps to undo part of a transaction: a savepoint's
// (Tx.Savepoint: a webhook group applied event by event after one failed)
// and a statement's (an update whose triggers write other tables). SQLite
// copies every page changed under them into that journal, and past 64 KB it
// wrote it to a temporary file, a write call a page: when each webhook of a
// group had its own savepoint, a quarter of the payout update's time in a
// burst at a million payouts. A journal lives as long as its savepoint or
// statement, a few dozen pages. Sorts stay in memory too; the pages'
// queries read their indexes in order, and the few that sort (a picker's
// payable cards where they are few, totals grouped by currency) sort small
// sets.
func SQLiteDSN(path string) string {
	q := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "wal_autocheckpoint(0)",
		"temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// StopCheckpoints stops this DB copying the write-ahead log into the
// database file (see checkpoints), for a process that works beside a
// running console over the same SQLite file: the console's checkpoints are
// enough. The benchmark does, so that the CPU time of copying the console's
// writes is counted as the console's, not as its clients'.
func (d *DB) StopCheckpoints() {
	if d.stopCheckpoints != nil {
		d.stopCheckpoints()
		d.stopCheckpoints = nil
	}
}

// Close closes the database.
func (d *DB) Close() error {
	d.StopCheckpoints()
	d.closeStmts()
	return d.db.Close()
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

func (d *DB) now() time.Time { return d.Now().UTC() }

// migrate applies the dialect's embedded numbered migrations that have not
// run yet, each in its own transaction, under a lock that keeps instances
// starting together from both applying one.
func (d *DB) migrate(ctx context.Context) error { return d.migrateTo(ctx, "") }

// migrateTo is migrate stopping after the migration numbered last ("" for
// none: all of them), so that a test can write rows in an older layout and
// see a later migration carry them over.
func (d *DB) migrateTo(ctx context.Context, last string) error {
	unlock, err := d.lockMigrations(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// What is applied is read first, without a write transaction: a command
	// or an instance opening a database that is up to date (the usual case,
	// while a console writes to it) waits for no write lock.
	applied, err := d.appliedMigrations(ctx)
	if err != nil {
		if _, err := d.db.ExecContext(ctx, d.dialect.migrationsTable()); err != nil {
			return fmt.Errorf("create migrations table: %w", err)
		}
	}
	names, err := migrationNames(d.dialect)
	if err != nil {
		return err
	}
	for _, name := range names {
		if last != "" && path.Base(name)[:len(last)] > last {
			return nil
		}
		if applied[name] {
			continue
		}
		err := d.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil || n > 0 {
				return err
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, formatTime(d.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	if err := d.packStoredBodies(ctx, applied); err != nil {
		return err
	}
	return d.compactWebhookEvents(ctx, applied)
}

// appliedMigrations reads the names of the migrations applied; an error
// means there is no migrations table yet (or the database does not answer,
// which the next statement finds too).
func (d *DB) appliedMigrations(ctx context.Context) (map[string]bool, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name FROM migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		applied[name] = true
	}
	return applied, rows.Err()
}

// migrationNames lists the dialect's migrations in the order they apply.
func migrationNames(d dialect) ([]string, error) {
	names, err := fs.Glob(migrations, d.migrationsDir()+"/*.sql")
	sort.Strings(names)
	return names, err
}

// inTx runs fn in one immediate transaction, committing if it returns nil.
// The rollback is deferred, as benbjohnson/wtf does: it is a no-op after a
// commit, and it still runs when fn panics (Echo recovers the panic and the
// process goes on), so the write lock is never left held.
func (d *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	unlock, err := d.lockWriter(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := d.dialect.lockWrites(ctx, tx); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Tx is a write transaction handed to callers that must change several tables at once.
type Tx struct {
	tx       *sql.Tx
	db       *DB
	now      time.Time
	auditKey []byte // nil: the log is not keyed (yet)
	// stmts are the prepared statements bound to tx so far (see stmt).
	stmts map[string]*sql.Stmt
	// head is the audit chain's last entry once read (see Audit): the
	// transaction holds the only write lock, so no one else moves it.
	head *auditLink
	// actions are the audit actions' numbers asked for so far (see
	// auditActionID), for the same reason.
	actions map[string]int64
}

// InTx runs fn in one immediate transaction: everything it does commits together or not at all.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var key []byte
	if k := d.auditKey.Load(); k != nil {
		key = *k
	}
	return d.inTx(ctx, func(tx *sql.Tx) error { return fn(&Tx{tx: tx, db: d, now: d.now(), auditKey: key}) })
}

// Now is the time of the transaction, the same for every row it writes.
func (t *Tx) Now() time.Time { return t.now }

// Savepoint runs fn inside the transaction so that what fn wrote is undone
// when it fails, and the rest of the transaction goes on: several
// independent pieces of work (a group of webhooks) commit together, and one
// that fails takes none of the others with it.
func (t *Tx) Savepoint(ctx context.Context, fn func() error) error {
	if _, err := t.tx.ExecContext(ctx, `SAVEPOINT piece`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	head := t.head
	if err := fn(); err != nil {
		// The entries fn appended are undone: so is the chain's head,
		// and any action fn added.
		t.head, t.actions = head, nil
		if _, rerr := t.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT piece`); rerr != nil {
			return fmt.Errorf("%w (and rolling back to the savepoint: %w)", err, rerr)
		}
		// Released too, so that savepoints do not pile up over a long group.
		if _, rerr := t.tx.ExecContext(ctx, `RELEASE SAVEPOINT piece`); rerr != nil {
			return fmt.Errorf("%w (and releasing the savepoint: %w)", err, rerr)
		}
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `RELEASE SAVEPOINT piece`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// SetNow moves the transaction's clock: the rows written after it carry at.
// It is for a loader that writes a long history in one transaction (the
// benchmark's generator dates each step of each payout as it happened); the
// console never calls it, so its rows carry the time of their transaction.
func (t *Tx) SetNow(at time.Time) { t.now = at.UTC() }

const timeLayout = "2006-01-02T15:04:05.000000Z"

// hourLayout is how the hourly roll-ups (balance_hours, outflow_hours) key an
// hour: YYYY-MM-DDTHH, UTC, the first 13 characters of a stored time.
const hourLayout = "2006-01-02T15"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a stored time: SQLite's text, or PostgreSQL's timestamptz,
// which database/sql hands to a string as RFC 3339.
func parseTime(s string) time.Time {
	if t, ok := parseLayout(s); ok {
		return t
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t.UTC()
}

// parseTimeBytes is parseTime of a time read as bytes (sql.RawBytes), without
// a copy when it is in timeLayout.
func parseTimeBytes(b []byte) time.Time {
	if t, ok := parseLayout(b); ok {
		return t
	}
	return parseTime(string(b))
}

// parseLayout reads s when it is exactly in timeLayout, digit by digit: an
// export reads two times a row, and time.Parse, which interprets its layout
// as it goes, was a tenth of the export's reading. ok is false for anything
// else (PostgreSQL's times, which database/sql hands over as RFC 3339), for
// parseTime to hand to time.Parse.
func parseLayout[T string | []byte](s T) (t time.Time, ok bool) {
	if len(s) != len(timeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	ok = true
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, second, micro := num(11, 13), num(14, 16), num(17, 19), num(20, 26)
	if !ok || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	// time.Date carries an impossible date over (April 31st is May 1st):
	// only a date that comes back as written is one.
	t = time.Date(year, time.Month(month), day, hour, minute, second, micro*1000, time.UTC)
	if t.Year() != year || int(t.Month()) != month || t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

func nullTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	return parseTime(s.String)
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// likePattern escapes s for a LIKE ... ESCAPE '\' contains-search.
func likePattern(s string) string { return "%" + escapeLike(s) + "%" }

// escapeLike escapes LIKE's wildcards in s (with ESCAPE '\').
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
