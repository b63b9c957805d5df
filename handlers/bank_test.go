package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"countersign/payout"
)

// nodes returns the elements of body for which match is true, in page order.
func nodes(t *testing.T, body string, match func(n *html.Node) bool) []*html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// byTestID matches elements whose data-testid is id.
func byTestID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "data-testid") == id }
}

// textOf is the text inside n, with runs of white space made one space and
// elements apart.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
		case html.ElementNode:
			b.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// testText is the text of the first element with data-testid id, or "".
func testText(t *testing.T, body, id string) string {
	t.Helper()
	if ns := nodes(t, body, byTestID(id)); len(ns) > 0 {
		return textOf(ns[0])
	}
	return ""
}

// options are the value and text of each option of the select named name.
func options(t *testing.T, body, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sel := range nodes(t, body, func(n *html.Node) bool { return n.Data == "select" && attr(n, "name") == name }) {
		for c := sel.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.Data == "option" {
				out[attr(c, "value")] = textOf(c)
			}
		}
	}
	return out
}

// inputNames are the names of the form controls (input, select, textarea) inside the form with data-testid form.
func inputNames(t *testing.T, body, form string) []string {
	t.Helper()
	var out []string
	for _, f := range nodes(t, body, byTestID(form)) {
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode && (n.Data == "input" || n.Data == "select" || n.Data == "textarea") && attr(n, "name") != "_csrf" {
				out = append(out, attr(n, "name"))
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(f)
	}
	return out
}

// ukAccount is a UK account by sort code, as the add-account form posts it.
func ukAccount(number string) url.Values {
	return url.Values{"country": {"GBR"}, "scheme": {"sort_code"}, "currency": {"GBP"}, "bank_name": {"Barclays"},
		"first_name": {"Jane"}, "last_name": {"Smith"}, "sort_code": {"20-00-00"}, "account_number": {number},
		"address_line": {"1 Churchill Place"}, "city": {"London"}, "postal_code": {"E14 5HP"}}
}

// TestBankAccountPages: the add-account page asks for the chosen country's
// fields (and scheme) with the supported banks as a choice; a mistake shows
// the form again with what was typed and the message beside the field; the
// account is shown masked everywhere but the verify step, which only someone
// other than its adder reaches; the adder's verification is refused.
func TestBankAccountPages(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	h.user("approver@example.com", "approver")
	jane := h.recipient(t, "Jane Smith", maker)
	janePath := "/recipients/" + itoa(jane.ID)
	m := h.browser()
	m.login("maker@example.com")

	p := m.get(janePath + "/accounts/new")
	if p.status != http.StatusOK || len(nodes(t, p.body, byTestID("account-form"))) != 0 || options(t, p.body, "country")["GBR"] != "United Kingdom" {
		t.Fatalf("before a country is chosen: status %d, countries %v", p.status, options(t, p.body, "country"))
	}
	p = m.get(janePath + "/accounts/new?country=GBR")
	if got, want := inputNames(t, p.body, "account-form"), []string{"country", "scheme", "currency", "bank_name", "first_name", "last_name",
		"sort_code", "account_number", "address_line", "city", "postal_code", "state"}; !slices.Equal(got, want) {
		t.Errorf("UK form fields %v, want %v", got, want)
	}
	banks := options(t, p.body, "bank_name")
	for _, b := range []string{"Barclays", "HSBC UK", "Lloyds Bank", "NatWest", "Revolut"} {
		if banks[b] != b {
			t.Errorf("bank choice lacks %s: %v", b, banks)
		}
	}
	p = m.get(janePath + "/accounts/new?country=GBR&scheme=iban")
	if got := inputNames(t, p.body, "account-form"); !slices.Contains(got, "iban") || !slices.Contains(got, "swift_bic_code") || slices.Contains(got, "sort_code") {
		t.Errorf("UK IBAN form fields %v", got)
	}
	if p := m.get(janePath + "/accounts/new?country=FRA"); !strings.Contains(p.body, "Choose a country from the list") {
		t.Error("an unknown country is not refused")
	}

	bad := ukAccount("5577991")
	bad.Set("bank_name", "Bank of Nowhere")
	p = m.post(janePath+"/accounts", bad)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad account: status %d", p.status)
	}
	if !strings.Contains(p.body, `value="5577991"`) || !strings.Contains(p.body, `value="1 Churchill Place"`) || !strings.Contains(p.body, "Use 8 digits") ||
		!strings.Contains(p.body, "Choose one of the banks the provider supports in United Kingdom") {
		t.Error("the form is not shown again with what was typed and what is wrong")
	}

	p = m.post(janePath+"/accounts", ukAccount("5577 9911"))
	if p.status != http.StatusSeeOther || p.location != janePath {
		t.Fatalf("add account: status %d location %q", p.status, p.location)
	}
	accounts, _ := h.db.BankAccountsForRecipient(t.Context(), jane.ID)
	if len(accounts) != 1 {
		t.Fatalf("accounts: %+v", accounts)
	}
	acc := accounts[0]
	accPath := janePath + "/accounts/" + itoa(acc.ID)
	page := m.get(janePath)
	if testText(t, page.body, "account-row") == "" || !strings.Contains(page.body, "Barclays ••••9911") || strings.Contains(page.body, "55779911") {
		t.Error("the recipient page does not show the account masked")
	}
	page = m.get(accPath)
	if strings.Contains(page.body, "55779911") || len(nodes(t, page.body, byTestID("verify-account"))) != 0 ||
		testText(t, page.body, "verify-blocked") != "You added this bank account, so someone else must verify it" {
		t.Error("the adder sees the full account or is offered to verify it")
	}
	if p := m.post(accPath+"/verify", nil); p.status != http.StatusForbidden {
		t.Errorf("the adder verifies: status %d, want 403", p.status)
	}

	a := h.browser()
	a.login("approver@example.com")
	page = a.get(accPath)
	details := testText(t, page.body, "account-details")
	if !strings.Contains(details, "Sort code 20-00-00") || !strings.Contains(details, "Account number 55779911") || !strings.Contains(details, "Postcode E14 5HP") {
		t.Errorf("the verify step shows %q", details)
	}
	if p := a.post(accPath+"/verify", url.Values{"otp": {h.code()}}); p.status != http.StatusSeeOther {
		t.Fatalf("verify: status %d", p.status)
	}
	if page = a.get(accPath); strings.Contains(page.body, "55779911") {
		t.Error("a verified account is still shown in full")
	}
	if p := m.get("/recipients/" + itoa(h.recipient(t, "Other", maker).ID) + "/accounts/" + itoa(acc.ID)); p.status != http.StatusNotFound {
		t.Errorf("the account under another recipient: status %d, want 404", p.status)
	}
}

// TestBankPayoutOverHTTP: an admin proposes the sender and a second admin
// approves it; the payout form offers
// card or bank account, the verified account and the purposes in words, and
// no free-text purpose for cards; a bank payout without a purpose is shown
// again with the message; with it, it goes to the provider, and the payout
// page, the queue and the history show the account masked and the purpose in
// words; an approver approves it; the history finds it by method and country
// and exports it; an approver records its return.
func TestBankPayoutOverHTTP(t *testing.T) {
	h := newMoneyHarness(t, nil)
	h.gbpThreshold(1000000)
	maker := h.user("maker@example.com", "maker")
	h.user("checker@example.com", "maker")
	h.user("approver@example.com", "approver")
	h.user("admin@example.com", "admin")
	jane := h.recipient(t, "Jane Smith", maker)
	m, checker, a, admin := h.browser(), h.browser(), h.browser(), h.browser()
	m.login("maker@example.com")
	checker.login("checker@example.com")
	a.login("approver@example.com")
	admin.login("admin@example.com")

	if p := m.get("/payouts/new"); testText(t, p.body, "no-sender") != payout.ErrNoSender.Message {
		t.Error("the payout form does not say that no sender is set")
	}
	sender := url.Values{"company_name": {"Acme Payroll Ltd"}, "registration_number": {"09876543"}, "country_iso3": {"UK"}, "code": {"09876543"}}
	p := admin.post("/admin/settings/sender", sender)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `value="Acme Payroll Ltd"`) || !strings.Contains(p.body, "three-letter ISO code") {
		t.Fatalf("a bad sender: status %d", p.status)
	}
	sender.Set("country_iso3", "gbr")
	if p := admin.post("/admin/settings/sender", sender); p.status != http.StatusSeeOther {
		t.Fatalf("propose the sender: status %d", p.status)
	}
	h.secondAdminApproves()
	if got := testText(t, admin.get("/admin/settings").body, "sender-current"); got != "Now: Acme Payroll Ltd, registration 09876543, GBR, code 09876543" {
		t.Errorf("settings show the sender as %q", got)
	}

	janePath := "/recipients/" + itoa(jane.ID)
	m.post(janePath+"/accounts", ukAccount("55779911"))
	accounts, _ := h.db.BankAccountsForRecipient(t.Context(), jane.ID)
	form := m.get("/payouts/new")
	if _, ok := options(t, form.body, "bank_account_id")[itoa(accounts[0].ID)]; ok {
		t.Error("an unverified account is offered on the payout form")
	}
	checker.post(janePath+"/accounts/"+itoa(accounts[0].ID)+"/verify", url.Values{"otp": {h.code()}})

	form = m.get("/payouts/new")
	if testText(t, form.body, "no-sender") != "" {
		t.Error("the form still says no sender is set")
	}
	if got := options(t, form.body, "bank_account_id")[itoa(accounts[0].ID)]; got != "Barclays ••••9911 · Jane Smith · GBP" {
		t.Errorf("account choice %q", got)
	}
	purposes := options(t, form.body, "purpose")
	if len(purposes) != 35 || purposes["SALARY_PAYMENT"] != "Payment of salary" {
		t.Errorf("purposes offered: %d, SALARY_PAYMENT as %q", len(purposes), purposes["SALARY_PAYMENT"])
	}
	if n := len(nodes(t, form.body, func(n *html.Node) bool { return attr(n, "name") == "purpose" })); n != 1 {
		t.Errorf("%d purpose fields, want the bank account's select only", n)
	}

	draft := url.Values{"method": {"bank_account"}, "bank_account_id": {itoa(accounts[0].ID)}, "amount": {"2,500.00"}, "currency": {"GBP"}, "note": {"November salary"}}
	p = m.post("/payouts", draft)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Choose the purpose of the payout") || !strings.Contains(p.body, `value="2,500.00"`) ||
		!strings.Contains(p.body, "November salary") {
		t.Fatalf("bank payout without a purpose: status %d", p.status)
	}
	if got := nodes(t, p.body, func(n *html.Node) bool { return attr(n, "value") == "bank_account" && attr(n, "name") == "method" }); len(got) != 1 || !hasAttr(got[0], "checked") {
		t.Error("the form shown again does not keep the bank-account method")
	}
	draft.Set("purpose", "SALARY_PAYMENT")
	p = m.post("/payouts", draft)
	if p.status != http.StatusSeeOther {
		t.Fatalf("bank payout: status %d", p.status)
	}
	id := int64(1)
	h.waitPayoutState(t, id, payout.StatePendingApproval)
	page := a.get(p.location)
	if got := testText(t, page.body, "payout-account"); got != "Barclays ••••9911 (United Kingdom)" {
		t.Errorf("payout page account %q", got)
	}
	if got := testText(t, page.body, "payout-purpose"); got != "Payment of salary" {
		t.Errorf("payout page purpose %q", got)
	}
	if q := a.get("/queue"); !strings.Contains(testText(t, q.body, "queue-row"), "Barclays ••••9911 · Payment of salary") {
		t.Errorf("queue row %q", testText(t, q.body, "queue-row"))
	}
	got, _ := h.db.PayoutByID(t.Context(), id)
	if r := a.post(p.location+"/approve", url.Values{"version": {itoa(got.Version)}, "otp": {h.code()}}); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.status)
	}
	h.waitPayoutState(t, id, payout.StateSucceeded)

	// A card payout beside it, for the filters.
	m.post("/payouts", url.Values{"method": {"card"}, "full_name": {"Card Person"}, "amount": {"1.00"}, "currency": {"GBP"}, "card_number": {"4242424242424242"}})
	for _, tc := range []struct {
		query string
		want  int
	}{{"method=bank_account", 1}, {"method=card", 1}, {"country=GBR", 1}, {"country=USA", 0}, {"method=bank_account&country=GBR", 1}, {"", 2}} {
		if n := len(nodes(t, a.get("/payouts?"+tc.query).body, byTestID("history-row"))); n != tc.want {
			t.Errorf("history ?%s: %d rows, want %d", tc.query, n, tc.want)
		}
	}
	if p := a.get("/payouts?method=wire&country=FRA"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Pick cards or bank accounts") || !strings.Contains(p.body, "Pick a country from the list") {
		t.Errorf("bad method and country filters: status %d", p.status)
	}
	if row := testText(t, a.get("/payouts?method=bank_account").body, "history-row"); !strings.Contains(row, "Barclays ••••9911 Payment of salary") {
		t.Errorf("history row %q", row)
	}
	csv := a.get("/payouts.csv?method=bank_account").body
	if !strings.Contains(csv, ",bank_account,Barclays ••••9911,GBR,,\r\n") || strings.Contains(csv, "55779911") || !strings.Contains(csv, ",SALARY_PAYMENT,November salary,") {
		t.Errorf("CSV export:\n%s", csv)
	}

	// The return: the maker may not record it; an approver must give a reason.
	page = a.get(p.location)
	if len(nodes(t, page.body, byTestID("return-form"))) != 1 || len(nodes(t, m.get(p.location).body, byTestID("return-form"))) != 0 {
		t.Error("the return form is not offered to the approver alone")
	}
	if r := m.post(p.location+"/return", url.Values{"returned_on": {"2026-11-21"}, "return_reason": {"Account closed"}}); r.status != http.StatusForbidden {
		t.Errorf("the maker records the return: status %d, want 403", r.status)
	}
	r := a.post(p.location+"/return", url.Values{"returned_on": {"2026-11-21"}, "return_reason": {" "}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Say why the bank returned it") || !strings.Contains(r.body, `value="2026-11-21"`) {
		t.Fatalf("return without a reason: status %d", r.status)
	}
	if r := a.post(p.location+"/return", url.Values{"returned_on": {"2026-11-21"}, "return_reason": {"Account closed"}}); r.status != http.StatusSeeOther {
		t.Fatalf("record the return: status %d", r.status)
	}
	page = a.get(p.location)
	if testText(t, page.body, "payout-returned") != "Returned" || !strings.HasPrefix(testText(t, page.body, "return-facts"), "on 2026-11-21: Account closed") ||
		!strings.Contains(testText(t, page.body, "timeline"), "Recorded that the receiving bank returned it") {
		t.Error("the payout page does not show the return")
	}
	list := a.get("/payouts?returned=yes")
	if n := len(nodes(t, list.body, byTestID("history-row"))); n != 1 || testText(t, list.body, "returned") != "Returned" {
		t.Errorf("returned filter: %d rows", n)
	}
	if got := testText(t, a.get("/payouts?currency=GBP").body, "total-returned-amount"); got != "2,500.00 GBP" {
		t.Errorf("returned total %q, want 2,500.00 GBP", got)
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
