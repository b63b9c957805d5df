package smartglocal

import (
	"errors"
	"fmt"
)

// Error codes the provider uses (provider-api.md §7); codes may change
// without notice, so treat unknown codes as plain refusals. This list and
// CodeMeaning are the one statement of them: the client, the workflow and
// the sandbox all use these.
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

// codeMeanings says in words what each code means.
var codeMeanings = map[string]string{
	CodeIdentificationError:       "the provider does not know our project",
	CodeAuthenticationError:       "the provider could not verify our signature",
	CodeAuthorizationError:        "our project may not use this method",
	CodeInvalidRequest:            "the provider refused the request as invalid",
	CodeInternalError:             "the provider failed to process the request",
	CodeSessionWrongState:         "the session is not in a state that allows this",
	CodeSessionCancelledByPartner: "the partner cancelled the session",
	CodeConfirmTimeout:            "the payout was not confirmed in time",
	CodeDeclinedByIssuerBank:      "the card issuer declined the payout",
	CodeInsufficientWalletBalance: "the wallet balance does not cover the payout",
}

// CodeMeaning says what an error code means, for people and for the
// sandbox's replies; a code we do not know is returned as it is.
func CodeMeaning(code string) string {
	if m, ok := codeMeanings[code]; ok {
		return m
	}
	return code
}

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
