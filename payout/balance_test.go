package payout

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"countersign/fail"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
	"countersign/store"
	"countersign/store/pgtest"
)

func TestWeightOfEveryState(t *testing.T) {
	want := map[State][2]Weight{ // [never confirmed, confirm sent]
		StateSubmitting:       {WeightPending, WeightPending},
		StateAwaitingProvider: {WeightPending, WeightPending},
		StatePendingApproval:  {WeightPending, WeightPending},
		StateConfirming:       {WeightCommitted, WeightCommitted},
		StateConfirmed:        {WeightCommitted, WeightCommitted},
		StateUnknown:          {WeightPending, WeightCommitted},
		StateCancelling:       {WeightNone, WeightNone},
		StateSucceeded:        {WeightNone, WeightNone},
		StateFailed:           {WeightNone, WeightNone},
		StateCancelled:        {WeightNone, WeightNone},
		StateWithdrawn:        {WeightNone, WeightNone},
		StateExpired:          {WeightNone, WeightNone},
		StateRejected:         {WeightNone, WeightNone},
	}
	for _, s := range AllStates() {
		w, ok := want[s]
		if !ok {
			t.Errorf("state %s has no expected weight", s)
			continue
		}
		for i, confirmed := range []bool{false, true} {
			if got := WeightOf(s, confirmed); got != w[i] {
				t.Errorf("WeightOf(%s, confirmAttempted=%v) = %d, want %d", s, confirmed, got, w[i])
			}
		}
	}
}

var asOf = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func reading(cur string, amount int64) store.BalanceSnapshot {
	return store.BalanceSnapshot{Currency: cur, Amount: amount, ReadAt: asOf, CheckedAt: asOf}
}

func exposure(cur string, s State, confirmed bool, count, amount int64) store.Exposure {
	return store.Exposure{Currency: cur, State: string(s), ConfirmAttempted: confirmed, Count: count, Amount: amount}
}

func TestPositions(t *testing.T) {
	tests := []struct {
		name string
		in   store.BalanceInputs
		want []Position
		// available per currency, spelled out so the arithmetic is checked twice
		available map[string]int64
	}{
		{
			name:      "a reading and nothing open",
			in:        store.BalanceInputs{Readings: []store.BalanceSnapshot{reading("USD", 100000)}},
			want:      []Position{{Currency: "USD", Read: true, Balance: 100000, AsOf: asOf}},
			available: map[string]int64{"USD": 100000},
		},
		{
			name: "every weighing state in one currency",
			in: store.BalanceInputs{
				Readings: []store.BalanceSnapshot{reading("USD", 100000)},
				Open: []store.Exposure{
					exposure("USD", StateSubmitting, false, 1, 100),
					exposure("USD", StateAwaitingProvider, false, 2, 200),
					exposure("USD", StatePendingApproval, false, 3, 3000),
					exposure("USD", StateConfirming, true, 1, 4000),
					exposure("USD", StateConfirmed, true, 1, 5000),
					exposure("USD", StateUnknown, true, 1, 600),
					exposure("USD", StateUnknown, false, 1, 70),
					exposure("USD", StateCancelling, false, 1, 999999), // never pays
				},
				Settled: map[string]int64{"USD": 8},
			},
			want: []Position{{Currency: "USD", Read: true, Balance: 100000, AsOf: asOf, Settled: 8,
				Committed: 4000 + 5000 + 600, Pending: 100 + 200 + 3000 + 70, PendingCount: 1 + 2 + 3 + 1}},
			available: map[string]int64{"USD": 100000 - 8 - 9600 - 3370},
		},
		{
			name: "currencies are kept apart, and lower-case codes join upper-case ones",
			in: store.BalanceInputs{
				Readings: []store.BalanceSnapshot{reading("EUR", 5000), reading("USD", 7000)},
				Open: []store.Exposure{
					exposure("USD", StatePendingApproval, false, 1, 1000),
					exposure("eur", StateConfirmed, true, 1, 2000),
					exposure("EUR", StatePendingApproval, false, 1, 4000),
				},
				Settled: map[string]int64{"usd": 500},
			},
			want: []Position{
				{Currency: "EUR", Read: true, Balance: 5000, AsOf: asOf, Committed: 2000, Pending: 4000, PendingCount: 1},
				{Currency: "USD", Read: true, Balance: 7000, AsOf: asOf, Settled: 500, Pending: 1000, PendingCount: 1},
			},
			available: map[string]int64{"EUR": -1000, "USD": 5500},
		},
		{
			name: "open payouts in a currency never read",
			in: store.BalanceInputs{
				Open:    []store.Exposure{exposure("GBP", StatePendingApproval, false, 2, 900)},
				Settled: map[string]int64{"GBP": 50}, // without a reading there is nothing to settle against
			},
			want:      []Position{{Currency: "GBP", Pending: 900, PendingCount: 2}},
			available: map[string]int64{"GBP": -900},
		},
		{
			name:      "nothing at all",
			in:        store.BalanceInputs{},
			want:      []Position{},
			available: map[string]int64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Positions(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Positions:\n got %+v\nwant %+v", got, tt.want)
			}
			for _, p := range got {
				if p.Available() != tt.available[p.Currency] {
					t.Errorf("%s available %d, want %d", p.Currency, p.Available(), tt.available[p.Currency])
				}
			}
		})
	}
}

// TestAfterQueueAndRunway: what approving leaves when the payouts above in
// the queue are approved first, and how long what is free lasts.
func TestAfterQueueAndRunway(t *testing.T) {
	p := Position{Currency: "USD", Read: true, Balance: 100000, AsOf: asOf, Settled: 1000, Committed: 9000, Pending: 50000}
	if got := p.AfterQueue(0, 1000); got != p.After(1000) {
		t.Errorf("AfterQueue with nothing above = %d, want After's %d", got, p.After(1000))
	}
	if got := p.AfterQueue(30000, 1000); got != 100000-10000-30000-1000 {
		t.Errorf("AfterQueue(300.00 above, 10.00) = %d", got)
	}
	// 400.00 free (1,000 − 100 leaving − 500 awaiting); 70.00 paid in 7 days is 10.00 a day: 40 days.
	if days, ok := p.Runway(7000, 7); !ok || days != 40 {
		t.Errorf("Runway = %v, %v; want 40 days", days, ok)
	}
	if _, ok := p.Runway(0, 7); ok {
		t.Error("a runway without any outflow")
	}
	if days, ok := (Position{Currency: "USD", Read: true, Balance: 100, Pending: 500}).Runway(700, 7); !ok || days != 0 {
		t.Errorf("over-committed runway = %v, %v; want 0", days, ok)
	}
}

func TestAfterAndOverdraw(t *testing.T) {
	p := Position{Currency: "USD", Read: true, Balance: 100000, AsOf: asOf, Settled: 1000, Committed: 9000, Pending: 50000}
	tests := []struct {
		amount  int64
		after   int64
		wantErr string
	}{
		{amount: 1, after: 89999},
		{amount: 90000, after: 0}, // exactly covered: allowed
		{amount: 90001, after: -1, wantErr: "Approving this would overdraw USD by 0.01: the balance is 1,000.00 and 100.00 is already being paid out."},
		{amount: 91250, after: -1250, wantErr: "Approving this would overdraw USD by 12.50: the balance is 1,000.00 and 100.00 is already being paid out."},
	}
	for _, tt := range tests {
		if got := p.After(tt.amount); got != tt.after {
			t.Errorf("After(%d) = %d, want %d", tt.amount, got, tt.after)
		}
		err := p.CheckAmount(tt.amount)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("CheckAmount(%d) = %v, want nil", tt.amount, err)
			}
			continue
		}
		var pe *fail.Error
		if !errors.As(err, &pe) || !errors.Is(err, ErrOverdraw) || pe.Message != tt.wantErr {
			t.Errorf("CheckAmount(%d) = %v, want *Error %q matching ErrOverdraw", tt.amount, err, tt.wantErr)
		}
	}
	// A zero-decimal currency names the shortfall without decimals.
	jpy := Position{Currency: "JPY", Read: true, Balance: 1000}
	if err := jpy.CheckAmount(1500); err == nil || err.Error() != "Approving this would overdraw JPY by 500: the balance is 1,000 and 0 is already being paid out." {
		t.Errorf("JPY: %v", err)
	}
	// No reading: cannot tell, does not refuse.
	if err := (Position{Currency: "GBP", Pending: 10}).CheckAmount(1 << 40); err != nil {
		t.Errorf("unread currency refused: %v", err)
	}
}

func TestStaleAndShortfall(t *testing.T) {
	p := Position{Currency: "USD", Read: true, Balance: 1000, AsOf: asOf, Committed: 200, Pending: 900}
	for _, tt := range []struct {
		now   time.Time
		stale bool
	}{
		{asOf, false},
		{asOf.Add(5 * time.Minute), false},
		{asOf.Add(5*time.Minute + time.Second), true},
		{asOf.Add(-time.Minute), false}, // a clock a little behind the reading
	} {
		if got := p.Stale(tt.now, 5*time.Minute); got != tt.stale {
			t.Errorf("Stale at %s = %v, want %v", tt.now.Sub(asOf), got, tt.stale)
		}
	}
	if !(Position{Currency: "USD"}).Stale(asOf, time.Hour) {
		t.Error("a position never read is not stale")
	}
	if got := p.Shortfall(); got != 100 {
		t.Errorf("Shortfall = %d, want 100", got)
	}
	p.Pending = 800
	if got := p.Shortfall(); got != 0 {
		t.Errorf("Shortfall = %d, want 0", got)
	}
}

// balanceDB is a real store with one user and a settable clock.
type balanceDB struct {
	db    *store.DB
	now   time.Time
	maker int64
}

func newBalanceDB(t *testing.T) *balanceDB {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &balanceDB{db: db, now: asOf}
	db.Now = func() time.Time { return b.now }
	u := &store.User{Email: "m@example.com", Name: "M", PasswordHash: "x", Active: true, Roles: []string{"maker"}}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	b.maker = u.ID
	return b
}

// payout records a payout in state s; finishedAt is set for final states.
func (b *balanceDB) payout(t *testing.T, s State, confirmed bool, amount int64, currency string) *store.Payout {
	t.Helper()
	ctx := context.Background()
	p := &store.Payout{State: string(s), MakerID: b.maker, FullName: "R", Amount: amount, Currency: currency, CardLast4: "4242", CardBrand: "VISA"}
	err := b.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		p.ConfirmAttempted = confirmed
		if s.Final() {
			p.FinishedAt = tx.Now()
		}
		return tx.SavePayout(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadPositionsEveryStateMix puts one payout in every state, with and
// without a confirm sent, and checks the sums the store and the arithmetic
// make of them against WeightOf applied by hand, one payout at a time.
func TestLoadPositionsEveryStateMix(t *testing.T) {
	b := newBalanceDB(t)
	ctx := context.Background()
	if err := b.db.InsertBalanceSnapshot(ctx, store.BalanceSnapshot{Currency: "USD", Amount: 10_000_000}); err != nil {
		t.Fatal(err)
	}
	b.now = b.now.Add(time.Minute)
	want := Position{Currency: "USD", Read: true, Balance: 10_000_000, AsOf: asOf}
	amount := int64(1)
	for _, s := range AllStates() {
		for _, confirmed := range []bool{false, true} {
			amount *= 2 // every payout a different bit, so a miscount shows which
			b.payout(t, s, confirmed, amount, "USD")
			switch {
			case s == StateSucceeded:
				want.Settled += amount // finished after the reading
			case WeightOf(s, confirmed) == WeightCommitted:
				want.Committed += amount
			case WeightOf(s, confirmed) == WeightPending:
				want.Pending += amount
				want.PendingCount++
			}
			got, err := LoadPositions(ctx, b.db)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("after adding %s (confirm sent %v):\n got %+v\nwant %+v", s, confirmed, got, want)
			}
		}
	}
	// A newer reading takes the succeeded payouts in; they no longer count.
	if err := b.db.InsertBalanceSnapshot(ctx, store.BalanceSnapshot{Currency: "USD", Amount: 9_000_000}); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPositions(ctx, b.db)
	if err != nil {
		t.Fatal(err)
	}
	want.Balance, want.AsOf, want.Settled = 9_000_000, b.now, 0
	if len(got) != 1 || got[0] != want {
		t.Fatalf("after a new reading:\n got %+v\nwant %+v", got, want)
	}
}

func TestCheckOverdraw(t *testing.T) {
	b := newBalanceDB(t)
	ctx := context.Background()
	if err := b.db.InsertBalanceSnapshot(ctx, store.BalanceSnapshot{Currency: "USD", Amount: 100000}, store.BalanceSnapshot{Currency: "EUR", Amount: 500}); err != nil {
		t.Fatal(err)
	}
	b.payout(t, StateConfirmed, true, 60000, "USD")
	b.payout(t, StatePendingApproval, false, 30000, "USD") // pending: does not block another approval
	fits := b.payout(t, StatePendingApproval, false, 40000, "USD")
	over := b.payout(t, StatePendingApproval, false, 41250, "USD")
	eur := b.payout(t, StatePendingApproval, false, 600, "EUR")
	gbp := b.payout(t, StatePendingApproval, false, 1<<40, "GBP")

	if err := CheckOverdraw(ctx, b.db, fits); err != nil {
		t.Errorf("40,000 of 40,000 free: %v", err)
	}
	err := CheckOverdraw(ctx, b.db, over)
	if !errors.Is(err, ErrOverdraw) || err.Error() != "Approving this would overdraw USD by 12.50: the balance is 1,000.00 and 600.00 is already being paid out." {
		t.Errorf("USD over: %v", err)
	}
	if err := CheckOverdraw(ctx, b.db, eur); !errors.Is(err, ErrOverdraw) || err.Error() != "Approving this would overdraw EUR by 1.00: the balance is 5.00 and 0.00 is already being paid out." {
		t.Errorf("EUR over: %v", err)
	}
	if err := CheckOverdraw(ctx, b.db, gbp); err != nil {
		t.Errorf("GBP has no reading; refused with %v", err)
	}

	// Once "fits" is claimed (confirming) it is committed, and the check of it
	// leaves it out rather than counting it twice; the next one no longer fits.
	fits.State, fits.ConfirmAttempted = string(StateConfirming), true
	err = b.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SavePayout(ctx, fits); err != nil {
			return err
		}
		return CheckOverdrawTx(ctx, tx, fits)
	})
	if err != nil {
		t.Errorf("re-checking a claimed payout: %v", err)
	}
	small := b.payout(t, StatePendingApproval, false, 1, "USD")
	if err := CheckOverdraw(ctx, b.db, small); !errors.Is(err, ErrOverdraw) || err.Error() != "Approving this would overdraw USD by 0.01: the balance is 1,000.00 and 1,000.00 is already being paid out." {
		t.Errorf("after the claim: %v", err)
	}
}

func TestRefreshBalanceThroughTheSandbox(t *testing.T) {
	b := newBalanceDB(t)
	ctx := context.Background()
	sb, client := sandboxtest.New(t, sandbox.Config{Wallets: map[string]int64{"usd": 123456, "eur": 700}})
	if err := RefreshBalance(ctx, b.db, client); err != nil {
		t.Fatal(err)
	}
	got, err := b.db.LatestBalances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.BalanceSnapshot{{ID: got[0].ID, Currency: "EUR", Amount: 700, ReadAt: asOf, CheckedAt: asOf}, {ID: got[1].ID, Currency: "USD", Amount: 123456, ReadAt: asOf, CheckedAt: asOf}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if n := sb.CallCount("wallet/balance"); n != 1 {
		t.Errorf("wallet/balance called %d times, want 1", n)
	}
	sb.Close() // the provider is gone: the error says so, nothing is recorded
	b.now = b.now.Add(time.Minute)
	if err := RefreshBalance(ctx, b.db, client); err == nil {
		t.Error("refresh against a closed sandbox succeeded")
	}
	after, _ := b.db.LatestBalances(ctx)
	if !slices.Equal(after, want) {
		t.Errorf("a failed refresh changed the readings: %+v", after)
	}
}

func TestPollBalanceReadsUntilCancelled(t *testing.T) {
	b := newBalanceDB(t)
	// Each reading an hour after the one before, so the hourly history keeps them all.
	var hours atomic.Int64
	b.db.Now = func() time.Time { return asOf.Add(time.Duration(hours.Add(1)) * time.Hour) }
	_, client := sandboxtest.New(t, sandbox.Config{Wallets: map[string]int64{"usd": 1}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { PollBalance(ctx, b.db, client, 10*time.Millisecond, nil); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := b.db.BalanceHistory(context.Background(), "usd", time.Time{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PollBalance read %d times in 5s, want 3", len(h))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("PollBalance did not stop when its context ended")
	}
}

// TestPositionAgeGoesByTheLastCheck: an unchanged balance read a minute ago
// is not an old reading, though the amount was first read an hour earlier.
func TestPositionAgeGoesByTheLastCheck(t *testing.T) {
	r := reading("USD", 1000)
	r.CheckedAt = asOf.Add(59 * time.Minute)
	p := PositionFor(Positions(store.BalanceInputs{Readings: []store.BalanceSnapshot{r}}), "USD")
	if !p.AsOf.Equal(r.CheckedAt) {
		t.Errorf("AsOf = %v, want the last check %v", p.AsOf, r.CheckedAt)
	}
	if now := asOf.Add(time.Hour); p.Stale(now, 5*time.Minute) {
		t.Errorf("a balance checked a minute ago is stale at %v", now)
	}
}
