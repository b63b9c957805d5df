package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"countersign/payout"
	sg "countersign/smartglocal"
	"countersign/store"
)

// signer signs webhooks with the embedded sandbox's key, as the sandbox does.
type signer struct{ key *rsa.PrivateKey }

// delivery is one signed webhook, ready to send.
type delivery struct {
	body []byte
	sig  string
}

// signAll signs bodies on every core (signing is far slower than verifying:
// it is done before any clock starts).
func (s signer) signAll(bodies [][]byte) ([]delivery, error) {
	out := make([]delivery, len(bodies))
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				sig, err := sg.Sign(s.key, bodies[i])
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				out[i] = delivery{bodies[i], sig}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		return nil, *err
	}
	return out, nil
}

// post sends one webhook and returns its status.
func post(hc *http.Client, url string, d delivery) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sg.HeaderSign, d.sig)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// ingestResult is one webhook burst: distinct events sent by clients at
// once, with some sent twice.
type ingestResult struct {
	Clients          int
	Distinct, Sent   int
	Stored           int64 // new rows in webhook_events
	Lat              sample
	Status5xx, Other int
	CPU              cpuUse // during the burst
}

// cpuUse is the CPU time, in clock ticks (ticksPerSecond), used during a
// burst by the console, by this process (the clients sending the burst), and
// by the whole machine, with what the machine left idle.
type cpuUse struct {
	Console, Clients, Busy, Idle int64
}

// cpuNow reads the CPU times that cpuUse compares.
func cpuNow(console int) (cpuUse, error) {
	var u cpuUse
	var err error
	if u.Console, err = cpuTicks(console); err != nil {
		return u, err
	}
	if u.Clients, err = cpuTicks(os.Getpid()); err != nil {
		return u, err
	}
	u.Busy, u.Idle, err = machineTicks()
	return u, err
}

// since is what was used from before to u.
func (u cpuUse) since(before cpuUse) cpuUse {
	return cpuUse{u.Console - before.Console, u.Clients - before.Clients, u.Busy - before.Busy, u.Idle - before.Idle}
}

// perEvent is the CPU time ticks took per event, in microseconds.
func perEvent(ticks int64, events int) float64 {
	return float64(ticks) * 1e6 / ticksPerSecond / float64(events)
}

// withDuplicates is the order a burst sends ds in: each one once, and every
// twentieth again ten places later (while the first may still be in
// flight), so that duplicates arrive both together and apart.
func withDuplicates(ds []delivery) []delivery {
	out := make([]delivery, 0, len(ds)+len(ds)/20)
	for i, d := range ds {
		out = append(out, d)
		if i%20 == 19 {
			out = append(out, ds[i-10])
		}
	}
	return out
}

// ingest sends ds (withDuplicates) from clients at once and counts what the
// console stored; console is the console's process id, whose CPU time is
// read before and after.
func ingest(ctx context.Context, db *store.DB, url string, console int, ds []delivery, clients int) (ingestResult, error) {
	r, err := burst(ctx, db, url, console, withDuplicates(ds), clients, http.StatusOK)
	r.Distinct = len(ds)
	return r, err
}

// refuse sends ds from clients at once, each under another delivery's
// signature, so that the console refuses every one (401) after checking it:
// the cheapest answer it gives a webhook, which bounds what ingest can reach
// on this machine. Stored counts what it stored meanwhile (it must be none).
func refuse(ctx context.Context, db *store.DB, url string, console int, ds []delivery, clients int) (ingestResult, error) {
	wrong := make([]delivery, len(ds))
	for i, d := range ds {
		wrong[i] = delivery{d.body, ds[(i+1)%len(ds)].sig}
	}
	r, err := burst(ctx, db, url, console, wrong, clients, http.StatusUnauthorized)
	r.Distinct = len(ds)
	return r, err
}

// burst sends send from clients at once, expecting the status want for
// each, and measures the answers, the console's and the clients' CPU time,
// and how many webhooks the console stored meanwhile. Other counts the
// answers under 500 that were not want.
func burst(ctx context.Context, db *store.DB, url string, console int, send []delivery, clients, want int) (ingestResult, error) {
	r := ingestResult{Clients: clients, Sent: len(send)}
	before, err := db.CountWebhookEvents(ctx)
	if err != nil {
		return r, err
	}
	hc := &http.Client{Transport: transport, Timeout: time.Minute}
	var mu sync.Mutex
	cpuBefore, err := cpuNow(console)
	if err != nil {
		return r, err
	}
	r.Lat = measure(clients, bounds{min: len(send), max: len(send)}, func(i int) error {
		status, err := post(hc, url, send[i])
		if err == nil && status != want {
			mu.Lock()
			if status >= 500 {
				r.Status5xx++
			} else {
				r.Other++
			}
			mu.Unlock()
			err = fmt.Errorf("webhook answered %d, not %d", status, want)
		}
		return err
	})
	cpuAfter, err := cpuNow(console)
	if err != nil {
		return r, err
	}
	r.CPU = cpuAfter.since(cpuBefore)
	after, err := db.CountWebhookEvents(ctx)
	r.Stored = after - before
	return r, err
}

// finishedBodies are payment_finished webhooks, each saying that one of ps
// (payouts the provider confirmed) succeeded.
func finishedBodies(ps []*store.Payout) [][]byte {
	out := make([][]byte, len(ps))
	for i, p := range ps {
		sessionAt := p.CreatedAt
		q := *p
		q.State, q.FinishedAt = string(payout.StateSucceeded), time.Now().UTC()
		out[i] = webhookBody(sg.WebhookPaymentFinished, &q, sessionAt, q.FinishedAt)
	}
	return out
}

// redeliveries are n webhooks about finished payouts of ps that the console
// already knows the end of: the provider's retries and late copies, each
// with its own updated_at, so each is a new delivery to store (its outcome
// "stale"). They are the steady stream beside which the pages are measured.
func redeliveries(ps []*store.Payout, n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	base := time.Now().UTC()
	out := make([][]byte, n)
	for i := range out {
		p := ps[rng.IntN(len(ps))]
		out[i] = webhookBody(sg.WebhookPaymentFinished, p, p.CreatedAt, base.Add(time.Duration(i)*time.Microsecond))
	}
	return out
}

// stream sends ds round and round at a steady rate until stopped.
type stream struct {
	stop            chan struct{}
	done            sync.WaitGroup
	sent, bad, late atomic.Int64
}

func startStream(url string, ds []delivery, perSecond float64) *stream {
	s := &stream{stop: make(chan struct{})}
	work := make(chan delivery, 64)
	hc := &http.Client{Transport: transport, Timeout: time.Minute}
	for range 8 {
		s.done.Go(func() {
			for d := range work {
				if status, err := post(hc, url, d); err != nil || status != http.StatusOK {
					s.bad.Add(1)
				}
				s.sent.Add(1)
			}
		})
	}
	s.done.Go(func() {
		defer close(work)
		gap := time.Duration(float64(time.Second) / perSecond)
		next := time.Now()
		for i := 0; ; i++ {
			next = next.Add(gap)
			select {
			case <-s.stop:
				return
			case <-time.After(time.Until(next)):
			}
			select {
			case work <- ds[i%len(ds)]:
			default:
				s.late.Add(1) // the console is behind: not sent, counted
			}
		}
	})
	return s
}

// halt stops the stream and waits for what is in flight.
func (s *stream) halt() {
	close(s.stop)
	s.done.Wait()
}
