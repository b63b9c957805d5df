package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sg "countersign/smartglocal"
)

// Key file names written by RunCommand when it generates keys.
const (
	PartnerPrivateKeyFile = "partner-private.pem" // the console signs with it (SMARTGLOCAL_PRIVATE_KEY_FILE)
	PartnerPublicKeyFile  = "partner-public.pem"  // the sandbox verifies with it
	SandboxPrivateKeyFile = "sandbox-private.pem" // the sandbox signs webhooks with it
	SandboxPublicKeyFile  = "sandbox-public.pem"  // the console verifies webhooks with it (SMARTGLOCAL_PUBLIC_KEY_FILE)
)

// RunCommand runs the sandbox as a standalone server ("countersign sandbox")
// until ctx is cancelled, then shuts down gracefully. Every flag has an
// environment variable; flags win.
func RunCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("SANDBOX_ADDR", "127.0.0.1:8090"), "listen address (SANDBOX_ADDR)")
	project := fs.String("project", env("SMARTGLOCAL_PROJECT", "sandbox"), "expected X-PARTNER-PROJECT (SMARTGLOCAL_PROJECT)")
	partnerPub := fs.String("partner-public-key", env("SANDBOX_PARTNER_PUBLIC_KEY_FILE", ""), "PEM file: partner public key that verifies requests (SANDBOX_PARTNER_PUBLIC_KEY_FILE)")
	privKey := fs.String("private-key", env("SANDBOX_PRIVATE_KEY_FILE", ""), "PEM file: sandbox private key that signs webhooks (SANDBOX_PRIVATE_KEY_FILE)")
	keysDir := fs.String("keys-dir", env("SANDBOX_KEYS_DIR", "sandbox-keys"), "where to keep generated keys when no key files are given (SANDBOX_KEYS_DIR)")
	webhookURL := fs.String("webhook-url", env("SANDBOX_WEBHOOK_URL", ""), "where to POST webhooks (SANDBOX_WEBHOOK_URL)")
	wallets := fs.String("wallets", env("SANDBOX_WALLETS", "usd=100000000,eur=100000000,gbp=100000000,rub=100000000"), "wallet balances in minor units (SANDBOX_WALLETS)")
	webhookDelay := fs.Duration("webhook-delay", envDuration(getenv, "SANDBOX_WEBHOOK_DELAY", 300*time.Millisecond), "delay before each webhook (SANDBOX_WEBHOOK_DELAY)")
	confirmDeadline := fs.Duration("confirm-deadline", envDuration(getenv, "SANDBOX_CONFIRM_DEADLINE", 240*time.Minute), "auto-cancel unconfirmed payouts after (SANDBOX_CONFIRM_DEADLINE)")
	replyDelay := fs.Duration("reply-delay", envDuration(getenv, "SANDBOX_REPLY_DELAY", 0), "delay every API reply by this, after the request took effect: a slow provider (SANDBOX_REPLY_DELAY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sandbox: unexpected arguments %q", fs.Args())
	}
	w, err := parseWallets(*wallets)
	if err != nil {
		return err
	}

	var pub *rsa.PublicKey
	var priv *rsa.PrivateKey
	switch {
	case *partnerPub != "" && *privKey != "":
		if pub, err = sg.LoadPublicKey(*partnerPub); err != nil {
			return err
		}
		if priv, err = sg.LoadPrivateKey(*privKey); err != nil {
			return err
		}
	case *partnerPub == "" && *privKey == "":
		if pub, priv, err = devKeys(*keysDir, stdout); err != nil {
			return err
		}
	default:
		return errors.New("sandbox: give both -partner-public-key and -private-key, or neither")
	}

	srv, err := listen(Config{
		Project:          *project,
		PartnerPublicKey: pub,
		PrivateKey:       priv,
		WebhookURL:       *webhookURL,
		Wallets:          w,
		WebhookDelay:     *webhookDelay,
		ConfirmDeadline:  *confirmDeadline,
		ReplyDelay:       *replyDelay,
		Logger:           slog.New(slog.NewTextHandler(stderr, nil)),
	}, *addr)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	fmt.Fprintf(stdout, "sandbox listening on %s (project %q)\n", srv.URL, *project)
	fmt.Fprintf(stdout, "card widget: %s/sandbox/widget\n", srv.URL)
	fmt.Fprintf(stdout, "returned bank payouts: %s/sandbox/returns\n", srv.URL)
	fmt.Fprintf(stdout, "call log: %s/sandbox/calls\n", srv.URL)

	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}

// parseWallets reads "usd=100000000,eur=5000".
func parseWallets(s string) (map[string]int64, error) {
	w := make(map[string]int64)
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cur, amt, ok := strings.Cut(part, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(amt), 10, 64)
		cur = strings.ToLower(strings.TrimSpace(cur))
		if !ok || err != nil || n < 0 || len(cur) != 3 {
			return nil, fmt.Errorf("sandbox: wallets: %q is not currency=minor_units", part)
		}
		w[cur] = n
	}
	if len(w) == 0 {
		return nil, errors.New("sandbox: wallets: none given")
	}
	return w, nil
}

// devKeys loads the key pairs kept in dir, generating any that are missing,
// so that restarting the sandbox keeps the console's configuration valid.
func devKeys(dir string, stdout io.Writer) (*rsa.PublicKey, *rsa.PrivateKey, error) {
	partner, own, err := KeysIn(dir)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "keys in %s:\n", dir)
	fmt.Fprintf(stdout, "  console signing key (SMARTGLOCAL_PRIVATE_KEY_FILE): %s\n", filepath.Join(dir, PartnerPrivateKeyFile))
	fmt.Fprintf(stdout, "  webhook verification key (SMARTGLOCAL_PUBLIC_KEY_FILE): %s\n", filepath.Join(dir, SandboxPublicKeyFile))
	fmt.Fprintf(stdout, "  partner public key (verifies requests): %s\n", filepath.Join(dir, PartnerPublicKeyFile))
	return &partner.PublicKey, own, nil
}

// KeysIn returns the partner's key pair (the console signs with it) and the
// sandbox's (it signs webhooks) kept in dir, generating whichever is
// missing: a sandbox restarted over the same folder keeps its keys, so the
// console still verifies its webhooks.
func KeysIn(dir string) (partner, own *rsa.PrivateKey, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	if partner, err = keyPair(dir, PartnerPrivateKeyFile, PartnerPublicKeyFile); err != nil {
		return nil, nil, err
	}
	if own, err = keyPair(dir, SandboxPrivateKeyFile, SandboxPublicKeyFile); err != nil {
		return nil, nil, err
	}
	return partner, own, nil
}

// keyPair loads dir/privName, or generates it (0600) and its public half.
func keyPair(dir, privName, pubName string) (*rsa.PrivateKey, error) {
	privPath, pubPath := filepath.Join(dir, privName), filepath.Join(dir, pubName)
	if _, err := os.Stat(privPath); err == nil {
		k, err := sg.LoadPrivateKey(privPath)
		if err != nil {
			return nil, err
		}
		return k, writePublic(pubPath, &k.PublicKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: generate key: %w", err)
	}
	pemBytes, err := sg.MarshalPrivateKeyPEM(k)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(privPath, pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return k, writePublic(pubPath, &k.PublicKey)
}

func writePublic(path string, pub *rsa.PublicKey) error {
	b, err := sg.MarshalPublicKeyPEM(pub)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
