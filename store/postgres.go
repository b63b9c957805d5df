package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgres reports whether a COUNTERSIGN_DB value names a PostgreSQL
// database (a postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// The connection pool of one instance. Every instance holds at most
// poolMaxOpen connections, plus one for leadership while it leads and one
// for the migration lock while it starts: size the server's
// max_connections for the number of instances.
const (
	poolMaxOpen     = 20
	poolMaxIdle     = 10
	poolMaxIdleTime = 5 * time.Minute
	poolMaxLifetime = time.Hour
)

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Times come back in UTC and days and hours are UTC days and hours,
	// whatever the server's default; a dead peer is noticed within half a
	// minute rather than the kernel's two hours, so a lost leader's lock is freed.
	for k, v := range map[string]string{"timezone": "UTC", "application_name": "countersign",
		"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"} {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	sqldb := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), &rebinder{}})
	sqldb.SetMaxOpenConns(poolMaxOpen)
	sqldb.SetMaxIdleConns(poolMaxIdle)
	sqldb.SetConnMaxIdleTime(poolMaxIdleTime)
	sqldb.SetConnMaxLifetime(poolMaxLifetime)
	d := &DB{db: &pool{DB: sqldb}, dialect: dialect{postgres: true}, pgConfig: cfg, Now: func() time.Time { return time.Now().UTC() }}
	if err := d.Ping(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return d, nil
}

// dedicated opens a connection of its own, outside the pool: a session-level
// advisory lock lives exactly as long as it, and closing it (or the process
// dying) frees the lock.
func (d *DB) dedicated(ctx context.Context) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, d.pgConfig.Copy())
}

// lockMigrations keeps two instances that start together from migrating at
// once: the second waits for the first and then finds nothing to do.
func (d *DB) lockMigrations(ctx context.Context) (unlock func(), err error) {
	if !d.dialect.postgres {
		return func() {}, nil
	}
	conn, err := d.dedicated(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKeyMigrate); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return func() { conn.Close(context.WithoutCancel(ctx)) }, nil
}

// pgConnector hands database/sql pgx's connections with the store's
// statements rebound for PostgreSQL (see dialect), through one cache.
type pgConnector struct {
	driver.Connector
	r *rebinder
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn), c.r}, nil
}

// pgConn is pgx's connection with rebinding in front. A statement without
// arguments (a migration, a constant query) is passed as it is: it is
// written for PostgreSQL already, or needs nothing.
type pgConn struct {
	*stdlib.Conn
	r *rebinder
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		query = c.r.rebind(query)
	}
	return c.Conn.ExecContext(ctx, query, args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		query = c.r.rebind(query)
	}
	return c.Conn.QueryContext(ctx, query, args)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.r.rebind(query))
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// CheckNamedValue sends a Go bool as the INTEGER 0 or 1 the schema stores.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
	}
	return nil
}
