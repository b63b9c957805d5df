package handlers

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
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
	now := a.Now()
	clk := a.clock(c)
	m := views.DashboardModel{ChartDays: 7}
	if c.QueryParam("days") == "30" {
		m.ChartDays = 30
	}
	u := currentUser(c)
	m.CanRefresh = a.Provider != nil && (u.HasRole(string(payout.RoleMaker)) || u.HasRole(string(payout.RoleApprover)) || u.HasRole(string(payout.RoleAdmin)))

	var err error
	if m.Frame, err = a.frame(c, "Dashboard", "/"); err != nil {
		return err
	}
	counts, err := a.dashboardCounts(c)
	if err != nil {
		return err
	}
	if m.Counts.Poll, err = fingerprint(c, counts.Poll, func(p views.Poll) templ.Component {
		counts.Poll = p
		return views.DashboardLive(counts)
	}); err != nil {
		return err
	}
	counts.Poll = m.Counts.Poll
	m.Counts = counts

	if m.Balance, err = a.gauges(c, true); err != nil {
		return err
	}
	chartFrom := localMidnight(now, clk).AddDate(0, 0, 1-m.ChartDays)
	days := make([]time.Time, m.ChartDays+1) // the chart's days, in the person's zone
	for i := range days {
		days[i] = chartFrom.AddDate(0, 0, i)
	}
	outflow, err := a.DB.Outflows(ctx, days)
	if err != nil {
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
		m.Failures = append(m.Failures, failureRow(p, clk))
	}
	if m.Attention, err = a.attention(c, m.Frame.CSRF); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DashboardPage(m))
}

// dashboardLive answers the dashboard's poll: its counts, or 204 when they
// did not change.
func (a *app) dashboardLive(c echo.Context) error {
	counts, err := a.dashboardCounts(c)
	if err != nil {
		return err
	}
	return renderLive(c, counts.Poll, func(p views.Poll) templ.Component {
		counts.Poll = p
		return views.DashboardLive(counts)
	})
}

// dashboardCounts is what was paid out today and this week (days of the
// person's time zone) and what waits for approval.
func (a *app) dashboardCounts(c echo.Context) (views.DashboardCounts, error) {
	ctx := c.Request().Context()
	now := a.Now()
	clk := a.clock(c)
	today := localMidnight(now, clk)
	week := today.AddDate(0, 0, -(int(today.Weekday())+6)%7) // Monday
	m := views.DashboardCounts{Poll: views.Poll{URL: "/dashboard/live", Every: dashboardPollEvery}, Zone: clk.Zone()}
	// The queue link only for those who may open it (not auditors).
	if a.mayOpen(c, "/queue") {
		m.QueueHref = "/queue"
	}
	// Span 0 is the week before today, span 1 today.
	outflow, err := a.DB.Outflows(ctx, []time.Time{week, today, today.AddDate(0, 0, 1)})
	if err != nil {
		return m, err
	}
	m.Paid = paidRows(outflow)
	// What waits, per currency, from the kept totals; and the few closest to
	// their deadline: neither reads every waiting payout (the page is polled).
	waiting := string(payout.StatePendingApproval)
	totals, err := a.DB.PayoutTotals(ctx, store.PayoutFilter{States: []string{waiting}})
	if err != nil {
		return m, err
	}
	m.PendingCount, m.Pending = pendingRows(totals)
	due, err := a.DB.PayoutsDueBefore(ctx, waiting, now.Add(nearDeadline), nearDeadlineRows)
	if err != nil {
		return m, err
	}
	m.NearDeadline = deadlineRows(due, now)
	return m, nil
}

// nearDeadlineRows is how many payouts close to their deadline the dashboard lists.
const nearDeadlineRows = 10

// mayOpen reports whether the signed-in person may open the page at path,
// as the routes table says.
func (a *app) mayOpen(c echo.Context, path string) bool {
	for _, n := range a.nav {
		if n.item.Href == path {
			return n.acc.allows(currentUser(c))
		}
	}
	return false
}

// localMidnight is the start of t's day in the clock's time zone.
func localMidnight(t time.Time, clk views.Clock) time.Time {
	l := t.In(clk.Loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, clk.Loc)
}

// paidRows sums the outflow of the week's two spans (the days before today,
// and today) into today and this week, per currency.
func paidRows(outflow []store.Outflow) []views.PaidRow {
	type sums struct{ today, week, todayN, weekN int64 }
	by := map[string]*sums{}
	for _, o := range outflow {
		s := by[o.Currency]
		if s == nil {
			s = &sums{}
			by[o.Currency] = s
		}
		s.week += o.Amount
		s.weekN += o.Count
		if o.Span == 1 {
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

// pendingRows is what waits for approval: how many payouts, and per currency
// how many and how much.
func pendingRows(totals []store.Total) (int, []views.MoneyRow) {
	n := 0
	var rows []views.MoneyRow
	for _, t := range totals {
		n += int(t.Count)
		rows = append(rows, views.MoneyRow{Currency: t.Currency, Count: t.Count, Amount: payout.FormatAmount(t.Amount, t.Currency)})
	}
	return n, rows
}

// deadlineRows lists the payouts close to their deadline, as they come
// (soonest first).
func deadlineRows(due []*store.Payout, now time.Time) []views.DeadlineRow {
	var near []views.DeadlineRow
	for _, p := range due {
		left := p.DeadlineAt.Sub(now)
		near = append(near, views.DeadlineRow{ID: p.ID, Href: "/payouts/" + itoa(p.ID), Amount: payout.FormatAmount(p.Amount, p.Currency),
			Currency: p.Currency, FullName: p.FullName, TimeLeft: humanDuration(left), Urgent: left < 30*time.Minute})
	}
	return near
}

func failureRow(p *store.PayoutRow, clk views.Clock) views.FailureRow {
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
	return views.FailureRow{ID: p.ID, Href: "/payouts/" + itoa(p.ID), When: clk.Time(when), Amount: payout.FormatAmount(p.Amount, p.Currency),
		Currency: p.Currency, FullName: p.FullName, StateLabel: payout.State(p.State).Label(), Reason: reason}
}

// Chart geometry: a 300×100 box, the balance line in the upper part, a bar
// per day of outflow in the lower part, each on its own scale.
const (
	chartW, chartPad      = 300.0, 4.0
	balanceTop, balanceLo = 5.0, 55.0
	barsTop, barsLo       = 65.0, 98.0
)

// enoughHistory is how long the balance readings must span before a line is
// drawn: a few minutes of readings on a week-long axis is a dot, not a trend.
const enoughHistory = 24 * time.Hour

// charts draws, per currency with readings or outflow in the period, the
// balance (hourly readings) and the money paid out per day of the person's
// time zone, starting at from (a local midnight).
func (a *app) charts(c echo.Context, outflow []store.Outflow, from, now time.Time, days int) ([]views.Chart, error) {
	ps, err := a.positions(c)
	if err != nil {
		return nil, err
	}
	clk := a.clock(c)
	currencies := map[string]bool{}
	for _, p := range ps {
		if p.Read {
			currencies[p.Currency] = true
		}
	}
	perDay := map[string][]int64{}
	for _, o := range outflow {
		if perDay[o.Currency] == nil {
			perDay[o.Currency] = make([]int64, days)
		}
		perDay[o.Currency][o.Span] += o.Amount
		currencies[o.Currency] = true
	}
	var out []views.Chart
	for _, cur := range slices.Sorted(maps.Keys(currencies)) {
		hist, err := a.DB.BalanceHistory(c.Request().Context(), cur, from, chartHoursPerPoint(days))
		if err != nil {
			return nil, err
		}
		ch := drawChart(cur, hist, perDay[cur], from, now, days, clk)
		out = append(out, ch)
	}
	return out, nil
}

// chartHoursPerPoint is how many hours apart a chart of so many days
// plots the balance: every hour for a week (168 points), every fourth for
// a month (180), so that points stay a few pixels apart.
func chartHoursPerPoint(days int) int {
	if days > 7 {
		return 4
	}
	return 1
}

func drawChart(cur string, hist []store.BalanceSnapshot, perDay []int64, from, now time.Time, days int, clk views.Clock) views.Chart {
	ch := views.Chart{Currency: cur, From: clk.Day(from), To: clk.Day(now)}
	span := now.Sub(from).Seconds()
	if len(hist) > 0 {
		lo, hi := hist[0].Amount, hist[0].Amount
		for _, s := range hist {
			lo, hi = min(lo, s.Amount), max(hi, s.Amount)
		}
		ch.BalanceLow, ch.BalanceHigh = payout.FormatAmount(lo, cur)+" "+cur, payout.FormatAmount(hi, cur)+" "+cur
		if lo == hi {
			ch.BalanceLow = ""
		}
		if hist[len(hist)-1].ReadAt.Sub(hist[0].ReadAt) >= enoughHistory && span > 0 {
			var pts []string
			for _, s := range hist {
				x := chartPad + (chartW-2*chartPad)*min(1, max(0, s.ReadAt.Sub(from).Seconds()/span))
				y := (balanceTop + balanceLo) / 2
				if hi > lo {
					y = balanceLo - (balanceLo-balanceTop)*float64(s.Amount-lo)/float64(hi-lo)
				}
				pts = append(pts, coord(x)+","+coord(y))
			}
			ch.BalancePoints = strings.Join(pts, " ")
		}
	}
	var total, top int64
	busyDays := 0
	for _, v := range perDay {
		total += v
		top = max(top, v)
		if v > 0 {
			busyDays++
		}
	}
	slot := chartW / float64(days)
	for i, v := range perDay {
		if v == 0 {
			continue
		}
		h := (barsLo - barsTop) * float64(v) / float64(top)
		day := clk.Day(from.AddDate(0, 0, i))
		ch.Bars = append(ch.Bars, views.ChartBar{X: coord(float64(i)*slot + 1), Y: coord(barsLo - h), W: coord(max(1, slot-2)), H: coord(h),
			Title: day + ": " + payout.FormatAmount(v, cur) + " " + cur})
	}
	// A line needs a day of readings; bars need two days with payouts to be a picture.
	ch.Enough = ch.BalancePoints != "" || busyDays >= 2
	ch.OutflowTotal = payout.FormatAmount(total, cur) + " " + cur
	if top > 0 {
		ch.OutflowMax = payout.FormatAmount(top, cur) + " " + cur
	}
	ch.Summary = fmt.Sprintf("%s over %d days: paid out %s", cur, days, ch.OutflowTotal)
	switch {
	case ch.BalanceLow != "":
		ch.Summary += "; balance between " + ch.BalanceLow + " and " + ch.BalanceHigh
	case ch.BalanceHigh != "":
		ch.Summary += "; balance " + ch.BalanceHigh
	}
	return ch
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
