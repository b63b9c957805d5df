// Package payout holds the rules of a payout: money, states, and who may approve.
package payout

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"countersign/fail"
)

// Refusals of a typed amount. ParseAmount returns errors that match these under
// errors.Is; their messages may be more specific (naming the currency).
var (
	ErrAmountFormat    = fail.New(fail.Invalid, "amount_format", "Enter an amount like 32.90")
	ErrTooManyDecimals = fail.New(fail.Invalid, "amount_decimals", "The amount has too many decimals")
	ErrNotPositive     = fail.New(fail.Invalid, "amount_not_positive", "Amount must be more than zero")
	ErrTooLarge        = fail.New(fail.Invalid, "amount_too_large", "Amount is too large")
	ErrUnknownCurrency = fail.New(fail.Invalid, "currency_unknown", "Unknown currency")
)

// exponents is ISO 4217 list one: active codes and their minor-unit exponents.
// Left out: units that are not money one can pay out to a card (XAU, XAG, XPD,
// XPT, XDR, XSU, XUA, XBA–XBD, XTS, XXX) and codes already withdrawn (HRK, SLL,
// ZWL, ANG, BGN), so that no one prepares a payout in a dead currency. Fund
// codes such as CLF and UYW stay, so that an amount in one can be read and
// shown, but they are not offered for payouts (see fundCodes).
var exponents = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BOV": 2,
	"BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2,
	"CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2,
	"COU": 2, "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2, "CZK": 2,
	"DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
	"EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2,
	"FJD": 2, "FKP": 2,
	"GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2,
	"HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2,
	"IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0,
	"JMD": 2, "JOD": 3, "JPY": 0,
	"KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2,
	"LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3,
	"MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2,
	"NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2,
	"OMR": 3,
	"PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0,
	"QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0,
	"SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2,
	"SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2,
	"THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2,
	"UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2,
	"VED": 2, "VES": 2, "VND": 0, "VUV": 0,
	"WST": 2,
	"XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0,
	"YER": 2,
	"ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// fundCodes are ISO 4217's fund codes: units of account (CLF, UYW, …) and
// special-purpose funds (USN, CHE, …) that sit on the list beside real
// currencies but are not money a card or bank account is paid in.
var fundCodes = []string{"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"}

// code upper-cases a three-letter currency code. It accepts ASCII letters only:
// strings.ToUpper would turn "uſd" into "USD" and let a look-alike through.
func code(currency string) (string, bool) {
	if len(currency) != 3 {
		return "", false
	}
	b := []byte(currency)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			return "", false
		}
	}
	return string(b), true
}

// Exponent reports the ISO 4217 minor-unit exponent of an active currency code
// (case-insensitive), e.g. USD 2, JPY 0, KWD 3, CLF 4.
func Exponent(currency string) (int, bool) {
	c, ok := code(currency)
	if !ok {
		return 0, false
	}
	exp, ok := exponents[c]
	return exp, ok
}

// Currencies returns the active ISO 4217 codes one can pay out in, sorted,
// for a select list: fund codes are left out.
func Currencies() []string {
	var out []string
	for _, c := range slices.Sorted(maps.Keys(exponents)) {
		if !slices.Contains(fundCodes, c) {
			out = append(out, c)
		}
	}
	return out
}

// Payable reports whether currency is one a payout may be made in: an
// active ISO 4217 code that is not a fund code.
func Payable(currency string) bool {
	c, ok := code(currency)
	return ok && slices.Contains(Currencies(), c)
}

// isFund reports whether an upper-case code is one of fundCodes.
func isFund(c string) bool { return slices.Contains(fundCodes, c) }

// LooksLikeAmount reports whether s is written like an amount at all
// (digits, perhaps grouped with commas, perhaps one decimal point), whatever
// the currency: a search box can say "abc is not an amount" before it asks
// for a currency.
func LooksLikeAmount(s string) bool {
	s = strings.TrimPrefix(strings.TrimSpace(s), "-")
	whole, frac, _ := strings.Cut(s, ".")
	whole = strings.ReplaceAll(whole, ",", "")
	return whole != "" && digits(whole) && digits(frac)
}

// ParseAmount converts an amount typed in major units ("32.90", "1,234.50",
// " 7.5 ") into minor units of currency. It never rounds: more decimals than the
// currency has is an error, so what the user typed is exactly what is paid.
// Commas are accepted only as thousands separators in groups of three, which
// also refuses a decimal comma ("1,5") instead of misreading it. Every error is
// a *fail.Error whose message can be shown to the user.
func ParseAmount(s, currency string) (int64, error) {
	exp, ok := Exponent(currency)
	if !ok {
		return 0, ErrUnknownCurrency
	}
	s = strings.TrimSpace(s)
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		// "-5" is a well-formed amount below zero; saying so is clearer than "Enter an amount like…".
		if _, err := parseMajor(rest, currency, exp); err != nil {
			return 0, err
		}
		return 0, ErrNotPositive
	}
	return parseMajor(s, currency, exp)
}

func parseMajor(s, currency string, exp int) (int64, error) {
	badFormat := ErrAmountFormat.With("Enter an amount like " + example(exp))
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !digits(frac) {
		return 0, badFormat
	}
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		if n := len(groups[0]); n < 1 || n > 3 {
			return 0, badFormat
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, badFormat
			}
		}
		whole = strings.Join(groups, "")
	}
	if !digits(whole) {
		return 0, badFormat
	}
	if len(frac) > exp {
		msg := fmt.Sprintf("%s has at most %d decimals", strings.ToUpper(currency), exp)
		if exp == 0 {
			msg = strings.ToUpper(currency) + " has no decimals"
		}
		return 0, ErrTooManyDecimals.With(msg)
	}
	var n int64
	for _, c := range whole + frac + strings.Repeat("0", exp-len(frac)) {
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, ErrTooLarge
		}
		n = n*10 + d
	}
	if n == 0 {
		return 0, ErrNotPositive
	}
	return n, nil
}

// digits reports whether s holds only ASCII digits (an empty s does).
func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// example is an amount written the way ParseAmount wants it for the exponent.
func example(exp int) string {
	if exp == 0 {
		return "1,000"
	}
	return "32." + ("90" + strings.Repeat("0", exp))[:exp]
}

// FormatAmount renders minor units as major units with thousands separators and
// exactly the currency's decimals: 123450 USD is "1,234.50", 1234 JPY is "1,234".
// Negative amounts get a leading '-'. An unknown currency shows the minor units
// as they are rather than guessing where the decimal point goes.
func FormatAmount(minor int64, currency string) string { return formatAmount(minor, currency, ",") }

// PlainAmount renders minor units as a plain decimal for files a program
// reads (CSV): no thousands separators, a point, the currency's decimals:
// 150000 USD is "1500.00".
func PlainAmount(minor int64, currency string) string { return formatAmount(minor, currency, "") }

func formatAmount(minor int64, currency, thousands string) string {
	exp, _ := Exponent(currency)
	u := uint64(minor)
	sign := ""
	if minor < 0 {
		u = uint64(^minor) + 1 // -minor, without overflowing at math.MinInt64
		sign = "-"
	}
	ds := strconv.FormatUint(u, 10)
	if len(ds) <= exp {
		ds = strings.Repeat("0", exp+1-len(ds)) + ds
	}
	whole, frac := ds[:len(ds)-exp], ds[len(ds)-exp:]
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(thousands)
		}
		b.WriteRune(c)
	}
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
