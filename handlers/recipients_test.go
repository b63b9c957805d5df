package handlers

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"countersign/store"
	"countersign/store/pgtest"
)

func TestRecipientFormKeepsWhatWasTyped(t *testing.T) {
	h := newMoneyHarness(t, nil)
	h.user("maker@example.com", "maker")
	b := h.browser()
	b.login("maker@example.com")
	b.get("/recipients")
	p := b.post("/recipients", url.Values{"full_name": {"  "}, "customer_reference": {"ref <7>"}, "email": {"not an email"}, "country": {"Germany"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", p.status)
	}
	for _, want := range []string{`value="ref &lt;7&gt;"`, `value="not an email"`, `value="Germany"`, "Enter the recipient&#39;s full name",
		"Enter an email address like", "Use the two-letter country code", `id="full_name-error"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("re-rendered form lacks %q", want)
		}
	}
	rs, _ := h.db.Recipients(t.Context(), store.RecipientFilter{})
	if len(rs) != 0 {
		t.Errorf("an invalid recipient was saved: %v", rs)
	}

	p = b.post("/recipients", url.Values{"full_name": {" Jane   Doe "}, "customer_reference": {"C-1"}, "email": {"jane@example.com"}, "country": {"de"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/recipients/") {
		t.Fatalf("create: status %d location %q", p.status, p.location)
	}
	rs, _ = h.db.Recipients(t.Context(), store.RecipientFilter{})
	if len(rs) != 1 || rs[0].FullName != "Jane Doe" || rs[0].Country != "DE" || rs[0].Email != "jane@example.com" || rs[0].CustomerReference != "C-1" {
		t.Fatalf("saved %+v", rs)
	}
	if p.location != "/recipients/"+itoa(rs[0].ID) {
		t.Errorf("redirect to %q", p.location)
	}
	entries, _ := h.db.AuditEntries(t.Context(), store.AuditFilter{ObjectType: "recipient", ObjectID: itoa(rs[0].ID)})
	if len(entries) != 1 || entries[0].Action != "recipient.create" || entries[0].Actor != "maker@example.com" {
		t.Errorf("audit: %+v", entries)
	}
}

func TestRecipientSearch(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	ctx := t.Context()
	for _, r := range []store.Recipient{
		{FullName: "Jane Doe", CustomerReference: "C-100", Email: "jane@example.com", Country: "DE"},
		{FullName: "John Smith", CustomerReference: "C-200", Email: "js@example.org", Country: "GB"},
		{FullName: "Ada Lovelace", CustomerReference: "X-9", Email: "ada@example.com", Country: "GB"},
	} {
		r.CreatedBy = maker.ID
		if err := h.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRecipient(ctx, &r) }); err != nil {
			t.Fatal(err)
		}
	}
	b := h.browser()
	b.login("maker@example.com")
	for _, tt := range []struct {
		query string
		want  []string // recipient ids, by name
	}{
		{"", []string{"3", "1", "2"}},
		{"q=jane", []string{"1"}},
		{"q=C-2", []string{"2"}},
		{"q=example.com", []string{"3", "1"}},
		{"country=gb", []string{"3", "2"}},
		{"q=example.com&country=GB", []string{"3"}},
		{"q=nobody", []string{}},
	} {
		p := b.get("/recipients?" + tt.query)
		if got := attrs(p.body, "recipient-row", "data-recipient"); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestRecipientPages: the book shows a page at a time, by name, and "More
// recipients" continues it, with the search kept, until every recipient was
// shown exactly once (names that differ only in case, or not at all, included).
func TestRecipientPages(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	ctx := t.Context()
	var names []string
	for i := range recipientListLimit + 20 {
		names = append(names, fmt.Sprintf("Name %03d", i))
	}
	// Alike names across the end of the first page.
	names[recipientListLimit-2], names[recipientListLimit-1], names[recipientListLimit] = "name 198", "Name 198", "Name 198"
	if err := h.db.InTx(ctx, func(tx *store.Tx) error {
		for _, n := range names {
			r := store.Recipient{FullName: n, Country: "DE", CreatedBy: maker.ID}
			if err := tx.CreateRecipient(ctx, &r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.login("maker@example.com")
	seen := map[string]bool{}
	pages := 0
	for href := "/recipients?country=de"; href != ""; pages++ {
		if pages > 2 {
			t.Fatal("more pages than the book holds")
		}
		p := b.get(href)
		ids := attrs(p.body, "recipient-row", "data-recipient")
		if pages == 0 && len(ids) != recipientListLimit {
			t.Errorf("first page: %d rows, want %d", len(ids), recipientListLimit)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("recipient %s shown twice", id)
			}
			seen[id] = true
		}
		href = ""
		if next := attrs(p.body, "recipients-more", "href"); len(next) == 1 {
			href = html.UnescapeString(next[0])
			if !strings.Contains(href, "country=DE") {
				t.Errorf("the next page drops the search: %s", href)
			}
		}
		if first := attrs(p.body, "recipients-first", "href"); (len(first) == 1) != (pages > 0) {
			t.Errorf("page %d: link to the first page %v", pages+1, first)
		}
	}
	if pages != 2 || len(seen) != len(names) {
		t.Errorf("%d pages showed %d recipients, want 2 pages and %d", pages, len(seen), len(names))
	}
}

// TestCardsFourEyes adds a card by its token, is refused verifying it as the
// person who added it, has a second person verify it, then pays-picks and
// removes it; every step is audited and no card number is ever stored.
func TestCardsFourEyes(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	h.user("maker2@example.com", "maker")
	h.user("approver@example.com", "approver")
	h.user("auditor@example.com", "auditor")
	jane := h.recipient(t, "Jane Doe", maker)
	john := h.recipient(t, "John Smith", maker)
	const pan = "4242424242424242"
	hash, err := h.sb.Tokenize(pan)
	if err != nil {
		t.Fatal(err)
	}
	janePath := "/recipients/" + itoa(jane.ID)

	m := h.browser()
	m.login("maker@example.com")

	// An unknown token is refused with what was typed kept.
	p := m.post(janePath+"/cards", url.Values{"number_hash": {"deadbeef"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "The provider does not know this card") || !strings.Contains(p.body, `value="deadbeef"`) {
		t.Fatalf("unknown token: status %d, body lacks the message or the typed token", p.status)
	}

	p = m.post(janePath+"/cards", url.Values{"number_hash": {hash}})
	if p.status != http.StatusSeeOther || p.location != janePath {
		t.Fatalf("add card: status %d location %q", p.status, p.location)
	}
	cards, _ := h.db.CardsForRecipient(t.Context(), jane.ID)
	if len(cards) != 1 || cards[0].Last4 != "4242" || cards[0].Brand != "visa" || cards[0].Verified() {
		t.Fatalf("cards after add: %+v", cards)
	}
	card := cards[0]
	if n := h.sb.CallCount("token/info"); n != 2 {
		t.Errorf("token/info called %d times, want 2 (the unknown token and the card)", n)
	}
	page := m.get(janePath)
	row := tagWith(page.body, "card-row", "data-card", itoa(card.ID))
	if !strings.Contains(row, `data-verified="false"`) || !strings.Contains(page.body, "VISA •••• 4242") {
		t.Errorf("the page does not show an unverified VISA •••• 4242: %s", row)
	}
	if !strings.Contains(page.body, "You added this card, so someone else must verify it") || strings.Contains(page.body, `data-testid="verify-card"`) {
		t.Error("the person who added the card is offered to verify it")
	}
	if strings.Contains(m.get("/payouts/new").body, "4242 · Jane Doe") {
		t.Error("an unverified card is offered on the payout form")
	}

	// The adder verifying, however forged, is refused.
	verify := janePath + "/cards/" + itoa(card.ID) + "/verify"
	p = m.post(verify, nil)
	if p.status != http.StatusForbidden {
		t.Fatalf("self-verify: status %d, want 403", p.status)
	}
	if !strings.Contains(p.body, `class="flash flash-error"`) || !strings.Contains(p.body, "You added this card, so someone else must verify it") {
		t.Error("the refusal does not say why")
	}
	if c, _ := h.db.CardByID(t.Context(), card.ID); c.Verified() {
		t.Fatal("the person who added the card verified it")
	}

	// Through another recipient's path the card does not exist.
	a := h.browser()
	a.login("approver@example.com")
	a.get(janePath)
	if p := a.post("/recipients/"+itoa(john.ID)+"/cards/"+itoa(card.ID)+"/verify", nil); p.status != http.StatusNotFound {
		t.Errorf("verify through another recipient: status %d, want 404", p.status)
	}
	// An auditor cannot see or change cards.
	au := h.browser()
	au.login("auditor@example.com")
	if p := au.post(verify, nil); p.status != http.StatusForbidden {
		t.Errorf("auditor verify: status %d, want 403", p.status)
	}

	p = a.post(verify, url.Values{"otp": {h.code()}})
	if p.status != http.StatusSeeOther || p.location != janePath {
		t.Fatalf("verify: status %d location %q", p.status, p.location)
	}
	if c, _ := h.db.CardByID(t.Context(), card.ID); !c.Verified() {
		t.Fatal("a second person's verification did not take")
	}
	form := m.get("/payouts/new").body
	if !strings.Contains(form, `<option value="`+itoa(card.ID)+`">VISA •••• 4242 · Jane Doe</option>`) {
		t.Errorf("the verified card is not offered as VISA •••• 4242 · Jane Doe")
	}
	if only := m.get("/payouts/new?recipient=" + itoa(john.ID)).body; strings.Contains(only, "4242 · Jane Doe") {
		t.Error("picking John still offers Jane's card")
	}
	if p := a.post(verify, nil); p.status != http.StatusConflict || !strings.Contains(p.body, "This card was already verified or removed") {
		t.Errorf("verifying twice: status %d, want 409 with the reason", p.status)
	}

	// Another maker removes it; it is no longer offered.
	m2 := h.browser()
	m2.login("maker2@example.com")
	m2.get(janePath)
	if p := m2.post(janePath+"/cards/"+itoa(card.ID)+"/remove", nil); p.status != http.StatusSeeOther {
		t.Fatalf("remove: status %d", p.status)
	}
	if strings.Contains(m.get("/payouts/new").body, "4242 · Jane Doe") {
		t.Error("a removed card is still offered")
	}

	entries, _ := h.db.AuditEntries(t.Context(), store.AuditFilter{ObjectType: "card", ObjectID: itoa(card.ID), Ascending: true})
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Outcome+" "+e.Actor)
	}
	want := []string{"card.add ok maker@example.com", "card.verify denied maker@example.com", "card.verify ok approver@example.com",
		"card.remove ok maker2@example.com"}
	if !slices.Equal(got, want) {
		t.Errorf("card audit:\n got %q\nwant %q", got, want)
	}

	// Only the token, last4 and brand were kept: the number is nowhere in the database.
	if pgtest.Postgres() {
		if dump := pgtest.Dump(t, h.dsn); strings.Contains(dump, pan) || strings.Contains(dump, "424242424242") {
			t.Error("the card number is in the database")
		}
		return
	}
	// Every t.TempDir of this test, the harness's database among them, shares one parent.
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "*"))
	if len(files) < 2 {
		t.Fatalf("found only %v to search", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(pan)) || bytes.Contains(b, []byte("424242424242")) {
			t.Errorf("the card number is in %s", filepath.Base(f))
		}
	}
}

// TestCardThroughTheSandboxWidget follows the widget's round trip over HTTP:
// the recipient page links to the widget with a way back, the widget posts
// the token back (never in a URL), and the page names the card as token/info
// does and only fills in the form.
func TestCardThroughTheSandboxWidget(t *testing.T) {
	h := newMoneyHarness(t, nil)
	maker := h.user("maker@example.com", "maker")
	jane := h.recipient(t, "Jane Doe", maker)
	b := h.browser()
	b.login("maker@example.com")
	first := b.get("/recipients/" + itoa(jane.ID))
	link := attrs(first.body, "card-widget", "href")
	if len(link) != 1 {
		t.Fatalf("no widget link on the recipient page")
	}
	widget, err := url.Parse(strings.ReplaceAll(link[0], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	returnTo := widget.Query().Get("return_to")
	if want := h.srv.URL + "/widget-return/recipients/" + itoa(jane.ID); returnTo != want {
		t.Fatalf("return_to %q, want %q", returnTo, want)
	}
	if widget.Scheme+"://"+widget.Host != h.sb.URL || widget.Path != "/sandbox/widget" {
		t.Fatalf("widget link %q does not point at the sandbox widget", link[0])
	}
	hash, err := h.sb.Tokenize("4242424242424242") // what the person does in the widget's page
	if err != nil {
		t.Fatal(err)
	}
	// The widget's page posts the token back from its own origin.
	fromWidget := func(hash, origin string) page {
		req, _ := http.NewRequest("POST", returnTo, strings.NewReader(url.Values{"number_hash": {hash}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		return b.do(req)
	}
	back := fromWidget(hash, h.sb.URL)
	if back.status != http.StatusOK {
		t.Fatalf("back from the widget: status %d", back.status)
	}
	if !strings.Contains(back.body, `name="number_hash" value="`+hash+`"`) || !strings.Contains(back.body, "The card form took VISA •••• 4242") {
		t.Error("the form is not filled in with the widget's token and the provider's name for the card")
	}
	if cards, _ := h.db.CardsForRecipient(t.Context(), jane.ID); len(cards) != 0 {
		t.Fatalf("coming back from the widget saved a card: %+v", cards)
	}
	// Only the widget may post here, only for a maker; a token the provider
	// does not know is named as such.
	for _, origin := range []string{"https://evil.example", "", h.srv.URL} {
		if p := fromWidget(hash, origin); p.status != http.StatusForbidden {
			t.Errorf("a post with Origin %q: status %d, want 403", origin, p.status)
		}
	}
	h.user("approver@example.com", "approver")
	approver := h.browser()
	approver.login("approver@example.com")
	req, _ := http.NewRequest("POST", returnTo, strings.NewReader(url.Values{"number_hash": {hash}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.sb.URL)
	if p := approver.do(req); p.status != http.StatusForbidden {
		t.Errorf("an approver back from the widget: status %d, want 403", p.status)
	}
	if p := fromWidget("deadbeef", h.sb.URL); p.status != http.StatusOK || strings.Contains(p.body, "The card form took") || !strings.Contains(p.body, "does not know this card") {
		t.Errorf("an unknown token: status %d, want the form with the provider's refusal", p.status)
	}
	if p := b.post("/recipients/"+itoa(jane.ID)+"/cards", url.Values{"number_hash": {hash}}); p.status != http.StatusSeeOther {
		t.Fatalf("add card: status %d", p.status)
	}
	if cards, _ := h.db.CardsForRecipient(t.Context(), jane.ID); len(cards) != 1 || cards[0].NumberHash != hash || cards[0].Last4 != "4242" {
		t.Fatalf("cards: %+v", cards)
	}
	// A query claiming another card is not shown: the attack run's page
	// showed brand and last four straight from its query string.
	forged := b.get("/recipients/" + itoa(jane.ID) + "?number_hash=" + hash + "&last4=9999&brand=amex")
	if strings.Contains(forged.body, "9999") || strings.Contains(forged.body, "AMEX") || strings.Contains(forged.body, "The widget stored") {
		t.Error("the page shows a card from its query string")
	}
}
