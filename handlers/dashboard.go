package handlers

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/smartglocal"
	"countersign/store"
	"countersign/views"
)

// nearDeadline is how close to the provider's deadline a waiting payout is
// listed on the dashboard.
const nearDeadline = time.Hour

func (a *app) dashboard(c echo.Context) error {
	if len(currentUser(c).Roles) == 0 {
		// Deny by default: an account with no role sees this, and nothing else.
		f, err := a.frame(c, "No role yet", "/")
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, views.NoRolePage(f))
	}
	if err := a.enrolled(c, currentUser(c)); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := a.Now().UTC()
	m := views.DashboardModel{ChartDays: 7}
	if c.QueryParam("days") == "30" {
		m.ChartDays = 30
	}
	u := currentUser(c)
	m.CanRefresh = a.Provider != nil && (u.HasRole(string(payout.RoleMaker)) || u.HasRole(string(payout.RoleApprover)) || u.HasRole(string(payout.RoleAdmin)))

	today := now.Truncate(24 * time.Hour)
	week := today.AddDate(0, 0, -(int(today.Weekday())+6)%7) // Monday
	chartFrom := today.AddDate(0, 0, 1-m.ChartDays)
	since := week
	if chartFrom.Before(since) {
		since = chartFrom
	}
	outflow, err := a.DB.Outflow(ctx, since)
	if err != nil {
		return err
	}
	m.Paid = paidRows(outflow, today, week)

	pending, err := a.DB.PayoutsInStates(ctx, string(payout.StatePendingApproval))
	if err != nil {
		return err
	}
	m.PendingCount = len(pending)
	m.Pending, m.NearDeadline = pendingRows(pending, now)

	if m.Balance, err = a.gauges(c); err != nil {
		return err
	}
	if m.Charts, err = a.charts(c, outflow, chartFrom, now, m.ChartDays); err != nil {
		return err
	}
	failed, err := a.DB.Payouts(ctx, store.PayoutFilter{States: []string{string(payout.StateFailed), string(payout.StateRejected),
		string(payout.StateExpired)}, Limit: 5})
	if err != nil {
		return err
	}
	for _, p := range failed {
		m.Failures = append(m.Failures, failureRow(p))
	}
	if m.Frame, err = a.frame(c, "Dashboard", "/"); err != nil {
		return err
	}
	if m.Attention, err = a.attention(c, m.Frame.CSRF); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DashboardPage(m))
}

// paidRows sums the days of outflow into today and this week, per currency.
func paidRows(outflow []store.DailyOutflow, today, week time.Time) []views.PaidRow {
	type sums struct{ today, week, todayN, weekN int64 }
	by := map[string]*sums{}
	for _, o := range outflow {
		if o.Day.Before(week) {
			continue
		}
		s := by[o.Currency]
		if s == nil {
			s = &sums{}
			by[o.Currency] = s
		}
		s.week += o.Amount
		s.weekN += o.Count
		if !o.Day.Before(today) {
			s.today += o.Amount
			s.todayN += o.Count
		}
	}
	var out []views.PaidRow
	for _, cur := range slices.Sorted(maps.Keys(by)) {
		s := by[cur]
		out = append(out, views.PaidRow{Currency: cur, Today: payout.FormatAmount(s.today, cur), TodayCount: s.todayN,
			Week: payout.FormatAmount(s.week, cur), WeekCount: s.weekN})
	}
	return out
}

// pendingRows totals the payouts waiting for approval per currency and picks
// those close to their deadline (they come soonest deadline first).
func pendingRows(pending []*store.Payout, now time.Time) ([]views.MoneyRow, []views.DeadlineRow) {
	type sum struct{ n, amount int64 }
	by := map[string]*sum{}
	var near []views.DeadlineRow
	for _, p := range pending {
		s := by[p.Currency]
		if s == nil {
			s = &sum{}
			by[p.Currency] = s
		}
		s.n++
		s.amount += p.Amount
		if !p.DeadlineAt.IsZero() && p.DeadlineAt.Sub(now) < nearDeadline && len(near) < 10 {
			left := p.DeadlineAt.Sub(now)
			near = append(near, views.DeadlineRow{ID: p.ID, Href: "/payouts/" + itoa(p.ID), Amount: payout.FormatAmount(p.Amount, p.Currency),
				Currency: p.Currency, FullName: p.FullName, TimeLeft: humanDuration(left), Urgent: left < 30*time.Minute})
		}
	}
	var rows []views.MoneyRow
	for _, cur := range slices.Sorted(maps.Keys(by)) {
		rows = append(rows, views.MoneyRow{Currency: cur, Count: by[cur].n, Amount: payout.FormatAmount(by[cur].amount, cur)})
	}
	return rows, near
}

func failureRow(p *store.PayoutRow) views.FailureRow {
	reason := p.FailureReason
	switch {
	case reason != "":
	case p.FailureCode != "":
		reason = smartglocal.CodeMeaning(p.FailureCode)
	default:
		reason = "No reason was given"
	}
	when := p.FinishedAt
	if when.IsZero() {
		when = p.UpdatedAt
	}
	return views.FailureRow{ID: p.ID, Href: "/payouts/" + itoa(p.ID), When: views.FormatTime(when), Amount: payout.FormatAmount(p.Amount, p.Currency),
		Currency: p.Currency, FullName: p.FullName, StateLabel: payout.State(p.State).Label(), Reason: reason}
}

// Chart geometry: a 300×100 box, the balance line in the upper part, a bar
// per day of outflow in the lower part, each on its own scale.
const (
	chartW, chartPad      = 300.0, 4.0 // the pad keeps the mark of the latest reading inside
	balanceTop, balanceLo = 5.0, 55.0
	barsTop, barsLo       = 65.0, 98.0
)

// charts draws, per currency with readings or outflow in the period, the
// balance (hourly readings) and the money paid out per day.
func (a *app) charts(c echo.Context, outflow []store.DailyOutflow, from, now time.Time, days int) ([]views.Chart, error) {
	ps, err := a.positions(c)
	if err != nil {
		return nil, err
	}
	currencies := map[string]bool{}
	for _, p := range ps {
		if p.Read {
			currencies[p.Currency] = true
		}
	}
	perDay := map[string][]int64{}
	for _, o := range outflow {
		i := int(o.Day.Sub(from) / (24 * time.Hour))
		if i < 0 || i >= days {
			continue
		}
		if perDay[o.Currency] == nil {
			perDay[o.Currency] = make([]int64, days)
		}
		perDay[o.Currency][i] += o.Amount
		currencies[o.Currency] = true
	}
	var out []views.Chart
	for _, cur := range slices.Sorted(maps.Keys(currencies)) {
		hist, err := a.DB.BalanceHistory(c.Request().Context(), cur, from)
		if err != nil {
			return nil, err
		}
		ch := drawChart(cur, hist, perDay[cur], from, now, days)
		if ch.BalancePoints == "" && len(ch.Bars) == 0 {
			continue
		}
		out = append(out, ch)
	}
	return out, nil
}

func drawChart(cur string, hist []store.BalanceSnapshot, perDay []int64, from, now time.Time, days int) views.Chart {
	ch := views.Chart{Currency: cur}
	span := now.Sub(from).Seconds()
	if len(hist) > 0 && span > 0 {
		lo, hi := hist[0].Amount, hist[0].Amount
		for _, s := range hist {
			lo, hi = min(lo, s.Amount), max(hi, s.Amount)
		}
		var pts []string
		for _, s := range hist {
			x := chartPad + (chartW-2*chartPad)*min(1, max(0, s.ReadAt.Sub(from).Seconds()/span))
			y := (balanceTop + balanceLo) / 2
			if hi > lo {
				y = balanceLo - (balanceLo-balanceTop)*float64(s.Amount-lo)/float64(hi-lo)
			}
			pts = append(pts, coord(x)+","+coord(y))
		}
		if len(pts) == 1 { // one reading: a flat line to now
			pts = append(pts, coord(chartW-chartPad)+","+strings.Split(pts[0], ",")[1])
		}
		ch.BalancePoints = strings.Join(pts, " ")
		ch.LastX, ch.LastY, _ = strings.Cut(pts[len(pts)-1], ",")
		ch.BalanceLow, ch.BalanceHigh = payout.FormatAmount(lo, cur)+" "+cur, payout.FormatAmount(hi, cur)+" "+cur
	}
	var total, top int64
	for _, v := range perDay {
		total += v
		top = max(top, v)
	}
	slot := chartW / float64(days)
	for i, v := range perDay {
		if v == 0 {
			continue
		}
		h := (barsLo - barsTop) * float64(v) / float64(top)
		day := from.AddDate(0, 0, i).Format(time.DateOnly)
		ch.Bars = append(ch.Bars, views.ChartBar{X: coord(float64(i)*slot + 1), Y: coord(barsLo - h), W: coord(max(1, slot-2)), H: coord(h),
			Title: day + ": " + payout.FormatAmount(v, cur) + " " + cur})
	}
	ch.OutflowTotal = payout.FormatAmount(total, cur) + " " + cur
	if top > 0 {
		ch.OutflowMax = payout.FormatAmount(top, cur) + " " + cur
	}
	ch.Summary = fmt.Sprintf("%s over %d days: paid out %s", cur, days, ch.OutflowTotal)
	if ch.BalanceHigh != "" {
		ch.Summary += "; balance between " + ch.BalanceLow + " and " + ch.BalanceHigh
	}
	return ch
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
