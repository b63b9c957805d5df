package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

// cardOptionsLimit bounds the card picker; past it, pick the recipient first.
const cardOptionsLimit = 500

// cardOptions lists the saved, verified cards a maker may pay to: of the
// recipient named by ?recipient= (or the form's recipient_id) when there is
// one, else of everyone.
func (a *app) cardOptions(c echo.Context) ([]views.CardOption, error) {
	rid, _ := strconv.ParseInt(c.QueryParam("recipient"), 10, 64)
	if rid == 0 {
		rid, _ = strconv.ParseInt(c.FormValue("recipient_id"), 10, 64)
	}
	cards, err := a.DB.PayableCards(c.Request().Context(), max(rid, 0), cardOptionsLimit)
	if err != nil {
		return nil, err
	}
	out := make([]views.CardOption, 0, len(cards))
	for _, card := range cards {
		out = append(out, views.CardOption{ID: card.CardID, Label: cardLabel(card.Brand, card.Last4) + " · " + card.RecipientName})
	}
	return out, nil
}

// addCard saves a card for the recipient by its provider token. Brand and
// last4 come from the provider's token/info, never from the form.
func (a *app) addCard(c echo.Context) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	hash := c.FormValue("number_hash")
	card, err := a.Payouts.AddCard(c.Request().Context(), actor(c), r.ID, hash)
	var verr *payout.ValidationError
	var perr *payout.Error
	switch {
	case errors.As(err, &verr):
		msg := verr.Fields["number_hash"]
		if msg == "" {
			msg = "This card cannot be saved for this recipient"
		}
		return a.renderRecipient(c, http.StatusUnprocessableEntity, r, views.AddCardForm{NumberHash: hash, Error: msg})
	case errors.As(err, &perr):
		return a.renderRecipient(c, http.StatusForbidden, r, views.AddCardForm{NumberHash: hash, Error: perr.Message})
	case err != nil:
		return err
	}
	if err := flash(c, "ok", "Saved "+cardLabel(card.Brand, card.Last4)+" for "+r.FullName+". Someone else must verify it before it can be paid."); err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}

func (a *app) verifyCard(c echo.Context) error {
	return a.changeCard(c, a.Payouts.VerifyCard, "Verified %s: it can now be paid.")
}

func (a *app) refreshCard(c echo.Context) error {
	return a.changeCard(c, a.Payouts.RefreshCard, "Asked the provider about %s again; the card below is what it says now.")
}

func (a *app) removeCard(c echo.Context) error {
	return a.changeCard(c, a.Payouts.RemoveCard, "Removed %s.")
}

// changeCard verifies or removes a card of the recipient in the path. A card
// of another recipient is not found here, whatever its id.
func (a *app) changeCard(c echo.Context, change func(ctx context.Context, a payout.Actor, cardID int64) error, done string) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	card, err := a.cardOf(c, r)
	if err != nil {
		return err
	}
	label := cardLabel(card.Brand, card.Last4)
	err = change(c.Request().Context(), actor(c), card.ID)
	var perr *payout.Error
	switch {
	case errors.As(err, &perr):
		err = flash(c, "error", perr.Message+".")
	case err != nil:
		return err
	default:
		err = flash(c, "ok", fmt.Sprintf(done, label))
	}
	if err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}

// cardOf reads :card and loads it, if it belongs to r.
func (a *app) cardOf(c echo.Context, r *store.Recipient) (*store.Card, error) {
	notFound := echo.NewHTTPError(http.StatusNotFound, "No such card.")
	id, err := strconv.ParseInt(c.Param("card"), 10, 64)
	if err != nil {
		return nil, notFound
	}
	card, err := a.DB.CardByID(c.Request().Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && card.RecipientID != r.ID):
		return nil, notFound
	case err != nil:
		return nil, err
	}
	return card, nil
}
