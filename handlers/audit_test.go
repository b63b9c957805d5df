package handlers

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// auditActionsOnPage reads the action codes of the entries on an audit page:
// each entry keeps its code ("action · outcome · detail") folded away.
func auditActionsOnPage(t *testing.T, body string) []string {
	var out []string
	for _, c := range texts(doc(t, body), func(n *html.Node) bool { return n.Data == "code" && n.Parent != nil && n.Parent.Data == "details" }) {
		action, _, _ := strings.Cut(c, " · ")
		out = append(out, action)
	}
	return out
}

func TestAuditPageFilters(t *testing.T) {
	h := newHarness(t)
	h.user("auditor@example.com", "auditor")
	h.user("maker@example.com", "maker")
	m := h.browser()
	m.login("maker@example.com")
	m.post("/logout", nil)
	b := h.browser()
	b.login("auditor@example.com")

	tests := []struct {
		query string
		want  []string
	}{
		{"?action=logout", []string{"logout"}},
		{"?actor=maker@", []string{"logout", "login.ok"}},
		{"?action=login&actor=auditor", []string{"login.ok"}},
		{"?from=2026-11-22", nil},
		{"?to=2026-11-21&action=login.ok", []string{"login.ok", "login.ok"}},
	}
	for _, tt := range tests {
		p := b.get("/audit" + tt.query)
		if p.status != http.StatusOK {
			t.Fatalf("%s: status %d", tt.query, p.status)
		}
		got := auditActionsOnPage(t, p.body)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("/audit%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	p := b.get("/audit?from=2026-11-22&to=2026-11-21")
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "before the first one") {
		t.Errorf("reversed dates: status %d", p.status)
	}
	if p := b.get("/audit?from=yesterday"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `value="yesterday"`) {
		t.Errorf("bad date: status %d, or the typed value was not kept", p.status)
	}
}
