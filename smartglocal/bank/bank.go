// Package bank describes payouts to bank accounts through Smart Glocal: one
// field table per country (what to ask, in plain words, how to check it
// offline and where it goes in the provider's JSON), IBAN, SWIFT/BIC, sort
// code and routing-number checks, masking, the remittance purposes, the
// sender company, and the banks the provider accepts per country.
//
// The console's forms and the sandbox use the same tables, so what the one
// accepts the other accepts. The provider's country pages are cut short
// (provider-api.md, "Bank-account payouts by country"); where they say
// nothing, the table follows that file's "what to assume" and says so in a
// comment marked [A].
package bank

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"countersign/text"
)

// Place is where a field goes in the provider's request.
type Place int

// Places of a field.
const (
	InGlobal            Place = iota // payment_method.bank_account.global.<key>
	InRecipient                      // participant_details.recipient.<key>
	InRecipientDocument              // participant_details.recipient.identity_document.<key>
)

// Field is one thing a country asks about the account or its holder, beyond
// what every country asks (bank name, currency, first and last name).
type Field struct {
	Key      string   // the provider's JSON name; also the form field's name and the key in Account.Values
	Label    string   // in plain words, for the form
	Help     string   // one line under the input: the format, an example
	Place    Place    // where the value goes in the request
	Scheme   string   // the Scheme.ID this field belongs to; "" = asked whatever the scheme
	Required bool     // within its scheme
	Options  []string // the only values allowed (a select); one option is filled in by Check
	MaxLen   int      // of the value as sent; a form's maxlength should leave room for spaces and dashes

	kind kind
	min  int // least length of the value as sent, for kindDigits and kindAccount
}

// Path is where the field goes in the request, e.g.
// "payment_method.bank_account.global.iban".
func (f Field) Path() string {
	switch f.Place {
	case InRecipient:
		return "participant_details.recipient." + f.Key
	case InRecipientDocument:
		return "participant_details.recipient.identity_document." + f.Key
	}
	return "payment_method.bank_account.global." + f.Key
}

// Scheme is one way of naming an account where a country offers several: the
// United Kingdom takes a sort code and account number or an IBAN and
// SWIFT/BIC. The first scheme is the default.
type Scheme struct {
	ID    string // e.g. "sort_code", "iban"; stored in Account.Scheme
	Label string // "Sort code and account number"
}

// Country is the field table of one country the provider pays bank accounts
// in.
type Country struct {
	Code       string   // ISO 3166-1 alpha-3, as sent in country_iso3: "GBR"
	ISO2       string   // the country code that starts its IBANs and sits in its banks' BICs: "GB"
	Name       string   // "United Kingdom"
	Currencies []string // ISO 4217, upper case; the first is the default
	Schemes    []Scheme // nil when there is one way only
	Fields     []Field  // in form order
	Note       string   // advice from the provider's page, for the form; may be ""

	sender []senderNeed // the sender fields its page lists
}

// Account is a bank account as the console keeps it: the holder, the bank and
// the country's fields. Check normalises it.
type Account struct {
	Country   string            // ISO 3166-1 alpha-3: "GBR"
	Currency  string            // ISO 4217: "GBP"
	Scheme    string            // the Scheme.ID chosen; "" where the country has one way
	BankName  string            // one of the supported banks for Country
	FirstName string            // the account holder, as the bank knows them
	LastName  string            //
	Values    map[string]string // Field.Key -> value
}

// Field limits of the account holder and the bank name, in characters.
// Australia's page is the only one to give name limits; we apply them
// everywhere [A].
const (
	MaxFirstName = 64
	MaxLastName  = 80
	MaxBankName  = 100
)

// Keys of the fields every country asks, as Problems names them.
const (
	KeyCountry   = "country"
	KeyCurrency  = "currency"
	KeyScheme    = "scheme"
	KeyBankName  = "bank_name"
	KeyFirstName = "first_name"
	KeyLastName  = "last_name"
)

// Problems says what is wrong, by field key (a Field.Key, one of the Key…
// constants, or a sender field); each message can be shown beside its field
// and never repeats the value.
type Problems map[string]string

// Error lists the problems in key order, so that Problems can be returned as
// an error.
func (p Problems) Error() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+": "+p[k])
	}
	return "bank: " + strings.Join(parts, "; ")
}

// Countries returns the field tables, in the order a form should offer them.
// The tables are shared and read-only: do not modify them.
func Countries() []*Country { return slices.Clone(countries) }

// LookupCountry finds a country by its alpha-3 code, in any case.
func LookupCountry(code string) (*Country, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	for _, c := range countries {
		if c.Code == code {
			return c, true
		}
	}
	return nil, false
}

// ActiveFields are the fields an account in scheme asks for, in form order.
// An unknown scheme counts as the default one.
func (c *Country) ActiveFields(scheme string) []Field {
	scheme = c.scheme(scheme)
	var fs []Field
	for _, f := range c.Fields {
		if f.Scheme == "" || f.Scheme == scheme {
			fs = append(fs, f)
		}
	}
	return fs
}

// scheme returns id when it is one of the country's schemes, else the
// default; "" for a country with one way.
func (c *Country) scheme(id string) string {
	if len(c.Schemes) == 0 {
		return ""
	}
	for _, s := range c.Schemes {
		if s.ID == id {
			return id
		}
	}
	return c.Schemes[0].ID
}

// Check normalises a and says what is wrong with it. Values of fields that
// the chosen scheme does not ask for are dropped. When banks is nil the bank
// name is not compared with a list (the list may have changed since the
// account was checked; callers that pay re-check with the list).
func Check(a Account, banks *Banks) (Account, Problems) {
	bad := Problems{}
	c, ok := LookupCountry(a.Country)
	if !ok {
		bad[KeyCountry] = "Choose a country"
		return a, bad
	}
	out := Account{Country: c.Code, Values: map[string]string{}}

	out.Currency = strings.ToUpper(strings.TrimSpace(a.Currency))
	if !slices.Contains(c.Currencies, out.Currency) {
		bad[KeyCurrency] = fmt.Sprintf("Payouts to %s are in %s", c.Name, strings.Join(c.Currencies, " or "))
	}

	if len(c.Schemes) > 0 {
		out.Scheme = c.scheme(a.Scheme)
		if a.Scheme != "" && a.Scheme != out.Scheme {
			bad[KeyScheme] = "Choose how the account is identified"
		}
	}

	out.BankName = checkName(bad, KeyBankName, a.BankName, MaxBankName, "Choose the bank")
	if out.BankName != "" && bad[KeyBankName] == "" && banks != nil && !banks.Has(c.Code, out.BankName) {
		bad[KeyBankName] = fmt.Sprintf("Choose one of the banks the provider supports in %s", c.Name)
	}
	out.FirstName = checkName(bad, KeyFirstName, a.FirstName, MaxFirstName, "Enter the account holder's first name")
	out.LastName = checkName(bad, KeyLastName, a.LastName, MaxLastName, "Enter the account holder's last name")

	for _, f := range c.ActiveFields(out.Scheme) {
		v, problem := f.check(c, a.Values[f.Key])
		switch {
		case problem != "":
			bad[f.Key] = problem
		case v != "":
			out.Values[f.Key] = v
		}
	}
	if len(bad) > 0 {
		return out, bad
	}
	return out, nil
}

// checkName trims and checks a required name, recording a problem under key.
func checkName(bad Problems, key, v string, limit int, missing string) string {
	v, problem := text.CheckName(v, limit)
	switch {
	case problem != "":
		bad[key] = problem
	case v == "":
		bad[key] = missing
	case text.DigitsOnly(v):
		// The provider refuses names made of digits only.
		bad[key] = "A name cannot be digits only"
	}
	return v
}

// Number is the account's number (account_number or bank_account_number),
// or "" when it is named by an IBAN.
func (a Account) Number() string {
	if n := a.Values["account_number"]; n != "" {
		return n
	}
	return a.Values["bank_account_number"]
}

// lowerFirst lowercases a label's first letter unless the label starts with
// an acronym: "Sort code" -> "sort code", "IBAN" stays.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	next, _ := utf8.DecodeRuneInString(s[n:])
	if unicode.IsUpper(next) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
