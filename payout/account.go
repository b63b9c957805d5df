package payout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"countersign/fail"
	"countersign/smartglocal/bank"
	"countersign/store"
	"countersign/text"
)

// Refusals of a bank-account change.
var (
	ErrOwnAccount      = fail.New(fail.Forbidden, "own_account", "You added this bank account, so someone else must verify it")
	ErrAccountChanged  = fail.New(fail.Conflict, "account_changed", "This bank account was already verified or removed")
	ErrAccountNotFound = fail.New(fail.NotFound, "account_not_found", "There is no such bank account")
)

// AddAccount saves a bank account for a recipient, as typed: bank.Check
// normalises it against the country's field table and the banks the
// provider accepts. The account cannot be paid until a second person
// verifies it (VerifyAccount). What is wrong is a *fail.FieldError keyed by
// form field (recipient_id, or the keys bank.Check uses).
func (s *Service) AddAccount(ctx context.Context, a Actor, recipientID int64, typed bank.Account) (*store.BankAccount, error) {
	if a.UserID <= 0 || !slices.Contains(a.Roles, RoleMaker) {
		return nil, ErrNotMaker
	}
	r, err := s.db.RecipientByID(ctx, recipientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail.Field("recipient_id", "Choose a recipient")
	} else if err != nil {
		return nil, err
	}
	checked, bad := bank.Check(typed, s.banks)
	if bad != nil {
		return nil, fail.Fields(bad)
	}
	if !holderIs(checked, r.FullName) {
		return nil, fail.Field(bank.KeyFirstName, fmt.Sprintf("This account is saved for %s and is paid only to them: the holder's first and last name must be theirs. "+
			"To pay someone else, add them as a recipient.", r.FullName))
	}
	acc := SavedAccount(recipientID, checked, a.UserID)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateBankAccount(ctx, acc); err != nil {
			return err
		}
		return tx.Audit(ctx, accountAudit(a, "bank_account.add", acc, fmt.Sprintf("%s for recipient #%d", accountWords(acc), recipientID)))
	})
	if errors.Is(err, store.ErrAccountExists) {
		return nil, fail.Field("account", "This bank account is already saved for the recipient")
	}
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// SavedAccount is the row that saves checked (an account bank.Check
// accepted) for a recipient, as added by addedBy: masked and named by its
// identity, as every saved account is.
func SavedAccount(recipientID int64, checked bank.Account, addedBy int64) *store.BankAccount {
	return &store.BankAccount{RecipientID: recipientID, Country: checked.Country, Currency: checked.Currency, Scheme: checked.Scheme,
		BankName: checked.BankName, FirstName: checked.FirstName, LastName: checked.LastName, Details: checked.Values,
		Masked: checked.Masked(), Identity: identity(checked), AddedBy: addedBy}
}

// holderIs reports whether the account's holder is the person named, first
// name first or family name first, ignoring case: a bank account, like a
// saved card, is paid only to its recipient, and the name the provider gets
// is the holder's.
func holderIs(a bank.Account, name string) bool {
	name, _ = text.CheckName(name, MaxFullNameLen)
	return strings.EqualFold(a.FirstName+" "+a.LastName, name) || strings.EqualFold(a.LastName+" "+a.FirstName, name)
}

// identity names a checked account by its identifiers alone: its country,
// its scheme and the account fields that are not a choice (IBAN, sort code,
// account number, …), in field order. Two accounts with the same identity are
// the same account, whatever the holder's address.
func identity(a bank.Account) string {
	parts := []string{a.Country, a.Scheme}
	c, _ := bank.LookupCountry(a.Country)
	for _, f := range c.ActiveFields(a.Scheme) {
		if f.Place == bank.InGlobal && len(f.Options) == 0 {
			parts = append(parts, f.Key+"="+a.Values[f.Key])
		}
	}
	return strings.Join(parts, "|")
}

// Account is a saved account as package bank knows it: what Request and
// Check take, and what the verify step shows.
func Account(acc *store.BankAccount) bank.Account {
	return bank.Account{Country: acc.Country, Currency: acc.Currency, Scheme: acc.Scheme, BankName: acc.BankName,
		FirstName: acc.FirstName, LastName: acc.LastName, Values: maps.Clone(acc.Details)}
}

// accountWords describes an account for the audit log and messages, masked:
// "Barclays ••••9911 (United Kingdom, GBP), holder Jane Smith".
func accountWords(acc *store.BankAccount) string {
	return fmt.Sprintf("%s (%s, %s), holder %s", acc.Masked, CountryName(acc.Country), acc.Currency, acc.Holder())
}

// CheckVerifyAccount returns why a may not verify acc, or nil: the same
// four-eyes rule as saved cards (checkVerify).
func CheckVerifyAccount(a Actor, acc *store.BankAccount) error {
	return checkVerify(a, acc.AddedBy, !acc.Verified() && !acc.Removed(), ErrOwnAccount, ErrAccountChanged)
}

// RecipientAccount returns the bank account id of the recipient; an account
// of another recipient is not found here, whatever its id.
func (s *Service) RecipientAccount(ctx context.Context, recipientID, id int64) (*store.BankAccount, error) {
	acc, err := s.db.BankAccountByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && acc.RecipientID != recipientID) {
		return nil, ErrAccountNotFound
	}
	return acc, err
}

// VerifyAccount records a second person's check of a bank account
// (CheckVerifyAccount): they compared the full details, shown only on the
// verify step, with what the recipient gave. Like verifying a card, it is a
// decision and needs the verifier's second factor.
func (s *Service) VerifyAccount(ctx context.Context, a Actor, id int64) error {
	return s.changeAccount(ctx, a, id, "bank_account.verify", func(tx *store.Tx, me Actor, acc *store.BankAccount) error {
		if err := CheckVerifyAccount(me, acc); err != nil {
			return err
		}
		if !a.StepUp.Covers(a.UserID) {
			return ErrStepUp
		}
		return tx.VerifyBankAccount(ctx, id, a.UserID)
	})
}

// RemoveAccount takes a bank account out of use; payouts made to it keep it.
func (s *Service) RemoveAccount(ctx context.Context, a Actor, id int64) error {
	return s.changeAccount(ctx, a, id, "bank_account.remove", func(tx *store.Tx, _ Actor, _ *store.BankAccount) error {
		return tx.RemoveBankAccount(ctx, id, a.UserID)
	})
}

// changeAccount runs change on the account, as tx sees it, with its audit
// entry. As for cards, who is changing it is read in the same transaction,
// and refusals of the four-eyes rule, of the roles and of a missing second
// factor are audited too.
func (s *Service) changeAccount(ctx context.Context, a Actor, id int64, action string, change func(tx *store.Tx, me Actor, acc *store.BankAccount) error) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		me, err := decider(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := CheckDestinationChange(me); err != nil {
			return err
		}
		acc, err := tx.BankAccountByID(ctx, id)
		if err != nil {
			return err
		}
		if err := change(tx, me, acc); err != nil {
			return err
		}
		return tx.Audit(ctx, accountAudit(a, action, acc, accountWords(acc)))
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrAccountNotFound
	case errors.Is(err, store.ErrConflict):
		return ErrAccountChanged
	}
	s.auditRefusal(ctx, a, action, "bank_account", id, err)
	return err
}

func accountAudit(a Actor, action string, acc *store.BankAccount, detail string) store.AuditEntry {
	e := a.audit(action, 0, "ok", detail)
	e.ObjectType, e.ObjectID = "bank_account", fmt.Sprint(acc.ID)
	return e
}
