package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

// staleAfter is the age at which a balance reading is called stale.
func (a *app) staleAfter() time.Duration {
	if a.BalanceStaleAfter > 0 {
		return a.BalanceStaleAfter
	}
	return 5 * time.Minute
}

const positionsKey = "countersign.positions"

// positions reads the money on hand once per request: the gauges, the queue
// rows and the banner all see the same figures.
func (a *app) positions(c echo.Context) ([]payout.Position, error) {
	if ps, ok := c.Get(positionsKey).([]payout.Position); ok {
		return ps, nil
	}
	ps, err := payout.LoadPositions(c.Request().Context(), a.DB)
	if err != nil {
		return nil, err
	}
	c.Set(positionsKey, ps)
	return ps, nil
}

// gauges shows the money on hand per currency: the provider's balance, what
// is being paid, what awaits approval, what is free, each currency's
// low-balance mark and, for the dashboard (runway), how long what is free
// lasts at the last week's pace.
func (a *app) gauges(c echo.Context, runway bool) ([]views.Gauge, error) {
	ctx := c.Request().Context()
	ps, err := a.positions(c)
	if err != nil {
		return nil, err
	}
	levels, err := a.Payouts.LowBalanceLevels(ctx)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	paid := map[string]int64{}
	if runway {
		outflow, err := a.DB.Outflows(ctx, []time.Time{now.Add(-runwayDays * 24 * time.Hour), now.Add(time.Hour)})
		if err != nil {
			return nil, err
		}
		for _, o := range outflow {
			paid[o.Currency] += o.Amount
		}
	}
	clk := a.clock(c)
	gs := make([]views.Gauge, 0, len(ps))
	for _, p := range ps {
		g := gaugeOf(p, clk, now, a.staleAfter())
		if level, ok := levels[p.Currency]; ok {
			g.Low, g.IsLow = payout.FormatAmount(level, p.Currency), p.Low(level)
			drawGauge(&g, p, level)
		} else {
			drawGauge(&g, p, 0)
		}
		if runway && p.Read {
			g.Runway = runwayWords(p, paid[p.Currency])
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// runwayDays is the window whose average daily outflow the runway assumes.
const runwayDays = 7

func runwayWords(p payout.Position, paid int64) string {
	days, ok := p.Runway(paid, runwayDays)
	switch {
	case !ok:
		return "No payouts in the last 7 days to estimate how long this lasts."
	case days < 1:
		return "Less than a day at the last 7 days' average outflow."
	case days >= 365:
		return "More than a year at the last 7 days' average outflow."
	}
	perDay := payout.FormatAmount(paid/runwayDays, p.Currency) + " " + p.Currency
	return fmt.Sprintf("≈ %d days at the last 7 days' average outflow (%s a day).", int(days), perDay)
}

func gaugeOf(p payout.Position, clk views.Clock, now time.Time, staleAfter time.Duration) views.Gauge {
	cur := p.Currency
	g := views.Gauge{
		Currency:  cur,
		Read:      p.Read,
		Balance:   payout.FormatAmount(p.Balance, cur),
		Committed: payout.FormatAmount(p.Spent(), cur),
		Pending:   payout.FormatAmount(p.Pending, cur),
		Available: payout.FormatAmount(p.Available(), cur),
		AsOf:      clk.Time(p.AsOf),
		Age:       ago(now, p.AsOf),
		Stale:     p.Stale(now, staleAfter),
		Negative:  p.Available() < 0,
	}
	if !p.Read {
		g.Balance, g.AsOf, g.Age = "—", "never", "never read"
	}
	if short := p.Shortfall(); short > 0 && p.Read {
		g.Warning = "Payouts awaiting approval exceed the money on hand by " + payout.FormatAmount(short, cur) + " " + cur + "."
	}
	return g
}

// drawGauge lays the gauge's bar out in a box 1000 units wide, on a scale
// from 0 to the balance (or to what is owed, or to the low mark, when either
// is larger): free first, from the left, so that it reads against the low
// mark drawn at its level; then what awaits approval, then what is being
// paid. Awaiting approval beyond the balance is drawn as the shortfall.
func drawGauge(g *views.Gauge, p payout.Position, low int64) {
	paid, awaiting, balance := max(0, p.Spent()), max(0, p.Pending), max(0, p.Balance)
	if !p.Read {
		balance = 0
	}
	top := max(balance, paid+awaiting, low)
	if top <= 0 {
		g.PaidX, g.PaidW, g.AwaitingX, g.AwaitingW, g.FreeX, g.FreeW, g.ShortX, g.ShortW = "0", "0", "0", "0", "0", "0", "0", "0"
		return
	}
	x := func(v int64) string { return coord(1000 * float64(v) / float64(top)) }
	free := max(0, balance-paid-awaiting)
	within := max(0, min(awaiting, balance-paid))
	g.FreeX, g.FreeW = "0", x(free)
	g.AwaitingX, g.AwaitingW = x(free), x(within)
	g.PaidX, g.PaidW = x(free+within), x(paid)
	g.ShortX, g.ShortW = x(free+within+paid), x(awaiting-within)
	if low > 0 {
		g.LowX = x(low)
	}
	g.Scale = []string{"0", roughAmount(top/2, p.Currency), roughAmount(top, p.Currency)}
}

// roughAmount is an amount in whole major units, for a scale: "500,000".
func roughAmount(minor int64, currency string) string {
	s := payout.FormatAmount(minor, currency)
	if whole, _, ok := strings.Cut(s, "."); ok {
		return whole
	}
	return s
}

// afterApproval says what approving p would leave of the balance in its
// currency, on top of what is already being paid out, and whether that
// overdraws. above is the sum of the payouts listed before p in the queue
// (in p's currency), which an approver working down the queue approves
// first; 0 on the payout's own page.
func (a *app) afterApproval(c echo.Context, p *store.Payout, above int64) (string, bool, error) {
	ps, err := a.positions(c)
	if err != nil {
		return "", false, err
	}
	pos := payout.PositionFor(ps, p.Currency)
	if !pos.Read {
		return "No balance reading for " + pos.Currency + " yet", false, nil
	}
	if payout.WeightOf(payout.State(p.State), p.ConfirmAttempted) == payout.WeightCommitted {
		return "", false, nil // already counted as leaving
	}
	left := pos.AfterQueue(above, p.Amount)
	text := payout.FormatAmount(left, pos.Currency) + " " + pos.Currency + " left"
	if above > 0 {
		text += ", after those above"
	}
	if pos.Stale(a.Now(), a.staleAfter()) {
		text += " (old reading)"
	}
	return text, left < 0, nil
}

// balanceWarning is what a maker is told on submitting a payout in currency
// when the payouts awaiting approval already exceed the money on hand; "" if they do not.
func (a *app) balanceWarning(c echo.Context, currency string) (string, error) {
	ps, err := a.positions(c)
	if err != nil {
		return "", err
	}
	pos := payout.PositionFor(ps, currency)
	if !pos.Read || pos.Shortfall() == 0 {
		return "", nil
	}
	return "Payouts awaiting approval in " + pos.Currency + " already exceed the money on hand by " +
		payout.FormatAmount(pos.Shortfall(), pos.Currency) + " " + pos.Currency + ": not all of them can be approved.", nil
}

// lowBalanceBanners names each currency whose money on hand is below the
// level an admin set.
func (a *app) lowBalanceBanners(ctx context.Context, ps []payout.Position) ([]string, error) {
	levels, err := a.Payouts.LowBalanceLevels(ctx)
	if err != nil || len(levels) == 0 {
		return nil, err
	}
	var out []string
	for _, p := range ps {
		level, ok := levels[p.Currency]
		if !ok || !p.Low(level) {
			continue
		}
		out = append(out, "Low balance: "+p.Currency+" "+payout.FormatAmount(p.Available(), p.Currency)+
			" available, below the level of "+payout.FormatAmount(level, p.Currency)+". Top up the wallet before approving more.")
	}
	return out, nil
}

// refreshBalance reads the provider's balance now, then goes back where the person was.
func (a *app) refreshBalance(c echo.Context) error {
	var err error
	if a.Provider == nil {
		err = flash(c, "error", "No provider is configured, so the balance cannot be read.")
	} else if rerr := payout.RefreshBalance(c.Request().Context(), a.DB, a.Provider); rerr != nil {
		a.Logger.Warn("balance refresh failed", "err", rerr)
		err = flash(c, "error", "The provider did not answer. The gauges show the last reading and its time.")
	} else {
		err = flash(c, "ok", "Balance read at "+a.clock(c).Time(a.Now())+".")
	}
	if err != nil {
		return err
	}
	return redirectLocal(c, c.FormValue("back"))
}
