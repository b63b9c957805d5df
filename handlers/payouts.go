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

	"countersign/card"
	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal"
	"countersign/store"
	"countersign/views"
)

// remittancePurposes are the provider's purpose codes (provider-api.md §8).
var remittancePurposes = []string{"COMPUTER_SERVICES", "FAMILY_SUPPORT", "EDUCATION", "GIFT_AND_DONATION", "MEDICAL_TREATMENT",
	"MAINTENANCE_EXPENSES", "TRAVEL", "SMALL_VALUE_REMITTANCE", "LIBERALIZED_REMITTANCE", "CONSTRUCTION_EXPENSES", "HOTEL_ACCOMMODATION",
	"ADVERTISING_EXPENSES", "ADVISORY_FEES", "BUSINESS_INSURANCE", "INSURANCE_CLAIMS", "DELIVERY_FEES", "EXPORTED_GOODS", "SERVICE_CHARGES",
	"LOAN_PAYMENT", "OFFICE_EXPENSES", "PROPERTY_PURCHASE", "PROPERTY_RENTAL", "ROYALTY_FEES", "SHARES_INVESTMENT", "FUND_INVESTMENT",
	"TAX_PAYMENT", "TRANSPORTATION_FEES", "UTILITY_BILLS", "PERSONAL_TRANSFER", "SALARY_PAYMENT", "REWARD_PAYMENT", "INFLUENCER_PAYMENT",
	"OTHER_FEES", "OTHER"}

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

// newPayout shows the form; opened from a recipient's page (?recipient=N) it
// comes with that recipient's name and their verified card chosen.
func (a *app) newPayout(c echo.Context) error {
	m := views.PayoutForm{Currency: "USD"}
	if id, err := strconv.ParseInt(c.QueryParam("recipient"), 10, 64); err == nil && id > 0 {
		r, err := a.DB.RecipientByID(c.Request().Context(), id)
		if err != nil {
			return err
		}
		m.FullName = r.FullName
		cards, err := a.cardOptions(c)
		if err != nil {
			return err
		}
		if len(cards) > 0 {
			m.CardID = cards[0].ID
		}
	}
	return a.renderPayoutForm(c, http.StatusOK, m)
}

func (a *app) renderPayoutForm(c echo.Context, status int, m views.PayoutForm) error {
	f, err := a.frame(c, "New payout", "/payouts/new")
	if err != nil {
		return err
	}
	m.Frame, m.Currencies, m.Purposes = f, payout.Currencies(), remittancePurposes
	if m.Cards, err = a.cardOptions(c); err != nil {
		return err
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
	return payout.Draft{
		FullName:          params.Get("full_name"),
		Amount:            params.Get("amount"),
		Currency:          params.Get("currency"),
		CardNumber:        params.Get("card_number"),
		CardID:            cardID,
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
	typed := views.PayoutForm{FullName: d.FullName, Amount: d.Amount, Currency: strings.ToUpper(d.Currency), CardID: d.CardID,
		CustomerReference: d.CustomerReference, Note: d.Note, Purpose: d.Purpose}
	var fields *fail.FieldError
	var derr *payout.DuplicateError
	switch {
	case errors.As(err, &fields):
		typed.Errors = views.FieldErrors(fields.Fields)
		return a.renderPayoutForm(c, statusOf(err), typed)
	case errors.As(err, &derr):
		for _, m := range derr.Matches {
			typed.Duplicates = append(typed.Duplicates, fmt.Sprintf("#%d: %s %s to %s, %s, prepared %s by %s (%s)", m.ID,
				payout.FormatAmount(m.Amount, m.Currency), m.Currency, m.FullName, card.Label(m.CardBrand, m.CardLast4),
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
