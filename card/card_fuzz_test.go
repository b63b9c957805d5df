package card

import (
	"testing"
	"unicode"
)

// FuzzValidPAN: on any input ValidPAN, Brand and Last4 do not panic, and
// whatever ValidPAN accepts is 13 to 19 ASCII digits that pass Luhn.
func FuzzValidPAN(f *testing.F) {
	for _, s := range []string{"4242424242424242", "4000000000000002", "4242 4242 4242 4242", "", "0", "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "4242424242424241", "12345678901234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := ValidPAN(s)
		_ = Brand(s)
		_ = Last4(s)
		if !ok {
			return
		}
		if len(s) < 13 || len(s) > 19 {
			t.Fatalf("ValidPAN(%q) accepted %d characters", s, len(s))
		}
		sum := 0
		for i := range len(s) {
			r := rune(s[len(s)-1-i])
			if r > unicode.MaxASCII || r < '0' || r > '9' {
				t.Fatalf("ValidPAN(%q) accepted a non-digit", s)
			}
			d := int(r - '0')
			if i%2 == 1 {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		if sum%10 != 0 {
			t.Fatalf("ValidPAN(%q) accepted a number that fails Luhn", s)
		}
	})
}

// FuzzMaskText: masking keeps the length and leaves no 12 digits in a row.
func FuzzMaskText(f *testing.F) {
	for _, s := range []string{"card 4242424242424242 refused", "4242 4242 4242 4242", "1-2-3-4-5-6-7-8-9-0-1-2", "", "12345678901"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := MaskText(s)
		if len(m) != len(s) {
			t.Fatalf("MaskText(%q) = %q: length changed", s, m)
		}
		run := 0
		for i := range len(m) {
			if m[i] >= '0' && m[i] <= '9' {
				if run++; run >= 12 {
					t.Fatalf("MaskText(%q) = %q leaves 12 digits in a row", s, m)
				}
			} else {
				run = 0
			}
		}
	})
}
