package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"countersign/notify/notifytest"
)

// markPage leaves a mark on the page that a reload would wipe out.
func markPage(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`))
}

// stillSamePage reports whether the page was not reloaded or left since markPage.
func stillSamePage(t *testing.T, ctx context.Context) bool {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[bool](`window.__notReloaded === true`))
}

// waitFor waits, with a generous deadline (the machine is busy), until the
// JavaScript condition holds on the page.
func waitFor(t *testing.T, ctx context.Context, what, condition string) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for !get(t, ctx, chromedp.Evaluate[bool](`!!(`+condition+`)`)) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 40s for %s; page:\n%s", what, pageText(ctx))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLivePages: the queue and a payout's page follow what happens without
// a reload, keep the approver's focus where it was, announce new payouts,
// and send a person whose session ended to the sign-in page and back; on a
// desktop and on a phone.
func TestLivePages(t *testing.T) {
	c := startConsole(t)
	admin := newBrowser(t)
	login(t, admin, c.URL, "admin@example.com", demoPasswords["admin@example.com"])
	// An approver per screen: a second-factor code is accepted once per
	// account, and both screens may approve within the same 30 seconds.
	approvers := []struct{ email, name string }{{"approver1@example.com", "Alex Approver"}, {"approver2@example.com", "Bea Approver"}}
	for i, vp := range viewports {
		// Amounts differ per screen: the same amount to the same card twice
		// in a day is held as a possible duplicate.
		cents := "." + strconv.Itoa(10+i)
		who := approvers[i]
		t.Run(vp.name, func(t *testing.T) {
			maker, approver := newBrowserAt(t, vp), newBrowserAt(t, vp)
			login(t, maker, c.URL, "maker@example.com", demoPasswords["maker@example.com"])
			login(t, approver, c.URL, who.email, demoPasswords[who.email])
			run(t, approver, chromedp.Navigate(c.URL+"/queue"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="queue"]`)))
			markPage(t, approver)
			// Note every row that gets highlighted: the highlight lasts only seconds.
			run(t, approver, chromedp.Evaluate[chromedp.Void](`window.__highlighted = [];
				new MutationObserver(ms => ms.forEach(m => { if (m.target.classList && m.target.classList.contains('arrived')) window.__highlighted.push(m.target.dataset.payout) }))
					.observe(document.body, {subtree: true, attributes: true, attributeFilter: ['class']})`))

			// A payout entering the queue appears, highlighted and announced.
			first := preparePayout(t, maker, c.URL, "First "+vp.name, "21"+cents, "4242 4242 4242 4242")
			firstID := payoutPath.FindStringSubmatch(first)[1]
			waitFor(t, approver, "the first payout in the queue", `document.querySelector('[data-testid="queue-row"][data-payout="`+firstID+`"]')`)
			if !stillSamePage(t, approver) {
				t.Fatal("the queue reloaded to show the new payout")
			}
			// The highlight and the announcement follow the swap once it settles.
			waitFor(t, approver, "the new payout's highlight", `window.__highlighted.includes('`+firstID+`')`)
			waitFor(t, approver, "the announcement", `document.getElementById('announce').textContent.includes('New in the queue: 21`+cents+` USD to First `+vp.name+`')`)
			checkPage(t, approver, vp, "queue with a new payout")

			// Focus stays on the Approve button the approver is on while the queue refreshes.
			approveID := "approve-" + firstID
			run(t, approver, chromedp.Focus(chromedp.ID(approveID)))
			second := preparePayout(t, maker, c.URL, "Second "+vp.name, "22"+cents, "4242 4242 4242 4242")
			secondID := payoutPath.FindStringSubmatch(second)[1]
			waitFor(t, approver, "the second payout in the queue", `document.querySelector('[data-testid="queue-row"][data-payout="`+secondID+`"]')`)
			time.Sleep(500 * time.Millisecond) // let htmx settle and restore focus
			if got := get(t, approver, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`)); got != approveID {
				t.Errorf("after the queue refreshed, focus is on %q, want %q", got, approveID)
			}
			if !stillSamePage(t, approver) {
				t.Fatal("the queue reloaded")
			}

			// The maker's page follows the payout to its end while the approver approves it.
			run(t, maker, chromedp.Navigate(first), chromedp.WaitVisible(chromedp.CSS(`[data-testid="payout-state"][data-state="pending_approval"]`)))
			markPage(t, maker)
			typeCode(t, approver, who.email, "#otp-"+firstID)
			confirmClick(t, approver, "#"+approveID)
			run(t, approver, chromedp.WaitVisible(chromedp.CSS(`.flash`)))
			waitFor(t, maker, "the payout to succeed on the maker's page", `document.querySelector('[data-testid="payout-state"][data-state="succeeded"]')`)
			if !stillSamePage(t, maker) {
				t.Error("the payout page reloaded to show the outcome")
			}
			if text := textOf(t, maker, `[data-testid="state-panel"]`); !strings.Contains(text, "Paid out to VISA •••• 4242 on ") {
				t.Errorf("final state panel: %q", text)
			}
			checkPage(t, maker, vp, "payout succeeded, followed live")

			// The session ends while the queue is open: the whole page goes to
			// the sign-in form, and signing in comes back to the queue.
			run(t, approver, chromedp.Navigate(c.URL+"/queue"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="queue"]`)))
			endSessions(t, admin, c.URL, who.name)
			waitFor(t, approver, "the sign-in page", `location.pathname === '/login' && document.getElementById('password')`)
			if url := get(t, approver, chromedp.Location()); !strings.HasSuffix(url, "/login?next=%2Fqueue") {
				t.Errorf("after the session ended: %s, want the sign-in page coming back to /queue", url)
			}
			if n := get(t, approver, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="current-user"]').length`)); n != 0 {
				t.Error("the sign-in page still names the person in its header")
			}
			checkPage(t, approver, vp, "sign in to go on")
			run(t, approver,
				chromedp.SendKeys(chromedp.ID("email"), who.email),
				chromedp.SendKeys(chromedp.ID("password"), demoPasswords[who.email]),
				chromedp.Submit(chromedp.ID("password")),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="queue"]`)),
			)
			if url := get(t, approver, chromedp.Location()); !strings.HasSuffix(url, "/queue") {
				t.Errorf("after signing in again: %s, want /queue", url)
			}
		})
	}
}

// endSessions ends every session of the person named, as an admin, answering the confirmation.
func endSessions(t *testing.T, admin context.Context, base, name string) {
	t.Helper()
	run(t, admin, chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="users"]`)))
	href := get(t, admin, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="users"] a')].find(a => a.textContent.trim() === '`+name+`').getAttribute('href')`))
	run(t, admin, chromedp.Navigate(base+href), chromedp.WaitVisible(chromedp.CSS(`[data-testid="end-sessions"]`)))
	confirmClick(t, admin, `[data-testid="end-sessions"]`)
	run(t, admin, chromedp.WaitVisible(chromedp.CSS(`.flash`)))
}

// TestApproverIsNotified: with an SMTP server and a chat webhook set up, a
// payout entering the queue reaches the approvers by email and the team
// chat, with a link that opens the payout for them to decide.
func TestApproverIsNotified(t *testing.T) {
	mail := notifytest.StartSMTP(t)
	chat := notifytest.StartWebhook(t)
	certs := filepath.Join(t.TempDir(), "smtp.pem")
	if err := os.WriteFile(certs, mail.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startConsole(t, "COUNTERSIGN_SMTP_URL="+mail.URL(), "COUNTERSIGN_MAIL_FROM=Countersign <payouts@example.com>",
		"COUNTERSIGN_NOTIFY_WEBHOOK_URL="+chat.URL, "SSL_CERT_FILE="+certs)
	for i, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			maker, approver := newBrowserAt(t, vp), newBrowserAt(t, vp)
			login(t, maker, c.URL, "maker@example.com", demoPasswords["maker@example.com"])
			login(t, approver, c.URL, "approver2@example.com", demoPasswords["approver2@example.com"])
			mailsBefore, hooksBefore := len(mail.Mails()), len(chat.Hooks())
			url := preparePayout(t, maker, c.URL, "Notified "+vp.name, "31."+strconv.Itoa(10+i), "4242 4242 4242 4242")

			var link string
			for _, m := range mail.WaitMails(t, mailsBefore+2)[mailsBefore:] {
				if !strings.Contains(m.Subject, "waits for approval") || !strings.Contains(m.Body, url) {
					t.Errorf("email to %v: subject %q, body without %s", m.To, m.Subject, url)
				}
				if strings.Contains(m.Body, "4242424242424242") || strings.Contains(m.Body, "4242 4242 4242 4242") {
					t.Errorf("email to %v carries the card number", m.To)
				}
				if len(m.To) == 1 && m.To[0] == "approver2@example.com" {
					link = url
				}
			}
			if link == "" {
				t.Fatal("no email to approver2@example.com")
			}
			if h := chat.WaitHooks(t, hooksBefore+1)[hooksBefore]; !strings.Contains(h.Text, url) {
				t.Errorf("chat message %q lacks the link %s", h.Text, url)
			}
			// The link opens the payout, ready to decide.
			run(t, approver, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid="approve"]`)))
			checkPage(t, approver, vp, "payout from an email link")
		})
	}
}
