package store

import (
	"context"
	"errors"
	"slices"
	"testing"
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
