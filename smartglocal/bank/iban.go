package bank

import (
	"fmt"
	"strings"
)

// ibanLengths is the length of an IBAN per country code, from the SWIFT IBAN
// registry.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
	"LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
	"NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
	"RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
	"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// CheckIBAN normalises an IBAN typed with or without spaces, in any case, to
// the provider's form (upper case, no spaces) and checks it: only letters and
// digits, a country that uses IBANs, that country's length, and the mod-97
// check digits. The problem, if any, can be shown to the person who typed it.
func CheckIBAN(s string) (string, string) {
	iban := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	switch {
	case !alnum(iban):
		return iban, "An IBAN has only letters and digits (spaces are fine)"
	case len(iban) < 4 || !upperLetter(iban[0]) || !upperLetter(iban[1]) || !allDigits(iban[2:4]):
		return iban, "An IBAN starts with a two-letter country code and two check digits"
	}
	want, ok := ibanLengths[iban[:2]]
	switch {
	case !ok:
		return iban, fmt.Sprintf("%s is not a country that uses IBANs", iban[:2])
	case len(iban) != want:
		return iban, fmt.Sprintf("An IBAN from %s has %d characters; this one has %d", iban[:2], want, len(iban))
	case mod97(iban[4:]+iban[:4]) != 1:
		return iban, "The IBAN's check digits do not match: check it for a typing mistake"
	}
	return iban, ""
}

// mod97 is the ISO 7064 MOD 97-10 remainder of s read as a number, letters
// counting as 10 (A) to 35 (Z). s holds only digits and upper-case letters.
func mod97(s string) int {
	r := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upperLetter(c) {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}

// FormatIBAN prints a normalised IBAN in groups of four, as banks print them:
// "GB82 WEST 1234 5698 7654 32". Only the verify step shows it whole.
func FormatIBAN(iban string) string {
	var b strings.Builder
	for i := 0; i < len(iban); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(iban[i:min(i+4, len(iban))])
	}
	return b.String()
}

// CheckBIC normalises a SWIFT/BIC code (ISO 9362) to upper case without
// spaces and checks its shape: 8 or 11 characters, four letters for the
// bank, two letters for its country, two letters or digits for its place,
// and optionally three for its branch.
func CheckBIC(s string) (string, string) {
	bic := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if (len(bic) != 8 && len(bic) != 11) || !alnum(bic) {
		return bic, "A SWIFT/BIC is 8 or 11 letters and digits, as BARCGB22"
	}
	for i := range 6 {
		if !upperLetter(bic[i]) {
			return bic, "A SWIFT/BIC starts with six letters: four for the bank, two for its country"
		}
	}
	return bic, ""
}
