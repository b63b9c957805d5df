package smartglocal

import "testing"

// TestEveryCodeHasAMeaning: each code of the list says what it means, and a
// code we do not know is shown as it is.
func TestEveryCodeHasAMeaning(t *testing.T) {
	for _, code := range []string{CodeIdentificationError, CodeAuthenticationError, CodeAuthorizationError, CodeInvalidRequest,
		CodeInternalError, CodeSessionWrongState, CodeSessionCancelledByPartner, CodeConfirmTimeout, CodeDeclinedByIssuerBank,
		CodeInsufficientWalletBalance} {
		if m := CodeMeaning(code); m == code || m == "" {
			t.Errorf("CodeMeaning(%q) = %q; want words", code, m)
		}
	}
	if got := CodeMeaning("brand_new_code"); got != "brand_new_code" {
		t.Errorf("an unknown code became %q", got)
	}
}
