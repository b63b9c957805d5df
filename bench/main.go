// Command bench measures Countersign against this machine's own ceiling.
//
//	go run ./bench [-sizes 10000,100000,1000000] [-reps 3] [-o bench/RESULTS-table.md]
//
// For each size it generates a database (a year of payouts with approvals,
// webhooks, provider calls, audit entries and balance readings, the same for
// the same -seed; kept in -dir and reused with -reuse), builds and starts the
// real console against a copy of it with the embedded sandbox, and measures
// every page (quiet, and while webhooks arrive), webhook ingest at several
// client counts (checking that what was stored is what was sent), the
// approval round trip, the CSV export, memory, start-up and size. Beside
// them it measures the ceilings: a bare Echo page, a bare SQLite commit loop
// (one row a commit, and 50) with the console's pragmas, and RSA signature
// verification on every core. It prints one table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "10000,100000,1000000", "dataset sizes, in payouts")
	seed := fs.Uint64("seed", 1, "seed of the generated data")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "countersign-bench"), "folder for the datasets and the working copy")
	reuse := fs.Bool("reuse", false, "reuse datasets already generated in -dir for the same size and seed")
	reps := fs.Int("reps", 1, "repetitions of every measurement (a figure shows the range)")
	bin := fs.String("binary", "", "the console binary to measure (default: build the module in the current folder)")
	out := fs.String("o", "", "also write the table to this file")
	pageTime := fs.Duration("page-time", 3*time.Second, "how long each page is measured")
	pageMin := fs.Int("page-min", 20, "at least this many requests per page")
	events := fs.Int("webhook-events", 20_000, "distinct webhooks per ingest burst")
	clients := fs.String("webhook-clients", "1,16,64", "clients of each ingest burst")
	rate := fs.Float64("stream-rate", 200, "webhooks a second while the pages are measured beside them")
	approvals := fs.Int("approvals", 30, "approval round trips")
	generateOnly := fs.Bool("generate-only", false, "generate the datasets into -dir and stop (a later run takes them with -reuse)")
	cpuProfile := fs.String("cpuprofile", "", "write the benchmark's own CPU profile (the generator's, mostly) to this file")
	only := fs.String("only", "", `measure only this part: "webhooks" (the ingest bursts, no pages, stream, approvals or export)`)
	consoleProfile := fs.String("console-profile", "", "write the console's CPU profile, from start to stop, into this folder (one file per size and run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" && *only != "webhooks" {
		return fmt.Errorf(`-only: want "webhooks", not %q`, *only)
	}
	o := options{onlyWebhooks: *only == "webhooks", consoleProfile: *consoleProfile, dir: *dir, pages: bounds{dur: *pageTime, min: *pageMin, max: 100_000}, webhookEvents: *events, streamRate: *rate, approvals: *approvals,
		say: func(format string, a ...any) {
			fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
		}}
	ns, err := ints(*sizes)
	if err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}
	if o.webhookClients, err = ints(*clients); err != nil {
		return fmt.Errorf("-webhook-clients: %w", err)
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return err
	}
	if o.consoleProfile != "" {
		if err := os.MkdirAll(o.consoleProfile, 0o700); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	m := readMachine()
	m.Command = "go run ./bench " + strings.Join(args, " ")
	o.bin = *bin
	if o.bin == "" {
		if o.bin, err = buildConsole(ctx, ".", o.dir); err != nil {
			return err
		}
	}
	sets := map[int]*dataset{}
	for _, n := range ns {
		o.say("dataset of %d payouts", n)
		if sets[n], err = prepare(ctx, o.bin, o.dir, n, *seed, *reuse, o.say); err != nil {
			return fmt.Errorf("dataset of %d payouts: %w", n, err)
		}
		o.say("dataset of %d payouts: %.1f MB, generated in %s", n, float64(sets[n].Bytes)/1e6, sets[n].Took.Round(time.Second))
	}
	if *generateOnly {
		return nil
	}
	results := map[int][]*runResult{}
	var ceils []ceilings
	for rep := range *reps {
		o.say("ceilings, run %d", rep+1)
		c, err := measureCeilings(ctx, o.dir, bounds{dur: *pageTime, min: 1000, max: 100_000})
		if err != nil {
			return fmt.Errorf("ceilings: %w", err)
		}
		ceils = append(ceils, c)
		for _, n := range ns {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r, err := runOnce(ctx, o, sets[n], rep)
			if err != nil {
				return fmt.Errorf("%d payouts, run %d: %w", n, rep+1, err)
			}
			results[n] = append(results[n], r)
		}
	}
	m.LoadAfter = loadAverage()
	var table strings.Builder
	report(&table, m, ns, sets, results, ceils)
	fmt.Fprint(stdout, table.String())
	if *out != "" {
		return os.WriteFile(*out, []byte(table.String()), 0o644)
	}
	return nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, errors.New("want positive whole numbers separated by commas")
		}
		out = append(out, n)
	}
	return out, nil
}
