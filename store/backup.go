package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrInUse is Restore's refusal when a process has the database open.
var ErrInUse = errors.New("the database is in use: stop the console first (systemctl stop countersign); " +
	"`fuser -v FILE` lists the processes that have it open")

// ErrNotSQLite is the refusal of a file copy of a PostgreSQL database.
var ErrNotSQLite = errors.New("this copies SQLite files; back up PostgreSQL with pg_dump or continuous archiving " +
	"and check a restored copy with `countersign audit verify -db URL` (README, Backups)")

// Backup writes a consistent copy of the database, as it is at one instant,
// to path, which must not exist. The console may go on writing meanwhile:
// VACUUM INTO reads inside one read transaction, and WAL lets writers
// continue beside it. The copy is one self-contained file.
func (d *DB) Backup(ctx context.Context, path string) error {
	if d.dialect.postgres {
		return ErrNotSQLite
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s exists already", path)
	}
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	return f.Sync()
}

// OpenCopy opens a copy of a SQLite database (a backup) to read it without
// changing it: SQLite's integrity check first, then no migration and no
// write. immutable: nothing else writes a backup, so SQLite takes no lock
// and leaves no -wal or -shm file beside it.
func OpenCopy(ctx context.Context, path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	sqldb, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	var result string
	if err := sqldb.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
		sqldb.Close()
		if err == nil {
			err = errors.New(result)
		}
		return nil, fmt.Errorf("%s: integrity check: %w", path, err)
	}
	return &DB{db: &pool{DB: sqldb}, Now: func() time.Time { return time.Now().UTC() }}, nil
}

// Restore puts the backup at from in place of the SQLite database at
// dbPath, with the console stopped: it refuses (ErrInUse) while any process
// has the database open. The caller verifies the backup first; the database
// it replaces is kept beside it, renamed, and its name returned ("" when
// there was none).
func Restore(ctx context.Context, from, dbPath string) (kept string, err error) {
	if IsPostgres(dbPath) {
		return "", ErrNotSQLite
	}
	if _, err := os.Stat(dbPath); err == nil {
		if err := takeOver(ctx, dbPath); err != nil {
			return "", err
		}
		kept = dbPath + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
	}
	tmp := dbPath + ".restoring"
	if err := copyFile(from, tmp); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	if kept != "" {
		if err := os.Rename(dbPath, kept); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return kept, fmt.Errorf("restore: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(dbPath)); err == nil {
		dir.Sync() // the renames survive a power cut
		dir.Close()
	}
	return kept, nil
}

// takeOver makes sure no process has the database open, and leaves it as
// one file: leaving WAL mode needs every other connection closed, so
// SQLite refuses at once (busy) while a console runs, and otherwise folds
// the -wal file into the database.
func takeOver(ctx context.Context, dbPath string) error {
	sqldb, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(0)")
	if err != nil {
		return err
	}
	defer sqldb.Close()
	var mode string
	err = sqldb.QueryRowContext(ctx, `PRAGMA journal_mode=DELETE`).Scan(&mode)
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		return ErrInUse
	}
	if err != nil {
		return fmt.Errorf("restore: %s: %w", dbPath, err)
	}
	if mode != "delete" {
		return ErrInUse
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	return out.Close()
}
