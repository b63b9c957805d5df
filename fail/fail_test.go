package fail

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"
)

func TestKindCodeAndMessageThroughWrapping(t *testing.T) {
	own := New(Forbidden, "own_payout", "You prepared this payout, so someone else must approve it")
	for _, tc := range []struct {
		name        string
		err         error
		kind        Kind
		code, msg   string
		isOwnPayout bool
	}{
		{"refusal", own, Forbidden, "own_payout", own.Message, true},
		{"wrapped", fmt.Errorf("approve payout 7: %w", own), Forbidden, "own_payout", own.Message, true},
		{"same code, other message", own.With("You changed this payout"), Forbidden, "own_payout", "You changed this payout", true},
		{"fields", Field("amount", "Enter an amount like 32.90"), Invalid, "invalid_fields", ErrInvalidFields.Message, false},
		{"wrapped fields", fmt.Errorf("submit: %w", Fields(map[string]string{"a": "b"})), Invalid, "invalid_fields", ErrInvalidFields.Message, false},
		{"malformed", Malformed("bad body"), Invalid, CodeMalformed, "bad body", false},
		{"database failure", fmt.Errorf("load: %w", sql.ErrConnDone), Internal, "internal", internalMessage, false},
		{"internal kind hides its text", New(Internal, "bug", "index out of range in foo.go"), Internal, "bug", internalMessage, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.kind {
				t.Errorf("KindOf = %v; want %v", got, tc.kind)
			}
			if got := CodeOf(tc.err); got != tc.code {
				t.Errorf("CodeOf = %q; want %q", got, tc.code)
			}
			if got := MessageOf(tc.err); got != tc.msg {
				t.Errorf("MessageOf = %q; want %q", got, tc.msg)
			}
			if got := errors.Is(tc.err, own); got != tc.isOwnPayout {
				t.Errorf("errors.Is(err, own) = %v; want %v", got, tc.isOwnPayout)
			}
		})
	}
}

func TestFieldErrorKeepsItsFields(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", Fields(map[string]string{"currency": "Choose a currency", "amount": "Enter an amount"}))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Fields["currency"] != "Choose a currency" {
		t.Fatalf("errors.As lost the fields: %v", err)
	}
	if got, want := fe.Error(), "invalid: amount: Enter an amount; currency: Choose a currency"; got != want {
		t.Errorf("Error() = %q; want %q (sorted by field)", got, want)
	}
	if !errors.Is(err, ErrInvalidFields) {
		t.Error("a FieldError does not match ErrInvalidFields")
	}
}

func TestZeroKindIsInternal(t *testing.T) {
	var e Error
	if e.Kind != Internal {
		t.Errorf("zero Kind = %v; want Internal", e.Kind)
	}
	if got := KindOf(errors.New("plain")); got != Internal {
		t.Errorf("KindOf(plain error) = %v; want Internal", got)
	}
}
