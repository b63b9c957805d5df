package handlers

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/views"
)

// queueModel is the payouts waiting for approval as the viewer sees them,
// soonest deadline first. What approving each leaves counts the ones above
// it in the same currency as approved too: an approver works down the list.
func (a *app) queueModel(c echo.Context) (views.QueueModel, error) {
	ps, err := a.DB.PayoutsInStates(c.Request().Context(), string(payout.StatePendingApproval))
	if err != nil {
		return views.QueueModel{}, err
	}
	u := currentUser(c)
	m := views.QueueModel{Poll: views.Poll{URL: "/queue/live", Every: queuePollEvery}, CanApprove: u.HasRole(string(payout.RoleApprover))}
	if !m.CanApprove {
		m.Notice = "Approvers decide on these payouts; you can follow them here. You can cancel your own from their page until someone approves them."
	}
	above := map[string]int64{}
	for _, p := range ps {
		v, err := a.payoutView(c, p)
		if err != nil {
			return m, err
		}
		if v.AfterApproval, v.Overdraws, err = a.afterApproval(c, p, above[p.Currency]); err != nil {
			return m, err
		}
		above[p.Currency] += p.Amount
		m.Items = append(m.Items, v)
	}
	return m, nil
}

func (a *app) queue(c echo.Context) error {
	m, err := a.queueModel(c)
	if err != nil {
		return err
	}
	if m.Strip, err = a.gauges(c, false); err != nil {
		return err
	}
	if m.Frame, err = a.frame(c, "Queue", "/queue"); err != nil {
		return err
	}
	if m.Poll, err = fingerprint(c, m.Poll, func(p views.Poll) templ.Component {
		m.Poll = p
		return views.QueueLive(m)
	}); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.QueuePage(m))
}

// queueLive answers the queue's poll: the list, or 204 when it did not change.
func (a *app) queueLive(c echo.Context) error {
	m, err := a.queueModel(c)
	if err != nil {
		return err
	}
	if m.Frame.CSRF, err = a.csrfToken(c); err != nil {
		return err
	}
	m.Frame.Clock = a.clock(c)
	// The approve forms ask for a code, or say until when none is needed.
	if m.Frame.StepUp, err = a.stepUpView(c, currentUser(c)); err != nil {
		return err
	}
	return renderLive(c, m.Poll, func(p views.Poll) templ.Component {
		m.Poll = p
		return views.QueueLive(m)
	})
}
