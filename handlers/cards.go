package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/labstack/echo/v4"

	"countersign/card"
	"countersign/fail"
	"countersign/payout"
	"countersign/views"
)

// pickerLimit bounds the card and bank account pickers; past it, the
// form says so and points to the recipient's page, which pays any of theirs.
const pickerLimit = 500

// cardOptions lists the saved, verified cards a maker may pay to: of the
// recipient named by ?recipient= (or the form's recipient_id) when there is
// one, else of everyone, the first pickerLimit by name. more says
// whether there are others.
func (a *app) cardOptions(c echo.Context) (_ []views.CardOption, more bool, _ error) {
	cards, err := a.DB.PayableCards(c.Request().Context(), recipientParam(c), pickerLimit+1)
	if err != nil {
		return nil, false, err
	}
	if more = len(cards) > pickerLimit; more {
		cards = cards[:pickerLimit]
	}
	out := make([]views.CardOption, 0, len(cards))
	for _, choice := range cards {
		out = append(out, views.CardOption{ID: choice.CardID, Label: card.Label(choice.Brand, choice.Last4) + " · " + choice.RecipientName})
	}
	return out, more, nil
}

// recipientParam is the recipient a new payout is for: ?recipient= on the
// form's page, recipient_id in what it posts; 0 for anyone.
func recipientParam(c echo.Context) int64 {
	rid, _ := strconv.ParseInt(c.QueryParam("recipient"), 10, 64)
	if rid == 0 {
		rid, _ = strconv.ParseInt(c.FormValue("recipient_id"), 10, 64)
	}
	return max(rid, 0)
}

// addCard saves a card for the recipient by its provider token. Brand and
// last4 come from the provider's token/info, never from the form.
func (a *app) addCard(c echo.Context) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	hash := c.FormValue("number_hash")
	saved, err := a.Payouts.AddCard(c.Request().Context(), actor(c), r.ID, hash)
	var fields *fail.FieldError
	if errors.As(err, &fields) {
		msg := fields.Fields["number_hash"]
		if msg == "" {
			msg = "This card cannot be saved for this recipient"
		}
		return a.renderRecipient(c, statusOf(err), r, views.AddCardForm{NumberHash: hash, Error: msg}, nil)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Saved "+card.Label(saved.Brand, saved.Last4)+" for "+r.FullName+". Someone else must verify it before it can be paid."); err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}

func (a *app) verifyCard(c echo.Context) error {
	// Verifying is a decision: it needs the second factor.
	return a.changeCard(c, func(ctx context.Context, _ payout.Actor, cardID int64) error {
		return a.decide(c, func(act payout.Actor) error { return a.Payouts.VerifyCard(ctx, act, cardID) })
	}, "Verified %s: it can now be paid.")
}

func (a *app) refreshCard(c echo.Context) error {
	return a.changeCard(c, a.Payouts.RefreshCard, "Asked the provider about %s again; the card below is what it says now.")
}

func (a *app) removeCard(c echo.Context) error {
	return a.changeCard(c, a.Payouts.RemoveCard, "Removed %s.")
}

// changeCard verifies, refreshes or removes a card of the recipient in the
// path. A card of another recipient is not found here, whatever its id. A
// refusal shows the recipient's page again with the reason.
func (a *app) changeCard(c echo.Context, change func(ctx context.Context, a payout.Actor, cardID int64) error, done string) error {
	r, err := a.recipientFromPath(c)
	if err != nil {
		return err
	}
	saved, err := a.Payouts.RecipientCard(c.Request().Context(), r.ID, pathID(c, "card"))
	if err != nil {
		return err
	}
	err = change(c.Request().Context(), actor(c), saved.ID)
	if refused(err) {
		return a.renderRecipient(c, statusOf(err), r, views.AddCardForm{}, err)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", fmt.Sprintf(done, card.Label(saved.Brand, saved.Last4))); err != nil {
		return err
	}
	return redirect(c, "/recipients/"+itoa(r.ID))
}
