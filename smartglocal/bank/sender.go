package bank

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"

	"countersign/text"
)

// Sender is the company that pays: the console's own organisation, set once
// in settings. Bank-account payouts carry it in participant_details.sender.
type Sender struct {
	CompanyName        string // at most 100 characters, not digits only
	RegistrationNumber string // the company's registration number
	CountryISO3        string // where the company is registered: ISO 3166-1 alpha-3
	Code               string // the provider's pages describe it as "sender company registration number" too; what it really is, is not said
	AddressLine        string
	City               string
	PostalCode         string
	State              string
}

// Keys of the sender's fields, as Problems names them: the provider's JSON
// names.
const (
	SenderCompanyName        = "company_name"
	SenderRegistrationNumber = "registration_number"
	SenderCountry            = "country_iso3"
	SenderCode               = "code"
	SenderAddressLine        = "address_line"
	SenderCity               = "city"
	SenderPostalCode         = "postal_code"
	SenderState              = "state"
)

// senderField is one sender field: its key, its limit and where its value is.
type senderField struct {
	key, label string
	max        int
	get        func(*Sender) *string
}

// senderFields lists the sender's fields in form order. The limits are the
// provider's where a page gives one (company name 100, registration number
// 64, address 256) and Australia's recipient limits elsewhere [A].
var senderFields = []senderField{
	{SenderCompanyName, "company name", 100, func(s *Sender) *string { return &s.CompanyName }},
	{SenderRegistrationNumber, "registration number", 64, func(s *Sender) *string { return &s.RegistrationNumber }},
	{SenderCountry, "country", 3, func(s *Sender) *string { return &s.CountryISO3 }},
	{SenderCode, "company code", 64, func(s *Sender) *string { return &s.Code }},
	{SenderAddressLine, "street address", 256, func(s *Sender) *string { return &s.AddressLine }},
	{SenderCity, "city", 64, func(s *Sender) *string { return &s.City }},
	{SenderPostalCode, "postal code", 64, func(s *Sender) *string { return &s.PostalCode }},
	{SenderState, "state or region", 64, func(s *Sender) *string { return &s.State }},
}

// senderNeed is a sender field a country's page lists, and whether it is
// mandatory there.
type senderNeed struct {
	key      string
	required bool
}

// commonSender is what almost every page requires of the sender.
var commonSender = []senderNeed{
	{SenderCompanyName, true}, {SenderRegistrationNumber, true}, {SenderCountry, true}, {SenderCode, true},
}

// CheckSender normalises the sender company for the settings form and says
// what is wrong: the shape of every field given, and the four fields almost
// every country requires. Whether a payout to a given country has all it
// needs is Country.CheckSender's answer.
func CheckSender(s Sender) (Sender, Problems) {
	s, bad := normaliseSender(s)
	for _, n := range commonSender {
		if f := senderFieldOf(n.key); *f.get(&s) == "" && bad[n.key] == "" {
			bad[n.key] = "Enter the " + f.label
		}
	}
	if len(bad) > 0 {
		return s, bad
	}
	return s, nil
}

// CheckSender says what a payout to c lacks in the sender, naming the
// country, besides any field of the wrong shape.
func (c *Country) CheckSender(s Sender) Problems {
	s, bad := normaliseSender(s)
	for _, n := range c.senderNeeds(s) {
		if f := senderFieldOf(n.key); n.required && *f.get(&s) == "" && bad[n.key] == "" {
			bad[n.key] = fmt.Sprintf("Payouts to %s need the sender's %s: set it in the settings", c.Name, f.label)
		}
	}
	if len(bad) > 0 {
		return bad
	}
	return nil
}

// senderNeeds is what c's page lists for the sender. The USA's page makes
// the postal code and state mandatory for senders from Canada only.
func (c *Country) senderNeeds(s Sender) []senderNeed {
	if c.Code != "USA" || s.CountryISO3 != "CAN" {
		return c.sender
	}
	needs := make([]senderNeed, 0, len(c.sender))
	for _, n := range c.sender {
		if n.key == SenderPostalCode || n.key == SenderState {
			n.required = true
		}
		needs = append(needs, n)
	}
	return needs
}

// normaliseSender trims every field and checks the shape of those given.
func normaliseSender(s Sender) (Sender, Problems) {
	bad := Problems{}
	for _, f := range senderFields {
		v, problem := text.CheckName(*f.get(&s), f.max)
		*f.get(&s) = v
		if problem != "" && f.key != SenderCountry {
			bad[f.key] = problem
		}
	}
	if text.DigitsOnly(s.CompanyName) {
		bad[SenderCompanyName] = "A company name cannot be digits only"
	}
	if s.CountryISO3 != "" {
		s.CountryISO3 = strings.ToUpper(s.CountryISO3)
		if !ValidCountryISO3(s.CountryISO3) {
			bad[SenderCountry] = "Enter the country as its three-letter ISO code, as GBR"
		}
	}
	return s, bad
}

func senderFieldOf(key string) senderField {
	for _, f := range senderFields {
		if f.key == key {
			return f
		}
	}
	panic("bank: no sender field " + key)
}

// ValidCountryISO3 reports whether s is the upper-case ISO 3166-1 alpha-3 code
// of a country that exists today.
func ValidCountryISO3(s string) bool {
	if len(s) != 3 || !upperLetter(s[0]) || !upperLetter(s[1]) || !upperLetter(s[2]) {
		return false
	}
	r, err := language.ParseRegion(s)
	return err == nil && r.IsCountry() && !r.IsPrivateUse() && r.ISO3() == s && r.Canonicalize() == r
}
