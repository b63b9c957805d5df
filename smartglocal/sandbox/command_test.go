package sandbox_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
	"countersign/smartglocal/sandbox/sandboxtest"
)

// runCommand starts RunCommand and returns its URL, its output and a stop
// function that cancels it and returns its error.
func runCommand(t *testing.T, args []string, env map[string]string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- sandbox.RunCommand(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	var url string
	eventually(t, "the listening line", func() bool {
		select {
		case err := <-done:
			t.Fatalf("RunCommand returned early: %v\n%s", err, stderr.String())
		default:
		}
		m := re.FindStringSubmatch(stdout.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("RunCommand did not stop after cancel")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return url, &stdout, stop
}

func TestRunCommandGeneratesKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	args := []string{"-addr", "127.0.0.1:0", "-keys-dir", dir}
	url, stdout, stop := runCommand(t, args, map[string]string{"SANDBOX_WALLETS": "usd=500,gbp=7", "SMARTGLOCAL_PROJECT": "demo"})

	partner, err := sg.LoadPrivateKey(filepath.Join(dir, sandbox.PartnerPrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sg.LoadPublicKey(filepath.Join(dir, sandbox.SandboxPublicKeyFile)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{sandbox.PartnerPrivateKeyFile, sandbox.SandboxPrivateKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", f, fi.Mode().Perm())
		}
	}
	out := stdout.String()
	for _, want := range []string{filepath.Join(dir, sandbox.PartnerPrivateKeyFile), filepath.Join(dir, sandbox.SandboxPublicKeyFile), "/sandbox/widget"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(out) {
			t.Errorf("output does not mention %s:\n%s", want, out)
		}
	}

	c := sg.New(sg.Config{BaseURL: url, Project: "demo", PrivateKey: partner})
	ws, err := c.WalletBalance(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].AmountDetails != (sg.AmountDetails{Amount: 7, Currency: "gbp"}) || ws[1].AmountDetails.Amount != 500 {
		t.Errorf("wallets = %+v", ws)
	}
	if err := stop(); err != nil {
		t.Errorf("RunCommand = %v after cancel, want nil", err)
	}

	// A restart keeps the keys, so a configured console keeps working.
	url, _, stop = runCommand(t, append(args, "-project", "demo"), nil)
	if _, err := sg.New(sg.Config{BaseURL: url, Project: "demo", PrivateKey: partner}).WalletBalance(context.Background(), time.Now()); err != nil {
		t.Errorf("after restart: %v", err)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// TestRunCommandKeyFiles: given key files, requests verify with the partner
// key and webhooks (to -webhook-url) are signed with the given private key.
func TestRunCommandKeyFiles(t *testing.T) {
	dir := t.TempDir()
	srv, _ := sandboxtest.New(t, sandbox.Config{}) // only for its partner key
	pub, _ := sg.MarshalPublicKeyPEM(&srv.PartnerKey.PublicKey)
	os.WriteFile(filepath.Join(dir, "partner.pub"), pub, 0o644)
	webhookPub, err := sg.LoadPublicKey("../testdata/key_pkcs1_public.pem")
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, webhookPub)
	url, _, stop := runCommand(t, []string{
		"-partner-public-key", filepath.Join(dir, "partner.pub"),
		"-private-key", "../testdata/key_pkcs1.pem",
		"-webhook-url", rc.srv.URL,
		"-webhook-delay", "0s",
	}, map[string]string{"SANDBOX_ADDR": "127.0.0.1:0", "SMARTGLOCAL_PROJECT": "test"})

	c := sg.New(sg.Config{BaseURL: url, Project: "test", PrivateKey: srv.PartnerKey})
	s, err := c.InitPayout(context.Background(), initReq(okPAN, 100), "")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, s.ID, sg.WebhookReadyToConfirm, 1)
	if err := stop(); err != nil {
		t.Error(err)
	}
}

func TestRunCommandBadArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nope"}},
		{"stray argument", []string{"extra"}},
		{"bad wallets", []string{"-wallets", "usd:5"}},
		{"negative wallet", []string{"-wallets", "usd=-5"}},
		{"only one key file", []string{"-private-key", "../testdata/key_pkcs8.pem"}},
		{"missing key file", []string{"-private-key", "nope.pem", "-partner-public-key", "nope.pub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-keys-dir", t.TempDir()}, tt.args...)
			err := sandbox.RunCommand(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil {
				t.Error("RunCommand succeeded")
			}
		})
	}
}
