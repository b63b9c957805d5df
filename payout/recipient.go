package payout

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"countersign/fail"
	"countersign/store"
	"countersign/text"
)

// RecipientDraft is what the new-recipient form carries, as typed.
type RecipientDraft struct {
	FullName, CustomerReference, Email, Country string
}

// CreateRecipient records a recipient with its audit entry; only makers
// may. What is wrong with the draft is a *fail.FieldError (full_name,
// customer_reference, email, country).
func (s *Service) CreateRecipient(ctx context.Context, a Actor, d RecipientDraft) (*store.Recipient, error) {
	if a.UserID <= 0 || !slices.Contains(a.Roles, RoleMaker) {
		return nil, ErrNotMaker
	}
	bad := map[string]string{}
	d.FullName = checkText(bad, "full_name", d.FullName, MaxFullNameLen, missingName)
	d.CustomerReference = checkText(bad, "customer_reference", d.CustomerReference, MaxReferenceLen, "")
	d.Email, d.Country = strings.TrimSpace(d.Email), strings.ToUpper(strings.TrimSpace(d.Country))
	if d.Email != "" {
		if !text.IsEmail(d.Email) {
			bad["email"] = "Enter an email address like name@example.com, or leave it empty"
		}
	}
	if d.Country != "" && !isCountryCode(d.Country) {
		bad["country"] = "Use the two-letter country code, like DE or GB"
	}
	if len(bad) > 0 {
		return nil, fail.Fields(bad)
	}
	r := &store.Recipient{FullName: d.FullName, CustomerReference: d.CustomerReference, Email: d.Email, Country: d.Country, CreatedBy: a.UserID}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateRecipient(ctx, r); err != nil {
			return err
		}
		e := a.audit("recipient.create", 0, "ok", r.FullName)
		e.ObjectType, e.ObjectID = "recipient", fmt.Sprint(r.ID)
		return tx.Audit(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// isCountryCode accepts an ISO 3166 alpha-2 shape: two upper-case ASCII letters.
func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
