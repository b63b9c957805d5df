package handlers

import (
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"countersign/payout"
	"countersign/smartglocal"
)

// luhn completes prefix with its Luhn check digit.
func luhn(prefix string) string {
	sum := 0
	for i := len(prefix) - 1; i >= 0; i-- {
		d := int(prefix[i] - '0')
		if (len(prefix)-i)%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return prefix + string(rune('0'+(10-sum%10)%10))
}

// TestHiddenCharactersRefused: names, references and notes an approver reads
// refuse what changes how they read (the attack run got a newline and a NUL
// into customer_reference).
func TestHiddenCharactersRefused(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	h.user("maker@example.com", "maker")
	maker := h.browser()
	maker.login("maker@example.com")
	hostile := map[string]string{
		"right-to-left override": "\u202e", "left-to-right embedding": "\u202a", "first-strong isolate": "\u2068",
		"pop directional isolate": "\u2069", "zero-width space": "\u200b", "zero-width joiner": "\u200d",
		"word joiner": "\u2060", "byte-order mark": "\ufeff", "line separator": "\u2028", "paragraph separator": "\u2029",
		"newline": "\n", "NUL": "\x00", "escape": "\x1b",
	}
	for what, ch := range hostile {
		for _, field := range []string{"full_name", "customer_reference", "note"} {
			form := url.Values{"full_name": {"Jane Doe"}, "amount": {"10.00"}, "currency": {"USD"}, "card_number": {"4242 4242 4242 4242"},
				"customer_reference": {"ref-1"}, "note": {"for March"}}
			form.Set(field, "Jane"+ch+"Doe")
			maker.get("/payouts/new")
			if p := maker.post("/payouts", form); p.status != http.StatusUnprocessableEntity {
				t.Errorf("%s in %s: status %d, want 422", what, field, p.status)
			}
		}
		maker.get("/recipients")
		if p := maker.post("/recipients", url.Values{"full_name": {"Jane" + ch + "Doe"}}); p.status != http.StatusUnprocessableEntity {
			t.Errorf("%s in a recipient's name: status %d, want 422", what, p.status)
		}
	}
	for name, pan := range map[string]string{"all zeros": "0000000000000000", "no known scheme": luhn("900000000000000")} {
		maker.get("/payouts/new")
		p := maker.post("/payouts", url.Values{"full_name": {"Jane Doe"}, "amount": {"10.00"}, "currency": {"USD"}, "card_number": {pan}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "no card scheme we know") {
			t.Errorf("card number %s: status %d, want 422 with a message for the card number", name, p.status)
		}
	}
	if n := sb.CallCount("session/create"); n != 0 {
		t.Errorf("%d refused payouts reached the provider", n)
	}
}

// TestACardNumberInFreeTextIsRefusedAndNotShownBack: a card number typed
// into a payout's name, reference or note, or a recipient's, is refused with
// a message on that field; the form shows again what was typed, but that
// field empty, and nothing reaches the provider.
func TestACardNumberInFreeTextIsRefusedAndNotShownBack(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	h.user("maker@example.com", "maker")
	maker := h.browser()
	maker.login("maker@example.com")
	const pan = "4000 0566 5566 5556"
	typed := url.Values{"full_name": {"Jane Doe"}, "amount": {"10.00"}, "currency": {"USD"}, "card_number": {"4242 4242 4242 4242"},
		"customer_reference": {"ref-1"}, "note": {"for March"}}
	for _, field := range []string{"full_name", "customer_reference", "note"} {
		form := maps.Clone(typed)
		form.Set(field, "card "+pan)
		maker.get("/payouts/new")
		p := maker.post("/payouts", form)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "This looks like a card number") {
			t.Errorf("card number in %s: status %d; want 422 with the card-number message", field, p.status)
		}
		if strings.Contains(p.body, pan) || strings.Contains(p.body, "5566") {
			t.Errorf("card number in %s: the form shows it back", field)
		}
		for _, other := range []string{"full_name", "customer_reference", "note"} {
			if other != field && !strings.Contains(p.body, typed.Get(other)) {
				t.Errorf("card number in %s: the form lost what was typed in %s", field, other)
			}
		}
	}
	maker.get("/recipients")
	p := maker.post("/recipients", url.Values{"full_name": {"Jane Doe"}, "customer_reference": {pan}, "country": {"GBR"}})
	if p.status != http.StatusUnprocessableEntity || strings.Contains(p.body, "5566") || !strings.Contains(p.body, `value="Jane Doe"`) {
		t.Errorf("card number in a recipient's reference: status %d; want 422, the name kept, the number gone", p.status)
	}
	if n := sb.CallCount("session/create"); n != 0 {
		t.Errorf("%d refused payouts reached the provider", n)
	}
}

// TestApproverSeesWhatTheProviderGets: the name on the approver's page is the
// name in the provider's session, character for character.
func TestApproverSeesWhatTheProviderGets(t *testing.T) {
	h, sb := newHarnessWithProvider(t)
	h.user("maker@example.com", "maker")
	h.user("approver@example.com", "approver")
	maker, approver := h.browser(), h.browser()
	maker.login("maker@example.com")
	approver.login("approver@example.com")
	maker.get("/payouts/new")
	// No-break and thin spaces show as plain spaces on a page.
	p := maker.post("/payouts", url.Values{"full_name": {"  Jane\u00a0\u00a0van\u2009Doe "}, "amount": {"10.00"}, "currency": {"USD"},
		"card_number": {"4242 4242 4242 4242"}, "customer_reference": {"ref\u00a0 7"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("submit: status %d", p.status)
	}
	h.waitPayoutState(t, 1, payout.StatePendingApproval)
	stored, _ := h.db.PayoutByID(t.Context(), 1)
	const want = "Jane van Doe"
	if stored.FullName != want || stored.CustomerReference != "ref 7" {
		t.Errorf("stored %q / %q; want %q / %q", stored.FullName, stored.CustomerReference, want, "ref 7")
	}
	page := approver.get("/payouts/1")
	if !strings.Contains(page.body, ">"+want+"<") {
		t.Errorf("the approver's page does not show %q", want)
	}
	sess, err := smartglocal.New(sb.ClientConfig(sb.PartnerKey)).Status(t.Context(), stored.ProviderSessionID)
	if err != nil {
		t.Fatal(err)
	}
	po := sess.Payout()
	if po == nil || po.ParticipantDetails == nil || po.ParticipantDetails.Recipient.FullName != want {
		t.Fatalf("the provider got %+v; want the recipient %q", po, want)
	}
	if po.Customer == nil || po.Customer.Reference != "ref 7" {
		t.Errorf("the provider got customer %+v; want reference %q", po.Customer, "ref 7")
	}
}
