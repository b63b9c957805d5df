// Package secret keeps the console's one secret key: a file outside the
// database from which the keys that encrypt second-factor secrets, chain the
// audit log and sign the sign-in form's CSRF tokens are derived. Every
// instance of one installation uses the same file. Someone who copies or edits the database without
// this file can neither read the secrets nor rewrite the log unnoticed.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// keyLen is the length of the key in the file and of every derived key.
const keyLen = 32

// Key is the loaded secret key.
type Key struct {
	master []byte
	// auditFrom is the audit entry from which the log is chained under this
	// key, written into the file when the file is created: the database
	// cannot move it, so a log whose keyed start was removed (and its chain
	// recomputed without the key) is told apart from a log never keyed. 0
	// for a file written before this was recorded, or made by hand.
	auditFrom int64
}

// auditFromLabel starts the key file's second line: "audit-chain-from N".
const auditFromLabel = "audit-chain-from "

// The purposes keys are derived for; one per use, so that no two uses share a key.
const (
	PurposeAuditChain      = "audit chain"
	PurposeAuditCheckpoint = "audit checkpoint"
	PurposeTOTP            = "second-factor secrets"
	PurposePreLoginCSRF    = "pre-login csrf"
	PurposeCardFingerprint = "card fingerprint"
)

// Load reads the key file at path: 64 hex digits (32 bytes), then optionally
// a line "audit-chain-from N"; surrounding space ignored.
func Load(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	first, rest, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	master, err := hex.DecodeString(strings.TrimSpace(first))
	if err != nil || len(master) != keyLen {
		return nil, fmt.Errorf("secret key file %s: want %d hex digits", path, 2*keyLen)
	}
	k := &Key{master: master}
	if rest = strings.TrimSpace(rest); rest != "" {
		n, ok := strings.CutPrefix(rest, auditFromLabel)
		if k.auditFrom, err = strconv.ParseInt(n, 10, 64); !ok || err != nil || k.auditFrom < 1 {
			return nil, fmt.Errorf("secret key file %s: want %q and an entry number on the second line", path, auditFromLabel)
		}
	}
	return k, nil
}

// LoadOrCreate loads the key file at path, creating it with a new random key
// (readable by its owner only) if there is none. A new file records
// auditFrom, the entry from which the audit log will be chained under the
// key (the database's next entry). created says which happened, so that the
// caller can say where a new key was put.
func LoadOrCreate(path string, auditFrom int64) (k *Key, created bool, err error) {
	k, err = Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if auditFrom < 1 {
		return nil, false, errors.New("secret key file: a new key needs the audit entry it starts keying")
	}
	master := make([]byte, keyLen)
	rand.Read(master)
	// The key is written whole to a file of its own, then linked into place:
	// a link never replaces a file, so if two processes start at once one
	// creates and the other loads, and the loser never reads a file the
	// winner is still writing.
	f, err := os.CreateTemp(filepath.Dir(path), ".countersign-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("create secret key file: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = fmt.Fprintf(f, "%s\n%s%d\n", hex.EncodeToString(master), auditFromLabel, auditFrom)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("write secret key file: %w", err)
	}
	err = os.Link(f.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		k, err = Load(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create secret key file: %w", err)
	}
	return &Key{master: master, auditFrom: auditFrom}, true, nil
}

// AuditFrom is the audit entry from which the log is chained under this key,
// as the key file records it; 0 if the file does not say.
func (k *Key) AuditFrom() int64 { return k.auditFrom }

// New returns a key from raw bytes (tests, and callers that keep the key elsewhere).
func New(master []byte) (*Key, error) {
	if len(master) != keyLen {
		return nil, fmt.Errorf("secret key: want %d bytes, got %d", keyLen, len(master))
	}
	return &Key{master: append([]byte(nil), master...)}, nil
}

// Derive returns the key for one purpose (HKDF-SHA-256).
func (k *Key) Derive(purpose string) []byte {
	out, err := hkdf.Key(sha256.New, k.master, nil, "countersign "+purpose, keyLen)
	if err != nil {
		panic("secret: hkdf: " + err.Error()) // only for lengths we never ask
	}
	return out
}

// Seal encrypts plaintext with AES-256-GCM under the purpose's key. bound is
// authenticated but not stored (say, the owner's user id): the result opens
// only with the same bound, so a sealed value moved to another row is useless.
func (k *Key) Seal(purpose string, plaintext, bound []byte) string {
	aead := k.aead(purpose)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, bound))
}

// ErrOpen means a sealed value did not open: wrong key, wrong bound, or edited.
var ErrOpen = errors.New("secret: sealed value does not open with this key")

// Open decrypts what Seal returned, with the same purpose and bound.
func (k *Key) Open(purpose, sealed string, bound []byte) ([]byte, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	aead := k.aead(purpose)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, ErrOpen
	}
	out, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], bound)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

func (k *Key) aead(purpose string) cipher.AEAD {
	block, err := aes.NewCipher(k.Derive(purpose))
	if err != nil {
		panic("secret: aes: " + err.Error()) // the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("secret: gcm: " + err.Error())
	}
	return aead
}
