package bank

import (
	"strings"
	"testing"
)

// Known-good IBANs from the banks' and registries' published examples.
var goodIBANs = []string{
	"GB82WEST12345698765432",
	"GB29NWBK60161331926819",
	"DE89370400440532013000",
	"CZ6508000000192000145399",
	"HU42117730161111101800000000",
	"IL620108000000099999999",
	"TR330006100519786457841326",
	"FR1420041010050500013M02606",
	"NL91ABNA0417164300",
	"BR1800360305000010009795493C1",
	"NO9386011117947",
	"MT84MALT011000012345MTLCAST001S",
}

func TestCheckIBANGood(t *testing.T) {
	for _, iban := range goodIBANs {
		if got, problem := CheckIBAN(iban); problem != "" || got != iban {
			t.Errorf("CheckIBAN(%s) = %q, %q; want it back, no problem", iban, got, problem)
		}
		// As people type them: grouped, lower case, padded.
		typed := "  " + strings.ToLower(FormatIBAN(iban)) + " "
		if got, problem := CheckIBAN(typed); problem != "" || got != iban {
			t.Errorf("CheckIBAN(%q) = %q, %q; want %s", typed, got, problem, iban)
		}
	}
}

func TestCheckIBANBad(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GB82WEST12345698765433", "check digits"}, // last digit changed
		{"GB28WEST12345698765432", "check digits"}, // check digits changed
		{"GB82WEST12345698765423", "check digits"}, // two digits swapped
		{"DE89370400440532013001", "check digits"},
		{"CZ6508000000192000145398", "check digits"},
		{"GB82WEST1234569876543", "22 characters"},   // one short
		{"GB82WEST123456987654321", "22 characters"}, // one long
		{"US82WEST12345698765432", "not a country that uses IBANs"},
		{"GB82-WEST-1234-5698-7654-32", "only letters and digits"},
		{"GB82WEST1234569876543É", "only letters and digits"},
		{"82GBWEST12345698765432", "starts with a two-letter country code"},
		{"GBXXWEST12345698765432", "starts with a two-letter country code"},
		{"GB", "starts with a two-letter country code"},
		{"", "only letters and digits"},
	}
	for _, tt := range tests {
		if _, problem := CheckIBAN(tt.in); !strings.Contains(problem, tt.want) {
			t.Errorf("CheckIBAN(%q) problem = %q, want it to say %q", tt.in, problem, tt.want)
		}
	}
}

func TestIBANLengthsAreRegistryLengths(t *testing.T) {
	// Spot checks against the SWIFT registry, and every entry plausible.
	for cc, want := range map[string]int{"GB": 22, "CZ": 24, "HU": 28, "IL": 23, "TR": 26, "BR": 29, "NO": 15, "LC": 32, "RU": 33} {
		if got := ibanLengths[cc]; got != want {
			t.Errorf("ibanLengths[%s] = %d, want %d", cc, got, want)
		}
	}
	for cc, n := range ibanLengths {
		if len(cc) != 2 || !upperLetter(cc[0]) || !upperLetter(cc[1]) || n < 15 || n > 34 {
			t.Errorf("ibanLengths[%q] = %d", cc, n)
		}
	}
}

func TestFormatIBAN(t *testing.T) {
	if got := FormatIBAN("GB82WEST12345698765432"); got != "GB82 WEST 1234 5698 7654 32" {
		t.Errorf("FormatIBAN = %q", got)
	}
	if got := FormatIBAN("NL91ABNA0417164300"); got != "NL91 ABNA 0417 1643 00" {
		t.Errorf("FormatIBAN = %q", got)
	}
}

func TestCheckBIC(t *testing.T) {
	for in, want := range map[string]string{
		"BARCGB22": "BARCGB22", "NWBKGB2L": "NWBKGB2L", "DEUTDEFF500": "DEUTDEFF500", " barc gb 22 ": "BARCGB22", "KOMBCZPPXXX": "KOMBCZPPXXX",
	} {
		if got, problem := CheckBIC(in); problem != "" || got != want {
			t.Errorf("CheckBIC(%q) = %q, %q; want %q", in, got, problem, want)
		}
	}
	for _, in := range []string{"", "BARCGB2", "BARCGB221", "BARCGB2212", "BARCGB22XXXX", "BARC1B22", "B4RCGB22", "BARCGB2!", "BARCGB22-XX"} {
		if _, problem := CheckBIC(in); problem == "" {
			t.Errorf("CheckBIC(%q) accepted", in)
		}
	}
}
