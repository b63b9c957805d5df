package smartglocal

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	privTests := []struct {
		file    string
		wantErr bool
	}{
		{"key_pkcs1.pem", false},
		{"key_pkcs8.pem", false},
		{"ec_pkcs8.pem", true},
		{"key_pkcs8_public.pem", true},
	}
	for _, tt := range privTests {
		_, err := ParsePrivateKeyPEM(readTestdata(t, tt.file))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePrivateKeyPEM(%s) error = %v, want error %v", tt.file, err, tt.wantErr)
		}
	}
	pubTests := []struct {
		file    string
		wantErr bool
	}{
		{"key_pkcs1_public.pem", false},
		{"key_pkcs1_rsapublic.pem", false},
		{"key_pkcs8_public.pem", false},
		{"ec_public.pem", true},
		{"key_pkcs1.pem", true},
	}
	for _, tt := range pubTests {
		_, err := ParsePublicKeyPEM(readTestdata(t, tt.file))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePublicKeyPEM(%s) error = %v, want error %v", tt.file, err, tt.wantErr)
		}
	}
	for _, junk := range []string{"", "not pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := ParsePrivateKeyPEM([]byte(junk)); err == nil {
			t.Errorf("ParsePrivateKeyPEM(%q) succeeded", junk)
		}
		if _, err := ParsePublicKeyPEM([]byte(junk)); err == nil {
			t.Errorf("ParsePublicKeyPEM(%q) succeeded", junk)
		}
	}
}

// TestKeyForms checks that the PKCS#1 key and its two public forms are one key.
func TestKeyForms(t *testing.T) {
	priv, err := ParsePrivateKeyPEM(readTestdata(t, "key_pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"key_pkcs1_public.pem", "key_pkcs1_rsapublic.pem"} {
		pub, err := ParsePublicKeyPEM(readTestdata(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(&priv.PublicKey) {
			t.Errorf("%s is not the public half of key_pkcs1.pem", f)
		}
	}
}

func TestMarshalKeysRoundTrip(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := MarshalPrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(privPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("MarshalPrivateKeyPEM is not PKCS#8: %.30s", privPEM)
	}
	pubPEM, err := MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "priv.pem"), privPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "pub.pem"), pubPEM, 0o644)
	gotPriv, err := LoadPrivateKey(filepath.Join(dir, "priv.pem"))
	if err != nil {
		t.Fatal(err)
	}
	gotPub, err := LoadPublicKey(filepath.Join(dir, "pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !gotPriv.Equal(priv) || !gotPub.Equal(&priv.PublicKey) {
		t.Error("keys changed in a PEM round trip")
	}
	if _, err := LoadPrivateKey(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("LoadPrivateKey(missing file) succeeded")
	}
	if _, err := LoadPublicKey(filepath.Join(dir, "priv.pem")); err == nil {
		t.Error("LoadPublicKey(private key file) succeeded")
	}
}

// TestKeyErrorsDoNotLeakKey: a parse error must not quote the key material.
func TestKeyErrorsDoNotLeakKey(t *testing.T) {
	b := readTestdata(t, "key_pkcs1.pem")
	broken := strings.Replace(string(b), "RSA PRIVATE KEY", "PRIVATE KEY", 2)
	_, err := ParsePrivateKeyPEM([]byte(broken))
	if err == nil {
		t.Fatal("parsed a PKCS#1 body labelled PKCS#8")
	}
	lines := strings.Split(string(b), "\n")
	if strings.Contains(err.Error(), lines[1][:20]) {
		t.Errorf("error quotes key material: %v", err)
	}
}
