package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"countersign/store"
)

func TestSettingsThresholdsAndLowLevels(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"usd": 100000, "eur": 100})
	h.user("admin@example.com", "admin")
	b := h.browser()
	b.login("admin@example.com")
	b.post("/balance/refresh", nil)
	ctx := t.Context()

	// Mistakes: nothing is saved, everything typed comes back.
	p := b.post("/admin/settings", url.Values{"kind": {"fixed", "fixed", "new", "new"}, "currency": {"EUR", "USD", "GBP", "USD"},
		"threshold": {"1.234", "1,000.00", "abc", "5"}, "low": {"", "-3", "", ""}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", p.status)
	}
	for _, want := range []string{`id="threshold-0-error"`, "EUR has at most 2 decimals", `value="1.234"`, `id="low-1-error"`, "Amount must be more than zero",
		`id="threshold-2-error"`, `value="abc"`, `id="currency-3-error"`, "USD is already above", `<option value="GBP" selected>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("re-rendered form lacks %q", want)
		}
	}
	if v, _ := h.db.Setting(ctx, "policy.thresholds", "unset"); v != "unset" {
		t.Errorf("a form with mistakes saved the policy: %q", v)
	}

	p = b.post("/admin/settings", url.Values{"kind": {"fixed", "fixed", "new", "new"}, "currency": {"EUR", "USD", "GBP", ""},
		"threshold": {"", "1,000.00", "0", ""}, "low": {"0.50", "", "", ""}})
	if p.status != http.StatusSeeOther || p.location != "/admin/settings" {
		t.Fatalf("save: status %d location %q", p.status, p.location)
	}
	if v, _ := h.db.Setting(ctx, "policy.thresholds", ""); v != "GBP=0,USD=100000" {
		t.Errorf("policy %q, want GBP=0,USD=100000", v)
	}
	if v, _ := h.db.Setting(ctx, "balance.low", ""); v != "EUR=50" {
		t.Errorf("low levels %q, want EUR=50", v)
	}
	page := b.get("/admin/settings").body
	if !strings.Contains(page, "Settings saved.") {
		t.Error("no flash")
	}
	if got := attrs(page, "settings-row", "data-currency"); !slices.Equal(got, []string{"EUR", "GBP", "USD", "", ""}) {
		t.Errorf("rows %v, want EUR GBP USD and two blank", got)
	}
	for _, want := range []string{`name="threshold" value="1,000.00"`, `name="threshold" value="0.00"`, `name="low" value="0.50"`} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %s", want)
		}
	}

	// Saving the same again changes nothing and audits nothing new.
	before, _ := h.db.AuditEntries(ctx, store.AuditFilter{ObjectType: "setting"})
	b.post("/admin/settings", url.Values{"kind": {"fixed", "fixed", "fixed", "new", "new"}, "currency": {"EUR", "GBP", "USD", "", ""},
		"threshold": {"", "0.00", "1,000.00", "", ""}, "low": {"0.50", "", "", "", ""}})
	if !strings.Contains(b.get("/admin/settings").body, "Nothing changed.") {
		t.Error("saving the same settings did not say nothing changed")
	}
	after, _ := h.db.AuditEntries(ctx, store.AuditFilter{ObjectType: "setting"})
	if len(after) != len(before) || len(before) != 2 {
		t.Errorf("setting audit entries: %d before, %d after, want 2 and 2", len(before), len(after))
	}
	var actions []string
	for _, e := range after {
		actions = append(actions, e.Action+" "+e.Actor+" "+e.Detail)
	}
	slices.Sort(actions)
	if want := []string{"policy.update admin@example.com thresholds GBP=0,USD=100000", "settings.balance_low admin@example.com levels EUR=50"}; !slices.Equal(actions, want) {
		t.Errorf("audit %q, want %q", actions, want)
	}

	// A half-sent form is refused whole.
	if p := b.post("/admin/settings", url.Values{"kind": {"fixed"}, "currency": {"USD"}, "threshold": {}, "low": {""}}); p.status != http.StatusBadRequest {
		t.Errorf("mismatched rows: status %d, want 400", p.status)
	}
}
