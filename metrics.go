package main

import (
	"context"
	"math"

	"countersign/metrics"
	"countersign/payout"
)

// metricsState reads what the metrics say of the database at a scrape. Every
// query is bounded: payout counts come from the counts triggers keep, the
// queue and the money on hand read only open payouts and each currency's
// latest reading, the outbox only what waits to be sent.
func (a *app) metricsState(ctx context.Context) (metrics.State, error) {
	var s metrics.State
	counts, err := a.db.PayoutCounts(ctx)
	if err != nil {
		return s, err
	}
	// Every state has a series, 0 included: an alert on unknown > 0 needs one.
	s.PayoutsByState = map[string]int64{}
	for _, st := range payout.AllStates() {
		s.PayoutsByState[string(st)] = counts[string(st)]
	}
	if s.QueueLength, s.QueueOldest, s.NextDeadline, err = a.db.QueueSummary(ctx, string(payout.StatePendingApproval)); err != nil {
		return s, err
	}
	positions, err := payout.LoadPositions(ctx, a.db)
	if err != nil {
		return s, err
	}
	levels, err := a.payouts.LowBalanceLevels(ctx)
	if err != nil {
		return s, err
	}
	for _, p := range positions {
		exp, _ := payout.Exponent(p.Currency)
		major := func(minor int64) float64 { return float64(minor) / math.Pow10(exp) }
		low, hasLow := levels[p.Currency]
		b := metrics.Balance{Currency: p.Currency, Balance: major(p.Balance), Available: major(p.Available()), LowMark: major(low), HasLow: hasLow}
		if p.Read {
			b.ReadAt = p.AsOf
		}
		s.Balances = append(s.Balances, b)
	}
	s.OutboxDepth, err = a.db.OutboxDepth(ctx)
	return s, err
}
