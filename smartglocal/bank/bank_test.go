package bank

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	sg "countersign/smartglocal"
)

// samples is one valid account per country (the UK twice), as a person
// might type it, and the values Check must turn it into.
var samples = []struct {
	name string
	in   Account
	want map[string]string
}{
	{"GBR sort code", Account{Country: "gbr", Currency: "gbp", Scheme: "sort_code", BankName: "Barclays", FirstName: " Jane ", LastName: "Smith",
		Values: map[string]string{"sort_code": "20 00 00", "account_number": "5577 9911", "address_line": "1 Churchill Place", "city": "London", "postal_code": "E14 5HP",
			"iban": "GB82 WEST 1234 5698 7654 32"}}, // not this scheme's: dropped
		map[string]string{"sort_code": "20-00-00", "account_number": "55779911", "account_type": "CHECKING", "address_line": "1 Churchill Place", "city": "London", "postal_code": "E14 5HP"}},
	{"GBR IBAN", Account{Country: "GBR", Currency: "GBP", Scheme: "iban", BankName: "NatWest", FirstName: "Jane", LastName: "Smith",
		Values: map[string]string{"iban": "gb29 nwbk 6016 1331 9268 19", "swift_bic_code": "nwbk gb 2l", "address_line": "250 Bishopsgate", "city": "London", "postal_code": "EC2M 4AA", "state": "Greater London"}},
		map[string]string{"iban": "GB29NWBK60161331926819", "swift_bic_code": "NWBKGB2L", "account_type": "CHECKING", "address_line": "250 Bishopsgate", "city": "London", "postal_code": "EC2M 4AA", "state": "Greater London"}},
	{"CZE", Account{Country: "CZE", Currency: "CZK", Scheme: "iban", BankName: "Česká spořitelna", FirstName: "Jan", LastName: "Novák",
		Values: map[string]string{"iban": "CZ65 0800 0000 1920 0014 5399"}},
		map[string]string{"iban": "CZ6508000000192000145399"}},
	{"HUN", Account{Country: "HUN", Currency: "EUR", BankName: "OTP Bank", FirstName: "Anna", LastName: "Kovács",
		Values: map[string]string{"iban": "HU58 1177 3016 1111 1018 1234 5678", "address_line": "Váci utca 1", "city": "Budapest"}},
		map[string]string{"iban": "HU58117730161111101812345678", "address_line": "Váci utca 1", "city": "Budapest"}},
	{"USA", Account{Country: "USA", Currency: "USD", BankName: "JPMorgan Chase Bank", FirstName: "John", LastName: "Doe",
		Values: map[string]string{"routing_code": "021000021", "bank_account_number": "000123456789", "account_type": "checking",
			"address_line": "270 Park Avenue", "city": "New York", "postal_code": "10017", "state": "NY"}},
		map[string]string{"routing_code": "021000021", "bank_account_number": "000123456789", "account_type": "CHECKING",
			"address_line": "270 Park Avenue", "city": "New York", "postal_code": "10017", "state": "NY"}},
	{"ISR", Account{Country: "ISR", Currency: "ILS", Scheme: "account", BankName: "Bank Leumi", FirstName: "Dana", LastName: "Levi",
		Values: map[string]string{"bank_account_number": "12345678", "branch_number": "800"}},
		map[string]string{"bank_account_number": "12345678", "branch_number": "800"}},
	{"TUR", Account{Country: "TUR", Currency: "TRY", BankName: "Garanti BBVA", FirstName: "Ayşe", LastName: "Yılmaz",
		Values: map[string]string{"iban": "TR33 0006 1005 1978 6457 8413 26"}},
		map[string]string{"iban": "TR330006100519786457841326"}},
	{"CAN", Account{Country: "CAN", Currency: "CAD", BankName: "Royal Bank of Canada", FirstName: "Émilie", LastName: "Tremblay",
		Values: map[string]string{"routing_code": "000312345", "account_number": "1234567"}},
		map[string]string{"routing_code": "000312345", "account_number": "1234567"}},
	{"AUS", Account{Country: "AUS", Currency: "AUD", BankName: "Westpac", FirstName: "Jack", LastName: "Wilson",
		Values: map[string]string{"bsb_number": "032-000", "bank_account_number": "123456", "address_line": "275 Kent Street", "city": "Sydney", "postal_code": "2000", "state": "NSW"}},
		map[string]string{"bsb_number": "032000", "bank_account_number": "123456", "address_line": "275 Kent Street", "city": "Sydney", "postal_code": "2000", "state": "NSW"}},
	{"BRA", Account{Country: "BRA", Currency: "BRL", BankName: "Banco do Brasil", FirstName: "Maria", LastName: "Silva",
		Values: map[string]string{"bank_account_number": "12345-6", "branch_number": "1234", "account_type": "SAVINGS", "id_number": "123.456.789-09"}},
		map[string]string{"bank_account_number": "123456", "branch_number": "1234", "account_type": "SAVINGS", "id_number": "12345678909"}},
	{"HKG", Account{Country: "HKG", Currency: "HKD", BankName: "Hang Seng Bank", FirstName: "Wing", LastName: "Chan",
		Values: map[string]string{"bank_account_number": "024-123456-001", "address_line": "83 Des Voeux Road Central", "email": "wing@example.hk"}},
		map[string]string{"bank_account_number": "024123456001", "address_line": "83 Des Voeux Road Central", "email": "wing@example.hk"}},
	{"IDN", Account{Country: "IDN", Currency: "IDR", BankName: "Bank Mandiri", FirstName: "Budi", LastName: "Santoso",
		Values: map[string]string{"bank_account_number": "1234567890"}}, map[string]string{"bank_account_number": "1234567890"}},
	{"PHL", Account{Country: "PHL", Currency: "PHP", BankName: "BDO Unibank", FirstName: "Jose", LastName: "Reyes",
		Values: map[string]string{"bank_account_number": "001234567890"}}, map[string]string{"bank_account_number": "001234567890"}},
	{"VNM", Account{Country: "VNM", Currency: "VND", BankName: "Vietcombank", FirstName: "Lan", LastName: "Nguyen",
		Values: map[string]string{"bank_account_number": "0071000123456"}}, map[string]string{"bank_account_number": "0071000123456"}},
	{"THA", Account{Country: "THA", Currency: "THB", BankName: "Kasikornbank", FirstName: "Somchai", LastName: "Saetang",
		Values: map[string]string{"bank_account_number": "123-4-56789-0"}}, map[string]string{"bank_account_number": "1234567890"}},
	{"KOR", Account{Country: "KOR", Currency: "KRW", BankName: "Shinhan Bank", FirstName: "Minjun", LastName: "Kim",
		Values: map[string]string{"bank_account_number": "110-123-456789"}}, map[string]string{"bank_account_number": "110123456789"}},
	{"KEN", Account{Country: "KEN", Currency: "KES", BankName: "Equity Bank", FirstName: "Wanjiru", LastName: "Kamau",
		Values: map[string]string{"bank_account_number": "0123456789012"}}, map[string]string{"bank_account_number": "0123456789012"}},
}

func TestCheckSamples(t *testing.T) {
	banks := DefaultBanks()
	seen := map[string]bool{}
	for _, s := range samples {
		got, bad := Check(s.in, banks)
		if bad != nil {
			t.Errorf("%s: Check problems: %v", s.name, bad)
			continue
		}
		seen[got.Country] = true
		if !reflect.DeepEqual(got.Values, s.want) {
			t.Errorf("%s: values = %v\nwant %v", s.name, got.Values, s.want)
		}
		if got.Country != strings.ToUpper(s.in.Country) || got.Currency != strings.ToUpper(s.in.Currency) || got.FirstName != strings.TrimSpace(s.in.FirstName) {
			t.Errorf("%s: not normalised: %+v", s.name, got)
		}
		// Checking a checked account changes nothing.
		if again, bad := Check(got, banks); bad != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("%s: Check is not idempotent: %+v, %v", s.name, again, bad)
		}
	}
	for _, c := range Countries() {
		if !seen[c.Code] {
			t.Errorf("no sample account for %s", c.Code)
		}
	}
}

func TestCheckProblems(t *testing.T) {
	banks := DefaultBanks()
	uk := func(edit func(*Account)) Account {
		a := Account{Country: "GBR", Currency: "GBP", Scheme: "sort_code", BankName: "Barclays", FirstName: "Jane", LastName: "Smith",
			Values: map[string]string{"sort_code": "200000", "account_number": "55779911", "address_line": "1 Churchill Place", "city": "London", "postal_code": "E14 5HP"}}
		edit(&a)
		return a
	}
	tests := []struct {
		name string
		a    Account
		want map[string]string // key -> part of the message
	}{
		{"unknown country", uk(func(a *Account) { a.Country = "FRA" }), map[string]string{"country": "Choose a country"}},
		{"other currency", uk(func(a *Account) { a.Currency = "EUR" }), map[string]string{"currency": "in GBP"}},
		{"unknown scheme", uk(func(a *Account) { a.Scheme = "swift" }), map[string]string{"scheme": "Choose how"}},
		{"bank not in the list", uk(func(a *Account) { a.BankName = "Bank of Nowhere" }), map[string]string{"bank_name": "banks the provider supports"}},
		{"bank spelled otherwise", uk(func(a *Account) { a.BankName = "barclays" }), map[string]string{"bank_name": "banks the provider supports"}},
		{"no bank", uk(func(a *Account) { a.BankName = " " }), map[string]string{"bank_name": "Choose the bank"}},
		{"no names", uk(func(a *Account) { a.FirstName, a.LastName = "", "" }), map[string]string{"first_name": "first name", "last_name": "last name"}},
		{"digits-only name", uk(func(a *Account) { a.LastName = "12345" }), map[string]string{"last_name": "digits only"}},
		{"name with a direction override", uk(func(a *Account) { a.FirstName = "Jane\u202e" }), map[string]string{"first_name": "text-direction"}},
		{"first name too long", uk(func(a *Account) { a.FirstName = strings.Repeat("a", MaxFirstName+1) }), map[string]string{"first_name": "64 characters"}},
		{"missing fields", uk(func(a *Account) { a.Values = map[string]string{} }), map[string]string{
			"sort_code": "Enter the sort code", "account_number": "Enter the account number", "address_line": "Enter the street address",
			"city": "Enter the city", "postal_code": "Enter the postcode"}},
		{"bad sort code and account", uk(func(a *Account) { a.Values["sort_code"], a.Values["account_number"] = "1234", "123456789" }),
			map[string]string{"sort_code": "six digits", "account_number": "Use 8 digits"}},
		{"IBAN scheme without IBAN", uk(func(a *Account) { a.Scheme = "iban" }), map[string]string{"iban": "Enter the IBAN", "swift_bic_code": "Enter the SWIFT/BIC"}},
		{"German IBAN for a UK account", uk(func(a *Account) {
			a.Scheme, a.Values["iban"], a.Values["swift_bic_code"] = "iban", "DE89370400440532013000", "DEUTDEFF"
		}), map[string]string{"iban": "starts with GB", "swift_bic_code": "GB as its 5th"}},
		{"bad IBAN checksum", uk(func(a *Account) {
			a.Scheme, a.Values["iban"], a.Values["swift_bic_code"] = "iban", "GB82WEST12345698765433", "WESTGB22"
		}), map[string]string{"iban": "check digits"}},
		{"USA without state, bad routing", Account{Country: "USA", Currency: "USD", BankName: "Citibank", FirstName: "J", LastName: "D",
			Values: map[string]string{"routing_code": "021000022", "bank_account_number": "123456", "account_type": "CHECKING", "address_line": "1 Main", "city": "NYC", "postal_code": "10001"}},
			map[string]string{"routing_code": "check digit", "state": "Enter the state"}},
		{"Brazil with a bad CPF", Account{Country: "BRA", Currency: "BRL", BankName: "Bradesco", FirstName: "M", LastName: "S",
			Values: map[string]string{"bank_account_number": "123456", "branch_number": "1234", "id_number": "123.456.789-00"}},
			map[string]string{"account_type": "Choose the account type", "id_number": "check digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bad := Check(tt.a, banks)
			if !slices.Equal(slices.Sorted(maps.Keys(bad)), slices.Sorted(maps.Keys(tt.want))) {
				t.Fatalf("problems = %v, want keys of %v", bad, tt.want)
			}
			for k, part := range tt.want {
				if !strings.Contains(bad[k], part) {
					t.Errorf("%s: %q, want it to say %q", k, bad[k], part)
				}
			}
		})
	}
	// Without a list, any well-formed bank name passes.
	if _, bad := Check(uk(func(a *Account) { a.BankName = "Bank of Nowhere" }), nil); bad != nil {
		t.Errorf("Check without a list: %v", bad)
	}
}

// TestTables: every country's table is complete and consistent, so a typo
// fails here rather than on one payout.
func TestTables(t *testing.T) {
	banks := DefaultBanks()
	want := []string{"GBR", "CZE", "HUN", "USA", "ISR", "TUR", "CAN", "AUS", "BRA", "HKG", "IDN", "PHL", "VNM", "THA", "KOR", "KEN"}
	var got []string
	for _, c := range Countries() {
		got = append(got, c.Code)
		if !ValidCountryISO3(c.Code) || len(c.ISO2) != 2 || c.Name == "" || len(c.Currencies) == 0 || len(c.sender) == 0 {
			t.Errorf("%s: incomplete: %+v", c.Code, c)
		}
		if len(banks.For(c.Code)) < 3 {
			t.Errorf("%s: the shipped list has %d banks, want at least 3", c.Code, len(banks.For(c.Code)))
		}
		keys := map[string]bool{}
		for _, f := range c.Fields {
			if f.Key == "" || f.Label == "" || f.MaxLen == 0 {
				t.Errorf("%s: field %+v lacks a key, label or limit", c.Code, f)
			}
			if keys[f.Scheme+"/"+f.Key] {
				t.Errorf("%s: field %s twice", c.Code, f.Key)
			}
			keys[f.Scheme+"/"+f.Key] = true
			if f.Scheme != "" && !slices.ContainsFunc(c.Schemes, func(s Scheme) bool { return s.ID == f.Scheme }) {
				t.Errorf("%s: field %s names unknown scheme %q", c.Code, f.Key, f.Scheme)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: field %s has no place in a request: %v", c.Code, f.Key, r)
					}
				}()
				requestField(f, &sg.BankAccountGlobal{}, &sg.Participant{})
			}()
		}
		for _, s := range c.Schemes {
			if len(c.ActiveFields(s.ID)) == 0 || s.Label == "" {
				t.Errorf("%s: scheme %s asks nothing", c.Code, s.ID)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("countries = %v, want %v", got, want)
	}
	if _, ok := LookupCountry(" gbr "); !ok {
		t.Error("LookupCountry is not case-insensitive")
	}
	uk, _ := LookupCountry("GBR")
	if f := uk.ActiveFields("iban"); len(f) != 7 || f[0].Key != "iban" || f[0].Path() != "payment_method.bank_account.global.iban" {
		t.Errorf("UK IBAN fields = %+v", f)
	}
	if p := (Field{Key: "id_number", Place: InRecipientDocument}).Path(); p != "participant_details.recipient.identity_document.id_number" {
		t.Errorf("Path = %s", p)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ got, want string }{
		{MaskIBAN("GB82WEST12345698765432"), "GB•• •••• •••• 7654 32"},
		{MaskIBAN("NO9386011117947"), "NO•• •••• •••• 1179 47"},
		{MaskIBAN("GB82"), "••••"},
		{MaskNumber("12345678"), "••••5678"},
		{MaskNumber("1234"), "••••"},
		{Account{BankName: "Hang Seng Bank", Values: map[string]string{"bank_account_number": "1234"}}.Masked(), "Hang Seng Bank ••••"},
		{Account{BankName: "Barclays", Values: map[string]string{"sort_code": "20-00-00", "account_number": "55779911"}}.Masked(), "Barclays ••••9911"},
		{Account{BankName: "Westpac", Values: map[string]string{"bank_account_number": "123456"}}.Masked(), "Westpac ••••3456"},
		{Account{BankName: "NatWest", Values: map[string]string{"iban": "GB29NWBK60161331926819"}}.Masked(), "GB•• •••• •••• 9268 19"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestPurposes(t *testing.T) {
	ps := Purposes()
	if len(ps) != 34 {
		t.Fatalf("%d purposes, want the provider's 34", len(ps))
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Code] || p.Words == "" || strings.ToUpper(p.Code) != p.Code {
			t.Errorf("purpose %+v is duplicated, wordless or not upper case", p)
		}
		seen[p.Code] = true
	}
	if w, ok := PurposeWords("SALARY_PAYMENT"); !ok || w != "Payment of salary" {
		t.Errorf("PurposeWords(SALARY_PAYMENT) = %q, %v", w, ok)
	}
	for code, want := range map[string]string{"SALARY_PAYMENT": "", "OTHER": "", "": "Choose the purpose", "salary_payment": "provider's purposes", "SALARY": "provider's purposes"} {
		if got := CheckPurpose(code); !strings.Contains(got, want) || (want == "") != (got == "") {
			t.Errorf("CheckPurpose(%q) = %q, want %q", code, got, want)
		}
	}
}
