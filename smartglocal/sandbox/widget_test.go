package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

func TestTokenizeEndpoint(t *testing.T) {
	srv, c := sandboxtest.New(t, sandbox.Config{})
	tests := []struct {
		name, method, body string
		status             int
	}{
		{"valid", http.MethodPost, `{"number":"4242424242424242"}`, 200},
		{"bad Luhn", http.MethodPost, `{"number":"4242424242424241"}`, 400},
		{"not JSON", http.MethodPost, `number=4242424242424242`, 400},
		{"GET", http.MethodGet, ``, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/sandbox/tokenize", strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	// The same number gives the same hash; it works in token/info and payouts.
	h1, _ := srv.Tokenize(okPAN)
	h2, _ := srv.Tokenize(okPAN)
	if h1 != h2 || len(h1) != 64 {
		t.Errorf("hashes %q, %q: want one 64-hex-digit hash", h1, h2)
	}
	info, err := c.TokenInfo(context.Background(), sg.TokenInfoRequest{Type: "card", Card: sg.EncryptedCardMethod(h1).Card})
	if err != nil || info.Last4 != "4242" {
		t.Errorf("TokenInfo = %+v, %v", info, err)
	}
	// Another sandbox salts differently: the hash means nothing there.
	other, _ := sandboxtest.New(t, sandbox.Config{})
	if h3, _ := other.Tokenize(okPAN); h3 == h1 {
		t.Error("two sandboxes produce the same hash")
	}
}

func TestWidget(t *testing.T) {
	srv, c := sandboxtest.New(t, sandbox.Config{})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := http.Get(srv.URL + "/sandbox/widget?return_to=" + url.QueryEscape(`http://127.0.0.1:8080/cards/new?x="><script>alert(1)</script>`))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`autocomplete="off"`, `name="number"`, `method="post"`, `&lt;script&gt;`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("widget page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script>", "src=", "href=", "http://cdn", "https://"} {
		if strings.Contains(string(page), bad) {
			t.Errorf("widget page contains %q (script or external asset)", bad)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}

	tests := []struct {
		name, number, returnTo string
		status                 int
		redirect               bool
	}{
		{"loopback IPv4", "4242 4242 4242 4242", "http://127.0.0.1:8080/cards/new?recipient=7", http.StatusSeeOther, true},
		{"localhost https", okPAN, "https://localhost/cards", http.StatusSeeOther, true},
		{"loopback IPv6", okPAN, "http://[::1]:9000/x", http.StatusSeeOther, true},
		{"foreign host is not an open redirect", okPAN, "https://evil.example/steal", http.StatusOK, false},
		{"loopback lookalike", okPAN, "http://127.0.0.1.evil.example/", http.StatusOK, false},
		{"javascript scheme", okPAN, "javascript:alert(1)", http.StatusOK, false},
		{"no return_to", okPAN, "", http.StatusOK, false},
		{"invalid number", "4242424242424241", "http://127.0.0.1:8080/", http.StatusUnprocessableEntity, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirect.PostForm(srv.URL+"/sandbox/widget", url.Values{"number": {tt.number}, "return_to": {tt.returnTo}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if strings.Contains(string(body), strings.ReplaceAll(tt.number, " ", "")) {
				t.Error("page echoes the card number")
			}
			if !tt.redirect {
				if tt.status == http.StatusOK && !strings.Contains(string(body), `data-testid="number-hash"`) {
					t.Errorf("result page lacks the hash: %s", body)
				}
				if tt.status == http.StatusOK && !strings.Contains(string(body), "<strong>VISA •••• 4242</strong>") {
					t.Errorf("result page does not name the card as the console does (VISA •••• 4242): %s", body)
				}
				return
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			ret, _ := url.Parse(tt.returnTo)
			q := loc.Query()
			if loc.Host != ret.Host || loc.Path != ret.Path || q.Get("last4") != "4242" || q.Get("brand") != "visa" || len(q.Get("number_hash")) != 64 {
				t.Errorf("redirect to %s", loc)
			}
			for k, v := range ret.Query() {
				if q.Get(k) != v[0] {
					t.Errorf("redirect lost query %s=%s", k, v[0])
				}
			}
			info, err := c.TokenInfo(context.Background(), sg.TokenInfoRequest{Type: "card", Card: sg.EncryptedCardMethod(q.Get("number_hash")).Card})
			if err != nil || info.Brand != "visa" {
				t.Errorf("TokenInfo(widget hash) = %+v, %v", info, err)
			}
		})
	}
}
