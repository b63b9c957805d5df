package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"countersign/notify"
	"countersign/payout"
	"countersign/store"
)

// config is the console's configuration: each flag also reads an environment variable.
type config struct {
	Addr            string
	MetricsAddr     string // "" serves no metrics
	DB              string
	PublicURL       string
	TrustedProxies  []*net.IPNet
	IdleTimeout     time.Duration
	SessionLifetime time.Duration

	// SecretKeyFile holds the key for second-factor secrets and the audit
	// chain; AuditCheckpointFile is where audit checkpoints go. Both default
	// to files beside the database.
	SecretKeyFile       string
	AuditCheckpointFile string

	ProviderURL    string // "" runs the embedded sandbox
	Project        string
	PrivateKeyFile string // the partner key that signs our requests
	PublicKeyFile  string // the provider's key that signs webhooks

	ProviderTimeout time.Duration // bounds one provider call; a shutdown waits a little longer

	BalanceInterval   time.Duration
	BalanceStaleAfter time.Duration
	ReconcileInterval time.Duration
	StuckAfter        time.Duration
	MaxAmount         payout.Limits // largest single payout, in major units: a default and per-currency limits
	WebhookDelay      time.Duration
	BanksFile         string // the banks the provider accepts per country; "" is the shipped list

	// Notification channels; nil when not configured.
	Email         *notify.Email
	NotifyWebhook *notify.Webhook
}

// envFlags is a FlagSet whose defaults come from environment variables.
type envFlags struct {
	*flag.FlagSet
	getenv func(string) string
}

func (f envFlags) str(p *string, name, env, def, usage string) {
	if v := f.getenv(env); v != "" {
		def = v
	}
	f.StringVar(p, name, def, usage+" ($"+env+")")
}

func (f envFlags) dur(p *time.Duration, name, env string, def time.Duration, usage string) error {
	if v := f.getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("$%s: %w", env, err)
		}
		def = d
	}
	f.DurationVar(p, name, def, usage+" ($"+env+")")
	return nil
}

// secret is a string flag whose environment variable is read after parsing
// rather than shown as the flag's default, so that -h never prints a password.
func (f envFlags) secret(p *string, name, env, usage string) func() {
	f.StringVar(p, name, "", usage+" ($"+env+")")
	return func() {
		if *p == "" {
			*p = f.getenv(env)
		}
	}
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("countersign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := envFlags{fs, getenv}
	var c config
	var proxies, maxAmount string
	f.str(&c.Addr, "addr", "COUNTERSIGN_ADDR", "127.0.0.1:8080", "listen address")
	f.str(&c.MetricsAddr, "metrics-addr", "COUNTERSIGN_METRICS_ADDR", "", "listen address of Prometheus metrics at /metrics (off when empty)")
	f.str(&c.DB, "db", "COUNTERSIGN_DB", "countersign.db", "SQLite database file, or a postgres:// URL")
	f.str(&c.SecretKeyFile, "secret-key-file", "COUNTERSIGN_SECRET_KEY_FILE", "", "secret key for second-factor secrets, the audit chain and sign-in form tokens; the same file on every instance; created if missing (default: beside a SQLite database, NAME.key; required with PostgreSQL)")
	f.str(&c.AuditCheckpointFile, "audit-checkpoint-file", "COUNTERSIGN_AUDIT_CHECKPOINT_FILE", "", "where audit checkpoints are written (default: beside the secret key, NAME.checkpoint)")
	f.str(&c.PublicURL, "public-url", "COUNTERSIGN_PUBLIC_URL", "", "URL people use to reach the console; https:// turns on Secure cookies and HSTS")
	f.str(&proxies, "trusted-proxies", "COUNTERSIGN_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is trusted")
	f.str(&c.ProviderURL, "provider-url", "SMARTGLOCAL_URL", "", "Smart Glocal base URL, e.g. https://demo.smart-glocal.com; empty runs the embedded sandbox")
	f.str(&c.Project, "project", "SMARTGLOCAL_PROJECT", "", "X-PARTNER-PROJECT issued by Smart Glocal")
	f.str(&c.PrivateKeyFile, "private-key", "SMARTGLOCAL_PRIVATE_KEY_FILE", "", "PEM file of our RSA private key (signs requests)")
	f.str(&c.PublicKeyFile, "public-key", "SMARTGLOCAL_PUBLIC_KEY_FILE", "", "PEM file of Smart Glocal's public key (verifies webhooks)")
	f.str(&maxAmount, "max-amount", "COUNTERSIGN_MAX_AMOUNT", "100000", "largest single payout in major units; per currency after the default, e.g. 100000,JPY=15000000,KWD=30000")
	f.str(&c.BanksFile, "banks", "COUNTERSIGN_BANKS_FILE", "", "file of the banks the provider accepts per country (one \"GBR Barclays\" a line); empty uses the shipped list")
	var smtpURL, mailFrom, hookURL string
	fromEnv := []func(){
		f.secret(&smtpURL, "smtp-url", "COUNTERSIGN_SMTP_URL", "SMTP server for notification emails: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465"),
		f.secret(&hookURL, "notify-webhook-url", "COUNTERSIGN_NOTIFY_WEBHOOK_URL", "Slack-compatible incoming webhook that gets every notification"),
	}
	f.str(&mailFrom, "mail-from", "COUNTERSIGN_MAIL_FROM", "", "From address of notification emails, e.g. \"Countersign <payouts@example.com>\"")
	for _, d := range []struct {
		p    *time.Duration
		name string
		env  string
		def  time.Duration
		use  string
	}{
		{&c.IdleTimeout, "idle-timeout", "COUNTERSIGN_IDLE_TIMEOUT", 15 * time.Minute, "sign out after this long without activity"},
		{&c.SessionLifetime, "session-lifetime", "COUNTERSIGN_SESSION_LIFETIME", 8 * time.Hour, "sign out this long after signing in"},
		{&c.BalanceInterval, "balance-interval", "COUNTERSIGN_BALANCE_INTERVAL", time.Minute, "how often to read the prefunding balance"},
		{&c.BalanceStaleAfter, "balance-stale-after", "COUNTERSIGN_BALANCE_STALE_AFTER", 5 * time.Minute, "call a balance reading stale after this long"},
		{&c.ReconcileInterval, "reconcile-interval", "COUNTERSIGN_RECONCILE_INTERVAL", 30 * time.Second, "how often to reconcile payouts in doubt"},
		{&c.StuckAfter, "stuck-after", "COUNTERSIGN_STUCK_AFTER", 5 * time.Minute, "ask the provider about a payout with no news for this long"},
		{&c.ProviderTimeout, "provider-timeout", "COUNTERSIGN_PROVIDER_TIMEOUT", 30 * time.Second, "how long one call to the provider may take"},
		{&c.WebhookDelay, "sandbox-webhook-delay", "COUNTERSIGN_SANDBOX_WEBHOOK_DELAY", 500 * time.Millisecond, "embedded sandbox: delay before each webhook"},
	} {
		if err := f.dur(d.p, d.name, d.env, d.def, d.use); err != nil {
			return nil, err
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, read := range fromEnv {
		read()
	}
	if smtpURL != "" {
		e, err := notify.ParseEmail(smtpURL, mailFrom)
		if err != nil {
			return nil, fmt.Errorf("-smtp-url: %w", err)
		}
		c.Email = e
	}
	if hookURL != "" {
		w, err := notify.ParseWebhook(hookURL)
		if err != nil {
			return nil, fmt.Errorf("-notify-webhook-url: %w", err)
		}
		c.NotifyWebhook = w
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("-trusted-proxies: %w", err)
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	if c.ProviderTimeout <= 0 {
		return nil, fmt.Errorf("-provider-timeout must be more than zero")
	}
	var err error
	if c.MaxAmount, err = payout.ParseLimits(maxAmount); err != nil {
		return nil, fmt.Errorf("-max-amount: %w", err)
	}
	if c.SecretKeyFile, c.AuditCheckpointFile, err = keyFiles(c.DB, c.SecretKeyFile, c.AuditCheckpointFile); err != nil {
		return nil, err
	}
	if c.ProviderURL != "" && (c.Project == "" || c.PrivateKeyFile == "" || c.PublicKeyFile == "") {
		return nil, fmt.Errorf("with -provider-url, set -project, -private-key and -public-key too")
	}
	return &c, nil
}

// keyFiles fills in the default secret key and checkpoint files: beside the
// database, named after it (countersign.db → countersign.key and
// countersign.checkpoint), so that two databases in one folder never share
// a checkpoint. A PostgreSQL database has no "beside": its instances must
// all be given the same key file, so it must be named.
func keyFiles(db, keyFile, checkpointFile string) (string, string, error) {
	if keyFile == "" {
		if store.IsPostgres(db) {
			return "", "", errNoKeyFile
		}
		keyFile = strings.TrimSuffix(db, filepath.Ext(db)) + ".key"
	}
	if checkpointFile == "" {
		checkpointFile = strings.TrimSuffix(keyFile, filepath.Ext(keyFile)) + ".checkpoint"
	}
	return keyFile, checkpointFile, nil
}

var errNoKeyFile = errors.New("with a PostgreSQL database, set -secret-key-file (COUNTERSIGN_SECRET_KEY_FILE): " +
	"every instance must use the same key; the first start creates the file if it is missing, copy it to the others")
