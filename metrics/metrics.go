// Package metrics is what the console tells Prometheus: counters and
// histograms the process keeps as things happen (requests, provider calls,
// webhooks, reconciler passes, leadership), and gauges read from the
// database when Prometheus scrapes (payouts by state, the queue, balances,
// the notification outbox). Every name starts with countersign_.
//
// Each instance counts its own events; the gauges read from the database
// say the same on every instance (aggregate them with max, not sum).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// State is what the database says at one scrape. Reading it must be
// bounded: nothing in it may scan a table that grows with the years.
type State struct {
	PayoutsByState map[string]int64
	QueueLength    int64
	QueueOldest    time.Time // when the longest-waiting queued payout entered the queue; zero when empty
	NextDeadline   time.Time // the earliest provider deadline in the queue; zero when empty
	Balances       []Balance
	OutboxDepth    int64 // notifications not yet expanded, and deliveries not yet sent or given up
}

// Balance is the money on hand in one currency, in major units.
type Balance struct {
	Currency  string
	Balance   float64   // the provider's latest reading
	Available float64   // what is left once everything being paid and awaiting approval is paid
	LowMark   float64   // meaningful only when HasLowMark
	HasLow    bool      // an admin set a low mark for the currency
	ReadAt    time.Time // zero when never read
}

// Metrics holds the console's collectors in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestSeconds  *prometheus.HistogramVec
	providerCalls   *prometheus.CounterVec
	providerSeconds *prometheus.HistogramVec
	webhooks        *prometheus.CounterVec
	reconcilePasses *prometheus.CounterVec
	leader          prometheus.Gauge
}

// New makes the collectors. read is asked for the database's State at each
// scrape, with a deadline; now is the clock ages are measured with.
func New(read func(context.Context) (State, error), now func() time.Time) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countersign_http_requests_total", Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "countersign_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countersign_provider_calls_total",
			Help: "Calls to the payment provider, by API method and outcome (ok, refused, unknown: no usable answer).",
		}, []string{"method", "outcome"}),
		providerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "countersign_provider_call_duration_seconds", Help: "Time a call to the payment provider took, by API method.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countersign_webhooks_total",
			Help: "Provider webhooks received, by type and outcome (applied, stale, duplicate, flagged outcomes, bad_signature, malformed, error).",
		}, []string{"type", "outcome"}),
		reconcilePasses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countersign_reconcile_passes_total", Help: "Passes of the reconciler over payouts in doubt, by result (ok, error).",
		}, []string{"result"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "countersign_leader", Help: "1 while this instance runs the background work (reconciler, balance poller, notifications, sweepers), else 0.",
		}),
	}
	m.reg.MustRegister(m.requests, m.requestSeconds, m.providerCalls, m.providerSeconds, m.webhooks, m.reconcilePasses, m.leader,
		&database{read: read, now: now},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 20 * time.Second})
}

// Request counts one answered HTTP request. route is the pattern that
// matched ("/payouts/:id"), never the raw path, so that ids do not make
// a series each.
func (m *Metrics) Request(route, method string, status int, elapsed time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.requestSeconds.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// ProviderCall counts one call to the provider.
func (m *Metrics) ProviderCall(method, outcome string, elapsed time.Duration) {
	if m == nil {
		return
	}
	m.providerCalls.WithLabelValues(method, outcome).Inc()
	m.providerSeconds.WithLabelValues(method).Observe(elapsed.Seconds())
}

// Webhook counts one webhook delivery by type ("" when it could not be
// read) and outcome.
func (m *Metrics) Webhook(typ, outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(typ, outcome).Inc()
}

// ReconcilePass counts one pass of the reconciler.
func (m *Metrics) ReconcilePass(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.reconcilePasses.WithLabelValues(result).Inc()
}

// Leading records whether this instance leads the background work.
func (m *Metrics) Leading(leading bool) {
	if m == nil {
		return
	}
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.Set(v)
}

// database collects the gauges read at scrape time.
type database struct {
	read func(context.Context) (State, error)
	now  func() time.Time
}

var (
	descUp         = prometheus.NewDesc("countersign_database_up", "1 if the database answered this scrape's queries, else 0.", nil, nil)
	descPayouts    = prometheus.NewDesc("countersign_payouts", "Payouts in each state.", []string{"state"}, nil)
	descQueue      = prometheus.NewDesc("countersign_queue_length", "Payouts waiting for approval.", nil, nil)
	descQueueAge   = prometheus.NewDesc("countersign_queue_oldest_age_seconds", "How long the longest-waiting payout in the queue has waited (absent when the queue is empty).", nil, nil)
	descDeadline   = prometheus.NewDesc("countersign_queue_next_deadline_seconds", "Time left before the provider cancels the most urgent payout in the queue (absent when the queue is empty).", nil, nil)
	descBalance    = prometheus.NewDesc("countersign_balance", "The provider's latest prefunding balance, in major units of the currency.", []string{"currency"}, nil)
	descAvailable  = prometheus.NewDesc("countersign_balance_available", "Headroom: the balance less what is being paid out and what awaits approval, in major units.", []string{"currency"}, nil)
	descLowMark    = prometheus.NewDesc("countersign_balance_low_mark", "The level under which the money on hand is low, in major units (only currencies that have one).", []string{"currency"}, nil)
	descBalanceAge = prometheus.NewDesc("countersign_balance_age_seconds", "Age of the latest balance reading.", []string{"currency"}, nil)
	descOutbox     = prometheus.NewDesc("countersign_notification_outbox_depth", "Notifications and deliveries waiting to be sent.", nil, nil)
	databaseDescs  = []*prometheus.Desc{descUp, descPayouts, descQueue, descQueueAge, descDeadline, descBalance, descAvailable, descLowMark, descBalanceAge, descOutbox}
)

func (d *database) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range databaseDescs {
		ch <- desc
	}
}

func (d *database) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.read(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	now := d.now()
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	for state, n := range s.PayoutsByState {
		gauge(descPayouts, float64(n), state)
	}
	gauge(descQueue, float64(s.QueueLength))
	if !s.QueueOldest.IsZero() {
		gauge(descQueueAge, now.Sub(s.QueueOldest).Seconds())
	}
	if !s.NextDeadline.IsZero() {
		gauge(descDeadline, s.NextDeadline.Sub(now).Seconds())
	}
	for _, b := range s.Balances {
		if b.ReadAt.IsZero() {
			continue // never read: there is no balance to show
		}
		gauge(descBalance, b.Balance, b.Currency)
		gauge(descAvailable, b.Available, b.Currency)
		gauge(descBalanceAge, now.Sub(b.ReadAt).Seconds(), b.Currency)
		if b.HasLow {
			gauge(descLowMark, b.LowMark, b.Currency)
		}
	}
	gauge(descOutbox, float64(s.OutboxDepth))
}
