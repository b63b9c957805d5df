package handlers

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/views"
)

// attention is the dashboard's list of what needs a person.
func (a *app) attention(c echo.Context, csrf string) (views.AttentionModel, error) {
	items, err := a.Payouts.Attention(c.Request().Context())
	if err != nil {
		return views.AttentionModel{}, err
	}
	m := views.AttentionModel{CanAcknowledge: payout.CanAcknowledge(actor(c)), CSRF: csrf}
	for _, it := range items {
		r := views.AttentionRow{ID: it.ID, Label: payout.AttentionLabel(it.Kind), Detail: it.Detail, PayoutID: it.PayoutID,
			RaisedAt: a.clock(c).Time(it.RaisedAt)}
		if it.PayoutID != 0 {
			r.PayoutHref = "/payouts/" + itoa(it.PayoutID)
		}
		m.Rows = append(m.Rows, r)
	}
	return m, nil
}

// acknowledgeAttention takes an item off the dashboard; the service audits it.
func (a *app) acknowledgeAttention(c echo.Context) error {
	item, err := a.Payouts.AcknowledgeAttention(c.Request().Context(), actor(c), pathID(c, "id"))
	if err != nil {
		return err
	}
	if err := flash(c, "ok", fmt.Sprintf("Acknowledged: %s.", payout.AttentionLabel(item.Kind))); err != nil {
		return err
	}
	return redirect(c, "/")
}
