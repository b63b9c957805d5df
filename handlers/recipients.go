package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/card"
	"countersign/fail"
	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

// recipientListLimit is how many recipients one page of the book shows.
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
	// One more than a page: whether there is a next one.
	f := store.RecipientFilter{Search: search, Country: country, Limit: recipientListLimit + 1}
	if after, err := strconv.ParseInt(c.QueryParam("after"), 10, 64); err == nil && after > 0 {
		f.AfterID = after
	}
	page, err := a.DB.Recipients(c.Request().Context(), f)
	if err != nil {
		return err
	}
	m := views.RecipientsModel{Search: search, Country: country, New: form, CanCreate: currentUser(c).HasRole(string(payout.RoleMaker))}
	if f.AfterID > 0 {
		m.FirstHref = "/recipients?" + recipientsQuery(search, country, 0)
	}
	if len(page) > recipientListLimit {
		page = page[:recipientListLimit]
		m.NextHref = "/recipients?" + recipientsQuery(search, country, page[len(page)-1].ID)
	}
	for _, r := range page {
		m.Rows = append(m.Rows, recipientRow(r))
	}
	if m.Frame, err = a.frame(c, "Recipients", "/recipients"); err != nil {
		return err
	}
	return render(c, status, views.RecipientsPage(m))
}

// recipientsQuery is the recipient book's query: the search, and the
// recipient the page starts after (0: the first page).
func recipientsQuery(search, country string, after int64) string {
	q := url.Values{}
	if search != "" {
		q.Set("q", search)
	}
	if country != "" {
		q.Set("country", country)
	}
	if after > 0 {
		q.Set("after", itoa(after))
	}
	return q.Encode()
}

func (a *app) createRecipient(c echo.Context) error {
	d := payout.RecipientDraft{FullName: c.FormValue("full_name"), CustomerReference: c.FormValue("customer_reference"),
		Email: c.FormValue("email"), Country: c.FormValue("country")}
	r, err := a.Payouts.CreateRecipient(c.Request().Context(), actor(c), d)
	var fields *fail.FieldError
	if errors.As(err, &fields) {
		form := views.RecipientForm{FullName: d.FullName, CustomerReference: d.CustomerReference, Email: d.Email, Country: d.Country,
			Errors: views.FieldErrors(fields.Fields)}
		withhold(fields.Fields, map[string]*string{"full_name": &form.FullName, "customer_reference": &form.CustomerReference})
		return a.renderRecipients(c, statusOf(err), form)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Added "+r.FullName+". Add a card or a bank account for them below."); err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}

// recipientFromPath loads the recipient named by :id; the store answers
// NotFound when there is none.
func (a *app) recipientFromPath(c echo.Context) (*store.Recipient, error) {
	return a.DB.RecipientByID(c.Request().Context(), pathID(c, "id"))
}

// showRecipient shows a recipient and their cards.
func (a *app) showRecipient(c echo.Context) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	return a.renderRecipient(c, http.StatusOK, r, views.AddCardForm{}, nil)
}

// cardFromWidget is where the sandbox's card widget comes back after it
// stored a card: it posts the card's token (never in a URL, where logs and
// history would keep it). The page shows the form filled in, naming the card
// as the provider's token/info names it (nothing the browser says is shown);
// the card is saved only when the person presses "Add card", a form with
// the session's CSRF token.
func (a *app) cardFromWidget(c echo.Context) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	form := views.AddCardForm{NumberHash: strings.TrimSpace(c.FormValue("number_hash"))}
	brand, last4, err := a.Payouts.CardInfo(c.Request().Context(), actor(c), form.NumberHash)
	var fields *fail.FieldError
	switch {
	case errors.As(err, &fields):
		form.Error = fields.Fields["number_hash"]
	case err != nil:
		return err
	default:
		form.FromWidget = card.Label(brand, last4)
	}
	return a.renderRecipient(c, http.StatusOK, r, form, nil)
}

// fromWidget admits a request to cardFromWidget only from the sandbox's card
// widget: the browser's Origin must be the widget's. The widget cannot know
// the session's CSRF token, so this is the check instead; the page it leads
// to changes nothing.
func (a *app) fromWidget(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a.WidgetURL == "" || c.Request().Header.Get("Origin") != a.formTargets() {
			return errCSRF
		}
		return next(c)
	}
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
		back := c.Scheme() + "://" + c.Request().Host + widgetReturnPrefix + "/recipients/" + itoa(r.ID)
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
		row.CanRemove = payout.CheckDestinationChange(who) == nil
		m.Cards = append(m.Cards, row)
	}
	accounts, err := a.DB.BankAccountsForRecipient(ctx, r.ID)
	if err != nil {
		return err
	}
	for _, acc := range accounts {
		row, err := a.accountRow(c, names, acc)
		if err != nil {
			return err
		}
		m.Accounts = append(m.Accounts, row)
	}
	if m.CanAddCard {
		m.AddAccountHref = "/recipients/" + itoa(r.ID) + "/accounts/new"
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
