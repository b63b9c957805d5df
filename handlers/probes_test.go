package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"countersign/payout"
	"countersign/smartglocal/sandbox"
	"countersign/store"
)

// TestHealthzCallsNoOne: the attack run's 200 anonymous /healthz requests
// caused 200 signed wallet/balance calls.
func TestHealthzCallsNoOne(t *testing.T) {
	m := newMoneyHarness(t, nil)
	before := len(m.sb.Calls())
	for range 200 {
		if p := m.browser().get("/healthz"); p.status != http.StatusOK {
			t.Fatalf("healthz: %d %s", p.status, p.body)
		}
	}
	if n := len(m.sb.Calls()) - before; n != 0 {
		t.Errorf("200 /healthz requests made %d provider calls, want 0", n)
	}
}

func readyz(t *testing.T, b *browser) (int, readiness) {
	t.Helper()
	p := b.get("/readyz")
	var r readiness
	if err := json.Unmarshal([]byte(p.body), &r); err != nil {
		t.Fatalf("readyz body %q: %v", p.body, err)
	}
	return p.status, r
}

// TestReadyzReadsTheLeadersBalance: only the leader reads the balance; an
// instance that never called the provider is ready on the reading the
// leader put in the database.
func TestReadyzReadsTheLeadersBalance(t *testing.T) {
	m := newMoneyHarness(t, nil, func(c *Config) { c.BalanceStaleAfter = time.Hour })
	if err := m.db.InsertBalanceSnapshot(t.Context(), store.BalanceSnapshot{Currency: "USD", Amount: 100000}); err != nil {
		t.Fatal(err)
	}
	status, r := readyz(t, m.browser())
	if status != http.StatusOK || !r.Ready || r.BalanceAge == nil || *r.BalanceAge != 0 || r.LastCall != nil {
		t.Errorf("with another instance's reading: %d %+v; want ready, a fresh reading and no call of ours", status, r)
	}
	m.clock.Advance(2 * time.Hour)
	if status, r := readyz(t, m.browser()); status != http.StatusServiceUnavailable || !strings.Contains(strings.Join(r.NotReady, ";"), "older than") {
		t.Errorf("two hours later: %d %+v; want 503, the reading is stale", status, r)
	}
}

func TestReadyzReportsFromMemory(t *testing.T) {
	m := newMoneyHarness(t, nil, func(c *Config) { c.BalanceStaleAfter = time.Hour })
	b := m.browser()
	status, r := readyz(t, b)
	if status != http.StatusServiceUnavailable || r.Ready || r.BalanceAge != nil || !strings.Contains(strings.Join(r.NotReady, ";"), "no balance reading") {
		t.Errorf("before any reading: %d %+v; want 503, no balance reading yet", status, r)
	}
	if err := payout.RefreshBalance(t.Context(), m.db, m.provider(t)); err != nil {
		t.Fatal(err)
	}
	calls := len(m.sb.Calls())
	status, r = readyz(t, b)
	if status != http.StatusOK || !r.Ready || r.BalanceAge == nil || r.LastCall == nil || r.LastCall.Method != "wallet/balance" || r.LastCall.Result != "ok" {
		t.Errorf("after a reading: %d %+v", status, r)
	}
	// The provider stops answering: the next call finds out, /readyz says so.
	m.sb.InjectFault("wallet/balance", sandbox.Fault5xx, 1)
	if err := payout.RefreshBalance(t.Context(), m.db, m.provider(t)); err == nil {
		t.Fatal("the refresh did not fail")
	}
	calls++
	status, r = readyz(t, b)
	if status != http.StatusServiceUnavailable || r.LastCall == nil || r.LastCall.Result != "unknown" {
		t.Errorf("after a failed call: %d %+v; want 503 and the failed call", status, r)
	}
	if n := len(m.sb.Calls()); n != calls {
		t.Errorf("/readyz called the provider: %d calls, want %d", n, calls)
	}
}

// TestAttentionOnTheDashboard: what needs a person shows on the dashboard
// until an admin or approver acknowledges it.
func TestAttentionOnTheDashboard(t *testing.T) {
	m := newMoneyHarness(t, nil)
	mk := m.user("maker@example.com", "maker")
	m.user("approver@example.com", "approver")
	p := m.seed(t, seed{maker: mk, name: "Jane Doe", amount: 1000, state: payout.StateUnknown})
	if err := m.db.InTx(t.Context(), func(tx *store.Tx) error {
		_, err := tx.RaiseAttention(t.Context(), payout.AttentionLateSuccess, p.ID, "paid while it was pending_approval here")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	maker, approver := m.browser(), m.browser()
	maker.login("maker@example.com")
	approver.login("approver@example.com")
	if page := maker.get("/"); !strings.Contains(page.body, `data-testid="attention-row"`) || strings.Contains(page.body, `data-testid="acknowledge"`) {
		t.Error("the maker's dashboard does not show the item, or offers to acknowledge it")
	}
	if r := maker.post("/attention/1/acknowledge", nil); r.status != http.StatusForbidden {
		t.Errorf("maker acknowledging: status %d, want 403", r.status)
	}
	page := approver.get("/")
	if !strings.Contains(page.body, "paid while it was pending_approval here") || !strings.Contains(page.body, `data-testid="acknowledge"`) {
		t.Fatal("the approver's dashboard does not show the item with its button")
	}
	if r := approver.post("/attention/1/acknowledge", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("acknowledge: status %d", r.status)
	}
	if page := approver.get("/"); strings.Contains(page.body, `data-testid="attention-row"`) {
		t.Error("the item is still on the dashboard after it was acknowledged")
	}
	if !strings.Contains(m.auditActions(t), "attention.acknowledge") {
		t.Error("the acknowledgement is not in the audit log")
	}
}
