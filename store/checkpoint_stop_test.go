package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStopCheckpoints: a DB copies its write-ahead log into the database file
// every second; once StopCheckpoints is called it no longer does (the file
// stays as it was while the log grows), and Close after it still closes.
func TestStopCheckpoints(t *testing.T) {
	grows := func(stop bool) bool {
		path := filepath.Join(t.TempDir(), "c.db")
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		}()
		ctx := context.Background()
		if _, err := db.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
		if stop {
			db.StopCheckpoints()
		}
		before := fileSize(t, path)
		if _, err := db.exec(ctx, `CREATE TABLE filler (x TEXT)`); err != nil {
			t.Fatal(err)
		}
		for range 50 {
			if _, err := db.exec(ctx, `INSERT INTO filler VALUES (randomblob(4000))`); err != nil {
				t.Fatal(err)
			}
		}
		// Two ticks of the checkpoints (every second).
		time.Sleep(2500 * time.Millisecond)
		return fileSize(t, path) > before
	}
	if !grows(false) {
		t.Fatal("without StopCheckpoints, the database file did not take the log's pages")
	}
	if grows(true) {
		t.Error("after StopCheckpoints, the log was still copied into the database file")
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
