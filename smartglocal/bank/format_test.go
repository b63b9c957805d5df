package bank

import (
	"strings"
	"testing"
)

func TestCheckSortCode(t *testing.T) {
	for _, in := range []string{"123456", "12-34-56", "12 34 56", " 12-34-56 "} {
		if got, problem := CheckSortCode(in); problem != "" || got != "12-34-56" {
			t.Errorf("CheckSortCode(%q) = %q, %q; want 12-34-56", in, got, problem)
		}
	}
	for _, in := range []string{"", "12345", "1234567", "12-34-5a", "12.34.56", "１２３４５６"} {
		if _, problem := CheckSortCode(in); problem == "" {
			t.Errorf("CheckSortCode(%q) accepted", in)
		}
	}
}

func TestCheckABA(t *testing.T) {
	// Published routing numbers of US banks and Federal Reserve banks.
	for _, in := range []string{"021000021", "011000015", "026009593", "121000358", "111000025", "122105155", "0210-0002-1"} {
		if got, problem := CheckABA(in); problem != "" || len(got) != 9 {
			t.Errorf("CheckABA(%q) = %q, %q; want accepted", in, got, problem)
		}
	}
	tests := []struct{ in, want string }{
		{"021000022", "check digit"}, // last digit changed
		{"012000021", "check digit"}, // two digits swapped
		{"121000385", "check digit"},
		{"000000000", "first two digits"}, // passes the sum, no Federal Reserve prefix
		{"131000020", "first two digits"},
		{"02100002", "nine digits"},
		{"0210000211", "nine digits"},
		{"02100002a", "nine digits"},
		{"", "nine digits"},
	}
	for _, tt := range tests {
		if _, problem := CheckABA(tt.in); !strings.Contains(problem, tt.want) {
			t.Errorf("CheckABA(%q) problem = %q, want it to say %q", tt.in, problem, tt.want)
		}
	}
}

func TestCheckCPF(t *testing.T) {
	for in, want := range map[string]string{"123.456.789-09": "12345678909", "11144477735": "11144477735", "529.982.247-25": "52998224725"} {
		if got, problem := CheckCPF(in); problem != "" || got != want {
			t.Errorf("CheckCPF(%q) = %q, %q; want %s", in, got, problem, want)
		}
	}
	for _, in := range []string{"123.456.789-00", "123.456.789-19", "111.111.111-11", "00000000000", "1234567890", "123456789012", "1234567890a"} {
		if _, problem := CheckCPF(in); problem == "" {
			t.Errorf("CheckCPF(%q) accepted", in)
		}
	}
}

func TestFieldKinds(t *testing.T) {
	gb, _ := LookupCountry("GBR")
	tests := []struct {
		field      Field
		in, want   string
		wantBad    bool
		wantInText string
	}{
		{Field{Label: "Account number", kind: kindDigits, min: 8, MaxLen: 8}, "1234 5678", "12345678", false, ""},
		{Field{Label: "Account number", kind: kindDigits, min: 8, MaxLen: 8}, "1234567", "", true, "Use 8 digits"},
		{Field{Label: "Account number", kind: kindDigits, min: 4, MaxLen: 17}, "12a4", "", true, "Use 4 to 17 digits"},
		{Field{Label: "Account number", kind: kindAccount, min: 4, MaxLen: 34}, "ab-12 34", "AB1234", false, ""},
		{Field{Label: "Account number", kind: kindAccount, min: 4, MaxLen: 34}, "12/34", "", true, "letters and digits"},
		{Field{Label: "Routing number", kind: kindCARouting}, "000112345", "000112345", false, ""},
		{Field{Label: "Routing number", kind: kindCARouting}, "100112345", "", true, "0, the 3-digit institution"},
		{Field{Label: "BSB", kind: kindBSB}, "062-000", "062000", false, ""},
		{Field{Label: "BSB", kind: kindBSB}, "06-2000", "062000", false, ""},
		{Field{Label: "BSB", kind: kindBSB}, "0620001", "", true, "six digits"},
		{Field{Label: "ZIP code", kind: kindZIP}, "10001", "10001", false, ""},
		{Field{Label: "ZIP code", kind: kindZIP}, "10001-1234", "10001-1234", false, ""},
		{Field{Label: "ZIP code", kind: kindZIP}, "1000", "", true, "five digits"},
		{Field{Label: "Email", kind: kindEmail, MaxLen: 254}, "li@example.hk", "li@example.hk", false, ""},
		{Field{Label: "Email", kind: kindEmail, MaxLen: 254}, "Li <li@example.hk>", "", true, "email address"},
		{Field{Label: "Email", kind: kindEmail, MaxLen: 254}, "li@localhost", "", true, "email address"},
		{Field{Label: "Mobile number", kind: kindPhone}, "+852 9123-4567", "85291234567", false, ""},
		{Field{Label: "Mobile number", kind: kindPhone}, "12345", "", true, "7 to 15 digits"},
		{Field{Label: "Account type", kind: kindChoice, Options: []string{"CHECKING", "SAVINGS"}}, "savings", "SAVINGS", false, ""},
		{Field{Label: "Account type", kind: kindChoice, Options: []string{"CHECKING", "SAVINGS"}}, "CURRENT", "", true, "Choose one of CHECKING, SAVINGS"},
		{Field{Label: "Account type", kind: kindChoice, Required: true, Options: []string{"CHECKING"}}, "", "CHECKING", false, ""},
		{Field{Label: "Account type", kind: kindChoice, Required: true, Options: []string{"CHECKING", "SAVINGS"}}, "", "", true, "Choose the account type"},
		{Field{Label: "Sort code", kind: kindSortCode, Required: true}, "  ", "", true, "Enter the sort code"},
		{Field{Label: "IBAN", kind: kindIBAN, Required: true}, "", "", true, "Enter the IBAN"},
		{Field{Label: "IBAN", kind: kindIBAN}, "", "", false, ""},
		{Field{Label: "IBAN", kind: kindIBAN}, "DE89 3704 0044 0532 0130 00", "", true, "starts with GB"},
		{Field{Label: "SWIFT/BIC", kind: kindBIC}, "DEUTDEFF", "", true, "GB as its 5th and 6th"},
		{Field{Label: "Street address", MaxLen: 10}, " 1 Main St ", "1 Main St", false, ""},
		{Field{Label: "Street address", MaxLen: 10}, "1 Main Street", "", true, "10 characters"},
		{Field{Label: "Street address", MaxLen: 99}, "1 Main St\u202e", "", true, "text-direction"},
	}
	for _, tt := range tests {
		got, problem := tt.field.check(gb, tt.in)
		if (problem != "") != tt.wantBad || !strings.Contains(problem, tt.wantInText) {
			t.Errorf("%s %q: problem %q, want bad=%v containing %q", tt.field.Label, tt.in, problem, tt.wantBad, tt.wantInText)
		}
		if !tt.wantBad && got != tt.want {
			t.Errorf("%s %q = %q, want %q", tt.field.Label, tt.in, got, tt.want)
		}
	}
}
