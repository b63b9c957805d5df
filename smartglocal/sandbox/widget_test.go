package sandbox_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

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
		postsBack              bool
	}{
		{"loopback IPv4", "4242 4242 4242 4242", "http://127.0.0.1:8080/widget-return/recipients/7", http.StatusOK, true},
		{"localhost https", okPAN, "https://localhost/cards", http.StatusOK, true},
		{"loopback IPv6", okPAN, "http://[::1]:9000/x", http.StatusOK, true},
		{"foreign host gets no post", okPAN, "https://evil.example/steal", http.StatusOK, false},
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
			if resp.Header.Get("Location") != "" {
				t.Errorf("the widget redirects (to %s): the token would sit in a URL", resp.Header.Get("Location"))
			}
			if strings.Contains(string(body), strings.ReplaceAll(tt.number, " ", "")) {
				t.Error("page echoes the card number")
			}
			action, hash := postBack(t, body)
			if !tt.postsBack {
				if action != "" {
					t.Errorf("the widget posts the token to %q", action)
				}
				if tt.status == http.StatusOK && !strings.Contains(string(body), `data-testid="number-hash"`) {
					t.Errorf("result page lacks the hash: %s", body)
				}
				if tt.status == http.StatusOK && !strings.Contains(string(body), "<strong>VISA •••• 4242</strong>") {
					t.Errorf("result page does not name the card as the console does (VISA •••• 4242): %s", body)
				}
				return
			}
			if action != tt.returnTo || len(hash) != 64 {
				t.Fatalf("posts back to %q with number_hash %q; want %q and a 64-hex-digit hash", action, hash, tt.returnTo)
			}
			info, err := c.TokenInfo(context.Background(), sg.TokenInfoRequest{Type: "card", Card: sg.EncryptedCardMethod(hash).Card})
			if err != nil || info.Brand != "visa" {
				t.Errorf("TokenInfo(widget hash) = %+v, %v", info, err)
			}
		})
	}
}

// postBack returns the action of the page's form that posts number_hash, and
// its value; "" when there is none.
func postBack(t *testing.T, page []byte) (action, hash string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var form string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		attr := func(k string) string {
			for _, a := range n.Attr {
				if a.Key == k {
					return a.Val
				}
			}
			return ""
		}
		switch {
		case n.Data == "form" && attr("method") == "post":
			form = attr("action")
		case n.Data == "input" && attr("name") == "number_hash":
			action, hash = form, attr("value")
		}
	}
	return action, hash
}
