package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/net/html"

	"countersign/payout"
)

// TestBodyLimitsPerGroup: the webhook route takes bodies up to 1 MiB, every
// other route 64 KiB. Before the groups, the global 64 KiB limit applied to
// the webhook too and its own limit was dead code.
func TestBodyLimitsPerGroup(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	big := bytes.Repeat([]byte("a"), 100<<10)
	post := func(path, contentType string, body []byte) int {
		req, _ := http.NewRequest("POST", h.srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-CSRF-Token", b.csrf)
		return b.do(req).status
	}
	// Unsigned, so refused, but for its signature, not its size.
	if got := post("/webhooks/smartglocal", "application/json", big); got != http.StatusUnauthorized {
		t.Errorf("100 KiB webhook: status %d, want 401 (read whole, then refused for its signature)", got)
	}
	if got := post("/webhooks/smartglocal", "application/json", bytes.Repeat([]byte("a"), 1<<20+1)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB + 1 webhook: status %d, want 413", got)
	}
	form := append([]byte("full_name=Jane&email="), big...)
	for _, path := range []string{"/recipients", "/login"} {
		if got := post(path, "application/x-www-form-urlencoded", form); got != http.StatusRequestEntityTooLarge {
			t.Errorf("100 KiB form to %s: status %d, want 413", path, got)
		}
	}
}

// TestMalformedFormBodyIs400 posts a body that cannot be parsed to every form
// route, with a valid CSRF token in the header: each answers 400, none 500.
func TestMalformedFormBodyIs400(t *testing.T) {
	h := newHarness(t)
	target := h.user("all@example.com", "maker", "approver", "admin", "auditor")
	b := h.browser()
	b.login("all@example.com")
	bodies := []struct{ name, contentType, body string }{
		{"broken escape", "application/x-www-form-urlencoded", "full_name=%zz&_csrf=x"},
		{"bad multipart boundary", "multipart/form-data; boundary=", "--\r\nnot a part\r\n"},
		{"multipart cut short", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb"},
	}
	n := 0
	for _, r := range testApp(t).allRoutes() {
		if r.method != "POST" || r.path == "/webhooks/smartglocal" || r.path == "/logout" {
			continue
		}
		path := strings.NewReplacer(":id", itoa(target.ID), ":card", "1").Replace(r.path)
		for _, tc := range bodies {
			req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("X-CSRF-Token", b.csrf)
			if p := b.do(req); p.status != http.StatusBadRequest {
				t.Errorf("POST %s with a %s: status %d, want 400", path, tc.name, p.status)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no form routes were tried")
	}
	if !b.signedIn() {
		t.Error("the malformed posts ended the session")
	}
	if strings.Contains(h.logs.String(), "request failed") {
		t.Errorf("a malformed body was logged as a failure:\n%s", h.logs.String())
	}
}

// TestStaticDoesNotListFolders: files are served, folders are not listed.
func TestStaticDoesNotListFolders(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	for _, path := range []string{"/static/", "/static/vendor/", "/static/vendor", "/static/vendor/htmx/", "/static/vendor/htmx", "/static/./", "/static/nope.css"} {
		if p := b.get(path); p.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, p.status)
		} else if strings.Contains(p.body, "htmx") || strings.Contains(p.body, "app.css") {
			t.Errorf("GET %s lists files: %s", path, p.body)
		}
	}
	for _, path := range []string{"/static/app.css", "/static/app.js", "/static/vendor/htmx/htmx.min.js"} {
		if p := b.get(path); p.status != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", path, p.status)
		}
	}
}

// TestLocalPath: a redirect target taken from a request is followed only when
// it is a path on this console; every trick that leads elsewhere goes home.
func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/queue", "/queue"},
		{"/payouts?state=pending_approval&currency=USD", "/payouts?state=pending_approval&currency=USD"},
		{"/recipients/7#cards", "/recipients/7#cards"},
		{"", "/"},
		{"queue", "/"},
		{"//evil.example", "/"},
		{"//evil.example/queue", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/queue\\..\\..", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\u2028/evil.example", "/"},
		{"https://evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"data:text/html,hi", "/"},
		{"HTTP://evil.example", "/"},
		{" /queue", "/"},
		{"/" + strings.Repeat("a", maxLocalPath), "/"},
	} {
		if got := localPath(tc.in); got != tc.want {
			t.Errorf("localPath(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestNavigationIsTheLabelledRoutes: each role's navigation is exactly the
// labelled pages of the routes table it may open, in table order, and each
// opens.
func TestNavigationIsTheLabelledRoutes(t *testing.T) {
	h := newHarness(t)
	table := testApp(t).allRoutes()
	for _, role := range payout.AllRoles() {
		u := h.user(string(role)+"@example.com", string(role))
		b := h.browser()
		b.login(u.Email)
		var want []string
		for _, r := range table {
			if r.nav != "" && r.acc.allows(u) {
				want = append(want, r.path)
			}
		}
		got := navHrefs(b.get("/").body)
		if !slices.Equal(got, want) {
			t.Errorf("%s sees %v; want %v", role, got, want)
		}
		for _, href := range got {
			if p := b.get(href); p.status != http.StatusOK {
				t.Errorf("%s: nav link %s answers %d", role, href, p.status)
			}
		}
	}
}

// navHrefs returns the links of the page's main navigation, in order.
func navHrefs(body string) []string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil
	}
	var hrefs []string
	var walk func(n *html.Node, inNav bool)
	walk = func(n *html.Node, inNav bool) {
		if n.Type == html.ElementNode && n.Data == "nav" && attr(n, "aria-label") == "Main" {
			inNav = true
		}
		if inNav && n.Type == html.ElementNode && n.Data == "a" {
			hrefs = append(hrefs, attr(n, "href"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inNav)
		}
	}
	walk(doc, false)
	return hrefs
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestCompressionIsBounded: with more responses in flight than there are
// compressors, the ones beyond go out whole and uncompressed, and every
// body arrives as the handler wrote it.
func TestCompressionIsBounded(t *testing.T) {
	const n, inFlight = 4, 12
	page := strings.Repeat("<p>a page worth compressing</p>", 100)
	var entered sync.WaitGroup
	entered.Add(inFlight)
	release := make(chan struct{})
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		entered.Done()
		<-release
		return c.HTML(http.StatusOK, page)
	}, compressAtMost(n, middleware.GzipWithConfig(middleware.GzipConfig{Level: gzip.BestSpeed})))
	srv := httptest.NewServer(e)
	defer srv.Close()

	type answer struct {
		encoding, vary, body string
	}
	answers := make(chan answer, inFlight)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for range inFlight {
		go func() {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				answers <- answer{}
				return
			}
			defer resp.Body.Close()
			var r io.Reader = resp.Body
			if resp.Header.Get("Content-Encoding") == "gzip" {
				if r, err = gzip.NewReader(resp.Body); err != nil {
					t.Error(err)
				}
			}
			body, _ := io.ReadAll(r)
			answers <- answer{resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"), string(body)}
		}()
	}
	entered.Wait() // all twelve are in the handler at once
	close(release)
	zipped := 0
	for range inFlight {
		a := <-answers
		if a.encoding == "gzip" {
			zipped++
		}
		if a.body != page {
			t.Errorf("a %q answer's body is %d bytes, want the page's %d", a.encoding, len(a.body), len(page))
		}
		if a.vary != "Accept-Encoding" {
			t.Errorf("a %q answer varies by %q, want Accept-Encoding", a.encoding, a.vary)
		}
	}
	if zipped != n {
		t.Errorf("%d of %d answers in flight at once were compressed, want %d", zipped, inFlight, n)
	}
}
