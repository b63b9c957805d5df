package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/card"
	"countersign/fail"
	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

// recipientListLimit bounds the recipient book page; a search narrows it.
const recipientListLimit = 200

func recipientRow(r *store.Recipient) views.RecipientRow {
	return views.RecipientRow{ID: r.ID, Href: "/recipients/" + itoa(r.ID), FullName: r.FullName,
		CustomerReference: r.CustomerReference, Email: r.Email, Country: r.Country}
}

func (a *app) recipients(c echo.Context) error {
	return a.renderRecipients(c, http.StatusOK, views.RecipientForm{})
}

func (a *app) renderRecipients(c echo.Context, status int, form views.RecipientForm) error {
	search := strings.TrimSpace(c.QueryParam("q"))
	country := strings.ToUpper(strings.TrimSpace(c.QueryParam("country")))
	all, err := a.DB.Recipients(c.Request().Context(), search)
	if err != nil {
		return err
	}
	m := views.RecipientsModel{Search: search, Country: country, New: form, CanCreate: currentUser(c).HasRole(string(payout.RoleMaker))}
	for _, r := range all {
		if country != "" && r.Country != country {
			continue
		}
		if len(m.Rows) == recipientListLimit {
			m.More = true
			break
		}
		m.Rows = append(m.Rows, recipientRow(r))
	}
	if m.Frame, err = a.frame(c, "Recipients", "/recipients"); err != nil {
		return err
	}
	return render(c, status, views.RecipientsPage(m))
}

func (a *app) createRecipient(c echo.Context) error {
	d := payout.RecipientDraft{FullName: c.FormValue("full_name"), CustomerReference: c.FormValue("customer_reference"),
		Email: c.FormValue("email"), Country: c.FormValue("country")}
	r, err := a.Payouts.CreateRecipient(c.Request().Context(), actor(c), d)
	var fields *fail.FieldError
	if errors.As(err, &fields) {
		form := views.RecipientForm{FullName: d.FullName, CustomerReference: d.CustomerReference, Email: d.Email, Country: d.Country,
			Errors: views.FieldErrors(fields.Fields)}
		return a.renderRecipients(c, statusOf(err), form)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Added "+r.FullName+". Add a card for them below."); err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}

// recipientFromPath loads the recipient named by :id; the store answers
// NotFound when there is none.
func (a *app) recipientFromPath(c echo.Context) (*store.Recipient, error) {
	return a.DB.RecipientByID(c.Request().Context(), pathID(c, "id"))
}

// showRecipient shows a recipient and their cards. Coming back from the
// sandbox widget, the query carries the token it stored: it only fills in the
// form; the card is saved when the person presses "Add card".
func (a *app) showRecipient(c echo.Context) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	form := views.AddCardForm{NumberHash: strings.TrimSpace(c.QueryParam("number_hash"))}
	if form.NumberHash != "" {
		if last4, brand := c.QueryParam("last4"), c.QueryParam("brand"); isDigits(last4, 4) && isWord(brand) {
			form.FromWidget = card.Label(brand, last4)
		} else {
			form.FromWidget = "a card"
		}
	}
	return a.renderRecipient(c, http.StatusOK, r, form, nil)
}

// renderRecipient shows a recipient's page; refused, when not nil, is why a
// change to one of their cards was refused.
func (a *app) renderRecipient(c echo.Context, status int, r *store.Recipient, form views.AddCardForm, refused error) error {
	ctx := c.Request().Context()
	cards, err := a.DB.CardsForRecipient(ctx, r.ID)
	if err != nil {
		return err
	}
	u := currentUser(c)
	m := views.RecipientModel{R: recipientRow(r), AddCard: form, CanAddCard: u.HasRole(string(payout.RoleMaker)),
		PayoutsHref: "/payouts?" + url.Values{"recipient": {"#" + itoa(r.ID)}}.Encode()}
	if m.CanAddCard {
		m.PayHref = "/payouts/new?recipient=" + itoa(r.ID)
	}
	if m.CanAddCard && a.WidgetURL != "" {
		back := c.Scheme() + "://" + c.Request().Host + "/recipients/" + itoa(r.ID)
		m.WidgetHref = a.WidgetURL + "?" + url.Values{"return_to": {back}}.Encode()
	}
	names := map[int64]string{}
	who := actor(c)
	clk := a.clock(c)
	for _, saved := range cards {
		row := views.CardRow{ID: saved.ID, Label: card.Label(saved.Brand, saved.Last4), AddedAt: clk.Time(saved.AddedAt),
			Verified: saved.Verified(), VerifiedAt: clk.Time(saved.VerifiedAt)}
		if row.AddedBy, err = a.userName(c, names, saved.AddedBy); err != nil {
			return err
		}
		if row.Verified {
			if row.VerifiedBy, err = a.userName(c, names, saved.VerifiedBy); err != nil {
				return err
			}
		}
		switch err := payout.CheckVerifyCard(who, saved); {
		case err == nil:
			row.CanVerify = true
		case errors.Is(err, payout.ErrOwnCard) && !saved.Verified():
			row.VerifyBlocked = fail.MessageOf(err)
		}
		row.CanRemove = payout.CheckCardChange(who) == nil
		m.Cards = append(m.Cards, row)
	}
	if m.Frame, err = a.frame(c, r.FullName, "/recipients"); err != nil {
		return err
	}
	if refused != nil {
		showRefusal(&m.Frame, refused)
	}
	return render(c, status, views.RecipientPage(m))
}

// userName looks a user's name up once per page.
func (a *app) userName(c echo.Context, seen map[int64]string, id int64) (string, error) {
	if n, ok := seen[id]; ok {
		return n, nil
	}
	u, err := a.DB.UserByID(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		seen[id] = "user #" + itoa(id)
		return seen[id], nil
	}
	if err != nil {
		return "", err
	}
	seen[id] = u.Name
	return u.Name, nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isWord accepts a card brand as the widget names it: a few ASCII letters.
func isWord(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ' ') {
			return false
		}
	}
	return true
}
