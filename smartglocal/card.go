package smartglocal

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

// CardBrand names the card scheme from the number's leading digits (BIN):
// "visa", "mastercard", "amex", "mir", "maestro", "unionpay", "jcb",
// "discover", or "unknown". A partial number is enough once its prefix is.
func CardBrand(number string) string {
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
