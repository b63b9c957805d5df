package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// listClock is a store clock the fixture moves by hand.
type listClock struct{ now time.Time }

func (c *listClock) Now() time.Time { return c.now }

// listFixture is a small history with every filter's edge in it.
type listFixture struct {
	db                 *DB
	clock              *listClock
	ann, bob, cat, dan int64 // makers ann and bob, approvers cat and dan
	jane, john         int64 // recipients
	ids                map[string]int64
}

type fixturePayout struct {
	name        string
	maker       int64
	recipient   int64
	fullName    string
	amount      int64
	currency    string
	last4       string
	state       string
	approvers   []int64
	finished    bool
	confirmed   bool
	sameInstant bool // created at the same instant as the payout before it
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	db, _ := openTest(t)
	clk := &listClock{now: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}
	db.Now = clk.Now
	f := &listFixture{db: db, clock: clk, ids: map[string]int64{}}
	ctx := context.Background()
	for _, u := range []struct {
		id   *int64
		name string
	}{{&f.ann, "Ann"}, {&f.bob, "Bob"}, {&f.cat, "Cat"}, {&f.dan, "Dan"}} {
		user := &User{Email: strings.ToLower(u.name) + "@example.com", Name: u.name, PasswordHash: "x", Active: true}
		if err := db.CreateUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		*u.id = user.ID
	}
	err := db.InTx(ctx, func(tx *Tx) error {
		for _, r := range []struct {
			id   *int64
			name string
		}{{&f.jane, "Jane Doe"}, {&f.john, "John Smith"}} {
			rec := &Recipient{FullName: r.name, CreatedBy: f.ann}
			if err := tx.CreateRecipient(ctx, rec); err != nil {
				return err
			}
			*r.id = rec.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Created an hour apart from 2026-11-01 09:00, except where sameInstant.
	for _, p := range []fixturePayout{
		{name: "p1", maker: f.ann, recipient: f.jane, fullName: "Jane Doe", amount: 1000, currency: "USD", last4: "4242", state: "succeeded", approvers: []int64{f.cat}, finished: true, confirmed: true},
		{name: "p2", maker: f.ann, recipient: f.john, fullName: "John Smith", amount: 2500, currency: "EUR", last4: "1111", state: "pending_approval"},
		{name: "p3", maker: f.bob, recipient: f.jane, fullName: "Jane Doe", amount: 50000, currency: "USD", last4: "4242", state: "failed", approvers: []int64{f.dan}, finished: true, confirmed: true},
		{name: "p4", maker: f.bob, fullName: "jane doherty", amount: 750, currency: "USD", last4: "0005", state: "cancelled", approvers: []int64{f.cat, f.dan}, finished: true},
		{name: "p5", maker: f.ann, recipient: f.john, fullName: "John Smith", amount: 1000, currency: "USD", last4: "1111", state: "confirmed", approvers: []int64{f.dan}, confirmed: true},
		{name: "p6", maker: f.bob, recipient: f.jane, fullName: "Jane Doe", amount: 99, currency: "JPY", last4: "4242", state: "succeeded", approvers: []int64{f.cat}, finished: true, confirmed: true},
		{name: "p7", maker: f.ann, fullName: "100% Real_Name", amount: 1001, currency: "USD", last4: "9999", state: "pending_approval"},
		{name: "p8", maker: f.ann, fullName: "Zed", amount: 999, currency: "USD", last4: "9999", state: "pending_approval", sameInstant: true},
	} {
		if !p.sameInstant {
			clk.now = clk.now.Add(time.Hour)
		}
		f.ids[p.name] = f.create(t, p)
	}
	return f
}

func (f *listFixture) create(t *testing.T, fp fixturePayout) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := f.db.InTx(ctx, func(tx *Tx) error {
		p := &Payout{State: fp.state, MakerID: fp.maker, RecipientID: fp.recipient, FullName: fp.fullName, Amount: fp.amount,
			Currency: fp.currency, CardLast4: fp.last4, CardBrand: "VISA"}
		if err := tx.CreatePayout(ctx, p); err != nil {
			return err
		}
		id = p.ID
		for _, a := range fp.approvers {
			if err := tx.AddApproval(ctx, Approval{PayoutID: p.ID, UserID: a, Version: p.Version}); err != nil {
				return err
			}
		}
		if fp.finished || fp.confirmed {
			p.ConfirmAttempted = fp.confirmed
			if fp.finished {
				p.FinishedAt = tx.Now().Add(30 * time.Minute)
			}
			return tx.SavePayout(ctx, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// names turns rows back into fixture names, so failures read p3 rather than 3.
func (f *listFixture) names(rows []*PayoutRow) []string {
	out := []string{}
	for _, r := range rows {
		for n, id := range f.ids {
			if id == r.ID {
				out = append(out, n)
			}
		}
	}
	return out
}

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

func TestPayoutsFilters(t *testing.T) {
	f := newListFixture(t)
	// p1 was created 09:00, p2 10:00 … p7 and p8 both at 15:00 (p8 has the higher id).
	tests := []struct {
		name   string
		filter PayoutFilter
		want   []string
	}{
		{"everything, newest first, ties by id", PayoutFilter{}, []string{"p8", "p7", "p6", "p5", "p4", "p3", "p2", "p1"}},
		{"one state", PayoutFilter{States: []string{"pending_approval"}}, []string{"p8", "p7", "p2"}},
		{"several states", PayoutFilter{States: []string{"succeeded", "failed"}}, []string{"p6", "p3", "p1"}},
		{"a state repeated", PayoutFilter{States: []string{"failed", "succeeded", "failed"}}, []string{"p6", "p3", "p1"}},
		{"maker", PayoutFilter{MakerID: f.bob}, []string{"p6", "p4", "p3"}},
		{"approver cat", PayoutFilter{ApproverID: f.cat}, []string{"p6", "p4", "p1"}},
		{"approver dan", PayoutFilter{ApproverID: f.dan}, []string{"p5", "p4", "p3"}},
		{"approver who approved nothing", PayoutFilter{ApproverID: f.ann}, []string{}},
		{"recipient id", PayoutFilter{RecipientID: f.john}, []string{"p5", "p2"}},
		{"recipient name contains, any case", PayoutFilter{Recipient: "JANE DO"}, []string{"p6", "p4", "p3", "p1"}},
		{"recipient name with LIKE wildcards is literal", PayoutFilter{Recipient: "100%"}, []string{"p7"}},
		{"underscore is literal", PayoutFilter{Recipient: "l_n"}, []string{"p7"}},
		{"percent alone matches only a percent", PayoutFilter{Recipient: "%"}, []string{"p7"}},
		{"currency, any case", PayoutFilter{Currency: "eur"}, []string{"p2"}},
		{"amount range is inclusive", PayoutFilter{Currency: "USD", MinAmount: 750, MaxAmount: 1000}, []string{"p8", "p5", "p4", "p1"}},
		{"minimum only", PayoutFilter{MinAmount: 2500}, []string{"p3", "p2"}},
		{"maximum only", PayoutFilter{MaxAmount: 99}, []string{"p6"}},
		{"last4", PayoutFilter{Last4: "4242"}, []string{"p6", "p3", "p1"}},
		{"from is inclusive", PayoutFilter{From: day(1).Add(14 * time.Hour)}, []string{"p8", "p7", "p6"}},
		{"to is exclusive", PayoutFilter{To: day(1).Add(11 * time.Hour)}, []string{"p2", "p1"}},
		{"a range with nothing in it", PayoutFilter{From: day(2)}, []string{}},
		{"combined", PayoutFilter{MakerID: f.bob, Currency: "USD", States: []string{"failed", "cancelled", "succeeded"}}, []string{"p4", "p3"}},
		{"combined with approver", PayoutFilter{ApproverID: f.cat, Last4: "4242", Currency: "USD"}, []string{"p1"}},
		{"limit", PayoutFilter{Limit: 2}, []string{"p8", "p7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := f.db.Payouts(t.Context(), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.names(rows); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPayoutsRowsCarryApproversAndMaker(t *testing.T) {
	f := newListFixture(t)
	rows, err := f.db.Payouts(t.Context(), PayoutFilter{Last4: "0005"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(rows))
	}
	r := rows[0]
	if r.Approvers != "Cat, Dan" || r.MakerName != "Bob" || r.Amount != 750 || r.State != "cancelled" || r.FullName != "jane doherty" {
		t.Errorf("row = %+v approvers %q, want Bob's cancelled 750 to jane doherty approved by Cat, Dan", *r.Payout, r.Approvers)
	}
}

// TestPayoutsKeysetPagination walks every page size through the whole list
// and a filtered list: each walk must return every row exactly once, in order,
// including the two payouts created at the same instant.
func TestPayoutsKeysetPagination(t *testing.T) {
	f := newListFixture(t)
	for _, base := range []struct {
		filter PayoutFilter
		want   []string
	}{
		{PayoutFilter{}, []string{"p8", "p7", "p6", "p5", "p4", "p3", "p2", "p1"}},
		{PayoutFilter{Currency: "USD"}, []string{"p8", "p7", "p5", "p4", "p3", "p1"}},
	} {
		for size := 1; size <= 9; size++ {
			var got []string
			var pages []int
			fl := base.filter
			fl.Limit = size
			for range 20 {
				rows, err := f.db.Payouts(t.Context(), fl)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, f.names(rows)...)
				pages = append(pages, len(rows))
				if len(rows) < size {
					break
				}
				// The key survives a round trip through a URL.
				key, err := ParsePayoutKey(rows[len(rows)-1].Key().String())
				if err != nil {
					t.Fatal(err)
				}
				fl.After = key
			}
			if !slices.Equal(got, base.want) {
				t.Errorf("currency %q, page size %d: walked %v (pages %v), want %v", base.filter.Currency, size, got, pages, base.want)
			}
		}
	}
}

func TestPayoutsPageAfterKeyOfSameInstant(t *testing.T) {
	f := newListFixture(t)
	p8, err := f.db.PayoutByID(t.Context(), f.ids["p8"])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.Payouts(t.Context(), PayoutFilter{After: p8.Key(), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.names(rows), []string{"p7", "p6"}; !slices.Equal(got, want) {
		t.Errorf("after p8: %v, want %v", got, want)
	}
}

func TestParsePayoutKeyRefusesJunk(t *testing.T) {
	for _, s := range []string{"", "12", "2026-11-01T09:00:00.000000Z", "2026-11-01T09:00:00.000000Z_", "2026-11-01T09:00:00.000000Z_x",
		"2026-11-01T09:00:00.000000Z_-4", "2026-11-01_4", "yesterday_4"} {
		if _, err := ParsePayoutKey(s); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParsePayoutKey(%q): %v, want ErrBadKey", s, err)
		}
	}
}

func TestEachPayoutReadsInBatches(t *testing.T) {
	f := newListFixture(t)
	var got []string
	err := f.db.eachInBatches(t.Context(), PayoutFilter{States: []string{"pending_approval", "succeeded", "failed", "cancelled", "confirmed"}, Limit: 1}, 3,
		func(r *PayoutRow) error {
			got = append(got, f.names([]*PayoutRow{r})...)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p8", "p7", "p6", "p5", "p4", "p3", "p2", "p1"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (Limit must be ignored, batches joined without gaps)", got, want)
	}
	stop := errors.New("stop")
	n := 0
	err = f.db.EachPayout(t.Context(), PayoutFilter{}, func(*PayoutRow) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachPayout after fn failed: err %v after %d rows, want stop after 1", err, n)
	}
}

// currencyTotal is a Total without its state.
type currencyTotal struct {
	Currency string
	Count    int64
	Amount   int64
}

// TestPayoutTotals: totals come per currency and state, never mixing a
// paid payout with a failed one.
func TestPayoutTotals(t *testing.T) {
	f := newListFixture(t)
	tests := []struct {
		filter PayoutFilter
		want   []currencyTotal
	}{
		{PayoutFilter{}, []currencyTotal{{"EUR", 1, 2500}, {"JPY", 1, 99}, {"USD", 6, 1000 + 50000 + 750 + 1000 + 1001 + 999}}},
		{PayoutFilter{MakerID: f.ann, States: []string{"pending_approval"}}, []currencyTotal{{"EUR", 1, 2500}, {"USD", 2, 2000}}},
		{PayoutFilter{ApproverID: f.dan}, []currencyTotal{{"USD", 3, 50000 + 750 + 1000}}},
		// Keyset and limit are about pages, not totals.
		{PayoutFilter{Currency: "USD", Limit: 1, After: PayoutKey{CreatedAt: day(1).Add(12 * time.Hour), ID: 4}}, []currencyTotal{{"USD", 6, 54750}}},
		{PayoutFilter{Last4: "0000"}, nil},
	}
	for i, tt := range tests {
		totals, err := f.db.PayoutTotals(t.Context(), tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []currencyTotal // the states of a currency added up, to compare
		for k, tot := range totals {
			if k > 0 && (totals[k-1].Currency > tot.Currency || totals[k-1].Currency == tot.Currency && totals[k-1].State >= tot.State) {
				t.Errorf("%d: totals not sorted by currency and state: %v", i, totals)
			}
			if len(tt.filter.States) > 0 && !slices.Contains(tt.filter.States, tot.State) {
				t.Errorf("%d: a total of state %s under a filter of %v", i, tot.State, tt.filter.States)
			}
			if n := len(got); n > 0 && got[n-1].Currency == tot.Currency {
				got[n-1].Count += tot.Count
				got[n-1].Amount += tot.Amount
				continue
			}
			got = append(got, currencyTotal{tot.Currency, tot.Count, tot.Amount})
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%d: got %v, want %v", i, got, tt.want)
		}
	}
}

func TestOutflow(t *testing.T) {
	f := newListFixture(t)
	// One more success finishing the next day, and one in the week before.
	f.clock.now = day(2).Add(10 * time.Hour)
	f.create(t, fixturePayout{name: "p9", maker: f.ann, fullName: "Late", amount: 300, currency: "USD", last4: "1", state: "succeeded", finished: true, confirmed: true})
	f.create(t, fixturePayout{name: "p10", maker: f.ann, fullName: "Late", amount: 200, currency: "USD", last4: "1", state: "succeeded", finished: true, confirmed: true})
	f.clock.now = day(1).Add(-48 * time.Hour)
	f.create(t, fixturePayout{name: "p11", maker: f.ann, fullName: "Early", amount: 7, currency: "USD", last4: "1", state: "succeeded", finished: true, confirmed: true})

	got, err := f.db.Outflows(t.Context(), []time.Time{day(1), day(2), day(3)})
	if err != nil {
		t.Fatal(err)
	}
	want := []Outflow{
		{Span: 0, Currency: "JPY", Count: 1, Amount: 99},
		{Span: 0, Currency: "USD", Count: 1, Amount: 1000}, // p3 failed, p5 not finished
		{Span: 1, Currency: "USD", Count: 2, Amount: 500},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// p9 and p10 finished at 10:30 on day 2. A span that starts off the
	// hour (a midnight 30 minutes off UTC) takes the payouts from its start
	// on; a bound off the hour counts the whole hour it falls in before it.
	at := func(h, m int) time.Time { return day(2).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	for _, tt := range []struct {
		bounds []time.Time
		want   []Outflow
	}{
		{[]time.Time{at(10, 20), at(11, 30), day(3)}, []Outflow{{Span: 0, Currency: "USD", Count: 2, Amount: 500}}},
		{[]time.Time{at(10, 40), at(11, 30), day(3)}, nil},
		{[]time.Time{at(9, 30), at(10, 30), day(3)}, []Outflow{{Span: 0, Currency: "USD", Count: 2, Amount: 500}}},
		{[]time.Time{at(8, 0), at(9, 0), at(10, 0), at(11, 0)}, []Outflow{{Span: 2, Currency: "USD", Count: 2, Amount: 500}}},
	} {
		got, err := f.db.Outflows(t.Context(), tt.bounds)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%v: got %v (%v), want %v", tt.bounds, got, err, tt.want)
		}
	}
}

// TestOutflowHoursMatchTheSums: the roll-up the triggers keep says what
// summing the succeeded payouts by the hour they finished says, after
// payouts succeed, fail, are returned and change, and from a time that is
// not on the hour (a time zone half an hour off UTC).
func TestOutflowHoursMatchTheSums(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	// summed is what Outflows should say for bounds, from the payouts: a
	// payout before the first whole hour counts in span 0, any other in the
	// span its hour's start falls in.
	summed := func(bounds []time.Time) []Outflow {
		t.Helper()
		rows, err := f.db.db.QueryContext(ctx, `SELECT finished_at, currency, amount FROM payouts WHERE state = 'succeeded' AND finished_at >= ?`, formatTime(bounds[0]))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		bySpan := map[Outflow]Outflow{}
		for rows.Next() {
			var at, cur string
			var amount int64
			if err := rows.Scan(&at, &cur, &amount); err != nil {
				t.Fatal(err)
			}
			hour, span := parseTime(at).Truncate(time.Hour), 0
			if !hour.Before(bounds[0]) {
				for span < len(bounds)-2 && !hour.Before(ceilHour(bounds[span+1])) {
					span++
				}
			}
			if !hour.Before(ceilHour(bounds[len(bounds)-1])) {
				continue
			}
			key := Outflow{Span: span, Currency: cur}
			o := bySpan[key]
			o.Span, o.Currency, o.Count, o.Amount = span, cur, o.Count+1, o.Amount+amount
			bySpan[key] = o
		}
		return slices.SortedFunc(maps.Values(bySpan), func(a, b Outflow) int {
			if a.Span != b.Span {
				return a.Span - b.Span
			}
			return strings.Compare(a.Currency, b.Currency)
		})
	}
	check := func(when string) {
		t.Helper()
		for _, since := range []time.Time{day(-10), day(1).Add(9*time.Hour + 30*time.Minute), day(1).Add(11 * time.Hour)} {
			// Every hour from since to day 3, and days from since.
			hours := []time.Time{since}
			for h := ceilHour(since); h.Before(day(3)); h = h.Add(time.Hour) {
				if h.After(since) {
					hours = append(hours, h)
				}
			}
			days := []time.Time{since}
			for d := since.AddDate(0, 0, 1); d.Before(day(4)); d = d.AddDate(0, 0, 1) {
				days = append(days, d)
			}
			for _, bounds := range [][]time.Time{hours, days} {
				got, err := f.db.Outflows(ctx, bounds)
				if err != nil {
					t.Fatal(err)
				}
				if want := summed(bounds); !slices.Equal(got, want) {
					t.Errorf("%s, %d spans from %v: kept %v, summed %v", when, len(bounds)-1, since, got, want)
				}
			}
		}
	}
	check("as created")
	save := func(name string, change func(*Payout)) {
		t.Helper()
		p, err := f.db.PayoutByID(ctx, f.ids[name])
		if err != nil {
			t.Fatal(err)
		}
		if err := f.db.InTx(ctx, func(tx *Tx) error { change(p); return tx.SavePayout(ctx, p) }); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.now = day(1).Add(9*time.Hour + 45*time.Minute)
	save("p5", func(p *Payout) { p.State, p.FinishedAt = "succeeded", f.clock.now })
	check("after a success")
	save("p1", func(p *Payout) { p.State = "failed" })
	check("after a success became a failure")
	p6, err := f.db.PayoutByID(ctx, f.ids["p6"])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.InTx(ctx, func(tx *Tx) error { return tx.RecordReturn(ctx, p6, f.ann, "2026-11-02", "account closed") }); err != nil {
		t.Fatal(err)
	}
	check("after a return")
}

func TestPayableCards(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	var verified, unverified, removed, johns int64
	err := f.db.InTx(ctx, func(tx *Tx) error {
		for _, c := range []struct {
			id        *int64
			recipient int64
			hash      string
		}{{&verified, f.jane, "h1"}, {&unverified, f.jane, "h2"}, {&removed, f.jane, "h3"}, {&johns, f.john, "h4"}} {
			card := &Card{RecipientID: c.recipient, NumberHash: c.hash, Last4: c.hash[1:] + "000", Brand: "VISA", AddedBy: f.ann}
			if err := tx.CreateCard(ctx, card); err != nil {
				return err
			}
			*c.id = card.ID
		}
		for _, id := range []int64{verified, removed, johns} {
			if err := tx.VerifyCard(ctx, id, f.bob); err != nil {
				return err
			}
		}
		return tx.RemoveCard(ctx, removed, f.bob)
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.db.PayableCards(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []CardChoice{{verified, f.jane, "Jane Doe", "VISA", "1000"}, {johns, f.john, "John Smith", "VISA", "4000"}}
	if !slices.Equal(all, want) {
		t.Errorf("all: got %v, want %v", all, want)
	}
	janes, err := f.db.PayableCards(ctx, f.john, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(janes, want[1:]) {
		t.Errorf("john's: got %v, want %v", janes, want[1:])
	}
	one, err := f.db.PayableCards(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one, want[:1]) {
		t.Errorf("limit 1: got %v, want %v", one, want[:1])
	}
}

// TestPickersWhereFewRecipientsHaveOne: a picker walks pickerWalk
// recipients by name for their cards; where that finds fewer than it may
// list, it lists the payable cards sorted by name instead, and misses none:
// here one card lies within the walk and three beyond it.
func TestPickersWhereFewRecipientsHaveOne(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	var want []CardChoice
	err := f.db.InTx(ctx, func(tx *Tx) error {
		for i := range pickerWalk + 100 {
			r := &Recipient{FullName: fmt.Sprintf("Recipient %05d", i), CreatedBy: f.ann}
			if i == 7 || i > pickerWalk+96 {
				r.FullName = fmt.Sprintf("recipient %05d", i) // the walk's order ignores case
			}
			if err := tx.CreateRecipient(ctx, r); err != nil {
				return err
			}
			if i != 7 && i <= pickerWalk+96 {
				continue
			}
			card := &Card{RecipientID: r.ID, NumberHash: fmt.Sprintf("few-%d", i), Last4: "4242", Brand: "VISA", AddedBy: f.ann}
			if err := tx.CreateCard(ctx, card); err != nil {
				return err
			}
			if err := tx.VerifyCard(ctx, card.ID, f.bob); err != nil {
				return err
			}
			want = append(want, CardChoice{card.ID, r.ID, r.FullName, "VISA", "4242"})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.db.PayableCards(ctx, 0, 501)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want the four payable cards in name order %v", got, want)
	}
	if got, err := f.db.PayableCards(ctx, 0, 2); err != nil || !slices.Equal(got, want[:2]) {
		t.Errorf("the first two: %v, %v; want %v", got, err, want[:2])
	}
}

// TestPayoutListPlans checks that each filter of the history page is served
// by an index walked in the page's order: no full scan of payouts, and no sort
// of every matching row before the first page can be shown.
func TestPayoutListPlans(t *testing.T) {
	db, _ := openTest(t)
	after := PayoutKey{CreatedAt: day(5), ID: 1000}
	tests := []struct {
		name     string
		filter   PayoutFilter
		wantUses string // the index the plan must name
		sorts    bool   // a sort of the matching rows is acceptable (they are few)
	}{
		{"no filter", PayoutFilter{}, "payouts_created", false},
		{"date range", PayoutFilter{From: day(1), To: day(3)}, "payouts_created", false},
		{"maker", PayoutFilter{MakerID: 7}, "payouts_maker", false},
		{"currency", PayoutFilter{Currency: "USD"}, "payouts_currency", false},
		{"last4", PayoutFilter{Last4: "4242"}, "payouts_last4", false},
		{"recipient", PayoutFilter{RecipientID: 3}, "payouts_recipient", false},
		{"one state", PayoutFilter{States: []string{"failed"}}, "payouts_state_created", false},
		{"several states", PayoutFilter{States: []string{"failed", "expired", "rejected"}}, "payouts_state_created", false},
		{"several states and a maker", PayoutFilter{States: []string{"failed", "expired"}, MakerID: 3}, "payouts_", false},
		{"approver", PayoutFilter{ApproverID: 4}, "SEARCH pa USING PRIMARY KEY (user_id=?", false},
		{"approver and a state", PayoutFilter{ApproverID: 4, States: []string{"succeeded"}}, "SEARCH pa USING PRIMARY KEY (user_id=?", false},
		{"name contains", PayoutFilter{Recipient: "mill"}, "payout_names", true}, // sorts the matches only
	}
	for _, tt := range tests {
		for _, key := range []PayoutKey{{}, after} {
			f := tt.filter
			f.Limit, f.After = 51, key
			q, args := f.listQuery(db.dialect)
			plan := explain(t, db, q, args...)
			if !strings.Contains(plan, tt.wantUses) {
				t.Errorf("%s (after %v): plan does not use %s:\n%s", tt.name, key, tt.wantUses, plan)
			}
			if strings.Contains(plan, "SCAN p\n") || strings.Contains(plan, "SCAN payouts\n") {
				t.Errorf("%s (after %v): full table scan:\n%s", tt.name, key, plan)
			}
			if !tt.sorts && strings.Contains(plan, "TEMP B-TREE FOR ORDER BY") {
				t.Errorf("%s (after %v): sorts every matching row:\n%s", tt.name, key, plan)
			}
		}
	}
	// The part of an hour Outflows sums from the payouts.
	plan := explain(t, db, `SELECT currency, count(*), sum(amount) FROM payouts
		WHERE state = 'succeeded' AND finished_at >= ? AND finished_at < ? GROUP BY currency ORDER BY currency`, "x", "y")
	if !strings.Contains(plan, "COVERING INDEX payouts_finished") {
		t.Errorf("outflow does not use the covering index:\n%s", plan)
	}
}

// TestPickerPlans: the new payout form's pickers walk the recipients in
// name order and read each one's payable cards or accounts from an index
// alone, sorting nothing: the first 500 cost 500 look-ups at any size. The
// walk stops at its bound; the list for few payable ones reads them alone.
func TestPickerPlans(t *testing.T) {
	db, _ := openTest(t)
	for _, tt := range []struct{ cols, table, alias, index string }{
		{`c.id, r.id, r.full_name, c.brand, c.last4`, "cards c", "c", "cards_payable"},
		{`a.id, r.id, r.full_name, a.masked, a.country, a.currency`, "bank_accounts a", "a", "bank_accounts_payable"},
	} {
		for _, recipient := range []int64{0, 7} {
			q, args := payableQuery(tt.cols, tt.table, tt.alias, walkRecipients, "", recipient, 501)
			plan := explain(t, db, q, args...)
			if !strings.Contains(plan, "COVERING INDEX "+tt.index) || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s of recipient %d: not from %s alone, or sorted:\n%s", tt.table, recipient, tt.index, plan)
			}
			if recipient == 0 && !strings.Contains(plan, "SCAN r USING COVERING INDEX recipients_name") {
				t.Errorf("%s: the recipients are not walked by name first:\n%s", tt.table, plan)
			}
		}
		// A walk bounded by the last name it may reach stops there.
		q, args := payableQuery(tt.cols, tt.table, tt.alias, walkRecipients, "Mm", 0, 501)
		plan := explain(t, db, q, args...)
		if !strings.Contains(plan, "SEARCH r USING COVERING INDEX recipients_name (full_name<?)") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: the bounded walk does not stop at its bound, or sorts:\n%s", tt.table, plan)
		}
		// Where few recipients have one, the payable ones alone are read, then sorted.
		q, args = payableQuery(tt.cols, tt.table, tt.alias, sortPayable, "", 0, 501)
		if plan := explain(t, db, q, args...); !strings.Contains(plan, "SCAN "+tt.alias+" USING COVERING INDEX "+tt.index) {
			t.Errorf("%s: the sorted list does not read %s alone:\n%s", tt.table, tt.index, plan)
		}
	}
}

func explain(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	if db.Postgres() {
		// PostgreSQL picks plans by its tables' statistics: a test's ten rows
		// say nothing of a million.
		t.Skip("these are SQLite's query plans")
	}
	rows, err := db.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, detail)
	}
	return b.String()
}

// TestKeptTotalsMatchTheSums: the totals the triggers keep (filters of
// states and currency) are what summing the payouts gives, after payouts
// are created, move between states and are returned.
func TestKeptTotalsMatchTheSums(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	check := func(when string) {
		t.Helper()
		for _, filter := range []PayoutFilter{{}, {Currency: "usd"}, {States: []string{"succeeded", "pending_approval"}},
			{States: []string{"succeeded"}, Currency: "USD"}, {Returned: OnlyReturned}, {Returned: OnlyReturned, States: []string{"succeeded"}},
			{Returned: NotReturned}, {Returned: NotReturned, Currency: "USD", States: []string{"succeeded"}}} {
			if !filter.totalsKept() {
				t.Fatalf("%+v is not answered from the kept totals", filter)
			}
			kept, err := f.db.PayoutTotals(ctx, filter)
			if err != nil {
				t.Fatal(err)
			}
			summed, err := f.db.summedTotals(ctx, filter)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(kept, summed) {
				t.Errorf("%s, %+v: kept %v, summed %v", when, filter, kept, summed)
			}
		}
	}
	check("as created")
	p, err := f.db.PayoutByID(ctx, f.ids["p1"])
	if err != nil {
		t.Fatal(err)
	}
	err = f.db.InTx(ctx, func(tx *Tx) error {
		p.State, p.FinishedAt = "succeeded", tx.Now()
		if err := tx.SavePayout(ctx, p); err != nil {
			return err
		}
		return tx.RecordReturn(ctx, p, f.ann, "2026-11-02", "account closed")
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after a success and a return")
	if (PayoutFilter{MakerID: f.ann}).totalsKept() || (PayoutFilter{Returned: OnlyReturned, MakerID: f.ann}).totalsKept() {
		t.Error("a filter by maker is answered from the kept totals")
	}
}

// TestPayoutTotalsUpTo: a filter the kept totals do not answer is summed
// when at most n payouts match, exactly as PayoutTotals sums it, returned
// payouts included; past n it says so and sums nothing.
func TestPayoutTotalsUpTo(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	p, err := f.db.PayoutByID(ctx, f.ids["p1"])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.InTx(ctx, func(tx *Tx) error { return tx.RecordReturn(ctx, p, f.ann, "2026-11-02", "account closed") }); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		filter  PayoutFilter
		matches int
	}{
		{PayoutFilter{MakerID: f.ann}, 5},
		{PayoutFilter{ApproverID: f.dan}, 3},
		{PayoutFilter{States: []string{"succeeded", "failed"}, MakerID: f.bob}, 2},
		{PayoutFilter{Returned: OnlyReturned}, 1},
		{PayoutFilter{Last4: "0000"}, 0},
		{PayoutFilter{}, 8}, // kept: complete whatever n
	} {
		want, err := f.db.PayoutTotals(ctx, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var matching int64
		for _, w := range want {
			matching += w.Count
		}
		if matching != int64(tt.matches) {
			t.Fatalf("%+v: %d payouts match, the test expects %d", tt.filter, matching, tt.matches)
		}
		for _, n := range []int{tt.matches, tt.matches - 1} {
			if n < 0 {
				continue
			}
			got, complete, err := f.db.PayoutTotalsUpTo(ctx, tt.filter, n)
			if err != nil {
				t.Fatal(err)
			}
			kept := tt.filter.totalsKept()
			switch {
			case n == tt.matches || kept:
				if !complete || !slices.Equal(got, want) {
					t.Errorf("%+v up to %d: %v (complete %v), want %v", tt.filter, n, got, complete, want)
				}
			case complete || got != nil:
				t.Errorf("%+v up to %d of %d: %v, complete %v; want none, incomplete", tt.filter, n, tt.matches, got, complete)
			}
		}
	}
}

// TestHistoryFiltersWalkAnIndexInOrder: each history filter's page (and the
// bounded totals, which read the same keys) walks an index ordered like the
// page, never sorting the matching set.
func TestHistoryFiltersWalkAnIndexInOrder(t *testing.T) {
	f := newListFixture(t)
	for _, tt := range []struct {
		filter PayoutFilter
		index  string
	}{
		{PayoutFilter{MakerID: 1}, "payouts_maker"},
		{PayoutFilter{ApproverID: 1}, "pa USING PRIMARY KEY"}, // payout_approvers
		{PayoutFilter{Method: "bank_account"}, "payouts_method"},
		{PayoutFilter{Country: "GBR"}, "payouts_account_country"},
		{PayoutFilter{Returned: OnlyReturned}, "payouts_returned_created"},
		{PayoutFilter{From: day(1), To: day(30)}, "payouts_created"},
	} {
		tt.filter.Limit = 51
		q, args := tt.filter.keysQuery(f.db.dialect)
		plan := explain(t, f.db, q, args...)
		if !strings.Contains(plan, tt.index) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%+v does not walk %s in order:\n%s", tt.filter, tt.index, plan)
		}
	}
}

// TestSameDestinationPlans: the payouts to a card are found along
// payouts_last4, to a bank account along payouts_bank_account, never by
// walking every payout of the day by method.
func TestSameDestinationPlans(t *testing.T) {
	f := newListFixture(t)
	since := day(1)
	for _, tt := range []struct {
		q     SameDestination
		index string
	}{
		{SameDestination{Since: since, Last4: "4242", Brand: "visa", Fingerprint: "f", Ended: []string{"failed"}}, "payouts_last4"},
		{SameDestination{Since: since, Last4: "4242", Brand: "visa", CardID: 1}, "payouts_last4"},
		{SameDestination{Since: since, BankAccountID: 1, Ended: []string{"failed"}}, "payouts_bank_account"},
	} {
		arm, args := sameDestinationArm(tt.q)
		plan := explain(t, f.db, `SELECT p.currency, count(*)`+arm+` GROUP BY p.currency`, args...)
		if !strings.Contains(plan, "p USING INDEX "+tt.index) && !strings.Contains(plan, "p USING COVERING INDEX "+tt.index) {
			t.Errorf("%+v does not walk %s:\n%s", tt.q, tt.index, plan)
		}
	}
}

// TestPayoutsDueBeforePlan: the dashboard's payouts close to their deadline
// are read along payouts_state (state, deadline_at), in order.
func TestPayoutsDueBeforePlan(t *testing.T) {
	f := newListFixture(t)
	plan := explain(t, f.db, `SELECT p.id`+payoutFrom+` WHERE p.state = ? AND p.deadline_at < ? ORDER BY p.deadline_at, p.id LIMIT ?`, "pending_approval", "x", 10)
	if !strings.Contains(plan, "payouts_state") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("the payouts due do not walk payouts_state in order:\n%s", plan)
	}
}

// TestEachPayoutMatchesTheList: the export reads its own narrow query, with
// names from one read of the users; every column it writes must be what
// the history page shows (p4 has two approvers).
func TestEachPayoutMatchesTheList(t *testing.T) {
	f := newListFixture(t)
	list, err := f.db.Payouts(t.Context(), PayoutFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type exported struct {
		ID, RecipientID, Amount                                    int64
		Created, Finished                                          time.Time
		State, Currency, Name, Brand, Last4, Maker, Approvers      string
		Reference, Purpose, Note, Session, Code, Reason, Cancelled string
		Method, Account, Country, ReturnedOn, ReturnReason         string
	}
	of := func(r *PayoutRow) exported {
		return exported{r.ID, r.RecipientID, r.Amount, r.CreatedAt, r.FinishedAt, r.State, r.Currency, r.FullName, r.CardBrand,
			r.CardLast4, r.MakerName, r.Approvers, r.CustomerReference, r.Purpose, r.Note, r.ProviderSessionID, r.FailureCode,
			r.FailureReason, r.CancelReason, r.Method, r.AccountLabel, r.AccountCountry, r.ReturnedOn, r.ReturnReason}
	}
	var want, got []exported
	for _, r := range list {
		want = append(want, of(r))
	}
	err = f.db.eachInBatches(t.Context(), PayoutFilter{}, 3, func(r *PayoutRow) error { got = append(got, of(r)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("export rows:\n got %+v\nwant %+v", got, want)
	}
	if !slices.ContainsFunc(got, func(e exported) bool { return strings.Contains(e.Approvers, ", ") }) {
		t.Error("no exported row has two approvers: the test proves less than it says")
	}
}

// TestAmountRangeReadsOnlyTheIndex: the history by currency and amount range
// sorts its matches by creation; it reads them from payouts_amount alone,
// never each matching payout's row.
func TestAmountRangeReadsOnlyTheIndex(t *testing.T) {
	f := newListFixture(t)
	q, args := PayoutFilter{Currency: "USD", MinAmount: 1000, MaxAmount: 2000, Limit: 51}.keysQuery(f.db.dialect)
	plan := explain(t, f.db, q, args...)
	if !strings.Contains(plan, "COVERING INDEX payouts_amount") {
		t.Errorf("an amount range reads payouts' rows to sort:\n%s", plan)
	}
}

// TestNameContainsPlans: a name searched in the trigram index drives the
// page by the matches' ids when few match, and walks payouts_created in the
// page's order when many do (a common surname at a million payouts).
func TestNameContainsPlans(t *testing.T) {
	f := newListFixture(t)
	for _, many := range []bool{false, true} {
		filter := PayoutFilter{Recipient: "smith", Limit: 51, manyNames: many}
		q, args := filter.keysQuery(f.db.dialect)
		plan := explain(t, f.db, q, args...)
		walks := strings.Contains(plan, "payouts_created") && !strings.Contains(plan, "TEMP B-TREE")
		if !strings.Contains(plan, "payout_names") || walks != many {
			t.Errorf("many %v: walks payouts_created in order %v:\n%s", many, walks, plan)
		}
	}
}

// TestCommonNameTotalsNeedAsking: totals of a name more than fewMatches
// payouts hold, asked for alone, come back incomplete from the count the
// page already makes (on SQLite); narrowed by anything else, they are summed
// up to n as every filter is.
func TestCommonNameTotalsNeedAsking(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	err := f.db.InTx(ctx, func(tx *Tx) error {
		for i := range fewMatches + 1 {
			p := &Payout{State: "pending_approval", MakerID: f.ann, FullName: fmt.Sprintf("Many Common %04d", i), Amount: 100,
				Currency: "USD", CardLast4: "4242", CardBrand: "VISA"}
			if i == 0 {
				p.Currency = "EUR"
			}
			if err := tx.CreatePayout(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	alone := PayoutFilter{Recipient: "many common"}
	if err := f.db.WeighName(ctx, &alone); err != nil {
		t.Fatal(err)
	}
	if !f.db.Postgres() && (!alone.manyNames || !alone.byNameAlone()) {
		t.Fatalf("%d payouts named alike are not weighed as many: %+v", fewMatches+1, alone)
	}
	if got, complete, err := f.db.PayoutTotalsUpTo(ctx, PayoutFilter{Recipient: "many common"}, 1000); err != nil || complete || got != nil {
		t.Errorf("a common name alone: %v, complete %v, %v; want none, incomplete", got, complete, err)
	}
	got, complete, err := f.db.PayoutTotalsUpTo(ctx, PayoutFilter{Recipient: "many common", Currency: "EUR"}, 1000)
	want := []Total{{Currency: "EUR", State: "pending_approval", Count: 1, Amount: 100}}
	if err != nil || !complete || !slices.Equal(got, want) {
		t.Errorf("a common name in one currency: %v, complete %v, %v; want %v", got, complete, err, want)
	}
}
