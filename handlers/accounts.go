package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal/bank"
	"countersign/store"
	freetext "countersign/text"
	"countersign/views"
)

// newAccount shows the add-account page: the country (and scheme) come from
// the query, so choosing them works without script.
func (a *app) newAccount(c echo.Context) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	typed := bank.Account{Country: c.QueryParam("country"), Scheme: c.QueryParam("scheme")}
	errs := views.FieldErrors{}
	if _, ok := bank.LookupCountry(typed.Country); typed.Country != "" && !ok {
		errs["country"] = "Choose a country from the list"
	}
	return a.renderAccountForm(c, http.StatusOK, r, typed, errs)
}

// readAccount reads what the add-account form carries: the holder, the bank
// and the fields of the country it names.
func readAccount(c echo.Context) (bank.Account, error) {
	params, err := c.FormParams()
	if err != nil {
		return bank.Account{}, err
	}
	typed := bank.Account{Country: params.Get("country"), Currency: params.Get("currency"), Scheme: params.Get("scheme"),
		BankName: params.Get("bank_name"), FirstName: params.Get("first_name"), LastName: params.Get("last_name"), Values: map[string]string{}}
	if country, ok := bank.LookupCountry(typed.Country); ok {
		for _, f := range country.Fields {
			if v := params.Get(f.Key); v != "" {
				typed.Values[f.Key] = v
			}
		}
	}
	return typed, nil
}

func (a *app) addAccount(c echo.Context) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	typed, err := readAccount(c)
	if err != nil {
		return err
	}
	saved, err := a.Payouts.AddAccount(c.Request().Context(), actor(c), r.ID, typed)
	var fields *fail.FieldError
	if errors.As(err, &fields) {
		withhold(fields.Fields, map[string]*string{"bank_name": &typed.BankName, "first_name": &typed.FirstName, "last_name": &typed.LastName})
		for k := range typed.Values {
			if freetext.HoldsCardNumber(fields.Fields[k]) {
				delete(typed.Values, k)
			}
		}
		return a.renderAccountForm(c, statusOf(err), r, typed, views.FieldErrors(fields.Fields))
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Saved "+saved.Masked+" for "+r.FullName+". Someone else must check its details and verify it before it can be paid."); err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}

// renderAccountForm shows the add-account page for the country and scheme of
// typed, with what was typed and what is wrong with it.
func (a *app) renderAccountForm(c echo.Context, status int, r *store.Recipient, typed bank.Account, errs views.FieldErrors) error {
	m := views.BankAccountFormModel{Recipient: recipientRow(r), Errors: errs, Currency: typed.Currency, BankName: typed.BankName,
		FirstName: typed.FirstName, LastName: typed.LastName}
	for _, country := range bank.Countries() {
		m.Countries = append(m.Countries, views.Option{Value: country.Code, Label: country.Name})
	}
	if country, ok := bank.LookupCountry(typed.Country); ok {
		m.Country, m.CountryName, m.Note = country.Code, country.Name, country.Note
		m.Currencies, m.Banks = country.Currencies, a.Payouts.Banks().For(country.Code)
		m.Scheme = typed.Scheme
		for i, s := range country.Schemes {
			m.Schemes = append(m.Schemes, views.Option{Value: s.ID, Label: s.Label})
			if i == 0 && !hasOption(country.Schemes, typed.Scheme) {
				m.Scheme = s.ID
			}
		}
		for _, f := range country.ActiveFields(m.Scheme) {
			m.Fields = append(m.Fields, views.BankAccountField{Key: f.Key, Label: f.Label, Help: f.Help, Required: f.Required,
				Options: f.Options, MaxLength: f.MaxLen + f.MaxLen/4 + 4, Value: typed.Values[f.Key]})
		}
	}
	var err error
	if m.Frame, err = a.frame(c, "Add a bank account", "/recipients"); err != nil {
		return err
	}
	return render(c, status, views.BankAccountFormPage(m))
}

func hasOption(schemes []bank.Scheme, id string) bool {
	for _, s := range schemes {
		if s.ID == id {
			return true
		}
	}
	return false
}

// accountFromPath loads the account :account of the recipient :id; an
// account of another recipient is not found here, whatever its id.
func (a *app) accountFromPath(c echo.Context) (*store.Recipient, *store.BankAccount, error) {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return nil, nil, err
	}
	acc, err := a.Payouts.RecipientAccount(c.Request().Context(), r.ID, pathID(c, "account"))
	return r, acc, err
}

// accountRow is a saved account as lists show it, with what this person may do with it.
func (a *app) accountRow(c echo.Context, names map[int64]string, acc *store.BankAccount) (views.BankAccountRow, error) {
	row := views.BankAccountRow{ID: acc.ID, Href: fmt.Sprintf("/recipients/%d/accounts/%d", acc.RecipientID, acc.ID), Label: acc.Masked,
		Country: payout.CountryName(acc.Country), Currency: acc.Currency, BankName: acc.BankName, Holder: acc.Holder(),
		AddedAt: a.clock(c).Time(acc.AddedAt), Verified: acc.Verified(), VerifiedAt: a.clock(c).Time(acc.VerifiedAt)}
	var err error
	if row.AddedBy, err = a.userName(c, names, acc.AddedBy); err != nil {
		return row, err
	}
	if row.Verified {
		if row.VerifiedBy, err = a.userName(c, names, acc.VerifiedBy); err != nil {
			return row, err
		}
	}
	who := actor(c)
	switch err := payout.CheckVerifyAccount(who, acc); {
	case err == nil:
		row.CanVerify = true
	case errors.Is(err, payout.ErrOwnAccount):
		row.VerifyBlocked = fail.MessageOf(err)
	}
	row.CanRemove = payout.CheckDestinationChange(who) == nil
	return row, nil
}

// showAccount shows one bank account: in full to someone who may verify it
// (the verify step), masked to everyone else.
func (a *app) showAccount(c echo.Context) error {
	r, acc, err := a.accountFromPath(c)
	if err != nil {
		return err
	}
	return a.renderBankAccount(c, http.StatusOK, r, acc, nil)
}

func (a *app) renderBankAccount(c echo.Context, status int, r *store.Recipient, acc *store.BankAccount, refused error) error {
	row, err := a.accountRow(c, map[int64]string{}, acc)
	if err != nil {
		return err
	}
	m := views.BankAccountModel{Recipient: recipientRow(r), A: row}
	if row.CanVerify {
		m.Full = accountDetails(acc)
	}
	if m.Frame, err = a.frame(c, acc.Masked, "/recipients"); err != nil {
		return err
	}
	if refused != nil {
		showRefusal(&m.Frame, refused)
	}
	return render(c, status, views.BankAccountPage(m))
}

// accountDetails are an account's fields in full, as the verify step shows
// them: an IBAN in groups of four, as banks print it.
func accountDetails(acc *store.BankAccount) []views.BankAccountFact {
	country, ok := bank.LookupCountry(acc.Country)
	if !ok {
		return nil
	}
	var out []views.BankAccountFact
	for _, f := range country.ActiveFields(acc.Scheme) {
		v := acc.Details[f.Key]
		if v == "" {
			continue
		}
		if f.Key == "iban" {
			v = bank.FormatIBAN(v)
		}
		out = append(out, views.BankAccountFact{Label: f.Label, Value: v})
	}
	return out
}

func (a *app) verifyAccount(c echo.Context) error {
	// Verifying is a decision, as for a card: it needs the second factor.
	return a.changeAccount(c, func(ctx context.Context, _ payout.Actor, id int64) error {
		return a.decide(c, func(act payout.Actor) error { return a.Payouts.VerifyAccount(ctx, act, id) })
	}, "Verified %s: it can now be paid.")
}

func (a *app) removeAccount(c echo.Context) error {
	return a.changeAccount(c, a.Payouts.RemoveAccount, "Removed %s.")
}

// changeAccount verifies or removes an account of the recipient in the path.
// A refusal shows the account's page again with the reason.
func (a *app) changeAccount(c echo.Context, change func(ctx context.Context, a payout.Actor, id int64) error, done string) error {
	r, acc, err := a.accountFromPath(c)
	if err != nil {
		return err
	}
	err = change(c.Request().Context(), actor(c), acc.ID)
	if refused(err) {
		if fresh, ferr := a.DB.BankAccountByID(c.Request().Context(), acc.ID); ferr == nil {
			acc = fresh
		}
		return a.renderBankAccount(c, statusOf(err), r, acc, err)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", fmt.Sprintf(done, acc.Masked)); err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}

// accountOptions lists the saved, verified bank accounts a maker may pay to,
// as cardOptions lists cards.
func (a *app) accountOptions(c echo.Context) (_ []views.BankAccountOption, more bool, _ error) {
	accounts, err := a.DB.PayableAccounts(c.Request().Context(), recipientParam(c), pickerLimit+1)
	if err != nil {
		return nil, false, err
	}
	if more = len(accounts) > pickerLimit; more {
		accounts = accounts[:pickerLimit]
	}
	out := make([]views.BankAccountOption, 0, len(accounts))
	for _, choice := range accounts {
		out = append(out, views.BankAccountOption{ID: choice.AccountID, Currency: choice.Currency,
			Label: strings.Join([]string{choice.Masked, choice.RecipientName, choice.Currency}, " · ")})
	}
	return out, more, nil
}
