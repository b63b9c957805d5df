package smartglocal

import (
	"testing"
	"unicode"
)

// FuzzValidPAN: on any input ValidPAN, CardBrand and Last4 do not panic, and
// whatever ValidPAN accepts is 13 to 19 ASCII digits that pass Luhn.
func FuzzValidPAN(f *testing.F) {
	for _, s := range []string{"4242424242424242", "4000000000000002", "4242 4242 4242 4242", "", "0", "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "4242424242424241", "12345678901234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := ValidPAN(s)
		_ = CardBrand(s)
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
