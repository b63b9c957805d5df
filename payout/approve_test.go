package payout

import (
	"errors"
	"testing"

	"countersign/fail"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]int64
		wantErr bool
	}{
		{"", map[string]int64{}, false},
		{"USD=1000000,EUR=500000", map[string]int64{"USD": 1000000, "EUR": 500000}, false},
		{" usd = 5 , ", map[string]int64{"USD": 5}, false},
		{"USD=0", map[string]int64{"USD": 0}, false},
		{"USD", nil, true},
		{"USD=-1", nil, true},
		{"XYZ=5", nil, true},
		{"USD=1.5", nil, true},
	}
	for _, tt := range tests {
		p, err := ParsePolicy(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePolicy(%q) err %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			var pe *fail.Error
			if !errors.As(err, &pe) {
				t.Errorf("ParsePolicy(%q) err %T; want *Error", tt.in, err)
			}
			continue
		}
		if len(p.Thresholds) != len(tt.want) {
			t.Errorf("ParsePolicy(%q) = %v; want %v", tt.in, p.Thresholds, tt.want)
		}
		for k, v := range tt.want {
			if p.Thresholds[k] != v {
				t.Errorf("ParsePolicy(%q)[%s] = %d; want %d", tt.in, k, p.Thresholds[k], v)
			}
		}
		back, err := p.Format()
		if err != nil {
			t.Errorf("Format: %v", err)
		}
		if again, _ := ParsePolicy(back); len(again.Thresholds) != len(p.Thresholds) {
			t.Errorf("round trip of %q lost thresholds: %q", tt.in, back)
		}
	}
	if _, err := (Policy{Thresholds: map[string]int64{"ABC": 1}}).Format(); err == nil {
		t.Error("Format accepted an unknown currency")
	}
}
