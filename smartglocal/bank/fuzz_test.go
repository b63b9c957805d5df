package bank

import (
	"strings"
	"testing"
)

// FuzzCheckIBAN: any input is either refused or comes back as an IBAN that
// is upper case, of its country's length, passes mod 97, and checks again to
// itself; masking it never panics nor shows more than its last six.
func FuzzCheckIBAN(f *testing.F) {
	for _, s := range goodIBANs {
		f.Add(s)
		f.Add(strings.ToLower(FormatIBAN(s)))
	}
	for _, s := range []string{"", "GB", "GB00", "GB82WEST1234569876543É", "  ", "ZZ00000000000000", "GB82\u00a0WEST"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		iban, problem := CheckIBAN(in)
		if problem != "" {
			return
		}
		if !alnum(iban) || len(iban) != ibanLengths[iban[:2]] || mod97(iban[4:]+iban[:4]) != 1 {
			t.Fatalf("CheckIBAN(%q) accepted %q", in, iban)
		}
		if again, problem := CheckIBAN(iban); again != iban || problem != "" {
			t.Fatalf("CheckIBAN(%q) = %q, %q: not stable", iban, again, problem)
		}
		if m := MaskIBAN(iban); !strings.HasSuffix(strings.ReplaceAll(m, " ", ""), iban[len(iban)-6:]) || strings.Contains(m, iban[2:len(iban)-6]) {
			t.Fatalf("MaskIBAN(%q) = %q", iban, m)
		}
	})
}

// FuzzCheckABA: an accepted routing number is nine digits whose weighted sum
// is a multiple of ten, and changing any one digit makes it refused.
func FuzzCheckABA(f *testing.F) {
	for _, s := range []string{"021000021", "011000015", "026009593", "0210-0002-1", "021000022", "000000000", "", "12345678a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, problem := CheckABA(in)
		if problem != "" {
			return
		}
		if len(d) != 9 || !allDigits(d) {
			t.Fatalf("CheckABA(%q) accepted %q", in, d)
		}
		for i := range 9 {
			changed := []byte(d)
			changed[i] = '0' + (changed[i]-'0'+1)%10
			if _, problem := CheckABA(string(changed)); problem == "" {
				t.Fatalf("CheckABA accepts both %s and %s", d, changed)
			}
		}
	})
}

// FuzzCheckSortCode: an accepted sort code is always NN-NN-NN.
func FuzzCheckSortCode(f *testing.F) {
	for _, s := range []string{"123456", "12-34-56", "12 34 56", "1234", "12-34-5x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sc, problem := CheckSortCode(in)
		if problem == "" && (len(sc) != 8 || sc[2] != '-' || sc[5] != '-' || !allDigits(sc[:2]+sc[3:5]+sc[6:])) {
			t.Fatalf("CheckSortCode(%q) accepted %q", in, sc)
		}
	})
}
