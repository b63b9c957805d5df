package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestUsersAddListAndAuditVerify(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "c.db")
	getenv := env(map[string]string{"COUNTERSIGN_DB": db})
	var out bytes.Buffer

	err := run(ctx, []string{"users", "add", "-email", "ann@example.com", "-name", "Ann Admin", "-role", "admin", "-role", "approver"},
		getenv, strings.NewReader("a long enough password\n"), &out, &out)
	if err != nil {
		t.Fatalf("users add: %v", err)
	}
	err = run(ctx, []string{"users", "add", "-email", "bob@example.com", "-name", "Bob", "-role", "maker"}, getenv, strings.NewReader("short\n"), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Errorf("short password: err = %v, want the length rule", err)
	}
	err = run(ctx, []string{"users", "add", "-email", "eve@example.com", "-name", "Eve", "-role", "superuser"}, getenv, strings.NewReader("a long enough password\n"), &out, &out)
	if err == nil {
		t.Error("unknown role accepted")
	}
	out.Reset()
	if err := run(ctx, []string{"users"}, getenv, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "ann@example.com") || !strings.Contains(got, "admin,approver") || strings.Contains(got, "bob@") {
		t.Errorf("users list:\n%s", got)
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, getenv, nil, &out, &out); err != nil {
		t.Fatalf("audit verify on an intact log: %v", err)
	}
	// The switch-over entry of a new log, then the account.
	if !strings.Contains(out.String(), "intact: 2 entries, keyed from entry 1, matches the checkpoint of entry 2") {
		t.Errorf("audit verify said %q", out.String())
	}
	// The operator acted at once, and the log says it was them.
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	var actor, detail string
	raw.QueryRow(`SELECT actor, detail FROM audit_log WHERE action_id = (SELECT id FROM audit_actions WHERE action = 'user.create')`).Scan(&actor, &detail)
	raw.Close()
	if actor != "operator (countersign users add)" || !strings.Contains(detail, "by the server operator") {
		t.Errorf("users add audited as %q: %q", actor, detail)
	}
	keyFile := strings.TrimSuffix(db, ".db") + ".key"
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key file beside the database: %v, %v; want mode 600", fi, err)
	}

	// Someone with write access edits the log behind the console's back.
	tamper(t, db, `UPDATE audit_log SET detail = 'nothing happened' WHERE id = 2`)
	err = run(ctx, []string{"audit", "verify"}, getenv, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "broken at entry 2") {
		t.Errorf("audit verify after tampering: %v, want broken at entry 2", err)
	}
	// Without the key file there is nothing to verify with, and verify does not make one.
	os.Rename(keyFile, keyFile+".away")
	if err := run(ctx, []string{"audit", "verify"}, getenv, nil, &out, &out); err == nil {
		t.Error("audit verify without the key file succeeded")
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Error("audit verify created a key file")
	}
}

// TestAuditVerifyFindsATruncatedLog: the newest entries deleted (the chain
// that remains is intact) are found through the checkpoint file.
func TestAuditVerifyFindsATruncatedLog(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "c.db")
	getenv := env(map[string]string{"COUNTERSIGN_DB": db})
	var out bytes.Buffer
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		err := run(ctx, []string{"users", "add", "-email", email, "-name", email, "-role", "maker"}, getenv, strings.NewReader("a long enough password\n"), &out, &out)
		if err != nil {
			t.Fatal(err)
		}
	}
	tamper(t, db, `DROP TRIGGER audit_no_delete`, `DELETE FROM audit_log WHERE id = 3`)
	err := run(ctx, []string{"audit", "verify"}, getenv, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "broken at entry 3") || !strings.Contains(err.Error(), "were removed") {
		t.Errorf("audit verify of a truncated log: %v; want broken at entry 3, removed", err)
	}
}

// tamper changes the database file directly, as an intruder would.
func tamper(t *testing.T, db string, stmts ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range append([]string{`DROP TRIGGER IF EXISTS audit_no_update`}, stmts...) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConfigMaxAmountPerCurrency(t *testing.T) {
	c, err := parseConfig(nil, env(map[string]string{"COUNTERSIGN_MAX_AMOUNT": "100000,JPY=15000000"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if jpy, _ := c.MaxAmount.Max("JPY"); jpy != 15000000 || c.MaxAmount.Default != 100000 {
		t.Errorf("limits %+v; want the variable's", c.MaxAmount)
	}
	for _, bad := range []string{"0", "100000,XYZ=1", "lots"} {
		if _, err := parseConfig([]string{"-max-amount", bad}, env(nil), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-max-amount") {
			t.Errorf("-max-amount %q: %v; want a refusal that names the flag", bad, err)
		}
	}
}

func TestConfigNeedsKeysForARealProvider(t *testing.T) {
	_, err := parseConfig(nil, env(map[string]string{"SMARTGLOCAL_URL": "https://demo.smart-glocal.com"}), &bytes.Buffer{})
	if err == nil {
		t.Error("a provider URL without project and keys was accepted")
	}
	c, err := parseConfig([]string{"-addr", "127.0.0.1:9999"}, env(map[string]string{"COUNTERSIGN_ADDR": "0.0.0.0:1", "COUNTERSIGN_IDLE_TIMEOUT": "5m"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.IdleTimeout.Minutes() != 5 || c.ProviderURL != "" {
		t.Errorf("config = %+v; want the flag to win over the variable and the variable over the default", c)
	}
}

// TestNoDemoAccountsWithARealProvider: with a provider configured the console
// must not invent accounts; the first one comes from `users add`.
func TestNoDemoAccountsWithARealProvider(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	keyFile := filepath.Join(dir, "partner.pem")
	pubFile := filepath.Join(dir, "provider.pem")
	writeTestKeys(t, keyFile, pubFile)
	cfg, err := parseConfig([]string{"-db", db, "-provider-url", "http://127.0.0.1:1", "-project", "p", "-private-key", keyFile, "-public-key", pubFile},
		env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(ctx, cfg, discardLogger(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if n, err := a.db.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("users with a real provider: %d (err %v), want 0", n, err)
	}
}

// TestBinaryDoesNotLinkTesting: test helpers live in *test packages, so the
// console's binary carries no package testing (and none of its flags).
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "testing" {
			t.Fatal("the countersign binary links package testing")
		}
	}
}

// TestServeKeepsTheKeyAndCheckpointsAtShutdown: the first start creates the
// secret key file and says where; stopping writes a last checkpoint, so that
// audit verify afterwards covers every entry the server wrote.
func TestServeKeepsTheKeyAndCheckpointsAtShutdown(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	getenv := env(map[string]string{"COUNTERSIGN_DB": db, "COUNTERSIGN_ADDR": "127.0.0.1:0"})
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, nil, &stdout, &stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A failed sign-in writes an entry after the first checkpoint.
	base := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(stdout.String())[1]
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindSubmatch(page)
	if csrf == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	resp, err = client.PostForm(base+"/login", url.Values{"_csrf": {string(csrf[1])}, "email": {"nobody@example.com"}, "password": {"wrong password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	keyFile := filepath.Join(dir, "c.key")
	if !strings.Contains(stderr.String(), "created a new secret key file") || !strings.Contains(stderr.String(), keyFile) {
		t.Errorf("no log line saying where the new key is:\n%s", stderr.String())
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify"}, getenv, nil, &out, &out); err != nil {
		t.Fatalf("audit verify after shutdown: %v", err)
	}
	// The last entry, the failed sign-in, is covered by the checkpoint
	// written at shutdown.
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var last int
	var action string
	raw.QueryRow(`SELECT a.id, x.action FROM audit_log a JOIN audit_actions x ON x.id = a.action_id ORDER BY a.id DESC LIMIT 1`).Scan(&last, &action)
	if action != "login.failed" {
		t.Fatalf("last entry %q; want the failed sign-in", action)
	}
	if want := fmt.Sprintf("matches the checkpoint of entry %d ", last); last < 2 || !strings.Contains(out.String(), want) {
		t.Errorf("audit verify said %q; want %q", out.String(), want)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestPostgresNeedsANamedKeyFile: a PostgreSQL database has no "beside"
// for the secret key, and its instances must share one: it must be named.
func TestPostgresNeedsANamedKeyFile(t *testing.T) {
	url := "postgres://countersign@db.internal/countersign"
	if _, err := parseConfig([]string{"-db", url}, env(nil), &bytes.Buffer{}); !errors.Is(err, errNoKeyFile) {
		t.Errorf("PostgreSQL without a key file: %v; want errNoKeyFile", err)
	}
	c, err := parseConfig([]string{"-db", url}, env(map[string]string{"COUNTERSIGN_SECRET_KEY_FILE": "/etc/countersign/secret.key"}), &bytes.Buffer{})
	if err != nil || c.SecretKeyFile != "/etc/countersign/secret.key" || c.AuditCheckpointFile != "/etc/countersign/secret.checkpoint" {
		t.Errorf("with a key file: %+v, %v", c, err)
	}
}

// TestASlowOpenIsExplained: opening the database (its migrations) is said in
// the log once it takes longer than slowOpen, with how long it took; a quick
// open says nothing.
func TestASlowOpenIsExplained(t *testing.T) {
	was := slowOpen
	t.Cleanup(func() { slowOpen = was })
	for _, tt := range []struct {
		after time.Duration
		said  bool
	}{{0, true}, {time.Hour, false}} {
		slowOpen = tt.after
		var log syncBuffer
		db, err := openDatabase(t.Context(), filepath.Join(t.TempDir(), "c.db"), slog.New(slog.NewTextHandler(&log, nil)))
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		said := func() bool {
			return strings.Contains(log.String(), "still opening the database") && strings.Contains(log.String(), "database open")
		}
		for deadline := time.Now().Add(time.Second); tt.said && !said() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if tt.said != said() || !tt.said && log.String() != "" {
			t.Errorf("slowOpen %v: log %q; want the wait explained and timed: %v", tt.after, log.String(), tt.said)
		}
	}
}
