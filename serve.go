package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"countersign/admin"
	"countersign/audit"
	"countersign/handlers"
	"countersign/metrics"
	"countersign/notify"
	"countersign/payout"
	"countersign/secret"
	"countersign/smartglocal"
	"countersign/smartglocal/bank"
	"countersign/smartglocal/sandbox"
	"countersign/stepup"
	"countersign/store"
)

// app is the whole console wired together: what `countersign` serves and what
// the end-to-end tests start.
type app struct {
	handler http.Handler
	db      *store.DB
	payouts *payout.Service
	notify  *notify.Service
	admin   *admin.Service
	stepup  *stepup.Service
	client  *smartglocal.Client
	metrics *metrics.Metrics
	logger  *slog.Logger
	sandbox *sandbox.Server // nil with a real provider
	key     *secret.Key
	closers []func()
	workers sync.WaitGroup // the background loops, for shutdown
	// checkpointer writes audit checkpoints beside the key.
	checkpointer *audit.Checkpointer
}

func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// slowOpen is how long opening the database may take before the log says
// why the console does not serve yet.
var slowOpen = 3 * time.Second

// openDatabase opens the store and applies its migrations, saying so in the
// log when that takes a while: the first start after an upgrade may rewrite
// large tables (minutes at a million payouts), and until it is done the
// console serves nothing, not even its health check. An operator watching a
// silent start would otherwise restart it, and start the wait again.
func openDatabase(ctx context.Context, dsn string, logger *slog.Logger) (*store.DB, error) {
	start := time.Now()
	slow := time.AfterFunc(slowOpen, func() {
		logger.Info("still opening the database: applying migrations, which after an upgrade can take minutes " +
			"on a large database; until they are done every request is answered 503")
	})
	db, err := store.Open(ctx, dsn)
	if !slow.Stop() && err == nil {
		logger.Info("database open", "took", time.Since(start).Round(time.Millisecond).String())
	}
	return db, err
}

// newApp opens the database, connects the provider (or starts the embedded
// sandbox, whose webhooks go to webhookURL) and builds the HTTP handler.
func newApp(ctx context.Context, cfg *config, logger *slog.Logger, webhookURL string) (*app, error) {
	a := &app{logger: logger}
	db, err := openDatabase(ctx, cfg.DB, logger)
	if err != nil {
		return nil, err
	}
	a.db = db
	a.closers = append(a.closers, func() { db.Close() })
	a.metrics = metrics.New(a.metricsState, db.Now)
	if err := a.loadKey(ctx, cfg); err != nil {
		a.Close()
		return nil, err
	}
	// Links in notifications must be absolute: without a public URL, they
	// point where the console listens.
	links := cfg.PublicURL
	if links == "" {
		links = strings.TrimSuffix(webhookURL, webhookPath)
	}
	a.notify = notify.New(notify.Config{DB: db, Email: cfg.Email, Webhook: cfg.NotifyWebhook, PublicURL: links, Logger: logger})
	a.admin, a.stepup = admin.New(db, logger, a.notify), stepup.New(db, a.key, logger)

	banks := bank.DefaultBanks()
	if cfg.BanksFile != "" {
		if banks, err = bank.LoadBanks(cfg.BanksFile); err != nil {
			a.Close()
			return nil, fmt.Errorf("-banks: %w", err)
		}
	}
	var client *smartglocal.Client
	var webhookKeys []*rsa.PublicKey
	hcfg := handlers.Config{DB: db, Logger: logger, IdleTimeout: cfg.IdleTimeout, AbsoluteTimeout: cfg.SessionLifetime,
		SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies,
		BalanceStaleAfter: cfg.BalanceStaleAfter, PreLoginKey: a.key.Derive(secret.PurposePreLoginCSRF), ObserveRequest: a.metrics.Request}
	if cfg.ProviderURL == "" {
		var webhookKey *rsa.PublicKey
		client, webhookKey, err = a.startSandbox(cfg, logger, webhookURL, banks)
		if err != nil {
			a.Close()
			return nil, err
		}
		if err := ensureDemoAccounts(ctx, db, a.admin, a.stepup, stdoutLogger(logger)); err != nil {
			a.Close()
			return nil, err
		}
		webhookKeys = []*rsa.PublicKey{webhookKey}
		hcfg.Sandbox, hcfg.DemoAccounts, hcfg.WidgetURL = true, demoAccounts, a.sandbox.URL+"/sandbox/widget"
	} else {
		key, err := smartglocal.LoadPrivateKey(cfg.PrivateKeyFile)
		if err != nil {
			a.Close()
			return nil, err
		}
		if webhookKeys, err = smartglocal.LoadPublicKeys(cfg.PublicKeyFile); err != nil {
			a.Close()
			return nil, err
		}
		client = smartglocal.New(smartglocal.Config{BaseURL: cfg.ProviderURL, Project: cfg.Project, PrivateKey: key, Observe: a.metrics.ProviderCall})
	}
	a.payouts = payout.NewService(payout.ServiceConfig{DB: db, Provider: client, WebhookKeys: webhookKeys, Logger: logger,
		MaxAmount: cfg.MaxAmount, StuckAfter: cfg.StuckAfter, CallTimeout: cfg.ProviderTimeout, Notify: a.notify, Banks: banks, Observer: a.metrics,
		CardKey: a.key.Derive(secret.PurposeCardFingerprint)})
	if cfg.ProviderURL == "" {
		if err := ensureDemoPolicy(ctx, db, a.payouts); err != nil {
			a.Close()
			return nil, err
		}
	}
	hcfg.Payouts, hcfg.Provider, hcfg.Notify, hcfg.Admin, hcfg.StepUp = a.payouts, client, a.notify, a.admin, a.stepup
	a.client = client
	a.handler = handlers.New(hcfg)
	return a, nil
}

// loadKey loads the secret key file, creating it on first start, and keys the
// audit chain with it. A key file that does not fit the database (another
// installation's, or a log rewritten without it) stops start.
func (a *app) loadKey(ctx context.Context, cfg *config) error {
	key, created, err := keyAudit(ctx, a.db, cfg.SecretKeyFile)
	if err != nil {
		return err
	}
	if created {
		a.logger.Warn("created a new secret key file: keep it private and back it up apart from the database; "+
			"without it second-factor secrets cannot be read and the audit log cannot be verified", "path", cfg.SecretKeyFile)
	}
	a.key = key
	a.checkpointer = &audit.Checkpointer{DB: a.db, Key: key, Path: cfg.AuditCheckpointFile, Logger: a.logger}
	return nil
}

// keyAudit loads the key file at path (creating it, for the database's next
// audit entry, if there is none) and keys db's audit chain with it. A key
// file created here for a database that refuses it is removed again, so
// that a wrong path leaves no stray key behind.
func keyAudit(ctx context.Context, db *store.DB, path string) (key *secret.Key, created bool, err error) {
	head, _, err := db.AuditHead(ctx)
	if err != nil {
		return nil, false, err
	}
	key, created, err = secret.LoadOrCreate(path, head+1)
	if err != nil {
		return nil, false, err
	}
	err = db.UseAuditKey(ctx, key.Derive(secret.PurposeAuditChain), store.AuditStart{From: key.AuditFrom(), Created: created})
	if err != nil {
		if created && (errors.Is(err, store.ErrAuditKeyMismatch) || errors.Is(err, store.ErrAuditDowngraded)) {
			os.Remove(path) // made for a database that is not its own: it keyed nothing
		}
		return nil, false, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, created, nil
}

// leaderCheck is how often an instance that does not lead tries to, and the
// leader checks that it still holds the lock: with PostgreSQL's keepalives
// (store.Open), another instance takes over within 30 seconds of a leader's death.
const leaderCheck = 5 * time.Second

// background runs, on the instance that leads (store.Lead: with SQLite the
// one process), the workers that keep payouts and balances true, people
// told and the audit log's checkpoints written, until ctx ends; wait waits
// for them.
func (a *app) background(ctx context.Context, cfg *config) {
	a.workers.Go(func() {
		a.db.Lead(ctx, leaderCheck, a.leadership, func(ctx context.Context) {
			var wg sync.WaitGroup
			wg.Go(func() { a.checkpointer.Run(ctx) })
			wg.Go(func() { a.payouts.RunReconciler(ctx, cfg.ReconcileInterval) })
			wg.Go(func() { payout.PollBalance(ctx, a.db, a.client, cfg.BalanceInterval, a.logger) })
			wg.Go(func() { a.sweepSessions(ctx, cfg) })
			wg.Go(func() { a.payouts.RunAlerts(ctx, 30*time.Second) })
			wg.Go(func() { a.notify.Run(ctx) })
			wg.Wait()
		})
	})
}

// leadership logs and measures this instance's taking and losing the lead.
func (a *app) leadership(leading bool) {
	a.metrics.Leading(leading)
	if leading {
		a.logger.Info("this instance leads the background work")
	} else {
		a.logger.Info("this instance no longer leads the background work")
	}
}

// wait returns once the background workers have returned and no provider
// call is under way (one may outlive its worker's context: money calls are
// never cancelled half-way), or with ctx's error. Only then may the database
// close.
func (a *app) wait(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		a.workers.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		return fmt.Errorf("background workers still running: %w", ctx.Err())
	}
	return a.payouts.Wait(ctx)
}

// shutdownTimeout is how long a shutdown waits for requests, workers and
// provider calls: longer than one provider call may take.
func shutdownTimeout(cfg *config) time.Duration { return cfg.ProviderTimeout + 15*time.Second }

// sweepSessions deletes expired sessions (and with them their flash
// messages) and old sign-in failures now and then. Expired sessions are
// refused on use anyway; this only keeps the tables from growing.
func (a *app) sweepSessions(ctx context.Context, cfg *config) {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		now := a.db.Now()
		if err := a.db.DeleteStaleSessions(ctx, now.Add(-cfg.IdleTimeout), now.Add(-cfg.SessionLifetime)); err != nil && ctx.Err() == nil {
			a.logger.Warn("sweep sessions", "err", err)
		}
		// An address that stopped failing a day ago starts afresh.
		if err := a.db.DeleteOldLoginFailures(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			a.logger.Warn("sweep login failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startSandbox runs the provider simulator in-process on loopback. Its keys
// and its state live beside the database (sandboxDir), so that a restarted
// console can still verify its webhooks and ask it about its own sessions.
// It takes the banks the console offers, so that the two agree.
func (a *app) startSandbox(cfg *config, logger *slog.Logger, webhookURL string, banks *bank.Banks) (*smartglocal.Client, *rsa.PublicKey, error) {
	dir := sandboxDir(cfg)
	partner, provider, err := sandbox.KeysIn(dir)
	if err != nil {
		return nil, nil, err
	}
	sb, err := sandbox.Start(sandbox.Config{Project: "countersign-sandbox", PartnerPublicKey: &partner.PublicKey, PrivateKey: provider,
		WebhookURL: webhookURL, WebhookDelay: cfg.WebhookDelay, RetrySchedule: []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 15 * time.Second},
		StateFile: filepath.Join(dir, sandboxStateFile), Banks: banks, Logger: logger.With("component", "sandbox")})
	if err != nil {
		return nil, nil, err
	}
	a.sandbox = sb
	a.closers = append(a.closers, func() { sb.Close() })
	ccfg := sb.ClientConfig(partner)
	ccfg.Observe = a.metrics.ProviderCall
	return smartglocal.New(ccfg), sb.PublicKey(), nil
}

// sandboxDir is the folder beside the database where the embedded sandbox
// keeps its keys and its state: countersign.db-sandbox for countersign.db.
// A PostgreSQL database has no "beside": the folder goes beside the secret
// key file instead (countersign-sandbox in its folder).
func sandboxDir(cfg *config) string {
	if store.IsPostgres(cfg.DB) {
		return filepath.Join(filepath.Dir(cfg.SecretKeyFile), "countersign-sandbox")
	}
	return cfg.DB + "-sandbox"
}

// sandboxStateFile is the embedded sandbox's state, in sandboxDir.
const sandboxStateFile = "state.json"

// webhookPath is where the provider's webhooks arrive.
const webhookPath = "/webhooks/smartglocal"

// stdoutLogger is where first-run instructions go.
func stdoutLogger(l *slog.Logger) func(string, ...any) {
	return func(format string, args ...any) { l.Info(fmt.Sprintf(format, args...)) }
}

// serve runs the console until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if path := getenv("COUNTERSIGN_CPU_PROFILE"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	// Served from the start: until the console is ready, every request gets a
	// quick 503 saying why (handlers.Starting).
	starting := &handlers.Starting{}
	srv := &http.Server{
		Handler:           starting,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	a, err := newApp(ctx, cfg, logger, base+webhookPath)
	if err != nil {
		srv.Close()
		return err
	}
	defer a.Close()
	if a.notify.Enabled() {
		logger.Info("notifications on", "email", cfg.Email != nil, "chat_webhook", cfg.NotifyWebhook != nil)
		if cfg.PublicURL == "" {
			logger.Warn("COUNTERSIGN_PUBLIC_URL is not set: links in notifications point at " + base)
		}
	}
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	a.background(workCtx, cfg)
	starting.Ready(a.handler)
	fmt.Fprintf(stdout, "Countersign is listening on %s\n", base)
	if cfg.MetricsAddr != "" {
		msrv, maddr, err := a.serveMetrics(cfg.MetricsAddr, logger, errc)
		if err != nil {
			srv.Close()
			return err
		}
		defer msrv.Close()
		fmt.Fprintf(stdout, "Metrics at http://%s/metrics\n", maddr)
	}
	if a.sandbox != nil {
		fmt.Fprintf(stdout, "Provider: embedded sandbox at %s (no real money moves)\n", a.sandbox.URL)
		printDemoAccounts(stdout)
	}
	var serveErr error
	select {
	case serveErr = <-errc: // the listener failed
	case <-ctx.Done():
	}
	// Stop the workers taking new work and the server taking new requests,
	// then wait for what is under way; a.Close (deferred) closes the
	// database only after that.
	stopWork()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout(cfg))
	defer cancel()
	if serveErr == nil {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			logger.Error("shutdown: requests still under way", "err", err)
			serveErr = err
		}
	}
	if err := a.wait(shutdownCtx); err != nil {
		logger.Error("shutdown", "err", err)
		serveErr = errors.Join(serveErr, err)
	}
	// The last checkpoint covers everything the requests, workers and
	// provider calls just finished wrote.
	if err := a.checkpointer.WriteNow(context.WithoutCancel(ctx)); err != nil {
		logger.Error("audit checkpoint at shutdown", "err", err)
		serveErr = errors.Join(serveErr, err)
	}
	return serveErr
}

// serveMetrics serves /metrics on a listener of its own, kept apart from the
// console so that it can be reachable by Prometheus only. A failure of its
// listener goes to errc, like the console's.
func (a *app) serveMetrics(addr string, logger *slog.Logger, errc chan<- error) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
	return srv, ln.Addr(), nil
}
