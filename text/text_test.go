package text

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"  Jane Smith ", "Jane Smith", false},
		{"Jane   Smith", "Jane Smith", false},
		{"Jane\u00a0Smith", "Jane Smith", false},         // no-break space: shown as a space, sent as one
		{"Jane \u2009\u3000 Smith", "Jane Smith", false}, // thin and ideographic spaces
		{"Jane\u2066Smith", "", true},                    // left-to-right isolate
		{"Jane\u202aSmith", "", true},                    // left-to-right embedding
		{"Jane\u2060Smith", "", true},                    // word joiner
		{"Jane\u200cSmith", "", true},                    // zero-width non-joiner
		{"Jane\u2029Smith", "", true},                    // paragraph separator
		{"Jane\u0085Smith", "", true},                    // next line
		{"", "", false},
		{"Zoë O'Brien-Łukasiewicz", "Zoë O'Brien-Łukasiewicz", false},
		{"李小龍", "李小龍", false},
		{"Jane\nSmith", "", true},
		{"Jane\tSmith", "", true},
		{"Jane\x00Smith", "", true},
		{"Jane\u200bSmith", "", true}, // zero-width space
		{"Jane\u200dSmith", "", true}, // zero-width joiner
		{"Jane\u202eSmith", "", true}, // right-to-left override
		{"Jane\u2067Smith", "", true}, // right-to-left isolate
		{"Jane\u200fSmith", "", true}, // right-to-left mark
		{"\ufeffJane", "", true},      // byte-order mark
		{"Jane\u00adSmith", "", true}, // soft hyphen
		{"Jane\u2028Smith", "", true}, // line separator
		{"Jane\ue000Smith", "", true}, // private use
		{"Jane\xffSmith", "", true},   // invalid UTF-8
		{"Jane\ufffdSmith", "", true}, // replacement character
		{strings.Repeat("é", 30), strings.Repeat("é", 30), false},
		{strings.Repeat("é", 31), "", true}, // characters are counted, not bytes
	}
	for _, tt := range tests {
		got, problem := CheckName(tt.in, 30)
		if (problem != "") != tt.bad {
			t.Errorf("CheckName(%q) problem = %q, want bad=%v", tt.in, problem, tt.bad)
		}
		if !tt.bad && got != tt.want {
			t.Errorf("CheckName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDigitsOnly(t *testing.T) {
	for in, want := range map[string]bool{
		"12345": true, "12 345": true, " 7 ": true, "": false, "  ": false,
		"Acme 1": false, "1st Bank": false, "١٢٣": true,
	} {
		if got := DigitsOnly(in); got != want {
			t.Errorf("DigitsOnly(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestACardNumberIsNeverFreeText: a card number anywhere in free text, in
// one run or in groups, is refused, and the text is not handed back; digits
// that are no card number are fine.
func TestACardNumberIsNeverFreeText(t *testing.T) {
	for _, s := range []string{"4242424242424242", "backup card 4000 0566 5566 5556 please", "Pan 4000056655665556", "ref 5105-1051-0510-5100"} {
		if got, problem := CheckName(s, 200); !HoldsCardNumber(problem) || got != "" {
			t.Errorf("CheckName(%q) = %q, %q; want refused as a card number, nothing kept", s, got, problem)
		}
		if _, problem := CheckReason("because " + s); !HoldsCardNumber(problem) {
			t.Errorf("CheckReason with %q: %q; want refused as a card number", s, problem)
		}
	}
	for _, s := range []string{"Invoice 2026-11-21", "order 123456789012", "4242424242424241", "Jane Smith"} {
		if _, problem := CheckName(s, 200); problem != "" {
			t.Errorf("CheckName(%q): %q; want accepted", s, problem)
		}
	}
}

// TestCheckReason: the one rule for reasons refuses what CheckName refuses,
// an empty reason and one over MaxReasonLen, and cleans the rest.
func TestCheckReason(t *testing.T) {
	for in, ok := range map[string]bool{
		"  duplicate   of #12 ":             true,
		"":                                  false,
		"   ":                               false,
		"line\nbreak":                       false,
		"nul\x00":                           false,
		"over\u202eride":                    false,
		strings.Repeat("x", MaxReasonLen):   true,
		strings.Repeat("x", MaxReasonLen+1): false,
	} {
		got, problem := CheckReason(in)
		if (problem == "") != ok {
			t.Errorf("CheckReason(%q) = %q, %q; want ok=%v", in, got, problem, ok)
		}
	}
	if got, _ := CheckReason("  duplicate   of #12 "); got != "duplicate of #12" {
		t.Errorf("cleaned to %q", got)
	}
}

func TestIsEmail(t *testing.T) {
	tests := map[string]bool{
		"name@example.com":           true,
		"a.b+tag@mail.example.co.uk": true,
		"name@localhost":             false, // no dot in the domain
		"Summer@2026":                false, // a password, typed in the wrong field
		"P@ssw0rd!":                  false,
		"Jane <jane@example.com>":    false, // a display name
		" jane@example.com":          false,
		"jane@example.com ":          false,
		"jane example.com":           false,
		"":                           false,
		strings.Repeat("a", 243) + "@example.com": false, // 255 bytes
		strings.Repeat("a", 242) + "@example.com": true,  // 254
	}
	for in, want := range tests {
		if got := IsEmail(in); got != want {
			t.Errorf("IsEmail(%q) = %v, want %v", in, got, want)
		}
	}
}
