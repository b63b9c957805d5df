package payout

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits bound one payout, in whole major units of its currency: 100000 is
// 100,000.00 USD, but also 100,000 JPY (about 600 USD) and 100,000 KWD (about
// 325,000 USD), so a console that pays in several currencies names its own
// limit for those whose unit is far from the others'.
type Limits struct {
	// Default applies to every currency not in ByCurrency; 0 means no limit.
	Default int64
	// ByCurrency maps a currency code (upper case) to its own limit.
	ByCurrency map[string]int64
}

// ParseLimits reads the -max-amount setting: a default limit, then any number
// of CUR=limit overrides, separated by commas ("100000,JPY=15000000"). The
// default may be left out ("EUR=50000,USD=60000"); then a currency not named
// has no limit. Every limit is a whole number of major units above zero.
func ParseLimits(s string) (Limits, error) {
	var l Limits
	var hasDefault bool
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		cur, amount, named := strings.Cut(part, "=")
		if !named {
			cur, amount = "", part
		}
		n, err := strconv.ParseInt(strings.TrimSpace(amount), 10, 64)
		if err != nil || n <= 0 {
			return Limits{}, fmt.Errorf("%q: want a whole number of major units above zero", part)
		}
		if !named {
			if hasDefault {
				return Limits{}, errors.New("more than one limit for every currency: name the currency of the others, as in JPY=15000000")
			}
			l.Default, hasDefault = n, true
			continue
		}
		c, ok := code(strings.TrimSpace(cur))
		if _, known := Exponent(c); !ok || !known {
			return Limits{}, fmt.Errorf("%q: %q is not a currency code", part, strings.TrimSpace(cur))
		}
		if _, twice := l.ByCurrency[c]; twice {
			return Limits{}, fmt.Errorf("%s has two limits", c)
		}
		if l.ByCurrency == nil {
			l.ByCurrency = map[string]int64{}
		}
		l.ByCurrency[c] = n
	}
	return l, nil
}

// Max is the largest payout in currency, in its minor units, if there is a limit.
func (l Limits) Max(currency string) (int64, bool) {
	n, ok := l.ByCurrency[currency]
	if !ok {
		n = l.Default
	}
	if n <= 0 {
		return 0, false
	}
	exp, _ := Exponent(currency)
	for range exp {
		if n > math.MaxInt64/10 {
			return math.MaxInt64, true
		}
		n *= 10
	}
	return n, true
}
