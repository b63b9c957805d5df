package payout

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"countersign/fail"
	"countersign/smartglocal"
	"countersign/store"
)

// Weight says how a payout in some state weighs on the money on hand.
type Weight int

// The weights of a payout on the balance.
const (
	// WeightNone: no money will leave for it (it ended, or is being cancelled:
	// a cancelled session never pays).
	WeightNone Weight = iota
	// WeightCommitted: we confirmed it and it has not finished: the money is leaving.
	WeightCommitted
	// WeightPending: nobody confirmed it yet, but someone may: the money may leave.
	WeightPending
)

// WeightOf says how a payout in state s weighs on the balance. An unknown
// outcome counts as committed when session/confirm was ever sent (the money
// may be leaving), and as pending otherwise (it may come back for approval).
func WeightOf(s State, confirmAttempted bool) Weight {
	switch s {
	case StateConfirming, StateConfirmed:
		return WeightCommitted
	case StateSubmitting, StateAwaitingProvider, StatePendingApproval:
		return WeightPending
	case StateUnknown:
		if confirmAttempted {
			return WeightCommitted
		}
		return WeightPending
	}
	return WeightNone
}

// balanceQuery asks the store for every payout that may weigh, and for the
// ones that succeeded since the latest reading.
func balanceQuery(exclude int64) store.BalanceQuery {
	q := store.BalanceQuery{SettledState: string(StateSucceeded), ExcludeID: exclude}
	for _, s := range AllStates() {
		if WeightOf(s, false) != WeightNone || WeightOf(s, true) != WeightNone {
			q.OpenStates = append(q.OpenStates, string(s))
		}
	}
	return q
}

// Position is the money on hand in one currency.
type Position struct {
	Currency string
	Read     bool      // there is a reading of the balance; if not, Balance is 0 and means nothing
	Balance  int64     // the provider's balance at AsOf, minor units
	AsOf     time.Time // when the provider last gave this balance (its age goes by this)
	// Settled is what payouts that succeeded after the reading took: it may not
	// show in the reading yet.
	Settled      int64
	Committed    int64 // confirmed, not finished
	Pending      int64 // not confirmed yet, may be
	PendingCount int64
}

// Spent is what is already leaving or has left since the reading.
func (p Position) Spent() int64 { return p.Settled + p.Committed }

// Free is the balance less what is already leaving: what approvals may use.
func (p Position) Free() int64 { return p.Balance - p.Spent() }

// Available is the balance less what is leaving and less everything awaiting
// approval: what is left if every pending payout is approved.
func (p Position) Available() int64 { return p.Free() - p.Pending }

// After is what approving a payout of amount would leave of the balance, on
// top of what is already leaving. Other pending payouts are not subtracted:
// they may never be approved, and each is checked when it is.
func (p Position) After(amount int64) int64 { return p.Free() - amount }

// AfterQueue is what approving a payout of amount would leave when every
// payout above it in the queue (above, their sum in the same currency) is
// approved first: what an approver working down the queue will see.
func (p Position) AfterQueue(above, amount int64) int64 { return p.Free() - above - amount }

// Runway is how many days what is free (the balance less what is leaving
// and what awaits approval) lasts at the average daily outflow of the last
// days days, given what was paid out in them. ok is false when nothing was
// paid out, so there is no rate to go by.
func (p Position) Runway(paidOut int64, days int) (left float64, ok bool) {
	if paidOut <= 0 || days <= 0 {
		return 0, false
	}
	return float64(max(0, p.Available())) / (float64(paidOut) / float64(days)), true
}

// Stale reports whether the reading is older than maxAge at now (or missing).
func (p Position) Stale(now time.Time, maxAge time.Duration) bool {
	return !p.Read || now.Sub(p.AsOf) > maxAge
}

// Shortfall is how far the payouts awaiting approval exceed what is free, or 0.
func (p Position) Shortfall() int64 { return max(0, -p.Available()) }

// ErrOverdraw is the refusal of an approval the balance does not cover. Its
// instances name the currency and the shortfall.
var ErrOverdraw = fail.New(fail.Conflict, "overdraw", "Approving this would overdraw the balance")

// CheckAmount returns a refusal matching ErrOverdraw when approving amount
// would take the balance below zero. With no reading of the currency it
// cannot tell, and does not refuse: the provider itself refuses a payout its
// wallet cannot cover, so no money is lost by letting it through.
func (p Position) CheckAmount(amount int64) error {
	if !p.Read {
		return nil
	}
	after := p.After(amount)
	if after >= 0 {
		return nil
	}
	msg := fmt.Sprintf("Approving this would overdraw %s by %s: the balance is %s and %s is already being paid out.",
		p.Currency, FormatAmount(-after, p.Currency), FormatAmount(p.Balance, p.Currency), FormatAmount(p.Spent(), p.Currency))
	return ErrOverdraw.With(msg)
}

// Positions computes the money on hand per currency from what the store read:
// every currency with a reading, and every currency with payouts that weigh
// but no reading. Sorted by currency.
func Positions(in store.BalanceInputs) []Position {
	by := map[string]*Position{}
	get := func(cur string) *Position {
		cur = strings.ToUpper(cur)
		if p, ok := by[cur]; ok {
			return p
		}
		p := &Position{Currency: cur}
		by[cur] = p
		return p
	}
	for _, r := range in.Readings {
		p := get(r.Currency)
		p.Read, p.Balance, p.AsOf = true, r.Amount, r.CheckedAt
	}
	for _, e := range in.Open {
		switch WeightOf(State(e.State), e.ConfirmAttempted) {
		case WeightCommitted:
			get(e.Currency).Committed += e.Amount
		case WeightPending:
			p := get(e.Currency)
			p.Pending += e.Amount
			p.PendingCount += e.Count
		}
	}
	for cur, amount := range in.Settled {
		if p, ok := by[strings.ToUpper(cur)]; ok && p.Read {
			p.Settled += amount
		}
	}
	out := make([]Position, 0, len(by))
	for _, p := range by {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Position) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// LoadPositions reads the money on hand per currency.
func LoadPositions(ctx context.Context, db *store.DB) ([]Position, error) {
	in, err := db.BalanceInputs(ctx, balanceQuery(0))
	if err != nil {
		return nil, err
	}
	return Positions(in), nil
}

// PositionFor picks one currency's position; a currency never read and with
// nothing open is returned empty, not Read.
func PositionFor(ps []Position, currency string) Position {
	cur := strings.ToUpper(currency)
	for _, p := range ps {
		if p.Currency == cur {
			return p
		}
	}
	return Position{Currency: cur}
}

// CheckOverdraw refuses (with an error matching ErrOverdraw) approving p
// when the latest balance of its currency, less what is already leaving,
// does not cover it. p itself is left out of the sums, so it may be called
// before or after p was claimed.
func CheckOverdraw(ctx context.Context, db *store.DB, p *store.Payout) error {
	in, err := db.BalanceInputs(ctx, balanceQuery(p.ID))
	if err != nil {
		return err
	}
	return PositionFor(Positions(in), p.Currency).CheckAmount(p.Amount)
}

// CheckOverdrawTx is CheckOverdraw as tx sees the store. Called inside the
// write transaction that claims p, no other approval can commit between the
// check and the claim, so two approvals that each fit but together overdraw
// cannot both pass.
func CheckOverdrawTx(ctx context.Context, tx *store.Tx, p *store.Payout) error {
	in, err := tx.BalanceInputs(ctx, balanceQuery(p.ID))
	if err != nil {
		return err
	}
	return PositionFor(Positions(in), p.Currency).CheckAmount(p.Amount)
}

// RefreshBalance reads wallet/balance and records the reading. The reading
// is stamped with the time the request left, not when the reply came: a
// payout that finished meanwhile is then subtracted again rather than not
// at all.
func RefreshBalance(ctx context.Context, db *store.DB, client *smartglocal.Client) error {
	at := db.Now().UTC()
	wallets, err := client.WalletBalance(ctx, at)
	if err != nil {
		return fmt.Errorf("wallet/balance: %w", err)
	}
	snaps := make([]store.BalanceSnapshot, 0, len(wallets))
	for _, w := range wallets {
		cur, ok := code(w.AmountDetails.Currency)
		if !ok {
			continue
		}
		snaps = append(snaps, store.BalanceSnapshot{Currency: cur, Amount: w.AmountDetails.Amount, ReadAt: at})
	}
	if len(snaps) == 0 {
		return nil
	}
	return db.InsertBalanceSnapshot(ctx, snaps...)
}

// PollBalance reads the balance now and then every interval until ctx ends.
// A failed reading is logged and the next one tried on schedule: the pages
// show the age of the last good reading, and say when it is stale.
func PollBalance(ctx context.Context, db *store.DB, client *smartglocal.Client, every time.Duration, logger *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, min(every, 30*time.Second))
		err := RefreshBalance(rctx, db, client)
		cancel()
		if err != nil && ctx.Err() == nil {
			logger.Warn("balance: reading failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// LowBalanceSetting is the settings key of the low-balance levels, stored
// like the approval thresholds: "USD=500000,EUR=100000" (minor units).
const LowBalanceSetting = "balance.low"

// ParseLevels reads per-currency amounts written as "USD=500000,EUR=100000"
// (minor units; "" is none). Every *fail.Error it returns can be shown as it is.
func ParseLevels(v string) (map[string]int64, error) {
	p, err := ParsePolicy(v)
	if err != nil {
		return nil, err
	}
	return p.Thresholds, nil
}

// FormatLevels writes per-currency amounts the way ParseLevels reads them, sorted.
func FormatLevels(levels map[string]int64) (string, error) {
	return Policy{Thresholds: levels}.Format()
}

// LowBalanceLevels returns the per-currency levels below which every page
// shows a low-balance banner (minor units; none set is an empty map).
func (s *Service) LowBalanceLevels(ctx context.Context) (map[string]int64, error) {
	v, err := s.db.Setting(ctx, LowBalanceSetting, "")
	if err != nil {
		return nil, err
	}
	return ParseLevels(v)
}

// SaveLowBalanceLevels writes the low-balance levels in tx. Who may, and
// whether a second admin must agree first, is the admin service's to say.
func SaveLowBalanceLevels(ctx context.Context, tx *store.Tx, levels map[string]int64) (string, error) {
	v, err := FormatLevels(levels)
	if err != nil {
		return "", err
	}
	return v, tx.SetSetting(ctx, LowBalanceSetting, v)
}
