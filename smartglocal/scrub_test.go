package smartglocal

import "testing"

func TestMaskPANs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"card 4242424242424242 refused", "card ************4242 refused"},
		{"4242424242424242", "************4242"},
		{"a 4000056655665556 and b 5555555555554444.", "a ************5556 and b ************4444."},
		{"payout 12 at 2024-05-27T02:03:00", "payout 12 at 2024-05-27T02:03:00"},
		{"rrn 123456789012", "rrn ********9012"},
		{"12345678901", "12345678901"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskPANs(tt.in); got != tt.want {
			t.Errorf("MaskPANs(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
