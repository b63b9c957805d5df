package smartglocal

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyOpenSSLSignature checks that signatures made by the openssl
// command line (see testdata/README.md) verify with each public key form.
func TestVerifyOpenSSLSignature(t *testing.T) {
	body := readTestdata(t, "webhook.json")
	tests := []struct{ pub, sig string }{
		{"key_pkcs8_public.pem", "webhook.json.pkcs8.sig"},
		{"key_pkcs1_public.pem", "webhook.json.pkcs1.sig"},
		{"key_pkcs1_rsapublic.pem", "webhook.json.pkcs1.sig"},
	}
	for _, tt := range tests {
		t.Run(tt.pub, func(t *testing.T) {
			pub, err := LoadPublicKey(filepath.Join("testdata", tt.pub))
			if err != nil {
				t.Fatal(err)
			}
			sig := string(readTestdata(t, tt.sig))
			if err := Verify(pub, body, sig); err != nil {
				t.Errorf("Verify(openssl signature) = %v, want nil", err)
			}
		})
	}
}

// TestSignMatchesOpenSSL: PKCS#1 v1.5 is deterministic, so our signature must
// equal openssl's byte for byte, and openssl must verify ours.
func TestSignMatchesOpenSSL(t *testing.T) {
	body := readTestdata(t, "webhook.json")
	for _, tt := range []struct{ key, pub, sig string }{
		{"key_pkcs8.pem", "key_pkcs8_public.pem", "webhook.json.pkcs8.sig"},
		{"key_pkcs1.pem", "key_pkcs1_public.pem", "webhook.json.pkcs1.sig"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			priv, err := LoadPrivateKey(filepath.Join("testdata", tt.key))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Sign(priv, body)
			if err != nil {
				t.Fatal(err)
			}
			if want := string(readTestdata(t, tt.sig)); got != want {
				t.Errorf("Sign = %.20s…, want openssl's %.20s…", got, want)
			}

			t.Run("openssl verifies", func(t *testing.T) {
				openssl, err := exec.LookPath("openssl")
				if err != nil {
					t.Skip("openssl not on PATH")
				}
				dir := t.TempDir()
				raw, _ := base64.StdEncoding.DecodeString(got)
				sigFile, bodyFile := filepath.Join(dir, "sig.bin"), filepath.Join(dir, "body.json")
				os.WriteFile(sigFile, raw, 0o600)
				os.WriteFile(bodyFile, body, 0o600)
				out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", filepath.Join("testdata", tt.pub),
					"-signature", sigFile, bodyFile).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "Verified OK") {
					t.Errorf("openssl dgst -verify: %v: %s", err, out)
				}
			})
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	body := readTestdata(t, "webhook.json")
	sig := string(readTestdata(t, "webhook.json.pkcs8.sig"))
	pub, err := LoadPublicKey(filepath.Join("testdata", "key_pkcs8_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	otherPub, err := LoadPublicKey(filepath.Join("testdata", "key_pkcs1_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(body)
	flipped[10] ^= 0x01
	rawSig, _ := base64.StdEncoding.DecodeString(sig)
	rawSig[0] ^= 0x80

	tests := []struct {
		name string
		pub  any
		body []byte
		sig  string
	}{
		{"empty header", pub, body, ""},
		{"not base64", pub, body, "!!!not base64!!!"},
		{"URL-safe alphabet", pub, body, strings.NewReplacer("+", "-", "/", "_").Replace(sig) + "-_"},
		{"flipped bit in body", pub, flipped, sig},
		{"flipped bit in signature", pub, body, base64.StdEncoding.EncodeToString(rawSig)},
		{"truncated signature", pub, body, sig[:40]},
		{"wrong key", otherPub, body, sig},
		{"no key", nil, body, sig},
		{"extra byte in body", pub, append(bytes.Clone(body), '\n'), sig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := tt.pub.(*rsa.PublicKey)
			err := Verify(p, tt.body, tt.sig)
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	priv, err := LoadPrivateKey(filepath.Join("testdata", "key_pkcs8.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range [][]byte{nil, {}, []byte(`{"a":1}`), bytes.Repeat([]byte{0xff}, 5000)} {
		sig, err := Sign(priv, body)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(&priv.PublicKey, body, sig); err != nil {
			t.Errorf("Verify(Sign(%d bytes)) = %v", len(body), err)
		}
		// Surrounding whitespace from a header line is tolerated.
		if err := Verify(&priv.PublicKey, body, " "+sig+"\r\n"); err != nil {
			t.Errorf("Verify with padded header = %v", err)
		}
	}
	if _, err := Sign(nil, []byte("x")); err == nil {
		t.Error("Sign(nil key) succeeded")
	}
}
