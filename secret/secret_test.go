package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateMakesAPrivateFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "countersign.key")
	k1, created, err := LoadOrCreate(path, 1)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreate: created=%v err=%v; want a new file", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o; want 600", perm)
	}
	k2, created, err := LoadOrCreate(path, 1)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate: created=%v err=%v; want the existing file", created, err)
	}
	if !bytes.Equal(k1.Derive("x"), k2.Derive("x")) {
		t.Error("the key read back differs from the key created")
	}
	if k1.AuditFrom() != 1 || k2.AuditFrom() != 1 {
		t.Errorf("audit chain start %d created, %d read back; want 1 both", k1.AuditFrom(), k2.AuditFrom())
	}
}

// TestTheKeyFileRecordsWhereTheAuditChainStarts: the start written at
// creation is read back; a file without it (older, or made by hand) still
// loads, and a garbled second line is refused rather than ignored.
func TestTheKeyFileRecordsWhereTheAuditChainStarts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "countersign.key")
	if _, _, err := LoadOrCreate(path, 340); err != nil {
		t.Fatal(err)
	}
	if k, _, err := LoadOrCreate(path, 999); err != nil || k.AuditFrom() != 340 {
		t.Errorf("loaded start %v (%v); want 340, as created", k, err)
	}
	hexOnly := strings.Repeat("ab", 32)
	for body, want := range map[string]int64{
		hexOnly + "\n":                          0,
		hexOnly + "\naudit-chain-from 7\n":      7,
		hexOnly + "\naudit-chain-from seven\n":  -1,
		hexOnly + "\naudit-chain-from 0\n":      -1,
		hexOnly + "\nsomething else entirely\n": -1,
	} {
		p := filepath.Join(dir, "k")
		os.WriteFile(p, []byte(body), 0o600)
		k, err := Load(p)
		switch {
		case want < 0 && err == nil:
			t.Errorf("%q accepted", body)
		case want >= 0 && (err != nil || k.AuditFrom() != want):
			t.Errorf("%q: start %v (%v); want %d", body, k, err, want)
		}
	}
	if _, _, err := LoadOrCreate(filepath.Join(dir, "new"), 0); err == nil {
		t.Error("a new key file without a chain start was created")
	}
}

func TestLoadOrCreateRacesToOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "countersign.key")
	keys := make([]*Key, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, _, err := LoadOrCreate(path, 1)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k == nil || !bytes.Equal(k.Derive("x"), keys[0].Derive("x")) {
			t.Fatal("processes starting at once ended up with different keys")
		}
	}
}

func TestLoadRefusesABadFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"short": "abcd\n", "not hex": string(bytes.Repeat([]byte("zz"), 32))} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := Load(path); err == nil {
			t.Errorf("%s key file accepted", name)
		}
		if _, _, err := LoadOrCreate(path, 1); err == nil {
			t.Errorf("%s key file: LoadOrCreate replaced or accepted it", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestDeriveSeparatesPurposes(t *testing.T) {
	k, _ := New(bytes.Repeat([]byte{7}, 32))
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if bytes.Equal(k.Derive(PurposeAuditChain), k.Derive(PurposeTOTP)) {
		t.Error("two purposes share a key")
	}
	if bytes.Equal(k.Derive(PurposeAuditChain), other.Derive(PurposeAuditChain)) {
		t.Error("two master keys derive the same key")
	}
	if len(k.Derive(PurposeAuditChain)) != 32 {
		t.Error("derived key is not 32 bytes")
	}
}

func TestSealOpens(t *testing.T) {
	k, _ := New(bytes.Repeat([]byte{7}, 32))
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	sealed := k.Seal(PurposeTOTP, []byte("JBSWY3DPEHPK3PXP"), []byte("user 1"))
	if bytes.Contains([]byte(sealed), []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("the sealed value shows the plaintext")
	}
	got, err := k.Open(PurposeTOTP, sealed, []byte("user 1"))
	if err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again := k.Seal(PurposeTOTP, []byte("JBSWY3DPEHPK3PXP"), []byte("user 1")); again == sealed {
		t.Error("sealing twice gave the same text: the nonce is not random")
	}
	for name, open := range map[string]func() ([]byte, error){
		"other key":     func() ([]byte, error) { return other.Open(PurposeTOTP, sealed, []byte("user 1")) },
		"other purpose": func() ([]byte, error) { return k.Open(PurposeAuditChain, sealed, []byte("user 1")) },
		"other owner":   func() ([]byte, error) { return k.Open(PurposeTOTP, sealed, []byte("user 2")) },
		"edited":        func() ([]byte, error) { return k.Open(PurposeTOTP, flip(sealed), []byte("user 1")) },
		"garbage":       func() ([]byte, error) { return k.Open(PurposeTOTP, "%%%", []byte("user 1")) },
	} {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v; want ErrOpen", name, err)
		}
	}
}

// flip changes the first character of s to another base64 digit.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
