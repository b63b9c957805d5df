package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"countersign/store"
)

// auditOf returns the audit entries about objects of one type.
func (h *harness) auditOf(objectType string) []store.AuditEntry {
	h.t.Helper()
	es, err := h.db.AuditEntries(context.Background(), store.AuditFilter{ObjectType: objectType})
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

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
	if v, _ := h.db.Setting(ctx, "policy.thresholds", "unset"); v != "USD=100000" {
		t.Errorf("a form with mistakes changed the policy: %q", v)
	}

	p = b.post("/admin/settings", url.Values{"kind": {"fixed", "fixed", "new", "new"}, "currency": {"EUR", "USD", "GBP", ""},
		"threshold": {"", "1,000.00", "0", ""}, "low": {"0.50", "", "", ""}})
	if p.status != http.StatusSeeOther || p.location != "/admin/settings" {
		t.Fatalf("save: status %d location %q", p.status, p.location)
	}
	// GBP=0 asks two approvers for every GBP payout, as no threshold does:
	// stricter, so it applies at once. New low-balance levels wait.
	if v, _ := h.db.Setting(ctx, "policy.thresholds", ""); v != "GBP=0,USD=100000" {
		t.Errorf("policy %q, want GBP=0,USD=100000", v)
	}
	if v, _ := h.db.Setting(ctx, "balance.low", ""); v != "" {
		t.Errorf("low levels %q applied before a second admin approved", v)
	}
	if page := b.get("/admin/settings").body; !strings.Contains(page, "Stricter settings saved; 1 change(s) wait for another admin") {
		t.Error("no flash saying what applied and what waits")
	}
	h.secondAdminApproves()
	if v, _ := h.db.Setting(ctx, "balance.low", ""); v != "EUR=50" {
		t.Errorf("low levels %q, want EUR=50", v)
	}
	page := b.get("/admin/settings").body
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
	if len(after) != len(before) || len(before) != 1 {
		t.Errorf("setting audit entries: %d before, %d after, want 1 and 1", len(before), len(after))
	}
	var actions []string
	for _, e := range append(after, h.auditOf("change")...) {
		actions = append(actions, e.Action+" "+e.Actor+" "+e.Detail)
	}
	slices.Sort(actions)
	if want := []string{
		"change.approve second-admin@example.com settings.low_balance: low-balance levels (none) → 0.50 EUR",
		"change.propose admin@example.com settings.low_balance: low-balance levels (none) → 0.50 EUR",
		"settings.policy admin@example.com approval thresholds 1,000.00 USD → 0.00 GBP, 1,000.00 USD (stricter: applied at once)",
	}; !slices.Equal(actions, want) {
		t.Errorf("audit %q, want %q", actions, want)
	}

	// A form without a single threshold does not remove them all.
	if p := b.post("/admin/settings", url.Values{"kind": {"fixed", "fixed", "fixed"}, "currency": {"EUR", "GBP", "USD"},
		"threshold": {"", "", ""}, "low": {"0.50", "", ""}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "at least one currency") {
		t.Errorf("no thresholds: status %d; want 422 saying why", p.status)
	}
	if v, _ := h.db.Setting(ctx, "policy.thresholds", ""); v != "GBP=0,USD=100000" {
		t.Errorf("policy %q after a form without thresholds", v)
	}

	// A half-sent form is refused whole.
	if p := b.post("/admin/settings", url.Values{"kind": {"fixed"}, "currency": {"USD"}, "threshold": {}, "low": {""}}); p.status != http.StatusBadRequest {
		t.Errorf("mismatched rows: status %d, want 400", p.status)
	}
}

// TestCurrencyChoices: settings offer the currencies the provider's wallets
// hold first; fund codes are offered nowhere a payout is made.
func TestCurrencyChoices(t *testing.T) {
	h := newMoneyHarness(t, map[string]int64{"gbp": 100000, "eur": 5000})
	h.user("admin@example.com", "admin")
	h.user("maker@example.com", "maker")
	a := h.signedIn("admin@example.com")
	a.post("/balance/refresh", url.Values{"back": {"/admin/settings"}})
	page := doc(t, a.get("/admin/settings").body)
	groups := findAll(page, func(n *htmlNode) bool { return n.Data == "optgroup" })
	if len(groups) < 2 || attr(groups[0], "label") != "In the provider's wallets" {
		t.Fatalf("settings' currency groups: %d, first %q", len(groups), attr(groups[0], "label"))
	}
	if held := texts(groups[0], func(n *htmlNode) bool { return n.Data == "option" }); strings.Join(held, " ") != "EUR GBP" {
		t.Errorf("held currencies offered first: %v, want EUR GBP", held)
	}
	others := texts(groups[1], func(n *htmlNode) bool { return n.Data == "option" })
	if slices.Contains(others, "GBP") || !slices.Contains(others, "USD") || slices.Contains(others, "CLF") || slices.Contains(others, "UYW") {
		t.Errorf("other currencies: a held one again, no USD, or a fund code: %v", others)
	}
	form := doc(t, h.signedIn("maker@example.com").get("/payouts/new").body)
	offered := texts(form, func(n *htmlNode) bool {
		return n.Data == "option" && n.Parent != nil && attr(n.Parent, "id") == "currency"
	})
	if !slices.Contains(offered, "USD") || slices.Contains(offered, "CLF") || slices.Contains(offered, "MXV") {
		t.Errorf("the payout form offers %d currencies, USD %v, a fund code %v", len(offered), slices.Contains(offered, "USD"), slices.Contains(offered, "CLF"))
	}
}
