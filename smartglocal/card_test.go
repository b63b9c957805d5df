package smartglocal

import "testing"

func TestValidPAN(t *testing.T) {
	tests := []struct {
		pan  string
		want bool
	}{
		{"4242424242424242", true},
		{"4000000000000002", true},
		{"5555555555554444", true},
		{"378282246310005", true},       // amex, 15 digits
		{"4222222222222", true},         // 13 digits
		{"6011111111111117", true},      // discover
		{"2200000000000004", true},      // mir, computed check digit
		{"4242424242424241", false},     // bad check digit
		{"424242424242", false},         // 12 digits
		{"42424242424242424242", false}, // 20 digits
		{"4242 4242 4242 4242", false},
		{"4242-4242-4242-4242", false},
		{"", false},
		{"４２４２４２４２４２４２４２４２", false}, // full-width digits
		{"424242424242424a", false},
	}
	for _, tt := range tests {
		if got := ValidPAN(tt.pan); got != tt.want {
			t.Errorf("ValidPAN(%q) = %v, want %v", tt.pan, got, tt.want)
		}
	}
}

func TestCardBrand(t *testing.T) {
	tests := []struct{ number, want string }{
		{"4242424242424242", "visa"},
		{"5555555555554444", "mastercard"},
		{"2223003122003222", "mastercard"},
		{"2720990000000007", "mastercard"},
		{"378282246310005", "amex"},
		{"340000000000009", "amex"},
		{"2200000000000004", "mir"},
		{"2204999999999999", "mir"},
		{"6759649826438453", "maestro"},
		{"5018000000000009", "maestro"},
		{"6304000000000000", "maestro"},
		{"6200000000000005", "unionpay"},
		{"8171999927660000", "unionpay"},
		{"3530111333300000", "jcb"},
		{"6011111111111117", "discover"},
		{"6445644564456445", "discover"},
		{"6500000000000002", "discover"},
		{"36227206271667", "unknown"}, // diners
		{"9999999999999995", "unknown"},
		{"42", "visa"}, // a partial number with a known prefix
		{"", "unknown"},
		{"x242424242424242", "unknown"},
	}
	for _, tt := range tests {
		if got := CardBrand(tt.number); got != tt.want {
			t.Errorf("CardBrand(%q) = %q, want %q", tt.number, got, tt.want)
		}
	}
}

func TestLast4(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"4242424242424242", "4242"}, {"1234", "1234"}, {"123", ""}, {"", ""},
	} {
		if got := Last4(tt.in); got != tt.want {
			t.Errorf("Last4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
