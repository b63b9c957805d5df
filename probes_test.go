package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// TestProbesCallNoProvider: the attack run's 200 anonymous /healthz requests
// made 200 signed wallet/balance calls. Neither probe calls the provider.
func TestProbesCallNoProvider(t *testing.T) {
	ctx := context.Background()
	cfg, err := parseConfig([]string{"-db", filepath.Join(t.TempDir(), "c.db")}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(ctx, cfg, discardLogger(), "http://127.0.0.1:1/webhooks/smartglocal")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 200 {
		if status := get("/healthz"); status != http.StatusOK {
			t.Fatalf("/healthz: %d", status)
		}
	}
	if status := get("/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz before any balance reading: %d, want 503", status)
	}
	if n := len(a.sandbox.Calls()); n != 0 {
		t.Errorf("200 /healthz and a /readyz made %d provider calls, want 0", n)
	}
}
