package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"countersign/payout"
	"countersign/stepup"
	"countersign/store"
)

// Demo accounts the runs sign in as (README: published for sandbox mode).
var demo = map[string]struct{ password, secret string }{
	"maker@example.com":     {"maker-demo-password", ""},
	"approver1@example.com": {"approver1-demo-password", "APPROVERONEDEMOSECRETCOUNTERSIGN"},
	"approver2@example.com": {"approver2-demo-password", "APPROVERTWODEMOSECRETCOUNTERSIGN"},
	"admin@example.com":     {"admin-demo-password", "ADMINONEDEMOSECRETCOUNTERSIGNAAA"},
	"auditor@example.com":   {"auditor-demo-password", ""},
}

// options are the run's knobs (flags).
type options struct {
	bin            string
	dir            string
	pages          bounds  // how long each page is measured
	webhookEvents  int     // distinct events per ingest burst
	webhookClients []int   // clients per burst
	streamRate     float64 // webhooks a second while pages are measured beside them
	approvals      int     // approval round trips
	onlyWebhooks   bool    // measure the ingest bursts only
	consoleProfile string  // folder for the console's CPU profiles ("": none)
	say            func(string, ...any)
}

// pageResult is one page, measured quietly and while webhooks arrive.
type pageResult struct {
	Name        string
	Quiet, Busy sample
}

// runResult is one run of the console over one dataset.
type runResult struct {
	Payouts int
	Serving time.Duration
	RSSIdle int64
	RSSPeak int64
	DBBytes int64
	Pages   []pageResult
	Stream  struct {
		Rate            float64 // webhooks a second asked for
		Sent, Bad, Late int64
	}
	Approve        sample
	ExportRows     int
	ExportTook     time.Duration
	Ingest         []ingestResult
	Refused        ingestResult // the last burst again, every delivery wrongly signed (refuse)
	QueueWaitingAt int          // how many waited when the big queue was measured
}

// request is one page as someone opens it.
type request struct {
	name string
	as   string // email of who opens it
	path func(i int) string
}

func fixed(p string) func(int) string { return func(int) string { return p } }

// requests are every page the figures cover, built from what the dataset holds.
func requests(ctx context.Context, db *store.DB, seed uint64) ([]request, error) {
	rng := rand.New(rand.NewPCG(seed, 11))
	newest, err := db.Payouts(ctx, store.PayoutFilter{Limit: 1})
	if err != nil || len(newest) == 0 {
		return nil, fmt.Errorf("the dataset has no payouts: %v", err)
	}
	maxID := newest[0].ID
	ids := make([]int64, 1000)
	for i := range ids {
		ids[i] = 1 + rng.Int64N(maxID)
	}
	maker, err := db.UserByEmail(ctx, "maker@example.com")
	if err != nil {
		return nil, err
	}
	approver, err := db.UserByEmail(ctx, "approver1@example.com")
	if err != nil {
		return nil, err
	}
	cards, err := db.PayableCards(ctx, 0, 0)
	if err != nil || len(cards) == 0 {
		return nil, fmt.Errorf("the dataset has no cards: %v", err)
	}
	someone := cards[rng.IntN(len(cards))]
	end := time.Now().UTC()
	day := func(daysAgo int) string { return end.AddDate(0, 0, -daysAgo).Format(time.DateOnly) }
	month := "from=" + day(60) + "&to=" + day(31)
	week := "from=" + day(37) + "&to=" + day(31)
	second, err := secondPage(ctx, db)
	if err != nil {
		return nil, err
	}
	a1, au, mk := "approver1@example.com", "auditor@example.com", "maker@example.com"
	return []request{
		{"payout page", a1, func(i int) string { return "/payouts/" + strconv.FormatInt(ids[i%len(ids)], 10) }},
		{"new payout form", mk, fixed("/payouts/new")},
		{"queue (40 waiting)", a1, fixed("/queue")},
		{"dashboard, 7 days", a1, fixed("/")},
		{"dashboard, 30 days", a1, fixed("/?days=30")},
		{"recipients", mk, fixed("/recipients")},
		{"recipients, search", mk, fixed("/recipients?q=mith")},
		{"audit", au, fixed("/audit")},
		{"audit, by actor", au, fixed("/audit?actor=approver1")},
		{"audit, action prefix (payout.cancel)", au, fixed("/audit?action=payout.cancel")},
		{"audit, action prefix (card.verify, rare)", au, fixed("/audit?action=card.verify")},
		{"audit, by object", au, func(i int) string { return "/audit?object=payout:" + strconv.FormatInt(ids[i%len(ids)], 10) }},
		{"audit, a week a month ago", au, fixed("/audit?" + week)},
		{"history, first page (with totals)", a1, fixed("/payouts")},
		{"history, second page", a1, fixed("/payouts?after=" + url.QueryEscape(second))},
		{"history, by state", a1, fixed("/payouts?state=failed")},
		{"history, state + currency", a1, fixed("/payouts?state=succeeded&currency=EUR")},
		{"history, currency + amount", a1, fixed("/payouts?currency=USD&min=1000&max=1100")},
		{"history, a month", a1, fixed("/payouts?" + month)},
		{"history, by maker", a1, fixed("/payouts?maker=" + strconv.FormatInt(maker.ID, 10))},
		{"history, by approver", a1, fixed("/payouts?approver=" + strconv.FormatInt(approver.ID, 10))},
		{"history, recipient name contains", a1, fixed("/payouts?recipient=mith")},
		{"history, recipient by number", a1, fixed("/payouts?recipient=%23" + strconv.FormatInt(someone.RecipientID, 10))},
		{"history, card last four", a1, fixed("/payouts?last4=" + someone.Last4)},
		{"history, bank accounts", a1, fixed("/payouts?method=bank_account")},
		{"history, country", a1, fixed("/payouts?country=GBR")},
		{"history, returned", a1, fixed("/payouts?returned=yes")},
		{"CSV export, a week of EUR", au, fixed("/payouts.csv?currency=EUR&" + week)},
	}, nil
}

// secondPage is the key of the history's second page, as its "next" link carries it.
func secondPage(ctx context.Context, db *store.DB) (string, error) {
	rows, err := db.Payouts(ctx, store.PayoutFilter{Limit: 50})
	if err != nil || len(rows) < 50 {
		return "", fmt.Errorf("the dataset has under 50 payouts: %v", err)
	}
	return rows[49].Key().String(), nil
}

// runOnce runs the console over a working copy of d and measures it.
func runOnce(ctx context.Context, o options, d *dataset, rep int) (*runResult, error) {
	r := &runResult{Payouts: d.Payouts}
	work := files{dir: filepath.Join(o.dir, "run")}
	o.say("%d payouts, run %d: copying the dataset", d.Payouts, rep+1)
	if err := copyTree(d.dir, work.dir); err != nil {
		return nil, err
	}
	db, err := openForBench(ctx, work)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	seed := d.Seed*1000 + uint64(rep)
	if err := topUp(ctx, db, d, seed); err != nil {
		return nil, fmt.Errorf("top up: %w", err)
	}
	// The size that counts is the copy's after the console's migrations
	// (opening it ran them), not the dataset's as generated.
	if r.DBBytes, err = bytesInUse(ctx, work.db()); err != nil {
		return nil, err
	}
	reqs, err := requests(ctx, db, seed)
	if err != nil {
		return nil, err
	}
	sign, err := sandboxKey(work)
	if err != nil {
		return nil, err
	}
	var streamDs []delivery
	if !o.onlyWebhooks {
		finished, err := finishedPayouts(ctx, db, seed)
		if err != nil {
			return nil, err
		}
		streamLen := int(o.streamRate * (float64(len(reqs)+1)*o.pages.dur.Seconds()*1.5 + 60))
		if streamDs, err = sign.signAll(redeliveries(finished, streamLen, seed)); err != nil {
			return nil, err
		}
	}

	var env []string
	if o.consoleProfile != "" {
		path := filepath.Join(o.consoleProfile, fmt.Sprintf("console-%d-run%d.pprof", d.Payouts, rep+1))
		env = append(env, "COUNTERSIGN_CPU_PROFILE="+path)
		o.say("%d payouts, run %d: the console's CPU profile goes to %s", d.Payouts, rep+1, path)
	}
	// Copying the dataset pushed the console's executable out of the page
	// cache, and reading it back from disk took 50–100 ms of the start.
	// Read it first, so that start to serving is the console's own start,
	// as after any restart of a running installation.
	if err := readThrough(o.bin); err != nil {
		return nil, err
	}
	// The copy and its migrations leave about a gigabyte of dirty pages, which the
	// kernel writes back over the next tens of seconds: a start measured
	// during that took 42-50 ms, against 15-37 ms once they were written.
	// Write them first, so that start to serving is the console's own.
	syscall.Sync()
	c, err := startConsole(o.bin, work, env...)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	// From here the console copies its log into the database; this process's
	// own copying would be counted against the clients (cpuUse).
	db.StopCheckpoints()
	r.Serving = c.serving
	time.Sleep(3 * time.Second) // let the first balance reading and reconcile pass settle
	if r.RSSIdle, _, err = c.memory(); err != nil {
		return nil, err
	}
	if o.onlyWebhooks {
		if err := ingestBursts(ctx, o, db, d, rep, seed, sign, c, r); err != nil {
			return nil, err
		}
		if _, r.RSSPeak, err = c.memory(); err != nil {
			return nil, err
		}
		return r, c.stop()
	}
	people := map[string]*person{}
	for email, cred := range demo {
		if people[email], err = signIn(c.url, email, cred.password); err != nil {
			return nil, err
		}
	}
	o.say("%d payouts, run %d: pages", d.Payouts, rep+1)
	for _, q := range reqs {
		p := people[q.as]
		r.Pages = append(r.Pages, pageResult{Name: q.name, Quiet: measure(1, o.pages, func(i int) error { return page(p, q.path(i)) })})
	}
	o.say("%d payouts, run %d: pages while %g webhooks a second arrive", d.Payouts, rep+1, o.streamRate)
	st := startStream(c.url+"/webhooks/smartglocal", streamDs, o.streamRate)
	for i, q := range reqs {
		p := people[q.as]
		r.Pages[i].Busy = measure(1, o.pages, func(i int) error { return page(p, q.path(i)) })
	}
	st.halt()
	r.Stream.Rate, r.Stream.Sent, r.Stream.Bad, r.Stream.Late = o.streamRate, st.sent.Load(), st.bad.Load(), st.late.Load()

	o.say("%d payouts, run %d: approvals", d.Payouts, rep+1)
	if r.Approve, err = approvals(ctx, db, people, o.approvals); err != nil {
		return nil, err
	}
	o.say("%d payouts, run %d: CSV export", d.Payouts, rep+1)
	if r.ExportRows, r.ExportTook, err = export(people["auditor@example.com"], "/payouts.csv?currency=EUR"); err != nil {
		return nil, err
	}
	if err := addWaiting(ctx, db, 2000-queueWaiting, seed+1); err != nil {
		return nil, err
	}
	waiting, err := db.PayoutsInStates(ctx, string(payout.StatePendingApproval))
	if err != nil {
		return nil, err
	}
	r.QueueWaitingAt = len(waiting)
	// Beside the queue with 40 waiting, quiet and with webhooks arriving.
	a1 := people["approver1@example.com"]
	big := pageResult{Name: "queue (2,000 waiting)", Quiet: measure(1, o.pages, func(int) error { return page(a1, "/queue") })}
	st = startStream(c.url+"/webhooks/smartglocal", streamDs, o.streamRate)
	big.Busy = measure(1, o.pages, func(int) error { return page(a1, "/queue") })
	st.halt()
	r.Pages = slices.Insert(r.Pages, 2, big)

	if err := ingestBursts(ctx, o, db, d, rep, seed, sign, c, r); err != nil {
		return nil, err
	}
	if _, r.RSSPeak, err = c.memory(); err != nil {
		return nil, err
	}
	return r, c.stop()
}

// ingestBursts measures webhook ingest at each client count into r.Ingest.
func ingestBursts(ctx context.Context, o options, db *store.DB, d *dataset, rep int, seed uint64, sign signer, c *console, r *runResult) error {
	for i, clients := range o.webhookClients {
		o.say("%d payouts, run %d: %d webhooks from %d clients", d.Payouts, rep+1, o.webhookEvents, clients)
		ps, err := addConfirmed(ctx, db, o.webhookEvents, seed+10+uint64(i))
		if err != nil {
			return err
		}
		if len(ps) < o.webhookEvents {
			o.say("  the console moved %d of the burst's payouts while they were generated; the burst has %d", o.webhookEvents-len(ps), len(ps))
		}
		ds, err := sign.signAll(finishedBodies(ps))
		if err != nil {
			return err
		}
		res, err := ingest(ctx, db, c.url+"/webhooks/smartglocal", c.cmd.Process.Pid, ds, clients)
		if err != nil {
			return err
		}
		r.Ingest = append(r.Ingest, res)
		if i == len(o.webhookClients)-1 {
			o.say("%d payouts, run %d: the same %d webhooks from %d clients, wrongly signed", d.Payouts, rep+1, len(ds), clients)
			if r.Refused, err = refuse(ctx, db, c.url+"/webhooks/smartglocal", c.cmd.Process.Pid, ds, clients); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishedPayouts picks up to 2,000 finished payouts with a session, at random.
func finishedPayouts(ctx context.Context, db *store.DB, seed uint64) ([]*store.Payout, error) {
	rng := rand.New(rand.NewPCG(seed, 13))
	newest, err := db.Payouts(ctx, store.PayoutFilter{Limit: 1})
	if err != nil {
		return nil, err
	}
	var out []*store.Payout
	for tries := 0; len(out) < 2000 && tries < 20_000; tries++ {
		p, err := db.PayoutByID(ctx, 1+rng.Int64N(newest[0].ID))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if payout.State(p.State).Final() && p.ProviderSessionID != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the dataset has no finished payouts")
	}
	return out, nil
}

// approvals measures the approval round trip: the maker prepares n payouts
// (under the one-approver threshold) through the console, the sandbox makes
// them wait for confirmation, and an approver approves each; the time is
// that of the approve request, which confirms at the provider.
func approvals(ctx context.Context, db *store.DB, people map[string]*person, n int) (sample, error) {
	maker, approver := people["maker@example.com"], people["approver2@example.com"]
	if _, _, err := maker.get("/payouts/new"); err != nil {
		return sample{}, err
	}
	ids := make([]int64, n)
	for i := range ids {
		status, loc, err := maker.post("/payouts", url.Values{"full_name": {"Bench Approval"}, "amount": {fmt.Sprintf("%d.%02d", 10+i/100, i%100)},
			"currency": {"USD"}, "card_number": {"4242 4242 4242 4242"}})
		if err != nil {
			return sample{}, err
		}
		id, perr := strconv.ParseInt(filepath.Base(loc), 10, 64)
		if status != http.StatusSeeOther || perr != nil {
			return sample{}, fmt.Errorf("prepare a payout: %d to %q", status, loc)
		}
		ids[i] = id
	}
	versions := make([]int64, n)
	deadline := time.Now().Add(2 * time.Minute)
	for i, id := range ids {
		for {
			p, err := db.PayoutByID(ctx, id)
			if err != nil {
				return sample{}, err
			}
			if p.State == string(payout.StatePendingApproval) {
				versions[i] = p.Version
				break
			}
			if time.Now().After(deadline) {
				return sample{}, fmt.Errorf("payout %d is still %s after two minutes", id, p.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if _, _, err := approver.get("/queue"); err != nil {
		return sample{}, err
	}
	secret := demo["approver2@example.com"].secret
	return measure(1, bounds{min: n, max: n}, func(i int) error {
		code, err := stepup.Code(secret, time.Now())
		if err != nil {
			return err
		}
		path := "/payouts/" + strconv.FormatInt(ids[i], 10)
		status, loc, err := approver.post(path+"/approve", url.Values{"version": {strconv.FormatInt(versions[i], 10)}, "otp": {code}})
		if err != nil {
			return err
		}
		if status != http.StatusSeeOther || loc != path {
			return fmt.Errorf("approve %s: %d to %q", path, status, loc)
		}
		return nil
	}), nil
}

// export downloads a CSV export as it streams and counts its rows.
func export(p *person, path string) (int, time.Duration, error) {
	start := time.Now()
	resp, err := p.c.Get(p.base + path)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	lines := 0
	buf := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(buf)
		lines += bytes.Count(buf[:n], []byte("\n"))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return lines - 1, time.Since(start), nil
}
