package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/store"
	"countersign/views"
)

// actor describes the signed-in person to the payout workflow.
func actor(c echo.Context) payout.Actor {
	u := currentUser(c)
	return payout.Actor{UserID: u.ID, Email: u.Email, Roles: userRoles(u), IP: c.RealIP()}
}

// payoutFromPath loads the payout named by :id; the store answers NotFound
// when there is none.
func (a *app) payoutFromPath(c echo.Context) (*store.Payout, error) {
	return a.DB.PayoutByID(c.Request().Context(), pathID(c, "id"))
}

// pathID reads a numeric path parameter. Anything that is not a number is 0,
// which no row has, so the lookup that follows answers "There is no such …".
func pathID(c echo.Context, name string) int64 {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// newPayout shows the form, for a card or, with ?method=bank_account, a bank
// account. Opened from a recipient's page (?recipient=N) it comes with that
// recipient's name and their verified card and bank account chosen.
func (a *app) newPayout(c echo.Context) error {
	m := views.PayoutForm{Currency: "USD", Method: payout.MethodCard}
	if c.QueryParam("method") == payout.MethodBankAccount {
		m.Method = payout.MethodBankAccount
	}
	if id, err := strconv.ParseInt(c.QueryParam("recipient"), 10, 64); err == nil && id > 0 {
		r, err := a.DB.RecipientByID(c.Request().Context(), id)
		if err != nil {
			return err
		}
		m.FullName = r.FullName
		cards, _, err := a.cardOptions(c)
		if err != nil {
			return err
		}
		if len(cards) > 0 {
			m.CardID = cards[0].ID
		}
		accounts, _, err := a.accountOptions(c)
		if err != nil {
			return err
		}
		if len(accounts) > 0 {
			m.BankAccountID = accounts[0].ID
			if m.Method == payout.MethodBankAccount { // paid in the account's currency
				m.Currency = accounts[0].Currency
			}
		}
	}
	return a.renderPayoutForm(c, http.StatusOK, m)
}

// purposeOptions are the provider's remittance purposes, code and words.
func purposeOptions() []views.Option {
	var out []views.Option
	for _, p := range bank.Purposes() {
		out = append(out, views.Option{Value: p.Code, Label: p.Words})
	}
	return out
}

func (a *app) renderPayoutForm(c echo.Context, status int, m views.PayoutForm) error {
	f, err := a.frame(c, "New payout", "/payouts/new")
	if err != nil {
		return err
	}
	m.Frame, m.Purposes = f, purposeOptions()
	if m.HeldCurrencies, m.Currencies, err = a.walletCurrencies(c); err != nil {
		return err
	}
	if m.Cards, m.MoreCards, err = a.cardOptions(c); err != nil {
		return err
	}
	if m.Accounts, m.MoreAccounts, err = a.accountOptions(c); err != nil {
		return err
	}
	if _, ok, err := a.Payouts.Sender(c.Request().Context()); err != nil {
		return err
	} else if !ok {
		m.NoSender = payout.ErrNoSender.Message
	}
	if m.Balance, err = a.gauges(c, false); err != nil {
		return err
	}
	return render(c, status, views.NewPayoutPage(m))
}

// readDraft reads what POST /payouts carries. The card number is read straight
// into the draft and never copied into anything that is rendered again.
func readDraft(c echo.Context) (payout.Draft, error) {
	params, err := c.FormParams()
	if err != nil {
		return payout.Draft{}, err
	}
	cardID, _ := strconv.ParseInt(params.Get("card_id"), 10, 64)
	accountID, _ := strconv.ParseInt(params.Get("bank_account_id"), 10, 64)
	return payout.Draft{
		Method:            params.Get("method"),
		FullName:          params.Get("full_name"),
		Amount:            params.Get("amount"),
		Currency:          params.Get("currency"),
		CardNumber:        params.Get("card_number"),
		CardID:            cardID,
		BankAccountID:     accountID,
		CustomerReference: params.Get("customer_reference"),
		Note:              params.Get("note"),
		Purpose:           params.Get("purpose"),
		ConfirmDuplicate:  params.Get("confirm_duplicate") == "1",
	}, nil
}

func (a *app) createPayout(c echo.Context) error {
	d, err := readDraft(c)
	if err != nil {
		return err
	}
	p, err := a.Payouts.Submit(c.Request().Context(), actor(c), d)
	typed := views.PayoutForm{Method: d.Method, FullName: d.FullName, Amount: d.Amount, Currency: strings.ToUpper(d.Currency), CardID: d.CardID,
		BankAccountID: d.BankAccountID, CustomerReference: d.CustomerReference, Note: d.Note, Purpose: d.Purpose}
	var fields *fail.FieldError
	var derr *payout.DuplicateError
	switch {
	case errors.As(err, &fields):
		typed.Errors = views.FieldErrors(fields.Fields)
		withhold(fields.Fields, map[string]*string{"full_name": &typed.FullName, "customer_reference": &typed.CustomerReference, "note": &typed.Note})
		return a.renderPayoutForm(c, statusOf(err), typed)
	case errors.As(err, &derr):
		for _, m := range derr.Matches {
			typed.Duplicates = append(typed.Duplicates, fmt.Sprintf("#%d: %s %s to %s, %s, prepared %s by %s (%s)", m.ID,
				payout.FormatAmount(m.Amount, m.Currency), m.Currency, m.FullName, payout.Destination(m),
				ago(a.Now(), m.CreatedAt), m.MakerName, payout.State(m.State).Label()))
		}
		return a.renderPayoutForm(c, statusOf(err), typed)
	case err != nil:
		return err
	}
	switch payout.State(p.State) {
	case payout.StateRejected:
		err = flash(c, "error", "The provider refused this payout: "+p.FailureReason)
	case payout.StateUnknown:
		err = flash(c, "error", "The provider did not answer in time. We will find out what happened and update this page; do not prepare it again.")
	default:
		warning, werr := a.balanceWarning(c, p.Currency)
		if werr != nil {
			return werr
		}
		if err = flash(c, "ok", "Payout #"+itoa(p.ID)+" submitted. It waits for another person's approval."); err == nil && warning != "" {
			err = flash(c, "warn", warning)
		}
	}
	if err != nil {
		return err
	}
	return redirect(c, "/payouts/"+itoa(p.ID))
}

func (a *app) approvePayout(c echo.Context) error {
	p, err := a.payoutFromPath(c)
	if err != nil {
		return err
	}
	version, _ := strconv.ParseInt(c.FormValue("version"), 10, 64)
	var approved *store.Payout
	err = a.decide(c, func(act payout.Actor) (err error) {
		approved, err = a.Payouts.Approve(c.Request().Context(), act, p.ID, version)
		return err
	})
	if refused(err) {
		return a.renderPayout(c, statusOf(err), p, decisionForm{refused: err})
	}
	if err != nil {
		return err
	}
	p = approved
	msg := "Approved. "
	switch payout.State(p.State) {
	case payout.StatePendingApproval:
		msg += "Another approver must approve it too."
	case payout.StateConfirming, payout.StateConfirmed, payout.StateSucceeded:
		msg += "The provider was asked to release the money."
	case payout.StateUnknown:
		msg += "The provider did not answer in time; we are finding out whether the money was released. Do not approve it again."
	default:
		msg += "The payout is now " + strings.ToLower(payout.State(p.State).Label()) + "."
	}
	if err := flash(c, "ok", msg); err != nil {
		return err
	}
	return redirect(c, "/payouts/"+itoa(p.ID))
}

func (a *app) cancelPayout(c echo.Context) error {
	p, err := a.payoutFromPath(c)
	if err != nil {
		return err
	}
	version, _ := strconv.ParseInt(c.FormValue("version"), 10, 64)
	reason := c.FormValue("reason")
	var updated *store.Payout
	err = a.decide(c, func(act payout.Actor) (err error) {
		updated, err = a.Payouts.Cancel(c.Request().Context(), act, p.ID, version, reason)
		return err
	})
	if refused(err) {
		return a.renderPayout(c, statusOf(err), p, decisionForm{reason: reason, refused: err})
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Cancel sent to the provider."); err != nil {
		return err
	}
	return redirect(c, "/payouts/"+itoa(updated.ID))
}

// recordReturn records that the receiving bank sent a payout back. A
// refusal, or a field that is wrong, shows the payout's page again.
func (a *app) recordReturn(c echo.Context) error {
	p, err := a.payoutFromPath(c)
	if err != nil {
		return err
	}
	form := views.ReturnForm{On: strings.TrimSpace(c.FormValue("returned_on")), Reason: c.FormValue("return_reason")}
	var returned *store.Payout
	// Recording a return is a decision: it needs the second factor.
	err = a.decide(c, func(act payout.Actor) (err error) {
		returned, err = a.Payouts.RecordReturn(c.Request().Context(), act, p.ID, form.Reason, form.On)
		return err
	})
	var fields *fail.FieldError
	if errors.As(err, &fields) {
		form.Errors = views.FieldErrors(fields.Fields)
		withhold(fields.Fields, map[string]*string{"return_reason": &form.Reason})
	}
	if refused(err) {
		return a.renderPayout(c, statusOf(err), p, decisionForm{refused: err, ret: form})
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Recorded: the bank returned this payout on "+returned.ReturnedOn+"."); err != nil {
		return err
	}
	return redirect(c, "/payouts/"+itoa(p.ID))
}

// webhook receives the provider's signed notifications. The body is read raw
// and handed over unparsed: the signature is checked on exactly these bytes.
// A refusal (bad signature 401, unusable body 400) is logged with the sender's
// address; any other error is a 500, so the provider retries.
func (a *app) webhook(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	err = a.Payouts.HandleWebhook(c.Request().Context(), body, c.Request().Header.Get(smartglocal.HeaderSign))
	if refused(err) {
		a.Logger.Warn("webhook refused", "ip", c.RealIP(), "code", fail.CodeOf(err))
	}
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, "ok")
}

func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "deadline passed"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h > 0 {
		return fmt.Sprintf("%dh %02dm left", h, m)
	}
	return fmt.Sprintf("%dm left", m)
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	default:
		return fmt.Sprintf("%.0f h ago", d.Hours())
	}
}
