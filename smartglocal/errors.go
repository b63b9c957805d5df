package smartglocal

import (
	"errors"
	"fmt"
)

// Error codes the provider uses (provider-api.md §7); codes may change
// without notice, so treat unknown codes as plain refusals.
const (
	CodeIdentificationError       = "identification_error"
	CodeAuthenticationError       = "authentication_error"
	CodeAuthorizationError        = "authorization_error"
	CodeInvalidRequest            = "invalid_request"
	CodeInternalError             = "internal_error"
	CodeSessionWrongState         = "session_wrong_state"
	CodeSessionCancelledByPartner = "session_cancelled_by_partner"
	CodeConfirmTimeout            = "confirm_timeout"
	CodeDeclinedByIssuerBank      = "declined_by_issuer_bank"
	CodeInsufficientWalletBalance = "insufficient_wallet_balance"
)

// Error means the provider understood the request and refused it: the reply
// body said {"status":"error"} and the HTTP status was below 500. Nothing
// happened at the provider.
type Error struct {
	HTTPStatus  int
	Code        string
	Description string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("smartglocal: provider refused the request (HTTP %d, %s)", e.HTTPStatus, e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// UnknownOutcomeError means the request may or may not have taken effect at
// the provider: it timed out, the connection broke, the provider answered
// with HTTP 5xx, or the reply could not be understood. Callers must find out
// with session/status (or a replay under the same idempotency key) before
// acting again; never treat it as a refusal.
type UnknownOutcomeError struct {
	Method string // API method, e.g. "session/confirm"
	Err    error
}

func (e *UnknownOutcomeError) Error() string {
	return "smartglocal: " + e.Method + ": outcome unknown: " + e.Err.Error()
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// IsUnknownOutcome reports whether err (or an error it wraps) is an
// *UnknownOutcomeError.
func IsUnknownOutcome(err error) bool {
	var u *UnknownOutcomeError
	return errors.As(err, &u)
}

// errMalformedReply marks replies that are not the provider's JSON envelope.
var errMalformedReply = errors.New("malformed reply")
