package payout

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"countersign/store"
)

// SplitWindow is how far back payouts to the same destination (card or bank
// account) count towards the threshold: splitting one payout into several
// below it gains nothing.
const SplitWindow = 24 * time.Hour

// endedStates are the states of payouts that paid nothing and never will;
// they do not count towards the threshold.
func endedStates() []string {
	return []string{string(StateFailed), string(StateCancelled), string(StateRejected), string(StateExpired), string(StateWithdrawn)}
}

// Need is how many approvals a payout needs, and why, in words for the
// payout page and the queue.
type Need struct {
	Count  int
	Reason string
}

// policyReader is what a requirement is read from: the store, or the
// transaction that enforces it.
type policyReader interface {
	Setting(ctx context.Context, key, def string) (string, error)
	SameDestinationTotals(ctx context.Context, q store.SameDestination) ([]store.CurrencyTotal, error)
}

// Requirement says how many approvals p needs now, and why.
func (s *Service) Requirement(ctx context.Context, p *store.Payout) (Need, error) {
	return requirement(ctx, s.db, p, s.db.Now())
}

// Requirements is Requirement for a page of payouts (the queue's), by
// payout id: the policy read once, and the payouts to each one's
// destination in one query for the page rather than one per payout.
func (s *Service) Requirements(ctx context.Context, ps []*store.Payout) (map[int64]Need, error) {
	pol, err := ReadPolicy(ctx, s.db)
	if err != nil {
		return nil, err
	}
	now := s.db.Now()
	qs := make([]store.SameDestination, len(ps))
	for i, p := range ps {
		qs[i] = sameDestination(p, now)
	}
	others, err := s.db.SameDestinationTotalsOf(ctx, qs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]Need, len(ps))
	for i, p := range ps {
		out[p.ID] = pol.need(p, others[i])
	}
	return out, nil
}

// requirement reads the policy and the payouts to the same destination in
// the last SplitWindow through r, and weighs them against the thresholds.
func requirement(ctx context.Context, r policyReader, p *store.Payout, now time.Time) (Need, error) {
	pol, err := ReadPolicy(ctx, r)
	if err != nil {
		return Need{}, err
	}
	others, err := r.SameDestinationTotals(ctx, sameDestination(p, now))
	if err != nil {
		return Need{}, err
	}
	return pol.need(p, others), nil
}

// sameDestination picks the payouts that count with p: to its card or bank
// account, in the last SplitWindow, not ended.
func sameDestination(p *store.Payout, now time.Time) store.SameDestination {
	q := store.SameDestination{Since: now.Add(-SplitWindow), ExcludeID: p.ID, Ended: endedStates()}
	if p.Method == MethodBankAccount {
		q.BankAccountID = p.BankAccountID
	} else {
		q.CardID, q.Fingerprint, q.Brand, q.Last4 = p.CardID, p.CardFingerprint, p.CardBrand, p.CardLast4
	}
	return q
}

// need explains Required for p, counting the others payouts to the same
// destination. Each currency is weighed against its own threshold: two
// approvers are needed when the payouts to one destination add up to one
// whole threshold or more (999 USD and 999 EUR under thresholds of 1,000
// each make 1.998 thresholds). A currency with no threshold weighs as a
// whole threshold at any amount, as it does for a payout on its own.
func (pol Policy) need(p *store.Payout, others []store.CurrencyTotal) Need {
	threshold, ok := pol.Threshold(p.Currency)
	if !ok {
		return Need{2, fmt.Sprintf("Two approvers: no threshold is set for %s, so every %s payout needs two.", p.Currency, p.Currency)}
	}
	limit := money(threshold, p.Currency)
	if p.Amount >= threshold {
		return Need{2, fmt.Sprintf("Two approvers: %s is at or above the %s threshold.", money(p.Amount, p.Currency), limit)}
	}
	this := "this card"
	if p.Method == MethodBankAccount {
		this = "this bank account"
	}
	share := big.NewRat(p.Amount, threshold)
	count, sameCurrency, unlimited := 0, int64(0), ""
	var amounts []string
	for _, t := range others {
		count += t.Count
		amounts = append(amounts, money(t.Amount, t.Currency))
		if t.Currency == p.Currency {
			sameCurrency = t.Amount
		}
		th, ok := pol.Threshold(t.Currency)
		if !ok || th <= 0 {
			unlimited = t.Currency
			continue
		}
		share.Add(share, big.NewRat(t.Amount, th))
	}
	if count == 0 {
		return Need{1, fmt.Sprintf("One approver: below the %s threshold.", limit)}
	}
	prior := fmt.Sprintf("%s to %s in the last 24 hours (%s)", payouts(count), this, strings.Join(amounts, " + "))
	if len(others) == 1 && others[0].Currency == p.Currency {
		total := p.Amount + sameCurrency
		switch {
		case total < p.Amount: // overflow: more than anyone can pay
			return Need{2, fmt.Sprintf("Two approvers: with %s, the total to %s is at or above the %s threshold.", prior, this, limit)}
		case total >= threshold:
			return Need{2, fmt.Sprintf("Two approvers: with %s, %s goes to %s, at or above the %s threshold.", prior, money(total, p.Currency), this, limit)}
		}
		return Need{1, fmt.Sprintf("One approver: %s to %s in 24 hours, counting %s, is below the %s threshold.", money(total, p.Currency), this, payouts(count), limit)}
	}
	percent := new(big.Rat).Mul(share, big.NewRat(100, 1)).FloatString(1)
	switch {
	case unlimited != "":
		return Need{2, fmt.Sprintf("Two approvers: with %s, and no threshold set for %s, the payouts to %s need two.", prior, unlimited, this)}
	case share.Cmp(big.NewRat(1, 1)) >= 0:
		return Need{2, fmt.Sprintf("Two approvers: with %s, the payouts to %s come to %s%% of a threshold (each currency against its own), at or above one whole threshold.", prior, this, percent)}
	}
	return Need{1, fmt.Sprintf("One approver: with %s, the payouts to %s come to %s%% of a threshold (each currency against its own).", prior, this, percent)}
}

func payouts(n int) string {
	if n == 1 {
		return "1 other payout"
	}
	return fmt.Sprintf("%d other payouts", n)
}
