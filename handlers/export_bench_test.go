package handlers

import (
	"io"
	"testing"
	"time"

	"countersign/store"
	"countersign/views"
)

// BenchmarkCSVRows measures the export's work per row after the store has
// read it: formatting the cells and writing them as CSV.
func BenchmarkCSVRows(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	r := &store.PayoutRow{Payout: &store.Payout{ID: 123456, CreatedAt: at, State: "succeeded", Amount: 150075, Currency: "EUR",
		FullName: "Jane Doe", RecipientID: 42, CardBrand: "visa", CardLast4: "4242", MakerName: "Ann Maker",
		CustomerReference: "INV-0001234", Purpose: "refund", ProviderSessionID: "ps_4eb9ee031f44e2f13d396ef7",
		FinishedAt: at.Add(time.Minute), Method: "card"}, Approvers: "Cat Approver, Dan Approver"}
	w := newCSVExport(io.Discard, views.Clock{Loc: loc})
	for b.Loop() {
		if err := w.write(r); err != nil {
			b.Fatal(err)
		}
	}
	w.flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
