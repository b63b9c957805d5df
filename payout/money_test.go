package payout

import (
	"errors"
	"math"
	"slices"
	"testing"

	"countersign/fail"
)

func TestExponent(t *testing.T) {
	tests := []struct {
		currency string
		want     int
		wantOK   bool
	}{
		{"USD", 2, true},
		{"usd", 2, true},
		{"uSd", 2, true},
		{"EUR", 2, true},
		{"GBP", 2, true},
		{"JPY", 0, true},
		{"KRW", 0, true},
		{"ISK", 0, true},
		{"XAF", 0, true},
		{"XOF", 0, true},
		{"UGX", 0, true},
		{"KWD", 3, true},
		{"BHD", 3, true},
		{"IQD", 3, true},
		{"JOD", 3, true},
		{"LYD", 3, true},
		{"OMR", 3, true},
		{"TND", 3, true},
		{"CLF", 4, true},
		{"UYW", 4, true},
		{"XCG", 2, true},
		{"ZWG", 2, true},
		{"SLE", 2, true},
		{"VES", 2, true},
		// Not money one can pay to a card.
		{"XAU", 0, false},
		{"XAG", 0, false},
		{"XDR", 0, false},
		{"XTS", 0, false},
		{"XXX", 0, false},
		{"XBA", 0, false},
		// Withdrawn.
		{"HRK", 0, false},
		{"ZWL", 0, false},
		{"SLL", 0, false},
		// Not a code at all.
		{"", 0, false},
		{"US", 0, false},
		{"USDD", 0, false},
		{" USD", 0, false},
		{"U$D", 0, false},
		{"uſd", 0, false}, // long s upper-cases to S; a look-alike must not pass
		{"ＵＳＤ", 0, false},
	}
	for _, tt := range tests {
		got, ok := Exponent(tt.currency)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Exponent(%q) = %d, %v; want %d, %v", tt.currency, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestPlainAmount: the CSV's amounts are plain decimals a spreadsheet reads as numbers.
func TestPlainAmount(t *testing.T) {
	for _, tc := range []struct {
		minor int64
		cur   string
		want  string
	}{{150000, "USD", "1500.00"}, {123456789, "JPY", "123456789"}, {-5, "KWD", "-0.005"}, {100000000, "USD", "1000000.00"}} {
		if got := PlainAmount(tc.minor, tc.cur); got != tc.want {
			t.Errorf("PlainAmount(%d, %s) = %q; want %q", tc.minor, tc.cur, got, tc.want)
		}
	}
	for s, want := range map[string]bool{"10": true, "1,000.50": true, " 7.5 ": true, "abc": false, "": false, "1e3": false, "10.": true, ".5": false} {
		if got := LooksLikeAmount(s); got != want {
			t.Errorf("LooksLikeAmount(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestCurrencies(t *testing.T) {
	got := Currencies()
	if n := len(got); n < 150 || n > 175 {
		t.Errorf("len(Currencies()) = %d; want about 156", n)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Currencies() is not sorted: %v", got)
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Currencies() has duplicates: %v", got)
	}
	for _, c := range got {
		if _, ok := Exponent(c); !ok {
			t.Errorf("Exponent(%q) not ok for a listed currency", c)
		}
		if c2, ok := code(c); !ok || c2 != c {
			t.Errorf("Currencies() lists %q; want three upper-case letters", c)
		}
	}
	for _, c := range []string{"USD", "EUR", "GBP", "JPY", "CHF", "KWD", "XAF", "XCD", "XPF"} {
		if !slices.Contains(got, c) {
			t.Errorf("Currencies() lacks %s", c)
		}
	}
	// Fund codes are readable (Exponent knows them) but not offered for payouts.
	for _, c := range []string{"XAU", "XAG", "XPD", "XPT", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX",
		"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"} {
		if slices.Contains(got, c) {
			t.Errorf("Currencies() lists %s, which is not payable", c)
		}
	}
	got[0] = "ZZZ"
	if Currencies()[0] == "ZZZ" {
		t.Errorf("Currencies() shares its slice between calls")
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		wantErr      error
		wantMsg      string // checked when not empty
	}{
		{in: "32.90", currency: "USD", want: 3290},
		{in: "32.9", currency: "USD", want: 3290},
		{in: "32", currency: "USD", want: 3200},
		{in: "1000", currency: "USD", want: 100000},
		{in: "1,234.50", currency: "USD", want: 123450},
		{in: "1,234,567.89", currency: "usd", want: 123456789},
		{in: " 7.5 ", currency: "USD", want: 750},
		{in: "\t7.50\n", currency: "USD", want: 750},
		{in: "0.01", currency: "USD", want: 1},
		{in: "007.50", currency: "USD", want: 750},
		{in: "999", currency: "USD", want: 99900},
		{in: "1,000", currency: "JPY", want: 1000},
		{in: "1234", currency: "JPY", want: 1234},
		{in: "1.234", currency: "KWD", want: 1234},
		{in: "0.001", currency: "BHD", want: 1},
		{in: "1.2345", currency: "CLF", want: 12345},
		{in: "92233720368547758.07", currency: "USD", want: math.MaxInt64},
		{in: "92,233,720,368,547,758.07", currency: "USD", want: math.MaxInt64},
		{in: "9223372036854775807", currency: "JPY", want: math.MaxInt64},
		{in: "0000000000000000000000001", currency: "JPY", want: 1},

		{in: "", currency: "USD", wantErr: ErrAmountFormat, wantMsg: "Enter an amount like 32.90"},
		{in: "   ", currency: "USD", wantErr: ErrAmountFormat},
		{in: "abc", currency: "USD", wantErr: ErrAmountFormat},
		{in: "", currency: "JPY", wantErr: ErrAmountFormat, wantMsg: "Enter an amount like 1,000"},
		{in: "x", currency: "KWD", wantErr: ErrAmountFormat, wantMsg: "Enter an amount like 32.900"},
		{in: "x", currency: "CLF", wantErr: ErrAmountFormat, wantMsg: "Enter an amount like 32.9000"},
		{in: ".5", currency: "USD", wantErr: ErrAmountFormat},
		{in: "5.", currency: "USD", wantErr: ErrAmountFormat},
		{in: ".", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1.2.3", currency: "USD", wantErr: ErrAmountFormat},
		{in: "+5", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1e3", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1E3", currency: "USD", wantErr: ErrAmountFormat},
		{in: "0x10", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1 000", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1_000", currency: "USD", wantErr: ErrAmountFormat},
		{in: "$5", currency: "USD", wantErr: ErrAmountFormat},
		{in: "5 USD", currency: "USD", wantErr: ErrAmountFormat},
		{in: "NaN", currency: "USD", wantErr: ErrAmountFormat},
		{in: "Inf", currency: "USD", wantErr: ErrAmountFormat},
		{in: "٣", currency: "USD", wantErr: ErrAmountFormat}, // Arabic-Indic three
		{in: "１２", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1,5", currency: "USD", wantErr: ErrAmountFormat}, // decimal comma is not guessed at
		{in: "1,50", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1,5000", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1234,567", currency: "USD", wantErr: ErrAmountFormat},
		{in: ",123", currency: "USD", wantErr: ErrAmountFormat},
		{in: "123,", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1,,234", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1,234,", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1.234,56", currency: "USD", wantErr: ErrAmountFormat},
		{in: "1.5,00", currency: "USD", wantErr: ErrAmountFormat},
		{in: "--5", currency: "USD", wantErr: ErrAmountFormat},
		{in: "- 5", currency: "USD", wantErr: ErrAmountFormat},

		{in: "32.901", currency: "USD", wantErr: ErrTooManyDecimals, wantMsg: "USD has at most 2 decimals"},
		{in: "32.900", currency: "usd", wantErr: ErrTooManyDecimals, wantMsg: "USD has at most 2 decimals"},
		{in: "1.000", currency: "USD", wantErr: ErrTooManyDecimals}, // a European "one thousand" is not read as 1
		{in: "0.001", currency: "USD", wantErr: ErrTooManyDecimals},
		{in: "1.5", currency: "JPY", wantErr: ErrTooManyDecimals, wantMsg: "JPY has no decimals"},
		{in: "1.0", currency: "JPY", wantErr: ErrTooManyDecimals},
		{in: "1.2345", currency: "KWD", wantErr: ErrTooManyDecimals, wantMsg: "KWD has at most 3 decimals"},

		{in: "0", currency: "USD", wantErr: ErrNotPositive, wantMsg: "Amount must be more than zero"},
		{in: "0.00", currency: "USD", wantErr: ErrNotPositive},
		{in: "0,000", currency: "USD", wantErr: ErrNotPositive},
		{in: "-5", currency: "USD", wantErr: ErrNotPositive},
		{in: "-0", currency: "USD", wantErr: ErrNotPositive},
		{in: "-1,234.50", currency: "USD", wantErr: ErrNotPositive},
		{in: "-1.234", currency: "USD", wantErr: ErrTooManyDecimals},
		{in: "-x", currency: "USD", wantErr: ErrAmountFormat},

		{in: "92233720368547758.08", currency: "USD", wantErr: ErrTooLarge, wantMsg: "Amount is too large"},
		{in: "9223372036854775808", currency: "JPY", wantErr: ErrTooLarge},
		{in: "99999999999999999999999999", currency: "USD", wantErr: ErrTooLarge},
		{in: "-99999999999999999999999999", currency: "USD", wantErr: ErrTooLarge},

		{in: "5", currency: "XAU", wantErr: ErrUnknownCurrency, wantMsg: "Unknown currency"},
		{in: "5", currency: "", wantErr: ErrUnknownCurrency},
		{in: "5", currency: "dollars", wantErr: ErrUnknownCurrency},
		{in: "x", currency: "ABC", wantErr: ErrUnknownCurrency},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in, tt.currency)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("ParseAmount(%q, %q) = %d, %v; want %d, %v", tt.in, tt.currency, got, err, tt.want, tt.wantErr)
			continue
		}
		if err == nil {
			continue
		}
		var pe *fail.Error
		if !errors.As(err, &pe) || pe.Message == "" {
			t.Errorf("ParseAmount(%q, %q) error %#v; want an *Error with a message", tt.in, tt.currency, err)
		}
		if tt.wantMsg != "" && err.Error() != tt.wantMsg {
			t.Errorf("ParseAmount(%q, %q) error = %q; want %q", tt.in, tt.currency, err, tt.wantMsg)
		}
	}
}

func TestErrorIs(t *testing.T) {
	_, err := ParseAmount("1.234", "USD")
	if !errors.Is(err, ErrTooManyDecimals) {
		t.Errorf("errors.Is(%v, ErrTooManyDecimals) = false; want true", err)
	}
	if errors.Is(err, ErrAmountFormat) {
		t.Errorf("errors.Is(%v, ErrAmountFormat) = true; want false", err)
	}
	if errors.Is(err, errors.New(err.Error())) {
		t.Errorf("errors.Is matched a plain error with the same text")
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{123450, "USD", "1,234.50"},
		{123450, "usd", "1,234.50"},
		{3290, "USD", "32.90"},
		{1, "USD", "0.01"},
		{10, "USD", "0.10"},
		{0, "USD", "0.00"},
		{99, "USD", "0.99"},
		{100, "USD", "1.00"},
		{99999, "USD", "999.99"},
		{100000, "USD", "1,000.00"},
		{123456789, "USD", "1,234,567.89"},
		{-1, "USD", "-0.01"},
		{-123450, "USD", "-1,234.50"},
		{math.MaxInt64, "USD", "92,233,720,368,547,758.07"},
		{math.MinInt64, "USD", "-92,233,720,368,547,758.08"},
		{1234, "JPY", "1,234"},
		{0, "JPY", "0"},
		{999, "JPY", "999"},
		{1000, "JPY", "1,000"},
		{-1000, "JPY", "-1,000"},
		{math.MaxInt64, "JPY", "9,223,372,036,854,775,807"},
		{1234, "KWD", "1.234"},
		{1, "BHD", "0.001"},
		{1234567, "KWD", "1,234.567"},
		{12345, "CLF", "1.2345"},
		{1, "CLF", "0.0001"},
		{123456, "XYZ", "123,456"}, // unknown: minor units as they are
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatAmount(%d, %q) = %q; want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

// TestFormatParseRoundTrip checks every currency at its edges.
func TestFormatParseRoundTrip(t *testing.T) {
	for _, c := range Currencies() {
		for _, v := range []int64{1, 9, 10, 999, 1000, 1234567, math.MaxInt64} {
			s := FormatAmount(v, c)
			got, err := ParseAmount(s, c)
			if got != v || err != nil {
				t.Errorf("ParseAmount(FormatAmount(%d, %s) = %q) = %d, %v; want %d, nil", v, c, s, got, err, v)
			}
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzParseAmount.
	f.Fuzz(func(t *testing.T, s, currency string) {
		v, err := ParseAmount(s, currency)
		if err != nil {
			var pe *fail.Error
			if !errors.As(err, &pe) || pe.Message == "" || v != 0 {
				t.Fatalf("ParseAmount(%q, %q) = %d, %#v; want 0 and a *fail.Error with a message", s, currency, v, err)
			}
			return
		}
		if v <= 0 {
			t.Fatalf("ParseAmount(%q, %q) = %d; want > 0", s, currency, v)
		}
		formatted := FormatAmount(v, currency)
		again, err := ParseAmount(formatted, currency)
		if again != v || err != nil {
			t.Fatalf("ParseAmount(%q, %q) = %d, but ParseAmount(FormatAmount = %q) = %d, %v", s, currency, v, formatted, again, err)
		}
	})
}
