package store

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// BenchmarkEachPayoutFile measures the export's reading of one currency's
// payouts from an existing database, such as a copy of the benchmark's
// million-payout dataset: COUNTERSIGN_EXPORT_DB names the file (the
// benchmark migrates it). Without it the benchmark is skipped.
func BenchmarkEachPayoutFile(b *testing.B) {
	path := os.Getenv("COUNTERSIGN_EXPORT_DB")
	if path == "" {
		b.Skip("COUNTERSIGN_EXPORT_DB names no database")
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows := 0
	cpu := cpuTime()
	for b.Loop() {
		err := db.EachPayout(b.Context(), PayoutFilter{Currency: "EUR"}, func(*PayoutRow) error { rows++; return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	// CPU time shows the cost of a row apart from what others on the machine do.
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(rows), "cpu-ns/row")
}

// cpuTime is the CPU time this process has used, in user and system mode.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
