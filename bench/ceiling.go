package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	_ "modernc.org/sqlite" // the "sqlite" driver, as the store uses it

	sg "countersign/smartglocal"
	"countersign/store"
)

// ceilings are what this machine can do at all, measured in the same run as
// the console: the figures the console's own are compared with.
type ceilings struct {
	Hello         sample  // an Echo handler answering 5 KB, one client
	CommitSingle  float64 // commits a second, one 1.2 KB row each, the store's pragmas
	CommitGrouped float64 // rows a second, committed 50 at a time
	Verify        float64 // RSA-2048 webhook signatures verified a second on every core
}

// measureCeilings runs the three ceilings; dir holds the bare database.
func measureCeilings(ctx context.Context, dir string, b bounds) (ceilings, error) {
	var c ceilings
	var err error
	if c.Hello, err = helloCeiling(b); err != nil {
		return c, err
	}
	if c.CommitSingle, err = commitCeiling(ctx, filepath.Join(dir, "single.db"), 1, b.dur); err != nil {
		return c, err
	}
	if c.CommitGrouped, err = commitCeiling(ctx, filepath.Join(dir, "grouped.db"), 50, b.dur); err != nil {
		return c, err
	}
	c.Verify, err = verifyCeiling(b.dur)
	return c, err
}

// helloCeiling serves a 5 KB page from a bare Echo handler and measures it
// as the console's pages are measured.
func helloCeiling(b bounds) (sample, error) {
	page5k := "<!doctype html><title>hello</title><p>" + strings.Repeat("hello, world ", 5000/13) + "</p>"
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, page5k) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return sample{}, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	p := newPerson("http://" + ln.Addr().String())
	return measure(1, b, func(int) error { return page(p, "/") }), nil
}

// commitCeiling inserts 1.2 KB rows into a bare table with the store's
// pragmas, group rows a commit, for d; it returns rows a second.
func commitCeiling(ctx context.Context, path string, group int, d time.Duration) (float64, error) {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Remove(p)
	}
	defer func() {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			os.Remove(p)
		}
	}()
	db, err := sql.Open("sqlite", store.SQLiteDSN(path))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return 0, err
	}
	body := strings.Repeat("x", 1200)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for range group {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rows (body) VALUES (?)`, body); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		n += group
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// verifyCeiling verifies one RSA-2048 signature over a 1.2 KB body on every
// core for d, as the webhook handler verifies, and returns verifies a second.
func verifyCeiling(d time.Duration) (float64, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0, err
	}
	body := []byte(strings.Repeat("x", 1200))
	sig, err := sg.Sign(key, body)
	if err != nil {
		return 0, err
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Since(start) < d {
				if sg.Verify(&key.PublicKey, body, sig) == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}
