package handlers

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"countersign/password"
	"countersign/payout"
	"countersign/stepup"
	"countersign/store"
)

// testid returns the text of every element with data-testid=id, parsing the
// page as HTML.
func testid(t *testing.T, body, id string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "data-testid" && a.Val == id {
					out = append(out, strings.TrimSpace(text(n)))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// first is the text of the first element with data-testid=id, "" if none.
func first(t *testing.T, body, id string) string {
	t.Helper()
	if all := testid(t, body, id); len(all) > 0 {
		return all[0]
	}
	return ""
}

// pendingChange is the id of the only change waiting.
func (h *harness) pendingChange() int64 {
	h.t.Helper()
	pending, _, err := h.admin.Changes(h.t.Context(), 0)
	if err != nil || len(pending) != 1 {
		h.t.Fatalf("changes waiting: %d (%v); want 1", len(pending), err)
	}
	return pending[0].ID
}

// TestALoneAdminCannotMakeAWorkingApprover: the admin proposes an approver;
// nothing exists until a second admin approves, and the proposer's own
// approval, however forged, is refused.
func TestALoneAdminCannotMakeAWorkingApprover(t *testing.T) {
	h := newHarness(t)
	h.user("ada@example.com", "admin")
	ada := h.browser()
	ada.login("ada@example.com")
	ada.get("/admin/users")
	ada.post("/admin/users", url.Values{"email": {"ivy@example.com"}, "name": {"Ivy"}, "role": {"approver"}, "otp": {h.code()}})
	id := h.pendingChange()

	page := ada.get("/admin/changes")
	if n := len(testid(t, page.body, "approve-change")); n != 0 {
		t.Error("the proposer is offered to approve their own change")
	}
	if first(t, page.body, "lone-admin") == "" || !strings.Contains(page.body, "countersign users add") {
		t.Error("a lone admin is not told that changes wait and how to add a second admin")
	}
	if w := first(t, ada.get("/").body, "changes-waiting"); !strings.Contains(w, "1 admin change waits") {
		t.Errorf("the dashboard says %q; want how many changes wait", w)
	}
	if w := first(t, ada.get("/admin/users").body, "changes-waiting"); !strings.Contains(w, "1 admin change waits") {
		t.Errorf("the users page says %q; want how many changes wait", w)
	}
	p := ada.post("/admin/changes/"+itoa(id)+"/approve", url.Values{"otp": {h.code()}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "another admin must approve") {
		t.Errorf("forged self-approval: status %d; want 403 saying why", p.status)
	}
	if _, err := h.db.UserByEmail(t.Context(), "ivy@example.com"); err == nil {
		t.Fatal("a lone admin made an account")
	}
}

// TestALoneAdminCannotGrantThemselvesARole: adding approver to oneself waits,
// and does not let the admin approve payouts meanwhile.
func TestALoneAdminCannotGrantThemselvesARole(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	ada := h.user("ada@example.com", "admin")
	h.user("mia@example.com", "maker")
	b := h.browser()
	b.login("ada@example.com")
	b.get("/admin/users/" + itoa(ada.ID))
	p := b.post("/admin/users/"+itoa(ada.ID), url.Values{"name": {"ada"}, "role": {"admin", "approver"}, "active": {"1"}, "otp": {h.code()}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d", p.status)
	}
	if u, _ := h.db.UserByID(t.Context(), ada.ID); u.HasRole("approver") {
		t.Fatal("the admin granted themselves the approver role")
	}
	if p := b.post("/admin/changes/"+itoa(h.pendingChange())+"/approve", url.Values{"otp": {h.code()}}); p.status != http.StatusForbidden {
		t.Errorf("self-approval of the grant: %d; want 403", p.status)
	}
	if p := b.post("/payouts/1/approve", url.Values{"version": {"1"}, "otp": {h.code()}}); p.status != http.StatusForbidden {
		t.Errorf("the admin approving a payout: %d; want 403", p.status)
	}
}

// TestANewAccountThroughASecondAdminAndALink is the whole path of a new
// approver: proposed by one admin, approved by another (with a code), the
// one-time link shown once, the person choosing their password and setting
// up their second factor before anything else. No admin ever sees a password.
func TestANewAccountThroughASecondAdminAndALink(t *testing.T) {
	h := newHarness(t)
	h.user("ada@example.com", "admin")
	h.user("abe@example.com", "admin")
	ada, abe := h.browser(), h.browser()
	ada.login("ada@example.com")
	abe.login("abe@example.com")
	ada.get("/admin/users")
	ada.post("/admin/users", url.Values{"email": {"ivy@example.com"}, "name": {"Ivy Approver"}, "role": {"approver"}, "otp": {h.code()}})
	id := h.pendingChange()

	page := abe.get("/admin/changes")
	if got := testid(t, page.body, "change"); len(got) != 1 || !strings.Contains(got[0], "create Ivy Approver <ivy@example.com> as approver") {
		t.Fatalf("changes page shows %q", got)
	}
	if p := abe.post("/admin/changes/"+itoa(id)+"/approve", nil); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "6-digit code") {
		t.Errorf("approve without a code: %d; want 422 asking for it", p.status)
	}
	p := abe.post("/admin/changes/"+itoa(id)+"/approve", url.Values{"otp": {h.code()}})
	link := first(t, p.body, "signin-link-url")
	if p.status != http.StatusOK || !strings.Contains(link, "/signin/") {
		t.Fatalf("approve: status %d, link %q", p.status, link)
	}
	if strings.Contains(abe.get("/admin/changes").body, link) {
		t.Error("the link is shown again after the approval's own response")
	}
	ivyUser, err := h.db.UserByEmail(t.Context(), "ivy@example.com")
	if err != nil || ivyUser.PasswordHash != "" {
		t.Fatalf("new account %+v, %v; want one without a password", ivyUser, err)
	}

	if !strings.Contains(first(t, p.body, "link-needs-code"), "only ada") {
		t.Error("the approver is not told that the link needs ada's handover code")
	}

	// The link alone sets no password; the approver cannot take the code.
	ivy := h.browser()
	path := link[strings.Index(link, "/signin/"):]
	if page := ivy.get(path); !strings.Contains(page.body, "Ivy Approver") || !strings.Contains(first(t, page.body, "two-pieces"), "only ada") {
		t.Fatalf("the link's page does not greet the person and say who holds the code: %d", page.status)
	}
	const pw = "ivy's own long password"
	if p := ivy.post(path, url.Values{"handover": {"AAAAA-AAAAA"}, "password": {pw}, "confirm": {pw}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "handover code is not right") {
		t.Errorf("the link with a guessed handover code: %d; want 422 saying so", p.status)
	}
	if p := abe.post("/admin/changes/"+itoa(id)+"/handover", nil); p.status != http.StatusForbidden {
		t.Errorf("the approving admin takes the handover code: %d; want 403", p.status)
	}
	// The proposer takes it, once, from their view of the approved change.
	changes := ada.get("/admin/changes")
	if len(testid(t, changes.body, "take-handover")) != 1 {
		t.Fatal("the proposer's view of the approved change offers no handover code")
	}
	hp := ada.post("/admin/changes/"+itoa(id)+"/handover", nil)
	code := first(t, hp.body, "handover-code-value")
	if hp.status != http.StatusOK || len(code) != 11 {
		t.Fatalf("take the handover code: %d, %q", hp.status, code)
	}
	if strings.Contains(ada.get("/admin/changes").body, code) || ada.post("/admin/changes/"+itoa(id)+"/handover", nil).status != http.StatusConflict {
		t.Error("the handover code is shown twice")
	}

	if p := ivy.post(path, url.Values{"handover": {code}, "password": {"short"}, "confirm": {"short"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("a short password: %d; want 422", p.status)
	}
	if p := ivy.post(path, url.Values{"handover": {code}, "password": {pw}, "confirm": {pw}}); p.status != http.StatusSeeOther {
		t.Fatalf("set password: %d %s", p.status, p.body)
	}
	if p := h.browser().post(path, url.Values{"handover": {code}, "password": {"someone else's pass"}, "confirm": {"someone else's pass"}}); p.status == http.StatusSeeOther {
		t.Error("the link worked twice")
	}
	// Signed in, but an approver must set up a second factor first.
	if p := ivy.get("/queue"); p.status != http.StatusSeeOther || p.location != "/account" {
		t.Fatalf("before enrolling, /queue: %d %q; want sent to /account", p.status, p.location)
	}
	// Looking at the page or the QR code sets nothing up (no state change on GET).
	account := ivy.get("/account")
	if first(t, account.body, "begin-second-factor") == "" || first(t, account.body, "totp-secret") != "" {
		t.Fatalf("before starting, the account page offers no set-up or shows a key")
	}
	if p := ivy.get("/account/second-factor.png"); p.status != http.StatusNotFound {
		t.Errorf("QR code before starting: %d; want 404", p.status)
	}
	if f, _ := h.db.SecondFactor(t.Context(), ivyUser.ID); f.Pending != "" {
		t.Error("a GET created a pending second-factor secret")
	}
	if p := ivy.post("/account/second-factor/new", nil); p.status != http.StatusSeeOther || p.location != "/account" {
		t.Fatalf("start setting up: %d %q", p.status, p.location)
	}
	account = ivy.get("/account")
	if again := ivy.get("/account"); first(t, again.body, "totp-secret") != first(t, account.body, "totp-secret") {
		t.Error("reloading the page changed the key being set up")
	}
	secret, uri := first(t, account.body, "totp-secret"), first(t, account.body, "otpauth-uri")
	if secret == "" || !strings.HasPrefix(uri, "otpauth://totp/Countersign:ivy@example.com?") || first(t, account.body, "must-enrol") == "" {
		t.Fatalf("account page: secret %q, uri %q", secret, uri)
	}
	qr := ivy.get("/account/second-factor.png")
	if img, err := png.Decode(strings.NewReader(qr.body)); err != nil || img.Bounds().Dx() < 200 || qr.header.Get("Cache-Control") != "no-store" {
		t.Errorf("QR code: %v, cache %q", err, qr.header.Get("Cache-Control"))
	}
	totp, _ := stepup.Code(secret, h.clock.Now())
	if p := ivy.post("/account/second-factor", url.Values{"otp": {totp}}); p.status != http.StatusSeeOther {
		t.Fatalf("confirm enrolment: %d", p.status)
	}
	if p := ivy.get("/queue"); p.status != http.StatusOK {
		t.Errorf("after enrolling, /queue: %d", p.status)
	}
	// Nothing an admin saw, and nothing in the audit log, holds the password.
	for _, body := range []string{page.body, p.body, ada.get("/admin/users").body, abe.get("/audit").body} {
		if strings.Contains(body, pw) {
			t.Error("the chosen password appears on an admin's page")
		}
	}
}

// signedIn signs in a new browser as email and returns it.
func (h *harness) signedIn(email string) *browser {
	h.t.Helper()
	b := h.browser()
	b.login(email)
	return b
}

// pendingPayout prepares a payout through the form and waits until it waits.
func pendingPayout(t *testing.T, h *harness, maker *browser, fields url.Values) int64 {
	t.Helper()
	maker.get("/payouts/new")
	p := maker.post("/payouts", fields)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/payouts/") {
		t.Fatalf("submit: %d %q\n%s", p.status, p.location, p.body)
	}
	id := pathIDOf(p.location)
	h.waitPayoutState(t, id, payout.StatePendingApproval)
	return id
}

func pathIDOf(location string) int64 {
	var id int64
	for _, c := range strings.TrimPrefix(location, "/payouts/") {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}

func typed(name, amount string) url.Values {
	return url.Values{"full_name": {name}, "amount": {amount}, "currency": {"USD"}, "card_number": {"4242 4242 4242 4242"}, "confirm_duplicate": {"1"}}
}

func (h *harness) version(id int64) string {
	h.t.Helper()
	p, err := h.db.PayoutByID(h.t.Context(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return itoa(p.Version)
}

// TestAResetApproverCannotApproveWithoutTheirSecondFactor: after a password
// reset (two admins, a link), the approver's decisions still need a code.
func TestAResetApproverCannotApproveWithoutTheirSecondFactor(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	h.user("ada@example.com", "admin")
	alex := h.user("alex@example.com", "approver")
	h.user("mia@example.com", "maker")
	id := pendingPayout(t, h, h.signedIn("mia@example.com"), typed("Jane Doe", "10.00"))

	ada := h.signedIn("ada@example.com")
	ada.get("/admin/users/" + itoa(alex.ID))
	ada.post("/admin/users/"+itoa(alex.ID)+"/password", url.Values{"otp": {h.code()}})
	h.user("abe@example.com", "admin")
	ab := h.signedIn("abe@example.com")
	ab.get("/admin/changes")
	change := h.pendingChange()
	link := first(t, ab.post("/admin/changes/"+itoa(change)+"/approve", url.Values{"otp": {h.code()}}).body, "signin-link-url")
	code := first(t, ada.post("/admin/changes/"+itoa(change)+"/handover", nil).body, "handover-code-value")
	path := link[strings.Index(link, "/signin/"):]
	b := h.browser()
	b.get(path)
	const pw = "alex's new long password"
	if p := b.post(path, url.Values{"handover": {code}, "password": {pw}, "confirm": {pw}}); p.status != http.StatusSeeOther {
		t.Fatalf("set password: %d", p.status)
	}
	b.get("/payouts/" + itoa(id))
	for _, otp := range []string{"", "000000"} {
		if otp == h.code() {
			continue
		}
		p := b.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {otp}})
		if p.status != http.StatusUnprocessableEntity {
			t.Errorf("approve with code %q: %d; want 422", otp, p.status)
		}
	}
	if got, _ := h.db.PayoutByID(t.Context(), id); payout.State(got.State) != payout.StatePendingApproval {
		t.Fatalf("approved without the second factor: %s", got.State)
	}
	h.clock.Advance(30 * time.Second)
	if p := b.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}}); p.status != http.StatusSeeOther {
		t.Errorf("approve with the code: %d", p.status)
	}
}

// TestAReplayedCodeIsRefusedEvenFromAFreshSession.
func TestAReplayedCodeIsRefusedEvenFromAFreshSession(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	h.user("alex@example.com", "approver")
	mia := h.signedIn(h.user("mia@example.com", "maker").Email)
	first, second := pendingPayout(t, h, mia, typed("Jane Doe", "10.00")), pendingPayout(t, h, mia, typed("John Roe", "11.00"))
	code := h.code()
	one := h.signedIn("alex@example.com")
	one.get("/payouts/" + itoa(first))
	if p := one.post("/payouts/"+itoa(first)+"/approve", url.Values{"version": {h.version(first)}, "otp": {code}}); p.status != http.StatusSeeOther {
		t.Fatalf("first use of the code: %d", p.status)
	}
	two := h.signedIn("alex@example.com") // another session of the same person
	two.get("/payouts/" + itoa(second))
	p := two.post("/payouts/"+itoa(second)+"/approve", url.Values{"version": {h.version(second)}, "otp": {code}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "already used") {
		t.Errorf("the same code from a fresh session: %d; want 422 saying it was used", p.status)
	}
	if got, _ := h.db.PayoutByID(t.Context(), second); payout.State(got.State) != payout.StatePendingApproval {
		t.Errorf("a replayed code approved a payout: %s", got.State)
	}
}

// TestTheStepUpWindowEndsAtSignOut: inside the window the next decision needs
// no code and the form says until when; after signing out and in, it does.
func TestTheStepUpWindowEndsAtSignOut(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	h.user("alex@example.com", "approver")
	mia := h.signedIn(h.user("mia@example.com", "maker").Email)
	ids := []int64{pendingPayout(t, h, mia, typed("A One", "10.00")), pendingPayout(t, h, mia, typed("B Two", "11.00")), pendingPayout(t, h, mia, typed("C Three", "12.00"))}
	alex := h.signedIn("alex@example.com")
	page := alex.get("/payouts/" + itoa(ids[0]))
	if len(testid(t, page.body, "otp")) != 2 {
		t.Fatal("the approve and cancel forms do not both ask for the code")
	}
	alex.post("/payouts/"+itoa(ids[0])+"/approve", url.Values{"version": {h.version(ids[0])}, "otp": {h.code()}})
	page = alex.get("/payouts/" + itoa(ids[1]))
	if w := first(t, page.body, "stepup-window"); !strings.Contains(w, "No code needed until 09:05:00 UTC") {
		t.Errorf("inside the window the form says %q", w)
	}
	if p := alex.post("/payouts/"+itoa(ids[1])+"/approve", url.Values{"version": {h.version(ids[1])}}); p.status != http.StatusSeeOther {
		t.Errorf("inside the window, without a code: %d; want approved", p.status)
	}
	alex.post("/logout", nil)
	alex.login("alex@example.com")
	alex.get("/payouts/" + itoa(ids[2]))
	if p := alex.post("/payouts/"+itoa(ids[2])+"/approve", url.Values{"version": {h.version(ids[2])}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("after signing in again, without a code: %d; want 422", p.status)
	}
}

// TestFiveWrongCodesLockDecisions over HTTP.
func TestFiveWrongCodesLockDecisions(t *testing.T) {
	h, _ := newHarnessWithProvider(t)
	h.user("alex@example.com", "approver")
	id := pendingPayout(t, h, h.signedIn(h.user("mia@example.com", "maker").Email), typed("Jane Doe", "10.00"))
	alex := h.signedIn("alex@example.com")
	alex.get("/payouts/" + itoa(id))
	wrong := "000000"
	if wrong == h.code() {
		wrong = "111111"
	}
	var p page
	for range stepup.MaxFailures {
		p = alex.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {wrong}})
	}
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "locked until") {
		t.Errorf("fifth wrong code: %d; want 429 saying until when", p.status)
	}
	if p := alex.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}}); p.status != http.StatusTooManyRequests {
		t.Errorf("the right code while locked: %d; want 429", p.status)
	}
}

// TestADeactivatedApproversApprovalNoLongerCounts: a two-approver payout
// keeps waiting after its first approver was deactivated and a second
// approved; the page says the first approval no longer counts.
func TestADeactivatedApproversApprovalNoLongerCounts(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	alex := h.user("alex@example.com", "approver")
	h.user("bea@example.com", "approver")
	h.user("ada@example.com", "admin")
	id := pendingPayout(t, h, h.signedIn(h.user("mia@example.com", "maker").Email), typed("Jane Doe", "1500.00"))
	a := h.signedIn("alex@example.com")
	a.get("/payouts/" + itoa(id))
	a.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}})

	ada := h.signedIn("ada@example.com")
	ada.get("/admin/users/" + itoa(alex.ID))
	if p := ada.post("/admin/users/"+itoa(alex.ID), url.Values{"name": {"alex"}, "role": {"approver"}}); p.status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", p.status)
	}
	bea := h.signedIn("bea@example.com")
	page := bea.get("/payouts/" + itoa(id))
	if got := first(t, page.body, "payout-approvals"); !strings.HasPrefix(got, "Needs two approvals; none yet") || !strings.Contains(got, "no longer counts") {
		t.Errorf("approvals shown as %q; want none of two counted and the lapsed one marked", got)
	}
	bea.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}})
	if got, _ := h.db.PayoutByID(t.Context(), id); payout.State(got.State) != payout.StatePendingApproval || sb.CallCount("session/confirm") != 0 {
		t.Errorf("payout is %s after one approval that counts; want still waiting", got.State)
	}
}

// TestSplittingNeedsTwoApprovals over HTTP: the second half of a split shows
// why two approvals are needed and is not paid on one.
func TestSplittingNeedsTwoApprovalsOverHTTP(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	h.user("alex@example.com", "approver")
	mia := h.signedIn(h.user("mia@example.com", "maker").Email)
	firstHalf := pendingPayout(t, h, mia, typed("Jane Doe", "999.00"))
	secondHalf := pendingPayout(t, h, mia, typed("Jane Doe", "999.50"))
	alex := h.signedIn("alex@example.com")
	queue := alex.get("/queue").body
	// The live refresh keeps the code fields of the approve forms.
	if live := alex.get("/queue/live").body; len(testid(t, live, "otp")) != 2 {
		t.Errorf("the refreshed queue has %d code fields; want one per approve form", len(testid(t, live, "otp")))
	}
	if reasons := testid(t, queue, "need-reason"); len(reasons) != 2 || !strings.Contains(reasons[0]+reasons[1], "1 other payout") {
		t.Errorf("queue reasons %q; want both halves to say why they need two", reasons)
	}
	alex.get("/payouts/" + itoa(secondHalf))
	alex.post("/payouts/"+itoa(secondHalf)+"/approve", url.Values{"version": {h.version(secondHalf)}, "otp": {h.code()}})
	if got, _ := h.db.PayoutByID(t.Context(), secondHalf); payout.State(got.State) != payout.StatePendingApproval || sb.CallCount("session/confirm") != 0 {
		t.Errorf("a split payout was paid on one approval: %s", got.State)
	}
	if why := first(t, alex.get("/payouts/"+itoa(firstHalf)).body, "need-reason"); !strings.Contains(why, "Two approvers") {
		t.Errorf("the first half's page says %q; want why it needs two", why)
	}
}

// TestASavedCardCannotBePaidToAnotherName over HTTP.
func TestASavedCardCannotBePaidToAnotherName(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	mia := h.user("mia@example.com", "maker")
	alex := h.user("alex@example.com", "approver")
	hash, err := sb.Tokenize("4242424242424242")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r := store.Recipient{FullName: "John Johnson", CreatedBy: mia.ID}
	c := store.Card{NumberHash: hash, Last4: "4242", Brand: "visa", AddedBy: mia.ID}
	err = h.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateRecipient(ctx, &r); err != nil {
			return err
		}
		c.RecipientID = r.ID
		if err := tx.CreateCard(ctx, &c); err != nil {
			return err
		}
		return tx.VerifyCard(ctx, c.ID, alex.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	b := h.signedIn("mia@example.com")
	form := b.get("/payouts/new?recipient=" + itoa(r.ID)).body
	if !strings.Contains(form, `value="John Johnson"`) || !strings.Contains(form, `<option value="`+itoa(c.ID)+`" selected>`) {
		t.Error("new payout from the recipient does not come with their name and card chosen")
	}
	p := b.post("/payouts", url.Values{"full_name": {"Eve Mallory"}, "amount": {"10.00"}, "currency": {"USD"}, "card_id": {itoa(c.ID)}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "belongs to John Johnson") {
		t.Errorf("a saved card to another name: %d; want 422 naming the owner", p.status)
	}
	if got, _ := h.db.PayoutByID(ctx, 1); got != nil {
		t.Error("a payout was recorded")
	}
}

// TestAnAccountWithNoRoleSeesOnlyThatPage: deny by default.
func TestAnAccountWithNoRoleSeesOnlyThatPage(t *testing.T) {
	h := newHarness(t)
	h.user("nora@example.com")
	b := h.signedIn("nora@example.com")
	if p := b.get("/"); p.status != http.StatusOK || first(t, p.body, "no-role") == "" {
		t.Errorf("start page: %d; want the no-role page", p.status)
	}
	for _, path := range []string{"/payouts", "/payouts.csv", "/payouts/1", "/queue", "/audit"} {
		if p := b.get(path); p.status != http.StatusSeeOther || p.location != "/" {
			t.Errorf("GET %s: %d %q; want sent to the no-role page", path, p.status, p.location)
		}
	}
	if p := b.post("/payouts", url.Values{"full_name": {"X"}}); p.status != http.StatusForbidden {
		t.Errorf("POST /payouts: %d; want 403", p.status)
	}
}

// TestWhoMustEnrolIsSentToTheirAccountFirst.
func TestWhoMustEnrolIsSentToTheirAccountFirst(t *testing.T) {
	h := newHarness(t)
	u := &store.User{Email: "new@example.com", Name: "New", Roles: []string{"approver"}, Active: true, PasswordHash: password.Hash(testPassword)}
	if err := h.db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	b := h.signedIn("new@example.com")
	for _, path := range []string{"/", "/queue", "/payouts"} {
		if p := b.get(path); p.status != http.StatusSeeOther || p.location != "/account" {
			t.Errorf("GET %s: %d %q; want sent to /account", path, p.status, p.location)
		}
	}
	b.get("/account")
	if p := b.post("/payouts/1/approve", url.Values{"version": {"1"}}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Set up your second factor") {
		t.Errorf("a decision before enrolling: %d; want 403 saying why", p.status)
	}
}

// TestRejectAndWithdrawOverHTTP.
func TestRejectAndWithdrawOverHTTP(t *testing.T) {
	h := newHarness(t)
	h.user("ada@example.com", "admin")
	h.user("abe@example.com", "admin")
	target := h.user("ivy@example.com", "maker")
	ada, abe := h.signedIn("ada@example.com"), h.signedIn("abe@example.com")
	ada.get("/admin/users/" + itoa(target.ID))
	ada.post("/admin/users/"+itoa(target.ID)+"/password", url.Values{"otp": {h.code()}})
	id := h.pendingChange()
	abe.get("/admin/changes")
	p := abe.post("/admin/changes/"+itoa(id)+"/reject", url.Values{"reason": {""}, "otp": {h.code()}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Say why") {
		t.Errorf("reject without a reason: %d", p.status)
	}
	// The one rule for reasons: one line, never a card number (not shown back).
	for reason, want := range map[string]string{"line one\nline two": "line breaks", "card 4000 0566 5566 5556": "looks like a card number"} {
		p := abe.post("/admin/changes/"+itoa(id)+"/reject", url.Values{"reason": {reason}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, want) || strings.Contains(p.body, "5566") {
			t.Errorf("reject with reason %q: %d; want 422 saying %q, no card number shown", reason, p.status, want)
		}
	}
	if p := abe.post("/admin/changes/"+itoa(id)+"/reject", url.Values{"reason": {"Ivy did not ask for this"}}); p.status != http.StatusSeeOther {
		t.Errorf("reject (the window of the code above covers it): %d %s", p.status, p.body)
	}
	if decided := first(t, abe.get("/admin/changes").body, "decided-changes"); !strings.Contains(decided, "Ivy did not ask for this") {
		t.Errorf("decided changes: %q", decided)
	}
	ada.post("/admin/users/"+itoa(target.ID)+"/password", url.Values{"otp": {h.code()}})
	id = h.pendingChange()
	if p := abe.post("/admin/changes/"+itoa(id)+"/withdraw", nil); p.status != http.StatusForbidden {
		t.Errorf("another admin withdraws: %d; want 403", p.status)
	}
	ada.get("/admin/changes")
	if p := ada.post("/admin/changes/"+itoa(id)+"/withdraw", nil); p.status != http.StatusSeeOther {
		t.Errorf("the proposer withdraws: %d", p.status)
	}
	if u, _ := h.db.UserByID(t.Context(), target.ID); u.PasswordHash == "" {
		t.Error("a rejected or withdrawn reset applied")
	}
}

// TestAuditExport: CSV and JSON lines, the page's filters, formula cells
// neutralised, the export itself audited.
func TestAuditExport(t *testing.T) {
	h := newHarness(t)
	h.user("otto@example.com", "auditor")
	b := h.signedIn("otto@example.com")
	for _, e := range []store.AuditEntry{
		{Actor: "=cmd|' /C calc'!A0", Action: "login.failed", Outcome: "denied"},
		{Actor: "ann@example.com", Action: "payout.approve", ObjectType: "payout", ObjectID: "7", Outcome: "ok", Detail: "approval 1 of 1"},
	} {
		if err := h.db.Audit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	page := b.get("/audit?action=payout.").body
	if !strings.Contains(page, `href="/audit.csv?action=payout."`) || !strings.Contains(page, `href="/audit.jsonl?action=payout."`) {
		t.Error("the audit page does not offer the exports with its filter")
	}
	p := b.get("/audit.csv?action=payout.")
	rows, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil || p.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %v, %s", err, p.header.Get("Content-Type"))
	}
	if len(rows) != 2 || rows[0][4] != "action" || rows[1][4] != "payout.approve" || rows[1][6] != "7" {
		t.Errorf("CSV rows %q; want the header and the one approval", rows)
	}
	all := b.get("/audit.csv").body
	if !strings.Contains(all, "'=cmd") {
		t.Error("a formula cell was not neutralised")
	}
	p = b.get("/audit.jsonl?actor=ann")
	var lines []map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(p.body)))
	for dec.More() {
		var l map[string]any
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 1 || lines[0]["action"] != "payout.approve" || lines[0]["hash"] == "" {
		t.Fatalf("JSON lines %v; want ann's one entry with its hash", lines)
	}
	// prev_hash is the hash of the entry before in the log, which a
	// filtered export does not contain (the log stores no copy of it).
	log, err := h.db.AuditEntries(t.Context(), store.AuditFilter{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(log, func(e store.AuditEntry) bool { return e.Action == "payout.approve" })
	if i < 1 || lines[0]["prev_hash"] != log[i-1].Hash || lines[0]["hash"] != log[i].Hash {
		t.Errorf("JSON line's hashes %v, %v; want %s after %s", lines[0]["prev_hash"], lines[0]["hash"], log[i].Hash, log[i-1].Hash)
	}
	if rows[1][10] != log[i-1].Hash || rows[1][11] != log[i].Hash {
		t.Errorf("CSV row's hashes %q, %q; want %s after %s", rows[1][10], rows[1][11], log[i].Hash, log[i-1].Hash)
	}
	if p := b.get("/audit.csv?from=yesterday"); p.status != http.StatusBadRequest {
		t.Errorf("a bad filter: %d; want 400", p.status)
	}
	if !strings.Contains(h.auditActions(t), "audit.export") {
		t.Error("the export was not audited")
	}
}

// TestSettingsSayACurrencyWithoutThresholdNeedsTwo.
func TestSettingsSayACurrencyWithoutThresholdNeedsTwo(t *testing.T) {
	h := newHarness(t)
	h.user("ada@example.com", "admin")
	page := h.signedIn("ada@example.com").get("/admin/settings").body
	if !strings.Contains(page, "Empty or 0 means two approvers for every payout") {
		t.Error("the settings page does not say that no threshold means two approvers")
	}
}

// TestSecondFactorPolicyOverHTTP: asking more applies at once; asking less
// waits for another admin.
func TestSecondFactorPolicyOverHTTP(t *testing.T) {
	h := newHarness(t)
	h.user("ada@example.com", "admin")
	ada := h.signedIn("ada@example.com")
	ada.get("/admin/settings")
	if p := ada.post("/admin/settings/second-factor", url.Values{"role": {"admin", "approver", "maker"}, "window": {"2"}}); p.status != http.StatusSeeOther {
		t.Fatalf("stricter: %d", p.status)
	}
	if pol, _ := h.admin.SecondFactorPolicy(t.Context()); len(pol.Roles) != 3 || pol.Window != 2*time.Minute {
		t.Errorf("policy after a stricter change: %v", pol)
	}
	ada.post("/admin/settings/second-factor", url.Values{"role": {"admin"}, "window": {"30"}, "otp": {h.code()}})
	if pol, _ := h.admin.SecondFactorPolicy(t.Context()); len(pol.Roles) != 3 {
		t.Errorf("a looser policy applied at once: %v", pol)
	}
	h.pendingChange()
	if p := ada.post("/admin/settings/second-factor", url.Values{"role": {"admin"}, "window": {"forever"}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "whole number of minutes") {
		t.Errorf("a bad window: %d", p.status)
	}
}

// TestAnApproverPressesAgainToReleaseAMetPayout: after a lapsed approval
// counts again (the role is back), the payout page shows "2 of 2" and offers
// the second approver the button again; pressing it releases the payout
// instead of answering 409.
func TestAnApproverPressesAgainToReleaseAMetPayout(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	alex := h.user("alex@example.com", "approver")
	h.user("bea@example.com", "approver")
	id := pendingPayout(t, h, h.signedIn(h.user("mia@example.com", "maker").Email), typed("Jane Doe", "1500.00"))
	a := h.signedIn("alex@example.com")
	a.get("/payouts/" + itoa(id))
	a.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}})
	if err := h.db.UpdateUserAccess(t.Context(), alex.ID, "alex", []string{"auditor"}, true); err != nil {
		t.Fatal(err)
	}
	bea := h.signedIn("bea@example.com")
	bea.get("/payouts/" + itoa(id))
	bea.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}, "otp": {h.code()}})
	if page := bea.get("/payouts/" + itoa(id)); len(testid(t, page.body, "approve")) != 0 {
		t.Error("the approve button is offered again while the approvals fall short")
	}
	if err := h.db.UpdateUserAccess(t.Context(), alex.ID, "alex", []string{"approver"}, true); err != nil {
		t.Fatal(err)
	}
	page := bea.get("/payouts/" + itoa(id))
	if len(testid(t, page.body, "approve")) != 1 {
		t.Fatalf("with two approvals counting, the approver who pressed last is not offered the button again: %q", first(t, page.body, "payout-approvals"))
	}
	if p := bea.post("/payouts/"+itoa(id)+"/approve", url.Values{"version": {h.version(id)}}); p.status != http.StatusSeeOther {
		t.Fatalf("pressed again: %d; want 303", p.status)
	}
	if got, _ := h.db.PayoutByID(t.Context(), id); payout.State(got.State) == payout.StatePendingApproval || sb.CallCount("session/confirm") != 1 {
		t.Errorf("payout is %s with %d confirm call(s) after pressing again; want released once", got.State, sb.CallCount("session/confirm"))
	}
}

// TestThePickersSayWhenTheyListOnlySome: with more saved cards than the
// picker lists, the form says so and where the others are paid from; opened
// from one of the recipients further down, that recipient's card is there.
func TestThePickersSayWhenTheyListOnlySome(t *testing.T) {
	h := newHarness(t)
	mia := h.user("mia@example.com", "maker")
	alex := h.user("alex@example.com", "approver")
	ctx := t.Context()
	var last store.Recipient
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		for i := range pickerLimit + 1 {
			last = store.Recipient{FullName: fmt.Sprintf("Recipient %04d", i), CreatedBy: mia.ID}
			if err := tx.CreateRecipient(ctx, &last); err != nil {
				return err
			}
			c := store.Card{RecipientID: last.ID, NumberHash: fmt.Sprintf("hash-%d", i), Last4: "4242", Brand: "visa", AddedBy: mia.ID}
			if err := tx.CreateCard(ctx, &c); err != nil {
				return err
			}
			if err := tx.VerifyCard(ctx, c.ID, alex.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := h.signedIn("mia@example.com")
	form := b.get("/payouts/new").body
	if n := strings.Count(form, "VISA •••• 4242 · Recipient "); n != pickerLimit {
		t.Errorf("the picker lists %d cards; want the first %d", n, pickerLimit)
	}
	if strings.Contains(form, last.FullName) {
		t.Errorf("%s, the last by name, is listed", last.FullName)
	}
	if got := testText(t, form, "more-saved"); !strings.Contains(got, "Only the first 500 saved cards") || !strings.Contains(got, "Recipients") {
		t.Errorf("the form says %q; want that only some are listed and where the others are", got)
	}
	form = b.get("/payouts/new?recipient=" + itoa(last.ID)).body
	if !strings.Contains(form, last.FullName) || strings.Contains(form, `data-testid="more-saved"`) {
		t.Error("opened from the last recipient, the form does not offer their card alone")
	}
}
