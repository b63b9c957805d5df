package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/smartglocal/sandbox"
)

// TestStatusTable: every kind of refusal has its status, and only a failure
// that is nobody's refusal is a 500.
func TestStatusTable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fail.New(fail.Invalid, "x", "x"), http.StatusUnprocessableEntity},
		{fail.Field("amount", "Enter an amount"), http.StatusUnprocessableEntity},
		{fmt.Errorf("read form: %w", fail.Malformed("bad body")), http.StatusBadRequest},
		{fail.New(fail.Unauthorized, "x", "x"), http.StatusUnauthorized},
		{fail.New(fail.Forbidden, "x", "x"), http.StatusForbidden},
		{fail.New(fail.NotFound, "x", "x"), http.StatusNotFound},
		{fail.New(fail.Conflict, "x", "x"), http.StatusConflict},
		{fail.New(fail.TooMany, "x", "x"), http.StatusTooManyRequests},
		{fail.New(fail.Unavailable, "x", "x"), http.StatusServiceUnavailable},
		{fail.New(fail.Internal, "x", "x"), http.StatusInternalServerError},
		{errors.New("disk I/O error"), http.StatusInternalServerError},
		{echo.ErrStatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge},
		{echo.ErrMethodNotAllowed, http.StatusMethodNotAllowed},
	} {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("statusOf(%v) = %d; want %d", tc.err, got, tc.want)
		}
	}
}

// TestFailureIsLoggedOnceWithAReference: a 500 tells the person a reference
// and nothing of the error; the log has the error under that reference, once.
func TestFailureIsLoggedOnceWithAReference(t *testing.T) {
	var logs strings.Builder
	a := &app{Config: Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}}
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest("GET", "/x", nil), rec)
	a.handleError(errors.New("secret table payouts is locked"), c)
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError || strings.Contains(body, "secret") || !strings.Contains(body, "(request ") {
		t.Fatalf("answer %d %q; want 500 with a request id and no error text", rec.Code, body)
	}
	ref := strings.TrimSuffix(body[strings.Index(body, "(request ")+len("(request "):], ")")
	if n := strings.Count(logs.String(), "secret table payouts is locked"); n != 1 || !strings.Contains(logs.String(), "id="+ref) {
		t.Errorf("log has the error %d times (want 1) under ref %s:\n%s", n, ref, logs.String())
	}
	logs.Reset()
	a.handleError(fail.New(fail.Conflict, "version_changed", "This payout changed since you opened it."), e.NewContext(httptest.NewRequest("GET", "/x", nil), httptest.NewRecorder()))
	if logs.Len() != 0 {
		t.Errorf("a refusal was logged as a failure: %s", logs.String())
	}
}

// TestRefusalsOverHTTP: lookups of what does not exist are 404 with a
// sentence naming it, refusals of the workflow keep their kind's status.
func TestRefusalsOverHTTP(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	h.user("admin@example.com", "admin")
	jane := h.recipient(t, "Jane Doe", maker)
	m, ad := h.browser(), h.browser()
	m.login("maker@example.com")
	ad.login("admin@example.com")
	for _, tc := range []struct {
		b      *browser
		method string
		path   string
		status int
		says   string
	}{
		{m, "GET", "/payouts/999", http.StatusNotFound, "There is no such payout."},
		{m, "GET", "/payouts/not-a-number", http.StatusNotFound, "There is no such payout."},
		{m, "GET", "/recipients/999", http.StatusNotFound, "There is no such recipient."},
		{m, "POST", "/recipients/" + itoa(jane.ID) + "/cards/999/verify", http.StatusNotFound, "There is no such card"},
		{ad, "GET", "/admin/users/999", http.StatusNotFound, "There is no such user."},
		{m, "GET", "/no/such/page", http.StatusNotFound, "There is no page at this address."},
	} {
		var p page
		if tc.method == "GET" {
			p = tc.b.get(tc.path)
		} else {
			p = tc.b.post(tc.path, nil)
		}
		if p.status != tc.status || !strings.Contains(p.body, tc.says) {
			t.Errorf("%s %s: status %d, want %d saying %q", tc.method, tc.path, p.status, tc.status, tc.says)
		}
	}

	// The provider does not answer token/info: the person is told to try
	// again (503), not shown a failure of ours.
	hash, err := h.sb.Tokenize("4242424242424242")
	if err != nil {
		t.Fatal(err)
	}
	h.sb.InjectFault("token/info", sandbox.Fault5xx, 1)
	p := m.post("/recipients/"+itoa(jane.ID)+"/cards", url.Values{"number_hash": {hash}})
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "The provider did not answer") {
		t.Errorf("token/info failing: status %d, want 503 saying the provider did not answer", p.status)
	}

	// htmx asks: the refusal is plain text for app.js to show.
	req, _ := http.NewRequest("GET", h.srv.URL+"/payouts/999", nil)
	req.Header.Set("HX-Request", "true")
	p = m.do(req)
	if p.status != http.StatusNotFound || p.body != "There is no such payout." {
		t.Errorf("htmx: %d %q; want 404 and the bare sentence", p.status, p.body)
	}
}
