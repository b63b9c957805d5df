package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEachPayoutStopsWhenFnFails: a failure in the second batch ends the
// export there, with fn's error, while the reader has a batch ready.
func TestEachPayoutStopsWhenFnFails(t *testing.T) {
	f := newListFixture(t)
	stop := errors.New("stop")
	var got []string
	err := f.db.eachInBatches(t.Context(), PayoutFilter{}, 3, func(r *PayoutRow) error {
		got = append(got, f.names([]*PayoutRow{r})...)
		if len(got) == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("err %v, want stop", err)
	}
	if want := []string{"p8", "p7", "p6", "p5", "p4"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestEachPayoutStopsWhenTheCallerGoes: once the context ends (the client
// went away), no further batch reaches fn and the error says why.
func TestEachPayoutStopsWhenTheCallerGoes(t *testing.T) {
	f := newListFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	err := f.db.eachInBatches(ctx, PayoutFilter{}, 3, func(*PayoutRow) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if n > 3 {
		t.Errorf("fn had %d rows after the context ended in the first batch of 3", n)
	}
}

// TestEachPayoutApproversAcrossBatches: the approvers read once a batch land
// on their own rows whatever the batch size, as the history page lists them:
// read as one range of ids when a batch's ids are close (all payouts), and
// payout by payout when they are far apart (two JPY payouts, 40 ids apart).
func TestEachPayoutApproversAcrossBatches(t *testing.T) {
	f := newListFixture(t)
	for range 40 {
		f.create(t, fixturePayout{maker: f.ann, fullName: "Filler", amount: 1, currency: "GBP", last4: "0001", state: "succeeded", approvers: []int64{f.bob}})
	}
	f.ids["far"] = f.create(t, fixturePayout{maker: f.bob, fullName: "Far", amount: 5, currency: "JPY", last4: "0002", state: "succeeded",
		approvers: []int64{f.dan, f.ann}})
	for _, filter := range []PayoutFilter{{}, {Currency: "JPY"}} {
		list, err := f.db.Payouts(t.Context(), filter)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]string{}
		for _, r := range list {
			want[r.ID] = r.Approvers
		}
		for _, batch := range []int{1, 2, 3, 7, len(list), len(list) + 1} {
			got := map[int64]string{}
			err := f.db.eachInBatches(t.Context(), filter, batch, func(r *PayoutRow) error { got[r.ID] = r.Approvers; return nil })
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, want) {
				t.Errorf("%+v in batches of %d: approvers %v, want %v", filter, batch, got, want)
			}
		}
	}
	if want := []string{"Cat, Dan", "Ann, Dan"}; f.approversOf(t, "p4") != want[0] || f.approversOf(t, "far") != want[1] {
		t.Errorf("p4 and far have approvers %q and %q, want %q: the test proves less than it says", f.approversOf(t, "p4"), f.approversOf(t, "far"), want)
	}
}

// approversOf is what the history page lists as the approvers of a fixture payout.
func (f *listFixture) approversOf(t *testing.T, name string) string {
	list, err := f.db.Payouts(t.Context(), PayoutFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.ID == f.ids[name] {
			return r.Approvers
		}
	}
	return ""
}

// TestEachPayoutSeesApprovalsAsItsBatchIsRead: approvals given while an
// export runs show on the rows read after them (with a user created
// meanwhile), and never on a row already read.
func TestEachPayoutSeesApprovalsAsItsBatchIsRead(t *testing.T) {
	f := newListFixture(t)
	ctx := t.Context()
	got := map[string]string{}
	// Batches of one. While fn has p8, at most the next exportReaders
	// batches (p7, p6) are read: the readers have no page for more.
	err := f.db.eachInBatches(ctx, PayoutFilter{}, 1, func(r *PayoutRow) error {
		name := f.names([]*PayoutRow{r})[0]
		got[name] = r.Approvers
		if name != "p8" {
			return nil
		}
		eve := &User{Email: "eve@example.com", Name: "Eve", PasswordHash: "x", Active: true}
		if err := f.db.CreateUser(ctx, eve); err != nil {
			return err
		}
		return f.db.InTx(ctx, func(tx *Tx) error {
			for _, a := range []Approval{{PayoutID: f.ids["p8"], UserID: f.bob, Version: 1}, {PayoutID: f.ids["p3"], UserID: f.bob, Version: 1},
				{PayoutID: f.ids["p1"], UserID: eve.ID, Version: 1}} {
				if err := tx.AddApproval(ctx, a); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"p8": "", "p7": "", "p6": "Cat", "p5": "Dan", "p4": "Cat, Dan", "p3": "Bob, Dan", "p2": "", "p1": "Cat, Eve"}
	if !maps.Equal(got, want) {
		t.Errorf("approvers %v, want %v", got, want)
	}
}

// FuzzParseLayout: what the hand-written reader of timeLayout reads,
// time.Parse reads as the same time. (time.Parse is more lenient — a
// one-digit hour, a comma before the fraction — and parseTime hands it
// whatever parseLayout refuses.)
func FuzzParseLayout(f *testing.F) {
	for _, s := range []string{"2026-11-01T09:00:00.000000Z", "2024-02-29T23:59:59.999999Z", "2023-02-29T00:00:00.000000Z",
		"2026-13-01T00:00:00.000000Z", "2026-04-31T00:00:00.000000Z", "2026-11-01T24:00:00.000000Z", "2026-11-01T09:60:00.000000Z",
		"2026-11-01T09:00:60.000000Z", "2026-11-01T09:00:00.00000aZ", "2026-11-01T09:00:00+00:00", "0000-01-01T00:00:00.000000Z",
		"2026-11-01T09:00:00.000000z", "2026-1a-01T09:00:00.000000Z", "0000-01-01T0:00:00,000000Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.Parse(timeLayout, s)
		got, ok := parseLayout(s)
		if ok && (err != nil || !got.Equal(want) || got.Location() != time.UTC) {
			t.Errorf("parseLayout(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
		}
		if err == nil && s == formatTime(want) && !ok {
			t.Errorf("parseLayout(%q) refuses a time as the store writes it", s)
		}
		if gotBytes, okBytes := parseLayout([]byte(s)); okBytes != ok || !gotBytes.Equal(got) {
			t.Errorf("parseLayout([]byte(%q)) = %v, %v; of the string %v, %v", s, gotBytes, okBytes, got, ok)
		}
	})
}

// TestExportBatchPlans: a batch's bounds and its range walk the filter's
// index in order, without sorting.
func TestExportBatchPlans(t *testing.T) {
	f := newListFixture(t)
	key := PayoutKey{CreatedAt: day(2), ID: 5}
	filter := PayoutFilter{Currency: "USD", After: key, through: PayoutKey{CreatedAt: day(1), ID: 2}}
	keys, args := filter.keysQuery(f.db.dialect)
	if plan := explain(t, f.db, keys, args...); !strings.Contains(plan, "payouts_currency") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("a batch's keys:\n%s", plan)
	}
	filter = PayoutFilter{Currency: "USD", After: key, Limit: 2000}
	keys, args = filter.keysQuery(f.db.dialect)
	plan := explain(t, f.db, `SELECT key_at, key_id FROM (`+keys+`) k ORDER BY key_at DESC, key_id DESC LIMIT 1 OFFSET ?`, append(args, 1999)...)
	if !strings.Contains(plan, "payouts_currency") {
		t.Errorf("a batch's end:\n%s", plan)
	}
	plan = explain(t, f.db, approvalsBetween, 1, 8)
	if !strings.Contains(plan, "sqlite_autoindex_approvals_1 (payout_id>? AND payout_id<?)") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("a batch's approvals:\n%s", plan)
	}
}
