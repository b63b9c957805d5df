package bank

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

var acme = Sender{CompanyName: "Acme Payroll Ltd", RegistrationNumber: "09876543", CountryISO3: "GBR", Code: "09876543",
	AddressLine: "10 Finsbury Square", City: "London", PostalCode: "EC2A 1AF", State: ""}

func TestCheckSender(t *testing.T) {
	got, bad := CheckSender(Sender{CompanyName: " Acme Payroll Ltd ", RegistrationNumber: "09876543", CountryISO3: "gbr", Code: "09876543"})
	if bad != nil || got.CompanyName != "Acme Payroll Ltd" || got.CountryISO3 != "GBR" {
		t.Errorf("CheckSender = %+v, %v", got, bad)
	}
	tests := []struct {
		name string
		s    Sender
		want map[string]string
	}{
		{"empty", Sender{}, map[string]string{"company_name": "Enter the company name", "registration_number": "Enter", "country_iso3": "Enter", "code": "Enter"}},
		{"digits-only company", with(acme, func(s *Sender) { s.CompanyName = "1234 5678" }), map[string]string{"company_name": "digits only"}},
		{"company name of 101 characters", with(acme, func(s *Sender) { s.CompanyName = strings.Repeat("Ä", 101) }), map[string]string{"company_name": "100 characters"}},
		{"company name of 100 characters", with(acme, func(s *Sender) { s.CompanyName = strings.Repeat("Ä", 100) }), nil},
		{"registration number of 65", with(acme, func(s *Sender) { s.RegistrationNumber = strings.Repeat("1", 65) }), map[string]string{"registration_number": "64 characters"}},
		{"unknown country", with(acme, func(s *Sender) { s.CountryISO3 = "XYZ" }), map[string]string{"country_iso3": "three-letter ISO code"}},
		{"alpha-2 country", with(acme, func(s *Sender) { s.CountryISO3 = "GB" }), map[string]string{"country_iso3": "three-letter ISO code"}},
		{"retired country", with(acme, func(s *Sender) { s.CountryISO3 = "DDR" }), map[string]string{"country_iso3": "three-letter ISO code"}},
		{"line break in the address", with(acme, func(s *Sender) { s.AddressLine = "10 Finsbury\nSquare" }), map[string]string{"address_line": "line breaks"}},
	}
	for _, tt := range tests {
		_, bad := CheckSender(tt.s)
		assertProblems(t, tt.name, bad, tt.want)
	}
}

func TestCountryCheckSender(t *testing.T) {
	minimal := Sender{CompanyName: "Acme Payroll Ltd", RegistrationNumber: "09876543", CountryISO3: "GBR", Code: "09876543"}
	canadian := with(acme, func(s *Sender) { s.CountryISO3, s.PostalCode, s.State = "CAN", "", "" })
	tests := []struct {
		country string
		s       Sender
		want    map[string]string
	}{
		{"GBR", minimal, nil},
		{"HUN", minimal, map[string]string{"address_line": "Payouts to Hungary need the sender's street address", "city": "sender's city"}},
		{"USA", minimal, map[string]string{"address_line": "United States", "city": "United States"}},
		{"USA", acme, nil},
		{"USA", canadian, map[string]string{"postal_code": "postal code", "state": "state"}},
		{"AUS", minimal, map[string]string{"address_line": "Australia"}},
		{"IDN", minimal, map[string]string{"address_line": "Indonesia"}},
		{"THA", minimal, map[string]string{"address_line": "Thailand"}},
		{"PHL", Sender{Code: "09876543"}, nil},
		{"PHL", Sender{CompanyName: "Acme"}, map[string]string{"code": "Philippines"}},
		{"KEN", Sender{Code: "09876543"}, map[string]string{"company_name": "Kenya", "registration_number": "Kenya", "country_iso3": "Kenya"}},
		{"PHL", Sender{Code: "1", CompanyName: "999"}, map[string]string{"company_name": "digits only"}},
	}
	for _, tt := range tests {
		c, _ := LookupCountry(tt.country)
		assertProblems(t, tt.country, c.CheckSender(tt.s), tt.want)
	}
}

func with(s Sender, edit func(*Sender)) Sender { edit(&s); return s }

// assertProblems checks that bad has exactly want's keys, each message
// containing want's text.
func assertProblems(t *testing.T, name string, bad Problems, want map[string]string) {
	t.Helper()
	if !slices.Equal(slices.Sorted(maps.Keys(bad)), slices.Sorted(maps.Keys(want))) {
		t.Errorf("%s: problems = %v, want keys of %v", name, bad, want)
		return
	}
	for k, part := range want {
		if !strings.Contains(bad[k], part) {
			t.Errorf("%s: %s = %q, want it to say %q", name, k, bad[k], part)
		}
	}
}
