package bank

import (
	"fmt"
	"slices"
	"strings"

	"countersign/text"
)

// kind says how a field's value is checked and normalised.
type kind int

const (
	kindText      kind = iota // one line of text: an address, a city, a state
	kindChoice                // one of Field.Options
	kindIBAN                  // IBAN of the country, sent without spaces
	kindBIC                   // SWIFT/BIC of a bank in the country
	kindSortCode              // UK sort code, sent as 12-34-56
	kindABA                   // US routing number, 9 digits with its check digit
	kindCARouting             // Canadian routing number, 0AAABBBBB
	kindBSB                   // Australian BSB, sent as 6 digits
	kindDigits                // digits only, Field.min to MaxLen of them
	kindAccount               // letters and digits, Field.min to MaxLen of them
	kindZIP                   // US ZIP code: 12345 or 12345-6789
	kindCPF                   // Brazilian CPF: 11 digits with two check digits
	kindEmail                 // an email address
	kindPhone                 // a mobile number (MSISDN), sent as digits
)

// check normalises v for f in country c. It returns "" and no problem for an
// optional field left empty.
func (f Field) check(c *Country, v string) (string, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		if len(f.Options) == 1 {
			return f.Options[0], ""
		}
		if f.Required {
			if f.kind == kindChoice {
				return "", "Choose the " + lowerFirst(f.Label)
			}
			return "", "Enter the " + lowerFirst(f.Label)
		}
		return "", ""
	}
	switch f.kind {
	case kindChoice:
		v = strings.ToUpper(v)
		if !slices.Contains(f.Options, v) {
			return "", "Choose one of " + strings.Join(f.Options, ", ")
		}
		return v, ""
	case kindIBAN:
		iban, problem := CheckIBAN(v)
		if problem == "" && iban[:2] != c.ISO2 {
			problem = fmt.Sprintf("An IBAN for an account in %s starts with %s", c.Name, c.ISO2)
		}
		return iban, problem
	case kindBIC:
		bic, problem := CheckBIC(v)
		if problem == "" && bic[4:6] != c.ISO2 {
			problem = fmt.Sprintf("The SWIFT/BIC of a bank in %s has %s as its 5th and 6th characters", c.Name, c.ISO2)
		}
		return bic, problem
	case kindSortCode:
		return CheckSortCode(v)
	case kindABA:
		return CheckABA(v)
	case kindCARouting:
		d := stripSeparators(v)
		if len(d) != 9 || !allDigits(d) || d[0] != '0' {
			return d, "Enter nine digits: 0, the 3-digit institution number, then the 5-digit transit number"
		}
		return d, ""
	case kindBSB:
		d := stripSeparators(v)
		if len(d) != 6 || !allDigits(d) {
			return d, "A BSB is six digits, as 062-000"
		}
		return d, ""
	case kindDigits:
		d := stripSeparators(v)
		if !allDigits(d) || len(d) < f.min || len(d) > f.MaxLen {
			return d, "Use " + count(f.min, f.MaxLen) + " digits"
		}
		return d, ""
	case kindAccount:
		d := strings.ToUpper(stripSeparators(v))
		if !alnum(d) || len(d) < f.min || len(d) > f.MaxLen {
			return d, "Use " + count(f.min, f.MaxLen) + " letters and digits"
		}
		return d, ""
	case kindZIP:
		if len(v) == 5 && allDigits(v) || len(v) == 10 && allDigits(v[:5]) && v[5] == '-' && allDigits(v[6:]) {
			return v, ""
		}
		return v, "A ZIP code is five digits, or five, a dash and four"
	case kindCPF:
		return CheckCPF(v)
	case kindEmail:
		if !text.IsEmail(v) || len(v) > f.MaxLen {
			return v, "Enter an email address, as name@example.com"
		}
		return v, ""
	case kindPhone:
		d := strings.TrimPrefix(strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(v), "+")
		if !allDigits(d) || len(d) < 7 || len(d) > 15 {
			return d, "Enter the mobile number with its country code, 7 to 15 digits"
		}
		return d, ""
	}
	v, problem := text.CheckName(v, f.MaxLen)
	return v, problem
}

// count says "8" or "4 to 17".
func count(least, most int) string {
	if least == most {
		return fmt.Sprint(least)
	}
	return fmt.Sprintf("%d to %d", least, most)
}

// stripSeparators removes the spaces and dashes people type inside numbers.
func stripSeparators(s string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func upperLetter(c byte) bool { return 'A' <= c && c <= 'Z' }

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !upperLetter(s[i]) && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return s != ""
}

// CheckSortCode normalises a UK sort code typed as 123456, 12-34-56 or
// 12 34 56 to the provider's example form, 12-34-56 (its page shows the
// dashes and does not say whether to send them [A]).
func CheckSortCode(s string) (string, string) {
	d := stripSeparators(strings.TrimSpace(s))
	if len(d) != 6 || !allDigits(d) {
		return d, "A sort code is six digits, as 12-34-56"
	}
	return d[0:2] + "-" + d[2:4] + "-" + d[4:6], ""
}

// CheckABA checks a US routing number (ABA routing transit number): nine
// digits, a Federal Reserve prefix (01–12, 21–32, 61–72 or 80) and the check
// digit 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). Spaces and
// dashes are dropped.
func CheckABA(s string) (string, string) {
	d := stripSeparators(strings.TrimSpace(s))
	if len(d) != 9 || !allDigits(d) {
		return d, "A routing number is nine digits"
	}
	prefix := int(d[0]-'0')*10 + int(d[1]-'0')
	if !(1 <= prefix && prefix <= 12 || 21 <= prefix && prefix <= 32 || 61 <= prefix && prefix <= 72 || prefix == 80) {
		return d, "This is not a US routing number: check the first two digits"
	}
	sum := 0
	for i, w := range [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1} {
		sum += w * int(d[i]-'0')
	}
	if sum%10 != 0 {
		return d, "This routing number's check digit does not match: check it for a typing mistake"
	}
	return d, ""
}

// CheckCPF checks a Brazilian CPF typed as 12345678909 or 123.456.789-09:
// eleven digits, not all the same, whose last two are its mod-11 check
// digits. It is sent as 11 digits.
func CheckCPF(s string) (string, string) {
	d := strings.NewReplacer(".", "", "-", "", " ", "").Replace(strings.TrimSpace(s))
	if len(d) != 11 || !allDigits(d) {
		return d, "A CPF is 11 digits, as 123.456.789-09"
	}
	if strings.Count(d, d[:1]) == 11 {
		return d, "This is not a valid CPF"
	}
	for n := 9; n <= 10; n++ {
		sum := 0
		for i := range n {
			sum += int(d[i]-'0') * (n + 1 - i)
		}
		check := sum * 10 % 11 % 10
		if int(d[n]-'0') != check {
			return d, "This CPF's check digits do not match: check it for a typing mistake"
		}
	}
	return d, ""
}
