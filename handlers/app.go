// Package handlers is the console's HTTP side: one routes table, the middleware
// that guards it (sessions, CSRF, roles, headers), and a file per resource.
package handlers

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"countersign/admin"
	"countersign/notify"
	"countersign/password"
	"countersign/payout"
	"countersign/signin"
	"countersign/smartglocal"
	"countersign/stepup"
	"countersign/store"
)

// Config is everything the HTTP side needs.
type Config struct {
	DB      *store.DB
	Payouts *payout.Service
	Notify  *notify.Service // people's notification preferences (/account)
	Admin   *admin.Service  // users and settings, under dual control
	StepUp  *stepup.Service // the second factor of decisions
	Logger  *slog.Logger
	Now     func() time.Time
	// PreLoginKey signs the sign-in forms' CSRF tokens before there is a
	// session (secret.PurposePreLoginCSRF, derived from the key file). Required.
	PreLoginKey []byte

	IdleTimeout     time.Duration // default 15 minutes
	AbsoluteTimeout time.Duration // default 8 hours
	SecureCookies   bool          // set when served over HTTPS
	// PublicURL is the console's address as people reach it, for the links
	// it hands out; "" uses the address a request came to.
	PublicURL string
	// TrustedProxies are the networks whose X-Forwarded-For is believed; empty
	// means the client address is the TCP peer.
	TrustedProxies []*net.IPNet

	Sandbox      bool          // show the sandbox badge and demo accounts
	WidgetURL    string        // the sandbox's stand-in tokenization widget; "" with a real provider
	DemoAccounts []DemoAccount // listed on the sign-in page in sandbox mode
	// Provider is the provider's client, for reading the balance on demand
	// and, for /readyz, what became of its last call.
	Provider *smartglocal.Client
	// BalanceStaleAfter is the age at which a balance reading is called stale; default 5 minutes.
	BalanceStaleAfter time.Duration

	// Sign-in under load. LoginLimits: failures that lock an account, or one
	// address out of it (default 10 and 5, for 30 minutes). LoginEvery and
	// LoginBurst: the per-address rate of POST /login (default one every 6
	// seconds, 10 at once). HashSlots and HashWait: argon2id computations at
	// once, and how long another waits for a slot before it is refused with
	// 503 (default 2 and 2 seconds).
	LoginLimits store.LoginLimits
	LoginEvery  time.Duration
	LoginBurst  int
	HashSlots   int
	HashWait    time.Duration
	// ObserveRequest, when set, hears every answered request: the route
	// pattern it matched ("" when none did), method, status and duration.
	ObserveRequest func(route, method string, status int, elapsed time.Duration)
}

// DemoAccount is a sandbox-only account shown on the sign-in page. Secret,
// if set, is its published second-factor secret.
type DemoAccount struct {
	Email, Password string
	Roles           []string
	Secret          string
}

// app holds the handlers' dependencies.
type app struct {
	Config
	sessions   *sessionStore
	signer     signer            // the pre-login CSRF key
	hasher     *password.Limiter // bounds argon2id computations at once
	signIn     *signin.Service   // decides sign-in attempts, with the same hasher
	loginLimit echo.MiddlewareFunc
	nav        []navEntry // built from the routes table
}

// New builds the console's HTTP handler.
func New(cfg Config) http.Handler {
	if len(cfg.PreLoginKey) == 0 {
		panic("handlers: Config.PreLoginKey is required") // a random key would differ between instances
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = 8 * time.Hour
	}
	if cfg.LoginLimits == (store.LoginLimits{}) {
		cfg.LoginLimits = store.LoginLimits{PerAccount: 10, PerAddress: 5, LockFor: 30 * time.Minute}
	}
	if cfg.LoginEvery <= 0 {
		cfg.LoginEvery = 6 * time.Second
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = 10
	}
	if cfg.HashSlots <= 0 {
		cfg.HashSlots = 2
	}
	if cfg.HashWait <= 0 {
		cfg.HashWait = 2 * time.Second
	}
	a := &app{Config: cfg, sessions: newSessionStore(cfg.DB, cfg.SecureCookies, cfg.IdleTimeout, cfg.AbsoluteTimeout, cfg.Now),
		signer: signer{key: cfg.PreLoginKey}, hasher: password.NewLimiter(cfg.HashSlots, cfg.HashWait)}
	a.signIn = &signin.Service{DB: cfg.DB, Limits: cfg.LoginLimits, Hasher: a.hasher}
	a.loginLimit = a.loginRateLimit()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	a.routes(e)
	return e
}

// ipExtractor believes forwarding headers only from configured proxies.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
