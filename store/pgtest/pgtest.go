// Package pgtest runs a throwaway PostgreSQL cluster for tests, from the
// binaries of Debian's postgresql package: one cluster per test binary,
// started on first use (initdb in a temporary directory, pg_ctl on a free
// loopback port), a fresh database per test, and the cluster stopped and
// removed when the binary's tests end (call Main from TestMain).
//
// PostgreSQL refuses to run as root, so when the tests run as root the
// cluster runs as the unprivileged user "nobody", its directory handed over
// to it. Where the binaries are missing the tests that need them are skipped
// with a message that says so, except in CI (CI set), where they fail.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for Raw
	_ "modernc.org/sqlite"             // the "sqlite" driver, for Raw
)

// EngineVariable names the environment variable that picks the engine of the
// tests that run on either: "postgres" for PostgreSQL, anything else SQLite.
const EngineVariable = "COUNTERSIGN_TEST_DB"

// Postgres reports whether the tests run on PostgreSQL (EngineVariable).
func Postgres() bool { return os.Getenv(EngineVariable) == "postgres" }

// DSN returns what store.Open should open for this test: a new SQLite file in
// t.TempDir(), or, when EngineVariable says postgres, a new database in the
// throwaway cluster.
func DSN(t testing.TB) string {
	t.Helper()
	if Postgres() {
		return Database(t)
	}
	return filepath.Join(t.TempDir(), "countersign.db")
}

// Main runs the tests, then stops the cluster if one was started, and exits
// with the tests' code. Use it as the package's TestMain.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests, then stops the cluster if one was started, and returns
// the tests' code: for a TestMain that has more to clean up.
func Run(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

var (
	once    sync.Once
	shared  *cluster
	sharedE error
	dbSeq   atomic.Int64
)

// Database returns the URL of a new, empty database in the cluster (starting
// the cluster on first use). Without PostgreSQL's binaries it skips the test,
// or fails it in CI.
func Database(t testing.TB) string {
	t.Helper()
	once.Do(func() { shared, sharedE = start() })
	if errors.Is(sharedE, errNoBinaries) {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is not installed (%v); .ci/run installs Debian's postgresql package", sharedE)
		}
		t.Skipf("PostgreSQL is not installed: skipping (apt-get install postgresql, or set PG_BIN to its bin directory): %v", sharedE)
	}
	if sharedE != nil {
		t.Fatalf("start PostgreSQL: %v", sharedE)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, shared.url("postgres"))
	if err != nil {
		t.Fatalf("connect to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	return shared.url(name)
}

// stop stops the cluster and removes its files.
func stop() {
	if shared != nil {
		shared.stop()
	}
}

var errNoBinaries = errors.New("no initdb, pg_ctl and postgres found")

// binDir finds PostgreSQL's server binaries: $PG_BIN, the newest
// /usr/lib/postgresql/N/bin (Debian), or the PATH.
func binDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("PG_BIN"); d != "" {
		if has(d) {
			return d, nil
		}
		return "", fmt.Errorf("%w in PG_BIN=%s", errNoBinaries, d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errNoBinaries
}

// version is N of /usr/lib/postgresql/N/bin.
func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// cluster is one running PostgreSQL server.
type cluster struct {
	bin, dir string
	port     int
	cred     *syscall.Credential // nil: run as ourselves
	watchdog *exec.Cmd
	// watchdogPipe is kept open for the life of the process (see startWatchdog).
	watchdogPipe *os.File
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// command runs one of the cluster's binaries as the cluster's user.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func start() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "countersign-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		if c.cred, err = nobody(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// fsync off: a test cluster that loses its data in a power cut loses nothing.
	if out, err := c.command("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// A free port can be taken between our look and the server's bind: try a few.
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			break
		}
		opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off "+
			"-c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB -c TimeZone=UTC", c.port)
		out, err2 := c.command("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
		if err2 == nil {
			c.startWatchdog()
			return c, nil
		}
		err = fmt.Errorf("pg_ctl start: %v: %s%s", err2, out, c.log())
		if attempt == 2 {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// log is the tail of the server's log, for a failure message.
func (c *cluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// startWatchdog stops the cluster when this test binary dies without
// running Main's clean-up (a panic, a timeout, a kill), so that no server is
// left running: the watchdog reads a pipe whose other end only this process
// holds, and the end of the pipe is the end of the process.
func (c *cluster) startWatchdog() {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	script := fmt.Sprintf(`cat >/dev/null; %q -D %q -m immediate stop >/dev/null 2>&1; rm -rf %q`,
		filepath.Join(c.bin, "pg_ctl"), c.data(), c.dir)
	wd := exec.Command("sh", "-c", script)
	wd.Stdin = r
	wd.Env = append(os.Environ(), "LC_ALL=C")
	// Its own process group: a signal to ours does not take it down with us.
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	if wd.Start() != nil {
		r.Close()
		w.Close()
		return
	}
	r.Close()
	c.watchdog, c.watchdogPipe = wd, w
	go wd.Wait()
}

func (c *cluster) stop() {
	c.command("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop").Run()
	if c.watchdog != nil {
		c.watchdog.Process.Kill()
	}
	os.RemoveAll(c.dir)
}

// nobody is the unprivileged user the cluster runs as when we are root.
func nobody() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL cannot run as root and there is no user nobody: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Binaries returns the directory of PostgreSQL's server binaries (pg_dump
// and psql are beside them in Debian's package), or skips the test (fails it
// in CI) when there are none.
func Binaries(t testing.TB) string {
	t.Helper()
	d, err := binDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is not installed (%v)", err)
		}
		t.Skipf("PostgreSQL is not installed: skipping: %v", err)
	}
	return d
}

// Dump returns the whole of a test database as pg_dump writes it, data
// included: what a test searches for something that must never be stored.
func Dump(t testing.TB, url string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(Binaries(t), "pg_dump"), "--no-owner", "--dbname", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return string(out)
}

// Raw opens the database at dsn (a SQLite file or a PostgreSQL URL) bare:
// no migrations, no store in between, as an intruder with write access would.
func Raw(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	driver, source := "sqlite", "file:"+dsn
	if strings.HasPrefix(dsn, "postgres://") {
		driver, source = "pgx", dsn
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Contents is everything a database holds, as bytes a test can search for
// what must never be stored: a SQLite file with its -wal (close the store
// first, so that nothing is still in memory), or a PostgreSQL dump.
func Contents(t testing.TB, dsn string) []byte {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") {
		return []byte(Dump(t, dsn))
	}
	db, err := os.ReadFile(dsn)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(dsn + "-wal")
	return append(db, wal...)
}

// Clone returns the URL of a new database that starts as a copy of the one
// at url (a database of this cluster, with nobody connected to it): what a
// test that replays from one prepared state does with a copy of a SQLite
// file.
func Clone(t testing.TB, url string) string {
	t.Helper()
	if shared == nil {
		t.Fatal("pgtest.Clone: no cluster (make the template with Database first)")
	}
	template := url[strings.LastIndex(url, "/")+1:]
	if i := strings.IndexByte(template, '?'); i >= 0 {
		template = template[:i]
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, shared.url("postgres"))
	if err != nil {
		t.Fatalf("connect to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+pgx.Identifier{template}.Sanitize()); err != nil {
		t.Fatalf("clone test database %s: %v", template, err)
	}
	return shared.url(name)
}
