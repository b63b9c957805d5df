package payout

import (
	"context"
	"fmt"
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
	SameDestinationTotal(ctx context.Context, q store.SameDestination) (int, int64, error)
}

// Requirement says how many approvals p needs now, and why.
func (s *Service) Requirement(ctx context.Context, p *store.Payout) (Need, error) {
	return requirement(ctx, s.db, p, s.db.Now())
}

// requirement reads the policy and the payouts to the same destination in
// the last SplitWindow through r, and compares their total with the threshold.
func requirement(ctx context.Context, r policyReader, p *store.Payout, now time.Time) (Need, error) {
	pol, err := ReadPolicy(ctx, r)
	if err != nil {
		return Need{}, err
	}
	q := store.SameDestination{Since: now.Add(-SplitWindow), Currency: p.Currency, ExcludeID: p.ID, Ended: endedStates()}
	if p.Method == MethodBankAccount {
		q.BankAccountID = p.BankAccountID
	} else {
		q.Brand, q.Last4, q.FullName = p.CardBrand, p.CardLast4, p.FullName
	}
	others, sum, err := r.SameDestinationTotal(ctx, q)
	if err != nil {
		return Need{}, err
	}
	return pol.need(p, others, sum), nil
}

// need explains Required for p, counting others payouts of sum to the same destination.
func (pol Policy) need(p *store.Payout, others int, sum int64) Need {
	threshold, ok := pol.Threshold(p.Currency)
	if !ok {
		return Need{2, fmt.Sprintf("Two approvers: no threshold is set for %s, so every %s payout needs two.", p.Currency, p.Currency)}
	}
	total := p.Amount + sum
	if total < p.Amount { // overflow: more than anyone can pay
		total = p.Amount
		others = 0
	}
	limit := money(threshold, p.Currency)
	to := Destination(p) + " (" + p.FullName + ")"
	this := "this card"
	if p.Method == MethodBankAccount {
		this = "this bank account"
	}
	switch {
	case p.Amount >= threshold:
		return Need{2, fmt.Sprintf("Two approvers: %s is at or above the %s threshold.", money(p.Amount, p.Currency), limit)}
	case total >= threshold:
		return Need{2, fmt.Sprintf("Two approvers: with %s prepared for %s in the last 24 hours, %s goes to %s, at or above the %s threshold.",
			payouts(others), to, money(total, p.Currency), this, limit)}
	case others > 0:
		return Need{1, fmt.Sprintf("One approver: %s to %s in 24 hours, counting %s, is below the %s threshold.", money(total, p.Currency), this, payouts(others), limit)}
	}
	return Need{1, fmt.Sprintf("One approver: below the %s threshold.", limit)}
}

func payouts(n int) string {
	if n == 1 {
		return "1 other payout"
	}
	return fmt.Sprintf("%d other payouts", n)
}
