package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"countersign/store"
)

// TestAStartingConsoleAnswers503: while the console cannot open its
// database yet (here another process holds the write lock, as a long
// migration would keep it starting), a browser, a probe and the provider get
// a quick 503 with Retry-After and the reason, not a connection that hangs;
// once the database is free the console serves as usual.
func TestAStartingConsoleAnswers503(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	lock, err := sql.Open("sqlite", store.SQLiteDSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	conn, err := lock.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
				t.Error(err)
			}
		}
	}
	defer release()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	getenv := env(map[string]string{"COUNTERSIGN_DB": db, "COUNTERSIGN_ADDR": addr})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, nil, &stdout, &stderr) }()

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
			req.Header.Set("Accept", accept)
			resp, err := client.Do(req)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp, string(body)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v\n%s", path, err, stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	resp, page := get("/", "text/html,application/xhtml+xml")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, "Countersign is starting") ||
		!strings.Contains(page, `http-equiv="refresh"`) {
		t.Errorf("a browser while starting: %d, Retry-After %q, %q:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), page)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the starting page's headers: %v", resp.Header)
	}
	// The browser applies the page's own style only if its policy names the
	// style's hash.
	style := regexp.MustCompile(`<style>(.*?)</style>`).FindStringSubmatch(page)
	if style == nil {
		t.Errorf("the starting page has no style:\n%s", page)
	} else {
		sum := sha256.Sum256([]byte(style[1]))
		if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(resp.Header.Get("Content-Security-Policy"), "style-src "+hash) {
			t.Errorf("the policy %q does not allow the page's style (%s)", resp.Header.Get("Content-Security-Policy"), hash)
		}
	}
	resp, body := get("/healthz", "")
	var health struct {
		Ready    bool
		Database string
		NotReady []string `json:"not_ready"`
	}
	if err := json.Unmarshal([]byte(body), &health); err != nil || resp.StatusCode != http.StatusServiceUnavailable ||
		health.Database != "starting" || health.Ready || len(health.NotReady) != 1 {
		t.Errorf("/healthz while starting: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, body = get("/webhooks/smartglocal", "")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("a webhook while starting: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(stdout.String(), "listening on") {
		t.Errorf("said it was listening before the database opened:\n%s", stdout.String())
	}

	release()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body = get("/healthz", "")
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz after the database was freed: %d %s\n%s", resp.StatusCode, body, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if body != `{"database":"ok"}`+"\n" || !strings.Contains(stdout.String(), "listening on") {
		t.Errorf("once started: /healthz %q; stdout:\n%s", body, stdout.String())
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
