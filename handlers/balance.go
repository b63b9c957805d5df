package handlers

import (
	"context"
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

// gauges shows the money on hand per currency.
func (a *app) gauges(c echo.Context) ([]views.Gauge, error) {
	ps, err := a.positions(c)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	gs := make([]views.Gauge, 0, len(ps))
	for _, p := range ps {
		gs = append(gs, gaugeOf(p, now, a.staleAfter()))
	}
	return gs, nil
}

func gaugeOf(p payout.Position, now time.Time, staleAfter time.Duration) views.Gauge {
	cur := p.Currency
	g := views.Gauge{
		Currency:  cur,
		Read:      p.Read,
		Balance:   payout.FormatAmount(p.Balance, cur),
		Committed: payout.FormatAmount(p.Spent(), cur),
		Pending:   payout.FormatAmount(p.Pending, cur),
		Available: payout.FormatAmount(p.Available(), cur),
		AsOf:      views.FormatTime(p.AsOf),
		Age:       ago(now, p.AsOf),
		Stale:     p.Stale(now, staleAfter),
		Negative:  p.Available() < 0,
	}
	if !p.Read {
		g.Balance, g.AsOf, g.Age = "—", "never", "never read"
	}
	if p.Balance > 0 {
		g.Fraction = float64(max(0, p.Available())) / float64(p.Balance)
		g.PendingFraction = float64(p.Pending) / float64(p.Balance)
	}
	if short := p.Shortfall(); short > 0 && p.Read {
		g.Warning = "Payouts awaiting approval exceed the money on hand by " + payout.FormatAmount(short, cur) + " " + cur + "."
	}
	return g
}

// afterApproval says what approving p would leave of the balance in its
// currency, on top of what is already being paid out, and whether that
// overdraws. The queue and the payout page show it beside the approve button.
func (a *app) afterApproval(c echo.Context, p *store.Payout) (string, bool, error) {
	ps, err := a.positions(c)
	if err != nil {
		return "", false, err
	}
	pos := payout.PositionFor(ps, p.Currency)
	if !pos.Read {
		return "No balance reading for " + pos.Currency, false, nil
	}
	if payout.WeightOf(payout.State(p.State), p.ConfirmAttempted) == payout.WeightCommitted {
		return "", false, nil // already counted as leaving
	}
	left := pos.After(p.Amount)
	text := payout.FormatAmount(left, pos.Currency) + " " + pos.Currency + " left"
	if pos.Stale(a.Now(), a.staleAfter()) {
		text += " (stale reading)"
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
		err = flash(c, "ok", "Balance read at "+views.FormatTime(a.Now())+".")
	}
	if err != nil {
		return err
	}
	return redirectLocal(c, c.FormValue("back"))
}
