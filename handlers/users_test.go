package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAdminAddsUserAndFormKeepsWhatWasTyped(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	admin := h.browser()
	admin.login("admin@example.com")
	admin.get("/admin/users")

	p := admin.post("/admin/users", url.Values{"email": {"not-an-email"}, "name": {"Nina New"}, "role": {"maker"}, "password": {"short"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid form: status %d, want 422", p.status)
	}
	for _, want := range []string{`value="Nina New"`, `value="not-an-email"`, "Enter an email address", "at least 12 characters"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("re-rendered form lacks %q", want)
		}
	}
	if strings.Contains(p.body, `value="short"`) {
		t.Error("the password was rendered back into the page")
	}

	p = admin.post("/admin/users", url.Values{"email": {"nina@example.com"}, "name": {"Nina New"}, "role": {"maker", "approver"}, "password": {"a fine long password"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("valid form: status %d, want 303", p.status)
	}
	u, err := h.db.UserByEmail(t.Context(), "nina@example.com")
	if err != nil || !u.HasRole("maker") || !u.HasRole("approver") || u.HasRole("admin") {
		t.Fatalf("created user = %+v, %v", u, err)
	}
	p = admin.post("/admin/users", url.Values{"email": {"NINA@example.com"}, "name": {"Nina Again"}, "role": {"maker"}, "password": {"a fine long password"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "already exists") {
		t.Errorf("duplicate email: status %d", p.status)
	}
	if !strings.Contains(h.auditActions(t), "user.create") {
		t.Error("user.create not audited")
	}
}

func TestRoleChangeTakesEffectOnNextRequest(t *testing.T) {
	h := newHarness(t)
	h.user("admin@example.com", "admin")
	m := h.user("m@example.com", "maker")
	admin, maker := h.browser(), h.browser()
	admin.login("admin@example.com")
	maker.login("m@example.com")
	if p := maker.get("/payouts/new"); p.status != http.StatusOK {
		t.Fatalf("maker on /payouts/new: %d", p.status)
	}
	admin.get("/admin/users/" + itoa(m.ID))
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
	if p.status != http.StatusUnprocessableEntity {
		t.Errorf("removing own admin role: status %d, want 422", p.status)
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
