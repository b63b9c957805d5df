package main

import (
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"os"
	"testing"

	"countersign/smartglocal"
	"countersign/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func writeTestKeys(t *testing.T, privFile, pubFile string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := smartglocal.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := smartglocal.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(privFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
}
