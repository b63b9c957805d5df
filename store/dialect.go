package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between SQLite and PostgreSQL, in one
// place. The store's SQL is written once, for SQLite, in the subset both
// engines read the same way (`?` placeholders, INSERT … ON CONFLICT … DO,
// RETURNING, row values, recursive CTEs, string_agg); what remains is here:
//
//   - placeholders: `?` becomes `$1`, `$2`, … for PostgreSQL (rebind, in the
//     driver, cached per statement text);
//   - case: SQLite's LIKE ignores the case of ASCII letters and PostgreSQL's
//     does not, so LIKE becomes ILIKE; `COLLATE NOCASE` names a
//     case-insensitive ICU collation the PostgreSQL schema creates;
//   - booleans: stored as INTEGER 0/1 by both, so a Go bool argument goes to
//     PostgreSQL as 0 or 1;
//   - time: SQLite keeps text in one sortable layout (formatTime);
//     PostgreSQL keeps timestamptz, reads that text as a parameter, and hands
//     back a time.Time that parseTime also reads. Where nothing around a
//     parameter says it is a time (a CASE's result), timeParam casts it.
//     The three largest tables, the audit log, the webhook events and the
//     provider calls, keep their times as integers of microseconds on
//     SQLite (instant, instantOf);
//     Sessions are in UTC, so an hour (hour, balanceHistory) is a UTC one on both;
//     balance_hours keys its hour as text on SQLite and as a timestamptz on
//     PostgreSQL (balanceHour, hourOfDay);
//   - locking: a SQLite write transaction takes the database's write lock at
//     BEGIN (_txlock=immediate). PostgreSQL's transactions are READ COMMITTED
//     and lock rows as they touch them, so every write transaction first
//     takes one transaction-scoped advisory lock (lockWrites): writers
//     serialise across every instance exactly as they do on SQLite, so a
//     check made in a transaction still holds when it commits, and the audit
//     chain is appended in one order. Taking it first, before any row lock,
//     is what keeps two writers from deadlocking;
//   - consistent reads: a read-only transaction is REPEATABLE READ on
//     PostgreSQL, so its statements see one snapshot as they do on SQLite;
//   - unique violations: SQLite's constraint codes and PostgreSQL's 23505.
type dialect struct {
	postgres bool
}

// Advisory lock keys (PostgreSQL): one number per purpose, the same in
// every instance. 0x43534e ("CSN") keeps them apart from other applications'.
const (
	lockKeyWrites  int64 = 0x43534e_0001 // held by each write transaction
	lockKeyMigrate int64 = 0x43534e_0002 // held while migrations run at start
	lockKeyLeader  int64 = 0x43534e_0003 // held by the leader's dedicated connection
)

// migrationsDir is where the dialect's numbered migrations are embedded.
func (d dialect) migrationsDir() string {
	if d.postgres {
		return "migrations/postgres"
	}
	return "migrations"
}

// migrationsTable creates the table that records applied migrations.
func (d dialect) migrationsTable() string {
	if d.postgres {
		return `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at timestamptz NOT NULL)`
	}
	return `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`
}

// lockWrites serialises write transactions (see dialect). SQLite's BEGIN
// IMMEDIATE already did.
func (d dialect) lockWrites(ctx context.Context, tx *sql.Tx) error {
	if !d.postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, lockKeyWrites)
	return err
}

// readOnly is the options of a transaction that only reads, at one instant.
func (d dialect) readOnly() *sql.TxOptions {
	if d.postgres {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// timeParam is a placeholder for a time where nothing around it says it is
// one (a CASE's result, say): PostgreSQL would read the text as text and
// refuse to store it in a timestamptz column.
func (d dialect) timeParam() string {
	if d.postgres {
		return `CAST(? AS timestamptz)`
	}
	return `?`
}

// instant is a time of the audit log (at), the webhook events (received_at)
// or the provider calls (started_at, finished_at) as a parameter. SQLite
// keeps those as integers of microseconds since 1970 (migration 097): 8
// bytes instead of formatTime's 27, in each of some twelve million rows at a
// million payouts and in audit_at. They order as the text did and say the
// same instant to the microsecond, which is all formatTime keeps, so the
// audit chain, which hashes formatTime's text, is unchanged. PostgreSQL
// keeps a timestamptz, as for every time.
func (d dialect) instant(t time.Time) any {
	if d.postgres {
		return formatTime(t)
	}
	return t.UnixMicro()
}

// instantOf reads back a column written through instant: SQLite's integer,
// PostgreSQL's time, text (migration 097 kept a tampered time that was not
// in formatTime's layout as it was), or NULL (the zero time).
func instantOf(v any) time.Time {
	switch v := v.(type) {
	case int64:
		return time.UnixMicro(v).UTC()
	case time.Time:
		return v.UTC()
	case string:
		return parseTime(v)
	case []byte:
		return parseTimeBytes(v)
	}
	return time.Time{}
}

// hourOfDay is the UTC hour of the day, 0–23, of a balance_hours key
// column: text (hourLayout) on SQLite, a timestamptz on PostgreSQL.
func (d dialect) hourOfDay(col string) string {
	if d.postgres {
		return `CAST(extract(hour FROM ` + col + ` AT TIME ZONE 'UTC') AS INTEGER)`
	}
	return `CAST(substr(` + col + `, 12, 2) AS INTEGER)`
}

// nameContains is the condition "the payout's name contains s", case
// insensitively, and its argument. SQLite answers it from payout_names, the
// FTS5 trigram index of the names, when s has three characters or more: s as
// a quoted phrase (a substring, whatever it holds), which the trigrams answer
// without reading the names. The page then reads the matches by id and sorts
// them, unless many match (see DB.WeighName): then the page walks
// payouts_created in its order and asks of each payout whether it is a match
// (the unary + keeps SQLite from driving by id), and stops after a page.
// PostgreSQL's ILIKE uses the payouts_name_trgm index by itself.
func (d dialect) nameContains(s string, many bool) (string, any) {
	if !d.postgres && utf8.RuneCountInString(s) >= 3 {
		id := `p.id`
		if many {
			id = `+p.id`
		}
		return id + ` IN (SELECT rowid FROM payout_names WHERE payout_names MATCH ?)`, ftsPhrase(s)
	}
	return `p.full_name LIKE ? ESCAPE '\'`, likePattern(s)
}

// ftsPhrase is s as an FTS5 phrase: quoted, its quotes doubled.
func ftsPhrase(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// rebinder turns the store's SQLite-flavoured statements into PostgreSQL's,
// and keeps each one's text: the store asks the same few hundred statements
// again and again.
type rebinder struct {
	mu    sync.Mutex
	cache map[string]string
}

// maxRebindCache bounds the cache; statements past it are rebound each time.
const maxRebindCache = 4096

// rebind is query for PostgreSQL: `?` → `$n` and LIKE → ILIKE, outside
// quotes and comments.
func (r *rebinder) rebind(query string) string {
	r.mu.Lock()
	out, ok := r.cache[query]
	r.mu.Unlock()
	if ok {
		return out
	}
	out = rebind(query)
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[string]string{}
	}
	if len(r.cache) < maxRebindCache {
		r.cache[query] = out
	}
	r.mu.Unlock()
	return out
}

func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"': // a string or a quoted name, '' or "" inside
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-': // a comment to the end of the line
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		case (c == 'L' || c == 'l') && strings.EqualFold(q[i:min(i+4, len(q))], "like") &&
			(i == 0 || !wordByte(q[i-1])) && (i+4 == len(q) || !wordByte(q[i+4])):
			b.WriteString("ILIKE")
			i += 3
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func wordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
