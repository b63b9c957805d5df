package smartglocal

import (
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestVerifyWebhook(t *testing.T) {
	priv, err := LoadPrivateKey(filepath.Join("testdata", "key_pkcs8.pem"))
	if err != nil {
		t.Fatal(err)
	}
	body := readTestdata(t, "webhook.json")
	wh, err := VerifyWebhook([]*rsa.PublicKey{&priv.PublicKey}, body, string(readTestdata(t, "webhook.json.pkcs8.sig")))
	if err != nil {
		t.Fatalf("VerifyWebhook(openssl-signed body) = %v", err)
	}
	p := wh.Session.Payout()
	if wh.Type != WebhookPaymentFinished || wh.Session.Status != SessionAccepted || p == nil ||
		p.Status != PaymentSucceeded || p.TransactionInfo.RRN != "123456789012" {
		t.Errorf("decoded %+v", wh)
	}

	sign := func(b string) string { s, _ := Sign(priv, []byte(b)); return s }
	tests := []struct {
		name, body, sig string
		badSig          bool
	}{
		{"unsigned", string(body), "", true},
		{"signature of another body", `{"type":"x","session":{"id":"ps_1"}}`, string(readTestdata(t, "webhook.json.pkcs8.sig")), true},
		{"signed but not JSON", "hello", sign("hello"), false},
		{"signed but no type", `{"session":{"id":"ps_1"}}`, sign(`{"session":{"id":"ps_1"}}`), false},
		{"signed but no session id", `{"type":"payment_finished","session":{}}`, sign(`{"type":"payment_finished","session":{}}`), false},
		{"signed, wrong field type", `{"type":1}`, sign(`{"type":1}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh, err := VerifyWebhook([]*rsa.PublicKey{&priv.PublicKey}, []byte(tt.body), tt.sig)
			if err == nil || wh != nil {
				t.Fatalf("VerifyWebhook = %v, %v; want an error", wh, err)
			}
			if got := errors.Is(err, ErrBadSignature); got != tt.badSig {
				t.Errorf("errors.Is(%v, ErrBadSignature) = %v, want %v", err, got, tt.badSig)
			}
		})
	}
}

func FuzzVerifyWebhook(f *testing.F) {
	priv, err := LoadPrivateKey(filepath.Join("testdata", "key_pkcs8.pem"))
	if err != nil {
		f.Fatal(err)
	}
	pub := &priv.PublicKey
	f.Add(readTestdata(f, "webhook.json"), string(readTestdata(f, "webhook.json.pkcs8.sig")))
	f.Add([]byte(`{"type":"ready_to_confirm","session":{"id":"ps_1"}}`), "AAAA")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		// Arbitrary input: no panic, and nothing passes unless the
		// signature really is ours.
		wh, err := VerifyWebhook([]*rsa.PublicKey{pub}, body, sig)
		if err == nil {
			if Verify(pub, body, sig) != nil || wh == nil {
				t.Fatalf("accepted an unverified webhook")
			}
		}
		// The same body signed properly never fails on the signature.
		good, err := Sign(priv, body)
		if err != nil {
			t.Fatal(err)
		}
		wh, err = VerifyWebhook([]*rsa.PublicKey{pub}, body, good)
		if errors.Is(err, ErrBadSignature) {
			t.Fatalf("our own signature was refused: %v", err)
		}
		if err == nil && (wh.Type == "" || wh.Session.ID == "") {
			t.Fatalf("accepted a webhook without type or session id: %+v", wh)
		}
		if _, err := VerifyWebhook([]*rsa.PublicKey{nil}, body, good); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("nil key: %v, want ErrBadSignature", err)
		}
	})
}

// TestWebhookKeyRotation: while the provider rotates its key, the key file
// holds the old and the new public key; a webhook signed by either verifies,
// one signed by neither does not.
func TestWebhookKeyRotation(t *testing.T) {
	dir := t.TempDir()
	old, err := os.ReadFile(filepath.Join("testdata", "key_pkcs1_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	next, err := os.ReadFile(filepath.Join("testdata", "key_pkcs8_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "smartglocal-public.pem")
	if err := os.WriteFile(file, append(append(append([]byte("# old key, retire after 2026-12-01\n"), old...), '\n'), next...), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadPublicKeys(file)
	if err != nil || len(keys) != 2 {
		t.Fatalf("LoadPublicKeys = %d keys, %v; want 2", len(keys), err)
	}
	body := readTestdata(t, "webhook.json")
	for _, sig := range []string{"webhook.json.pkcs1.sig", "webhook.json.pkcs8.sig"} {
		if _, err := VerifyWebhook(keys, body, string(readTestdata(t, sig))); err != nil {
			t.Errorf("signed with one of the keys (%s): %v", sig, err)
		}
	}
	if _, err := VerifyWebhook(keys[:1], body, string(readTestdata(t, "webhook.json.pkcs8.sig"))); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signed by a key not in the file: %v, want ErrBadSignature", err)
	}
	if _, err := VerifyWebhook(nil, body, string(readTestdata(t, "webhook.json.pkcs8.sig"))); !errors.Is(err, ErrBadSignature) {
		t.Errorf("no keys at all: %v, want ErrBadSignature", err)
	}
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, []byte("no key here\n"), 0o600)
	if _, err := LoadPublicKeys(empty); err == nil {
		t.Error("LoadPublicKeys of a file without a key succeeded")
	}
}
