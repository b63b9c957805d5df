// Package e2e drives the real countersign binary through a real Chromium:
// the journeys people take, end to end, with the embedded sandbox provider.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"countersign/stepup"
	"countersign/store/pgtest"
)

var binary string // built once in TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "countersign-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "countersign")
	build := exec.Command("go", "build", "-o", binary, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build countersign:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// console is a running countersign binary with its own database.
type console struct {
	URL  string
	DB   string
	logs *syncBuffer
	cmd  *exec.Cmd
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startConsole runs the binary on a free loopback port with a temp database and
// the embedded sandbox, and waits until it says where it listens.
func startConsole(t testing.TB, env ...string) *console {
	t.Helper()
	return startConsoleIn(t, t.TempDir(), env...)
}

// startConsoleIn is startConsole over the database in dir: a second start in
// the same dir is the same console restarted.
func startConsoleIn(t testing.TB, dir string, env ...string) *console {
	t.Helper()
	c := &console{DB: filepath.Join(dir, "countersign.db"), logs: &syncBuffer{}}
	c.cmd = exec.Command(binary, "-addr", "127.0.0.1:0", "-db", c.DB)
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), append([]string{"COUNTERSIGN_SANDBOX_WEBHOOK_DELAY=50ms", "COUNTERSIGN_RECONCILE_INTERVAL=2s"}, env...)...)
	c.cmd.Stderr = c.logs
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			c.cmd.Process.Kill()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.logs.Write([]byte(sc.Text() + "\n"))
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case c.URL = <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("console did not start; output:\n%s", c.logs.String())
	}
	return c
}

// chromiumPath finds Debian's Chromium. Without it the browser journeys are
// skipped on a developer machine and fail in CI, which installs it.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed; .ci/run installs Debian's chromium")
	}
	t.Skip("Chromium is not installed: skipping the browser journeys (apt-get install chromium)")
	return ""
}

// newBrowser starts a headless Chromium with its own profile: one person.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run executes steps with a deadline, failing the test with the page's text on error.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("browser: %v\npage text:\n%s", err, pageText(ctx))
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("browser: %v\npage text:\n%s", err, pageText(ctx))
	}
	return v
}

func pageText(ctx context.Context) string {
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	return body
}

// login signs in through the real form.
func login(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)),
	)
}

// enrol sets up the signed-in person's second factor on their account page,
// as they would with an authenticator app: it starts the set-up unless it
// was started, reads the key shown and types the app's code. It returns the
// key.
func enrol(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="second-factor"]`)),
	)
	if started := get(t, ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="totp-secret"]') !== null`)); !started {
		run(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="begin-second-factor"]`)))
	}
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="totp-secret"]`)))
	secret := get(t, ctx, chromedp.Text(chromedp.CSS(`[data-testid="totp-secret"]`)))
	typeCodeOf(t, ctx, secret, "#otp")
	// The page that follows no longer shows the key. Waiting for anything
	// both pages show would return before the form's navigation ended, and
	// the caller's next Navigate would race it (net::ERR_ABORTED).
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-second-factor"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="totp-secret"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="current-user"]`)),
	)
	return secret
}

func logout(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
}

// screenshot saves a full-page PNG under docs/screenshots when UPDATE_SCREENSHOTS is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") == "" {
		return
	}
	png := get(t, ctx, chromedp.FullScreenshot(100))
	path := filepath.Join("..", "docs", "screenshots", name+".png")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// demoSecrets are the published second-factor secrets of the sandbox's demo
// approvers and admins.
var demoSecrets = map[string]string{
	"approver1@example.com": "APPROVERONEDEMOSECRETCOUNTERSIGN",
	"approver2@example.com": "APPROVERTWODEMOSECRETCOUNTERSIGN",
	"admin@example.com":     "ADMINONEDEMOSECRETCOUNTERSIGNAAA",
	"admin2@example.com":    "ADMINTWODEMOSECRETCOUNTERSIGNAAA",
}

// typeCode types email's current second-factor code into the field at css,
// as the person would read it from their app, if the form asks for one (a
// code given a moment ago may still cover the decision).
func typeCode(t *testing.T, ctx context.Context, email, css string) {
	t.Helper()
	typeCodeOf(t, ctx, demoSecrets[email], css)
}

// typeCodeOf types the current code of a secret into the field at css, if there is one.
func typeCodeOf(t *testing.T, ctx context.Context, secret, css string) {
	t.Helper()
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(css)+`).length`)); n == 0 {
		return
	}
	code, err := stepup.Code(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(css), code))
}

var demoPasswords = map[string]string{
	"maker@example.com":     "maker-demo-password",
	"approver1@example.com": "approver1-demo-password",
	"approver2@example.com": "approver2-demo-password",
	"admin@example.com":     "admin-demo-password",
	"admin2@example.com":    "admin2-demo-password",
	"auditor@example.com":   "auditor-demo-password",
}
