package payout

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLimits(t *testing.T) {
	tests := []struct {
		in   string
		want Limits
		err  string // part of the error; "" for none
	}{
		{"100000", Limits{Default: 100000}, ""},
		{" 100000 , jpy = 15000000,KWD=30000", Limits{Default: 100000, ByCurrency: map[string]int64{"JPY": 15000000, "KWD": 30000}}, ""},
		{"EUR=50000,USD=60000", Limits{ByCurrency: map[string]int64{"EUR": 50000, "USD": 60000}}, ""},
		{"", Limits{}, "want a whole number"},
		{"0", Limits{}, "above zero"},
		{"-5", Limits{}, "above zero"},
		{"1.5", Limits{}, "whole number"},
		{"100000,200000", Limits{}, "more than one limit for every currency"},
		{"100000,XYZ=5", Limits{}, `"XYZ" is not a currency code`},
		{"100000,US=5", Limits{}, "not a currency code"},
		{"USD=5,usd=6", Limits{}, "USD has two limits"},
		{"100000,JPY=", Limits{}, "whole number"},
	}
	for _, tt := range tests {
		l, err := ParseLimits(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseLimits(%q) = %v, %v; want an error with %q", tt.in, l, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseLimits(%q): %v", tt.in, err)
		case tt.err == "" && !reflect.DeepEqual(l, tt.want):
			t.Errorf("ParseLimits(%q) = %+v; want %+v", tt.in, l, tt.want)
		}
	}
}

func TestLimitsMaxInMinorUnits(t *testing.T) {
	l, err := ParseLimits("100000,JPY=15000000,KWD=30000")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		currency string
		want     int64
	}{
		{"USD", 100000_00},  // the default, in cents
		{"JPY", 15000000},   // its own, no minor unit
		{"KWD", 30000_000},  // its own, three decimals
		{"CLP", 100000},     // the default, no minor unit
		{"BHD", 100000_000}, // the default, three decimals
	} {
		if got, ok := l.Max(tt.currency); !ok || got != tt.want {
			t.Errorf("Max(%s) = %d, %v; want %d", tt.currency, got, ok, tt.want)
		}
	}
	named, _ := ParseLimits("EUR=50000")
	if _, ok := named.Max("USD"); ok {
		t.Error("a currency with no limit of its own and no default is limited")
	}
	if got, ok := (Limits{Default: 1 << 62}).Max("BHD"); !ok || got <= 0 {
		t.Errorf("a huge limit overflowed: %d, %v", got, ok)
	}
}
