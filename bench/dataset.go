package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"countersign/payout"
	"countersign/secret"
	"countersign/smartglocal/sandbox"
	"countersign/store"
)

// dataset is a generated database kept in its folder for the runs: the
// console's files and a dataset.json that says what was generated.
type dataset struct {
	files   `json:"-"`
	Payouts int           `json:"payouts"`
	Seed    uint64        `json:"seed"`
	End     time.Time     `json:"end"`   // the history ends here
	Bytes   int64         `json:"bytes"` // the database file once written
	Took    time.Duration `json:"took"`
	Counts  struct {
		Webhooks, ProviderCalls, Readings int64
	} `json:"counts"`
}

// recipientsFor is how many recipients a history of n payouts has: 50,000 at a million.
func recipientsFor(n int) int { return max(200, n/20) }

// prepare returns the dataset of n payouts for seed in dir, generating it
// unless reuse is set and it is already there.
func prepare(ctx context.Context, bin, dir string, n int, seed uint64, reuse bool, say func(string, ...any)) (*dataset, error) {
	d := &dataset{files: files{dir: filepath.Join(dir, fmt.Sprintf("payouts-%d-seed-%d", n, seed))}, Payouts: n, Seed: seed}
	meta := filepath.Join(d.dir, "dataset.json")
	if reuse {
		if b, err := os.ReadFile(meta); err == nil {
			if err := json.Unmarshal(b, d); err == nil {
				say("reusing %s (generated %s)", d.dir, d.End.Format(time.RFC3339))
				return d, nil
			}
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, err
	}
	start := time.Now()
	// The console makes a fresh database what `go run .` makes: the demo
	// accounts with their second factor, the demo policy, the key, the
	// audit chain's switch-over and the sandbox's keys.
	c, err := startConsole(bin, d.files)
	if err != nil {
		return nil, err
	}
	if err := c.stop(); err != nil {
		return nil, err
	}
	db, err := openForBench(ctx, d.files)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	d.End = time.Now().UTC().Truncate(time.Minute)
	from := d.End.AddDate(-1, 0, 0)
	g := newGen(ctx, db, seed)
	if err := g.addPeople(from.Add(-24 * time.Hour)); err != nil {
		return nil, err
	}
	if err := g.loadPeople(); err != nil {
		return nil, err
	}
	if err := g.addRecipients(recipientsFor(n), from); err != nil {
		return nil, err
	}
	g.readings(from, d.End)
	g.payouts(n, from.Add(7*24*time.Hour), d.End.Add(-2*time.Hour), "")
	last := time.Now()
	err = g.run(d.End, func(c counts) {
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			say("  %d of %d payouts written (%s)", c.payouts, n, time.Since(start).Round(time.Second))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	d.Counts.Webhooks, d.Counts.ProviderCalls, d.Counts.Readings = g.written.webhooks, g.written.calls, g.written.readings
	if err := db.Close(); err != nil {
		return nil, err
	}
	d.Took = time.Since(start)
	if d.Bytes, err = dbBytes(d.files); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	return d, os.WriteFile(meta, b, 0o600)
}

// openForBench opens a console's database as the console does, with its key
// for the audit chain, so that what the benchmark writes chains like the
// console's own entries.
func openForBench(ctx context.Context, f files) (*store.DB, error) {
	db, err := store.Open(ctx, f.db())
	if err != nil {
		return nil, err
	}
	// The console made the key file when it first started over the database.
	key, err := secret.Load(f.key())
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := db.UseAuditKey(ctx, key.Derive(secret.PurposeAuditChain), store.AuditStart{From: key.AuditFrom()}); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dbBytes is the size of the database file and its WAL.
func dbBytes(f files) (int64, error) {
	var n int64
	for _, p := range []string{f.db(), f.db() + "-wal"} {
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

// bytesInUse is how much of the database file at path holds data: its pages
// less the free ones (a migration that deletes rows leaves free pages, which
// the file keeps until a VACUUM).
func bytesInUse(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var pages, free, size int64
	for pragma, v := range map[string]*int64{"page_count": &pages, "freelist_count": &free, "page_size": &size} {
		if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(v); err != nil {
			return 0, fmt.Errorf("%s: %w", pragma, err)
		}
	}
	return (pages - free) * size, nil
}

// topUp brings a working copy of the dataset up to now: the payouts and
// readings of the time since the dataset was generated, at the same pace,
// and queueWaiting payouts waiting for approval, made in the last two hours
// (the provider's deadline is four).
func topUp(ctx context.Context, db *store.DB, d *dataset, seed uint64) error {
	g := newGen(ctx, db, seed)
	if err := g.loadPeople(); err != nil {
		return err
	}
	latest, err := db.LatestBalances(ctx)
	if err != nil {
		return err
	}
	for _, b := range latest {
		g.balance[b.Currency] = b.Amount
	}
	now := time.Now().UTC()
	g.readings(d.End.Add(time.Minute), now)
	if gap := now.Add(-2 * time.Hour).Sub(d.End); gap > 0 {
		perYear := float64(d.Payouts) / (358 * 24)
		g.payouts(int(perYear*gap.Hours()), d.End, now.Add(-2*time.Hour), "")
	}
	g.payouts(queueWaiting, now.Add(-110*time.Minute), now.Add(-10*time.Minute), payout.StatePendingApproval)
	return g.run(now, nil)
}

// addWaiting adds n payouts waiting for approval, made in the last hour.
func addWaiting(ctx context.Context, db *store.DB, n int, seed uint64) error {
	g := newGen(ctx, db, seed)
	g.beside = true
	if err := g.loadPeople(); err != nil {
		return err
	}
	now := time.Now().UTC()
	g.payouts(n, now.Add(-time.Hour), now.Add(-time.Minute), payout.StatePendingApproval)
	return g.run(now, nil)
}

// addConfirmed adds n payouts the provider confirmed and will finish, made
// in the last two minutes, and returns them: what the ingest benchmark's
// payment_finished webhooks are about. (The reconciler asks about a
// confirmed payout only after five minutes without news.)
func addConfirmed(ctx context.Context, db *store.DB, n int, seed uint64) ([]*store.Payout, error) {
	g := newGen(ctx, db, seed)
	g.beside = true
	if err := g.loadPeople(); err != nil {
		return nil, err
	}
	g.onConfirmed = func(p *store.Payout) { g.confirmed = append(g.confirmed, p) }
	now := time.Now().UTC()
	g.payouts(n, now.Add(-100*time.Second), now.Add(-30*time.Second), payout.StateConfirmed)
	err := g.run(now, nil)
	return g.confirmed, err
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sandboxKeys makes sure the embedded sandbox's keys exist in f and returns
// the provider's private key, which signs its webhooks.
func sandboxKey(f files) (signer, error) {
	_, provider, err := sandbox.KeysIn(f.sandbox())
	return signer{provider}, err
}
