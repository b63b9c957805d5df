package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestLoginShowsRoleNavigation signs in as each demo role through the real form,
// checks the navigation offers exactly that role's pages, and signs out.
func TestLoginShowsRoleNavigation(t *testing.T) {
	c := startConsole(t)
	tests := []struct {
		email   string
		want    []string
		notWant []string
	}{
		{"maker@example.com", []string{"Dashboard", "Queue", "New payout", "Payouts", "Recipients"}, []string{"Audit log", "Users"}},
		{"approver1@example.com", []string{"Dashboard", "Queue", "Payouts"}, []string{"New payout", "Users", "Audit log"}},
		{"admin@example.com", []string{"Dashboard", "Users", "Audit log", "Settings"}, []string{"New payout"}},
		{"auditor@example.com", []string{"Dashboard", "Payouts", "Audit log"}, []string{"New payout", "Queue", "Users"}},
	}
	ctx := newBrowser(t)
	for _, tt := range tests {
		login(t, ctx, c.URL, tt.email, demoPasswords[tt.email])
		nav := get(t, ctx, chromedp.Text(chromedp.CSS(`nav[aria-label="Main"]`)))
		for _, w := range tt.want {
			if !strings.Contains(nav, w) {
				t.Errorf("%s: navigation %q lacks %q", tt.email, nav, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(nav, w) {
				t.Errorf("%s: navigation %q offers %q", tt.email, nav, w)
			}
		}
		logout(t, ctx)
	}
	// After signing out, the console sends people back to the sign-in form.
	run(t, ctx, chromedp.Navigate(c.URL+"/admin/users"), chromedp.WaitVisible(chromedp.ID("email")))
	url := get(t, ctx, chromedp.Location())
	if !strings.HasSuffix(url, "/login?next=%2Fadmin%2Fusers") {
		t.Errorf("after logout /admin/users ended at %s, want the sign-in page coming back to it", url)
	}
}
