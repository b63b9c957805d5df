package smartglocal

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrBadSignature means a body's X-PARTNER-SIGN did not verify.
var ErrBadSignature = errors.New("smartglocal: bad signature")

// Sign returns the X-PARTNER-SIGN value for body: RSASSA-PKCS1-v1_5 over
// SHA-256 of the exact bytes, in standard base64. The provider's page stops
// before naming the algorithm; this follows provider-api.md §9.1 (the Bank 131
// SDK of the same API family). Sign the bytes you send, never a re-encoding.
func Sign(priv *rsa.PrivateKey, body []byte) (string, error) {
	if priv == nil {
		return "", errors.New("smartglocal: sign: no private key")
	}
	d := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
	if err != nil {
		return "", fmt.Errorf("smartglocal: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks signatureHeader (an X-PARTNER-SIGN value) against the raw
// body. Every failure, including a missing key, wraps ErrBadSignature.
func Verify(pub *rsa.PublicKey, body []byte, signatureHeader string) error {
	if pub == nil {
		return fmt.Errorf("%w: no public key", ErrBadSignature)
	}
	h := strings.TrimSpace(signatureHeader)
	if h == "" {
		return fmt.Errorf("%w: missing", ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrBadSignature)
	}
	d := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
		return fmt.Errorf("%w: does not match the body", ErrBadSignature)
	}
	return nil
}
