package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/views"
)

func (a *app) queueModel(c echo.Context) (views.QueueModel, error) {
	ps, err := a.DB.PayoutsInStates(c.Request().Context(), string(payout.StatePendingApproval))
	if err != nil {
		return views.QueueModel{}, err
	}
	m := views.QueueModel{AsOf: views.FormatTime(a.Now())}
	for _, p := range ps {
		v, err := a.payoutView(c, p)
		if err != nil {
			return m, err
		}
		m.Rows = append(m.Rows, v)
	}
	return m, nil
}

func (a *app) queue(c echo.Context) error {
	m, err := a.queueModel(c)
	if err != nil {
		return err
	}
	if m.Balance, err = a.gauges(c); err != nil {
		return err
	}
	if m.Frame, err = a.frame(c, "Queue", "/queue"); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.QueuePage(m))
}

// queueLive is the fragment htmx swaps in every few seconds.
func (a *app) queueLive(c echo.Context) error {
	m, err := a.queueModel(c)
	if err != nil {
		return err
	}
	tok, err := a.csrfToken(c)
	if err != nil {
		return err
	}
	m.Frame.CSRF = tok
	// The rows' approve forms ask for a code, or say until when none is needed.
	if m.Frame.StepUp, err = a.stepUpView(c, currentUser(c)); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.QueueTable(m))
}
