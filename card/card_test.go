package card

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

func TestBrand(t *testing.T) {
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
		if got := Brand(tt.number); got != tt.want {
			t.Errorf("Brand(%q) = %q, want %q", tt.number, got, tt.want)
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

func TestMaskText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"card 4242424242424242 refused", "card ************4242 refused"},
		{"4242424242424242", "************4242"},
		{"payout 12 at 2024-05-27T02:03:00", "payout 12 at 2024-05-27T02:03:00"},
		{"rrn 123456789012", "rrn ********9012"},
		{"12345678901", "12345678901"},
		{"", ""},
		{"4242 4242 4242 4242", "**** **** **** 4242"},
		{"pay 4242-4242-4242-4242 now", "pay ****-****-****-4242 now"},
		{"on 2026-11-21 at 09:00", "on 2026-11-21 at 09:00"},
		{"USD=100000,EUR=100000,RUB=100000", "USD=100000,EUR=100000,RUB=100000"},
		{"4242  4242  4242  4242", "4242  4242  4242  4242"}, // two spaces end a number
		{"-4242424242424242-", "-************4242-"},
		{"٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢"}, // only ASCII digits are card digits here
		{"a 1234567890123456789 b 9999999999999", "a ***************6789 b *********9999"},
	}
	for _, tt := range tests {
		if got := MaskText(tt.in); got != tt.want {
			t.Errorf("MaskText(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestLabelAndMaskNumber(t *testing.T) {
	if got := Label("visa", "4242"); got != "VISA •••• 4242" {
		t.Errorf("Label = %q", got)
	}
	if got := MaskNumber("4242424242424242"); got != "****4242" {
		t.Errorf("MaskNumber = %q", got)
	}
	if got := MaskNumber("42"); got != "****" {
		t.Errorf("MaskNumber of a short number = %q; want nothing of it shown", got)
	}
}
