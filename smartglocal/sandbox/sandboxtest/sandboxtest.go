// Package sandboxtest starts the provider simulator for a test and hands back
// the real client pointed at it, like golang/pkgsite's proxytest. It lives
// apart from package sandbox so that the console's binary, which embeds the
// sandbox, does not link package testing.
package sandboxtest

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	sg "countersign/smartglocal"
	"countersign/smartglocal/sandbox"
)

// keys caches one partner and one provider key per process: tests create
// many sandboxes and key generation is the slow part under -race. It is set
// once and never changed.
var keys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return ks, err
		}
		ks[i] = k
	}
	return ks, nil
})

// New starts a sandbox for a test and returns it with the real client
// pointed at it. Missing keys are generated (cached per process), Project
// defaults to "test", and the server is closed by t.Cleanup.
// Server.PartnerKey is the client's signing key; verify webhooks with
// Server.PublicKey(). When cfg brings its own PartnerPublicKey, PartnerKey is
// nil and the returned client cannot sign: build one with
// smartglocal.New(srv.ClientConfig(yourKey)).
func New(t testing.TB, cfg sandbox.Config) (*sandbox.Server, *sg.Client) {
	t.Helper()
	ks, err := keys()
	if err != nil {
		t.Fatalf("sandbox: generate keys: %v", err)
	}
	partner := ks[0]
	if cfg.PartnerPublicKey == nil {
		cfg.PartnerPublicKey = &partner.PublicKey
	} else if !cfg.PartnerPublicKey.Equal(&partner.PublicKey) {
		partner = nil // the caller brought its own partner key pair
	}
	if cfg.PrivateKey == nil {
		cfg.PrivateKey = ks[1]
	}
	if cfg.Project == "" {
		cfg.Project = "test"
	}
	srv, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("sandbox: start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.PartnerKey = partner
	return srv, sg.New(srv.ClientConfig(partner))
}
