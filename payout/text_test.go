package payout

import (
	"context"
	"errors"
	"testing"

	"countersign/fail"
)

// TestNamesAndReferencesFollowOneRule: a payout draft and a recipient are
// held to the same rules for the name and the customer reference, and store
// a name the same way.
func TestNamesAndReferencesFollowOneRule(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	for _, tc := range []struct {
		name, ref string
		field     string // "" when accepted
	}{
		{"Jane Doe", "C-1", ""},
		{"", "C-1", "full_name"},
		{"Jane\nDoe", "C-1", "full_name"},
		{"Jane\x00Doe", "C-1", "full_name"},
		{"Jane Doe", "C-1\nC-2", "customer_reference"},
		{"Jane Doe", "C-1\x00", "customer_reference"},
		{"Jane Doe", "a-reference-longer-than-sixty-four-characters-is-refused-here-too-ok", "customer_reference"},
	} {
		d := draft(visa)
		d.FullName, d.CustomerReference, d.ConfirmDuplicate = tc.name, tc.ref, true
		_, perr := e.s().Submit(ctx, e.maker, d)
		_, rerr := e.s().CreateRecipient(ctx, e.maker, RecipientDraft{FullName: tc.name, CustomerReference: tc.ref})
		for what, err := range map[string]error{"payout": perr, "recipient": rerr} {
			var fe *fail.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("%s %q/%q: %v; want accepted", what, tc.name, tc.ref, err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Fields[tc.field] == ""):
				t.Errorf("%s %q/%q: %v; want %s refused", what, tc.name, tc.ref, err, tc.field)
			}
		}
	}
	d := draft(visa)
	d.FullName, d.ConfirmDuplicate = "  Jane   Doe ", true
	p := e.submit(d)
	r, err := e.s().CreateRecipient(ctx, e.maker, RecipientDraft{FullName: "  Jane   Doe "})
	if err != nil {
		t.Fatal(err)
	}
	if p.FullName != "Jane Doe" || r.FullName != "Jane Doe" {
		t.Errorf("stored names %q (payout) and %q (recipient); want both \"Jane Doe\"", p.FullName, r.FullName)
	}
	if _, err := e.s().CreateRecipient(ctx, e.approvers[0], RecipientDraft{FullName: "Jane Doe"}); !errors.Is(err, ErrNotMaker) {
		t.Errorf("an approver adds a recipient: %v; want ErrNotMaker", err)
	}
}
