package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAdminProposesUserAndFormKeepsWhatWasTyped(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	admin := h.browser()
	admin.login("admin@example.com")
	page := admin.get("/admin/users")
	if strings.Contains(page.body, `name="password"`) {
		t.Error("the add-user form asks the admin for the person's password")
	}

	p := admin.post("/admin/users", url.Values{"email": {"not-an-email"}, "name": {"Nina New"}, "role": {"maker"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid form: status %d, want 422", p.status)
	}
	for _, want := range []string{`value="Nina New"`, `value="not-an-email"`, "Enter an email address"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("re-rendered form lacks %q", want)
		}
	}

	// Proposing power needs a fresh second factor, like approving it.
	p = admin.post("/admin/users", url.Values{"email": {"nina@example.com"}, "name": {"Nina New"}, "role": {"maker", "approver"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "6-digit code") || !strings.Contains(p.body, `value="nina@example.com"`) {
		t.Errorf("propose without a code: status %d; want 422 asking for it, with the form kept", p.status)
	}
	if n, _ := h.admin.Waiting(t.Context()); n != 0 {
		t.Errorf("changes waiting after a proposal without a code: %d", n)
	}
	p = admin.post("/admin/users", url.Values{"email": {"nina@example.com"}, "name": {"Nina New"}, "role": {"maker", "approver"}, "otp": {h.code()}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("valid form: status %d, want 303", p.status)
	}
	if _, err := h.db.UserByEmail(t.Context(), "nina@example.com"); err == nil {
		t.Fatal("the account exists before a second admin approved it")
	}
	if page := admin.get("/admin/users"); !strings.Contains(page.body, "it is created when another admin approves it") {
		t.Error("no message saying the account waits")
	}
	p = admin.post("/admin/users", url.Values{"email": {"ADMIN@example.com"}, "name": {"Admin Again"}, "role": {"maker"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "already exists") {
		t.Errorf("duplicate email: status %d", p.status)
	}
	if !strings.Contains(h.auditActions(t), "change.propose") {
		t.Error("the proposal was not audited")
	}
}

func TestRoleChangeTakesEffectOnNextRequest(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	m := h.user("m@example.com", "maker", "auditor")
	admin, maker := h.browser(), h.browser()
	admin.login("admin@example.com")
	maker.login("m@example.com")
	if p := maker.get("/payouts/new"); p.status != http.StatusOK {
		t.Fatalf("maker on /payouts/new: %d", p.status)
	}
	admin.get("/admin/users/" + itoa(m.ID))
	// Removing a role takes power away: it applies at once.
	if p := admin.post("/admin/users/"+itoa(m.ID), url.Values{"name": {"m"}, "role": {"auditor"}, "active": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("role change: %d", p.status)
	}
	if p := maker.get("/payouts/new"); p.status != http.StatusForbidden {
		t.Errorf("former maker on /payouts/new: %d, want 403", p.status)
	}
}

func TestAdminCannotLockThemselvesOut(t *testing.T) {
	h := newHarness(t)
	a := h.user("admin@example.com", "admin")
	admin := h.browser()
	admin.login("admin@example.com")
	admin.get("/admin/users/" + itoa(a.ID))
	p := admin.post("/admin/users/"+itoa(a.ID), url.Values{"name": {"admin"}, "role": {"maker"}, "active": {"1"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "cannot remove your own admin role") {
		t.Errorf("removing own admin role: status %d, want 422 saying why", p.status)
	}
}

func TestHealthz(t *testing.T) {
	h := newHarness(t)
	p := h.browser().get("/healthz")
	if p.status != http.StatusOK || !strings.Contains(p.body, `"database":"ok"`) {
		t.Errorf("healthz: %d %s", p.status, p.body)
	}
	h.db.Close()
	if p := h.browser().get("/healthz"); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, `"database":"unavailable"`) {
		t.Errorf("healthz with the database closed: %d %s", p.status, p.body)
	}
}

// TestTakingAccessAwayAsksFirst: deactivating or removing a role applies at
// once and takes two admins to undo, so the edit form's Save asks first.
func TestTakingAccessAwayAsksFirst(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	ivy := h.user("ivy@example.com", "maker", "approver")
	page := h.signedIn("admin@example.com").get("/admin/users/" + itoa(ivy.ID))
	if got := attrs(page.body, "save-user", "data-confirm"); len(got) != 1 || !strings.Contains(got[0], "applies at once") {
		t.Errorf("the edit form's Save asks %q; want a confirmation saying removals apply at once", got)
	}
}
