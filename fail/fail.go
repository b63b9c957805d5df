// Package fail is Countersign's one error type for refusals: every "no" the
// domain gives carries a Kind (what sort of refusal, which the HTTP side maps
// to a status in one table), a stable Code (written to the audit log and
// matched by errors.Is) and a Message a person can read.
//
// Anything that is not a *Error (a database or network failure, a bug) is
// Internal: the HTTP side logs it once with a reference and shows no detail.
package fail

import (
	"errors"
	"maps"
	"slices"
	"strings"
)

// Kind is the sort of a refusal. The zero value is Internal, so an error
// nobody classified is treated as ours to fix, never as the user's.
type Kind int

// The kinds of refusal.
const (
	Internal     Kind = iota // our fault: a failure, not a refusal
	Invalid                  // what was sent is wrong (a field, a malformed body)
	Unauthorized             // nobody is signed in (or the session ended)
	Forbidden                // signed in, but not allowed to do this
	NotFound                 // no such thing
	Conflict                 // the thing's state does not allow it now
	TooMany                  // rate limited: try again later
	Unavailable              // a service we depend on did not answer
)

// String names the kind, for logs.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case TooMany:
		return "too_many"
	case Unavailable:
		return "unavailable"
	}
	return "internal"
}

// Error is a refusal. Errors with the same Code match under errors.Is, so a
// message may name the currency or the person while callers still test
// against the package's sentinel values.
type Error struct {
	Kind    Kind
	Code    string // stable, for the audit log and errors.Is
	Message string // for people: says what is wrong and, where it helps, what to do
}

// New returns a refusal.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Error returns the message: a refusal is written for people.
func (e *Error) Error() string { return e.Message }

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// With returns the same refusal (kind and code) with a more specific message.
func (e *Error) With(message string) *Error {
	return &Error{Kind: e.Kind, Code: e.Code, Message: message}
}

// KindOf returns the kind of the first *Error in err's chain; Internal when
// there is none (and for nil, which callers should not ask about).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of the first *Error in err's chain, or "internal".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// internalMessage is all a person is told of a failure that is not a refusal.
const internalMessage = "Something went wrong on our side."

// MessageOf returns what a person may be told about err: the message of the
// first *Error in its chain, or a generic sentence that reveals nothing.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message
	}
	return internalMessage
}

// CodeMalformed is the code of a request that could not be read at all (a
// broken form body, a signed webhook that is not JSON): kind Invalid, answered
// with 400 rather than the 422 of a form whose fields are wrong.
const CodeMalformed = "malformed_request"

// ErrMalformed matches every Malformed refusal under errors.Is.
var ErrMalformed = Malformed("The request could not be read. Reload the page and try again.")

// Malformed returns a refusal of a request that could not be read.
func Malformed(message string) *Error { return New(Invalid, CodeMalformed, message) }

// ErrInvalidFields is what every *FieldError unwraps to: kind Invalid.
var ErrInvalidFields = New(Invalid, "invalid_fields", "Some of what was typed is not right. Check the marked fields.")

// FieldError refuses what was typed into a form, field by field: form field
// name → message for people. Messages never repeat what was typed (it may be
// a card number). It unwraps to ErrInvalidFields, so its kind is Invalid.
type FieldError struct {
	Fields map[string]string
}

// Fields returns a FieldError for the messages given by field name.
func Fields(fields map[string]string) *FieldError { return &FieldError{Fields: fields} }

// Field returns a FieldError about one field.
func Field(name, message string) *FieldError {
	return &FieldError{Fields: map[string]string{name: message}}
}

// Error lists the fields and their messages, sorted by field name.
func (e *FieldError) Error() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Unwrap gives the field error its kind and code.
func (e *FieldError) Unwrap() error { return ErrInvalidFields }
