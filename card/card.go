// Package card is what Countersign knows of bank cards, whoever the provider:
// whether a number is one, its brand and last four digits, how a card is
// shown to people ("VISA •••• 4242") and how card numbers are masked out of
// text that is stored or logged. It is the one place for each of these.
package card

import "strings"

// ValidPAN reports whether number is 13–19 ASCII digits with a valid Luhn
// check digit. It does not trim or accept separators: normalise first.
func ValidPAN(number string) bool {
	if len(number) < 13 || len(number) > 19 {
		return false
	}
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		c := number[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Brand names the card scheme from the number's leading digits (BIN):
// "visa", "mastercard", "amex", "mir", "maestro", "unionpay", "jcb",
// "discover", or "unknown". A partial number is enough once its prefix is.
func Brand(number string) string {
	p := func(n int) int { return prefix(number, n) }
	in := func(v, lo, hi int) bool { return v >= lo && v <= hi }
	switch {
	case p(1) == 4:
		return "visa"
	case in(p(4), 2200, 2204):
		return "mir"
	case in(p(2), 51, 55), in(p(4), 2221, 2720):
		return "mastercard"
	case p(2) == 34, p(2) == 37:
		return "amex"
	case in(p(4), 3528, 3589):
		return "jcb"
	case p(4) == 6011, in(p(3), 644, 649), p(2) == 65:
		return "discover"
	case p(2) == 62, p(2) == 81:
		return "unionpay"
	case p(2) == 50, in(p(2), 56, 58), p(2) == 67, p(4) == 6304, p(4) == 6390:
		return "maestro"
	}
	return "unknown"
}

// prefix returns the number formed by the first n digits of s, or -1 when s
// is shorter or they are not all digits.
func prefix(s string, n int) int {
	if len(s) < n {
		return -1
	}
	v := 0
	for i := range n {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// Last4 returns the last four characters of number, or "" when it is shorter.
func Last4(number string) string {
	if len(number) < 4 {
		return ""
	}
	return number[len(number)-4:]
}

// Label is a card as people recognise it: "VISA •••• 4242".
func Label(brand, last4 string) string {
	return strings.ToUpper(brand) + " •••• " + last4
}

// MaskNumber shows a card number by its last four digits only: "****4242".
// Nothing else of the number ever appears, whatever it holds.
func MaskNumber(number string) string {
	return "****" + Last4(number)
}

// MaskText masks the digits of every card-like number in s but its last four,
// so that a card number can never reach the database, the logs or the audit
// log through text we did not write (a provider's error description, a
// transport error, a search typed into a filter). A card-like number is 12 or
// more ASCII digits, alone or in groups joined by single spaces or hyphens
// ("4242 4242 4242 4242"); the separators are kept.
func MaskText(s string) string {
	b := []byte(s)
	eachNumber(b, func(start, end int) {
		keep := 4
		for k := end - 1; k >= start; k-- {
			if !isDigit(b[k]) {
				continue
			}
			if keep > 0 {
				keep--
				continue
			}
			b[k] = '*'
		}
	})
	return string(b)
}

// ContainsPAN reports whether text a person typed holds a card number: a
// card-like number (as MaskText finds them) whose digits are a valid PAN.
// Free text is refused with it, so that no card number is stored, shown or
// sent on where only a name, a note or a reason belongs.
func ContainsPAN(s string) bool {
	b := []byte(s)
	found := false
	eachNumber(b, func(start, end int) {
		digits := make([]byte, 0, end-start)
		for _, c := range b[start:end] {
			if isDigit(c) {
				digits = append(digits, c)
			}
		}
		found = found || ValidPAN(string(digits))
	})
	return found
}

// eachNumber calls fn with the bounds of every card-like number in b: 12 or
// more ASCII digits, alone or in groups joined by single spaces or hyphens.
func eachNumber(b []byte, fn func(start, end int)) {
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		// The number runs to its last digit; a single separator between two
		// digits does not end it.
		end, digits := i, 0
		for j := i; j < len(b); j++ {
			switch {
			case isDigit(b[j]):
				digits++
				end = j + 1
				continue
			case (b[j] == ' ' || b[j] == '-') && j+1 < len(b) && isDigit(b[j+1]) && isDigit(b[j-1]):
				continue
			}
			break
		}
		if digits >= 12 {
			fn(i, end)
		}
		i = end
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// KnownBrand reports whether number belongs to a card scheme Brand knows. A
// number of no known scheme (all zeros, say, which passes the Luhn check)
// is no card anyone can be paid to.
func KnownBrand(number string) bool { return Brand(number) != "unknown" }
