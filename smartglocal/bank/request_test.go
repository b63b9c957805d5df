package bank

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	sg "countersign/smartglocal"
)

// TestRequestRoundTrip: what Request builds, CheckRequest (the sandbox's
// side) accepts and reads back as the same payout, for every country.
func TestRequestRoundTrip(t *testing.T) {
	banks := DefaultBanks()
	for _, s := range samples {
		a, bad := Check(s.in, banks)
		if bad != nil {
			t.Fatalf("%s: %v", s.name, bad)
		}
		p := Payout{Account: a, Purpose: "SALARY_PAYMENT", Sender: acme}
		pm, pd, err := p.Request()
		if err != nil {
			t.Errorf("%s: Request: %v", s.name, err)
			continue
		}
		got, problem := CheckRequest(&pm, pd, strings.ToLower(a.Currency), banks)
		if problem != "" {
			t.Errorf("%s: CheckRequest: %s", s.name, problem)
			continue
		}
		c, _ := LookupCountry(a.Country)
		want := p
		// The sender carries only what the country's page lists.
		want.Sender = Sender{}
		for _, n := range c.senderNeeds(acme) {
			*senderFieldOf(n.key).get(&want.Sender) = *senderFieldOf(n.key).get(&p.Sender)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", s.name, got, want)
		}
	}
}

func TestRequestRefuses(t *testing.T) {
	a, _ := Check(samples[0].in, nil)
	tests := []struct {
		name string
		p    Payout
		keys []string
	}{
		{"no purpose", Payout{Account: a, Sender: acme}, []string{"purpose"}},
		{"unknown purpose", Payout{Account: a, Purpose: "WAGES", Sender: acme}, []string{"purpose"}},
		{"no sender", Payout{Account: a, Purpose: "SALARY_PAYMENT"}, []string{"sender.code", "sender.company_name", "sender.country_iso3", "sender.registration_number"}},
		{"bad account", Payout{Account: Account{Country: "GBR"}, Purpose: "SALARY_PAYMENT", Sender: acme},
			[]string{"account_number", "address_line", "bank_name", "city", "currency", "first_name", "last_name", "postal_code", "sort_code"}},
		{"unknown country", Payout{Account: Account{Country: "FRA"}, Purpose: "SALARY_PAYMENT", Sender: acme}, []string{"country"}},
	}
	for _, tt := range tests {
		_, _, err := tt.p.Request()
		var bad Problems
		if !errors.As(err, &bad) {
			t.Errorf("%s: err = %v, want Problems", tt.name, err)
			continue
		}
		var keys []string
		for _, k := range tt.keys {
			if bad[k] == "" {
				t.Errorf("%s: no problem for %s in %v", tt.name, k, bad)
			}
			keys = append(keys, k)
		}
		if len(bad) != len(keys) {
			t.Errorf("%s: problems %v, want exactly %v", tt.name, bad, keys)
		}
	}
}

// TestCheckRequestRefusals: the sandbox's side refuses what the provider
// would, naming the field by its path and never quoting a value.
func TestCheckRequestRefusals(t *testing.T) {
	banks := DefaultBanks()
	build := func(sample int, edit func(*sg.PaymentMethod, *sg.ParticipantDetails)) (*sg.PaymentMethod, *sg.ParticipantDetails) {
		a, _ := Check(samples[sample].in, banks)
		pm, pd, err := Payout{Account: a, Purpose: "SALARY_PAYMENT", Sender: acme}.Request()
		if err != nil {
			t.Fatal(err)
		}
		edit(&pm, pd)
		return &pm, pd
	}
	const ukSort, ukIBAN, usa, bra = 0, 1, 4, 9
	g := func(pm *sg.PaymentMethod) *sg.BankAccountGlobal { return pm.BankAccount.Global }
	tests := []struct {
		name     string
		sample   int
		edit     func(*sg.PaymentMethod, *sg.ParticipantDetails)
		currency string
		want     []string
	}{
		{"no purpose", ukSort, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { g(pm).Description = "" }, "gbp",
			[]string{"payment_method.bank_account.global.description is required"}},
		{"unknown purpose", ukSort, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { g(pm).Description = "salary_payment" }, "gbp",
			[]string{"payment_method.bank_account.global.description is not one of"}},
		{"a card", ukSort, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { *pm = sg.BankCardMethod("4242424242424242") }, "gbp",
			[]string{"payment_method.bank_account is required"}},
		{"another system type", ukSort, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { pm.BankAccount.SystemType = "local" }, "gbp",
			[]string{"system_type must be global"}},
		{"no recipient", ukSort, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Recipient = nil }, "gbp",
			[]string{"participant_details.recipient is required"}},
		{"no sender", ukSort, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Sender = nil }, "gbp",
			[]string{"participant_details.sender is required"}},
		{"unknown country", ukSort, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Recipient.CountryISO3 = "FRA" }, "gbp",
			[]string{"participant_details.recipient.country_iso3 is not a country"}},
		{"bad IBAN checksum", ukIBAN, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { g(pm).IBAN = "GB29NWBK60161331926818" }, "gbp",
			[]string{"payment_method.bank_account.global.iban: The IBAN's check digits do not match"}},
		{"IBAN with spaces", ukIBAN, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { g(pm).IBAN = FormatIBAN(g(pm).IBAN) }, "gbp",
			[]string{"payment_method.bank_account.global.iban: send it in the provider's form"}},
		{"unsupported bank", ukSort, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Recipient.BankName = "Bank of Nowhere" }, "gbp",
			[]string{"participant_details.recipient.bank_name: Choose one of the banks the provider supports"}},
		{"no account type", ukSort, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { g(pm).AccountType = "" }, "gbp",
			[]string{"payment_method.bank_account.global.account_type: required"}},
		{"neither pair", ukSort, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { g(pm).SortCode = "" }, "gbp",
			[]string{"payment_method.bank_account.global.sort_code: Enter the sort code"}},
		{"no state", usa, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Recipient.State = "" }, "usd",
			[]string{"participant_details.recipient.state: Enter the state"}},
		{"bad routing number", usa, func(pm *sg.PaymentMethod, _ *sg.ParticipantDetails) { g(pm).RoutingCode = "021000022" }, "usd",
			[]string{"payment_method.bank_account.global.routing_code: This routing number's check digit"}},
		{"no sender address", usa, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Sender.AddressLine = "" }, "usd",
			[]string{"participant_details.sender.address_line: Payouts to United States need"}},
		{"no CPF", bra, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Recipient.IdentityDocument = nil }, "brl",
			[]string{"participant_details.recipient.identity_document.id_number: Enter the CPF"}},
		{"amount in another currency", ukSort, func(*sg.PaymentMethod, *sg.ParticipantDetails) {}, "usd",
			[]string{"amount_details.currency: must be the recipient's currency"}},
		{"recipient currency of another country", ukSort, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) { pd.Recipient.Currency = "EUR" }, "eur",
			[]string{"participant_details.recipient.currency: Payouts to United Kingdom are in GBP"}},
		{"several at once", usa, func(pm *sg.PaymentMethod, pd *sg.ParticipantDetails) {
			pd.Recipient.FirstName = ""
			g(pm).AccountType = "current"
		}, "usd",
			[]string{"participant_details.recipient.first_name: Enter", "; payment_method.bank_account.global.account_type: Choose one of CHECKING, SAVINGS"}},
	}
	for _, tt := range tests {
		pm, pd := build(tt.sample, tt.edit)
		_, problem := CheckRequest(pm, pd, tt.currency, banks)
		for _, want := range tt.want {
			if !strings.Contains(problem, want) {
				t.Errorf("%s: %q, want it to say %q", tt.name, problem, want)
			}
		}
	}
	// Case does not matter where the provider says so.
	pm, pd := build(ukSort, func(_ *sg.PaymentMethod, pd *sg.ParticipantDetails) {
		pd.Recipient.Currency = "gbp"
		pd.Recipient.CountryISO3 = "gbr"
	})
	if _, problem := CheckRequest(pm, pd, "GBP", banks); problem != "" {
		t.Errorf("lower-case currency and country: %s", problem)
	}
}
