package handlers

import (
	"net/http"
	"strconv"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/views"
)

// queueModel is the payouts waiting for approval as the viewer sees them,
// soonest deadline first. What approving each leaves counts the ones above
// it in the same currency as approved too: an approver works down the list.
func (a *app) queueModel(c echo.Context) (views.QueueModel, error) {
	ctx := c.Request().Context()
	page := max(1, atoiOr(c.QueryParam("page"), 1))
	qp, err := a.DB.QueuePage(ctx, string(payout.StatePendingApproval), (page-1)*queuePageSize, queuePageSize)
	if err != nil {
		return views.QueueModel{}, err
	}
	u := currentUser(c)
	m := views.QueueModel{Poll: views.Poll{URL: "/queue/live" + queuePageQuery(page), Every: queuePollEvery},
		CanApprove: u.HasRole(string(payout.RoleApprover)), Waiting: int(qp.Total), First: (page-1)*queuePageSize + 1}
	if !m.CanApprove {
		m.Notice = "Approvers decide on these payouts; you can follow them here. You can cancel your own from their page until someone approves them."
	}
	if page > 1 {
		m.PrevHref = "/queue" + queuePageQuery(page-1)
	}
	if int64(page*queuePageSize) < qp.Total {
		m.NextHref = "/queue" + queuePageQuery(page+1)
	}
	ids := make([]int64, len(qp.Payouts))
	for i, p := range qp.Payouts {
		ids[i] = p.ID
	}
	approvals, err := a.DB.ApprovalsOf(ctx, ids)
	if err != nil {
		return m, err
	}
	needs, err := a.Payouts.Requirements(ctx, qp.Payouts)
	if err != nil {
		return m, err
	}
	above := qp.Above
	for _, p := range qp.Payouts {
		v, err := a.payoutViewWith(c, p, approvals[p.ID], needs[p.ID])
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

// queuePageSize is how many waiting payouts one page of the queue shows: a
// page an approver can work through, rendered (and polled) without reading
// every waiting payout's approvals and rules.
const queuePageSize = 50

func queuePageQuery(page int) string {
	if page <= 1 {
		return ""
	}
	return "?page=" + strconv.Itoa(page)
}

// atoiOr is s as a number, or def when it is not one.
func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
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
