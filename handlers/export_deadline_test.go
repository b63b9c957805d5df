package handlers

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"countersign/store"
)

// TestALongExportOutlivesTheWriteTimeout: an export that takes longer than
// the server's WriteTimeout (here 300 ms; a minute in production) is not cut
// off mid-file: it pushes its write deadline on as it streams. The client
// reads slowly (a small receive buffer, and a pause longer than the
// timeout), so the server is still writing long after the timeout.
func TestALongExportOutlivesTheWriteTimeout(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	b := h.browser()
	b.login("admin@example.com")
	const entries = 5000 // about 10 MB: more than the socket buffers hold
	err := h.db.InTx(t.Context(), func(tx *store.Tx) error {
		for range entries {
			detail := make([]byte, 1000)
			rand.Read(detail)
			if err := tx.Audit(t.Context(), store.AuditEntry{Actor: "system", Action: "test.bulk", Outcome: "ok", Detail: hex.EncodeToString(detail)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	slow := httptest.NewUnstartedServer(h.srv.Config.Handler)
	slow.Config.WriteTimeout = 300 * time.Millisecond
	slow.Start()
	t.Cleanup(slow.Close)
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8192) })
	}}
	client := &http.Client{Jar: b.c.Jar, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}}}
	for _, path := range []string{"/audit.jsonl?action=test.bulk", "/audit.csv?action=test.bulk"} {
		req, _ := http.NewRequest("GET", slow.URL+path, nil)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		time.Sleep(time.Second) // three times the write timeout, while the server's buffers fill
		lines, last := 0, ""
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			lines, last = lines+1, sc.Text()
		}
		resp.Body.Close()
		want := entries
		if strings.HasSuffix(path[:strings.Index(path, "?")], ".csv") {
			want++ // the header
		}
		if err := sc.Err(); err != nil || lines != want {
			t.Errorf("%s: %d lines, then %v; want all %d (the last read: %.60q…)", path, lines, err, want, last)
		}
	}
}
