package bank

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDefaultBanks(t *testing.T) {
	b := DefaultBanks()
	for _, name := range []string{"Barclays", "HSBC UK", "Lloyds Bank", "NatWest", "Revolut"} {
		if !b.Has("GBR", name) {
			t.Errorf("the shipped list lacks %s for the United Kingdom", name)
		}
	}
	if b.Has("GBR", "barclays") || b.Has("USA", "Barclays") || b.Has("GBR", "Bank of Nowhere") {
		t.Error("Has matches loosely")
	}
	if got := b.For("cze"); !slices.Contains(got, "Česká spořitelna") {
		t.Errorf("For(cze) = %v", got)
	}
	got := b.For("GBR")
	got[0] = "changed"
	if b.For("GBR")[0] != "Barclays" {
		t.Error("For returns the list itself")
	}
}

func TestParseBanks(t *testing.T) {
	b, err := ParseBanks(strings.NewReader("# ours\n\nGBR Barclays\nGBR\tMonzo Bank\n  USA   Citibank  \n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.For("GBR"); !slices.Equal(got, []string{"Barclays", "Monzo Bank"}) {
		t.Errorf("GBR = %v", got)
	}
	if got := b.For("USA"); !slices.Equal(got, []string{"Citibank"}) {
		t.Errorf("USA = %v", got)
	}
	if b.Has("GBR", "HSBC UK") {
		t.Error("an operator's list must replace the shipped one, not add to it")
	}
	tests := []struct{ name, file, want string }{
		{"empty", "# nothing\n\n", "no banks listed"},
		{"unknown country", "GBR Barclays\nFRA BNP Paribas\n", "line 2: \"FRA\""},
		{"lower-case code", "gbr Barclays\n", "line 1: \"gbr\""},
		{"alpha-2 code", "GB Barclays\n", "line 1"},
		{"no name", "GBR Barclays\nUSA\n", "line 2: no bank name"},
		{"duplicate", "GBR Barclays\nGBR BARCLAYS\n", "line 2: BARCLAYS is listed twice"},
		{"zero-width space", "GBR Bar\u200bclays\n", "line 1: bank name"},
		{"too long", "GBR " + strings.Repeat("B", MaxBankName+1) + "\n", "line 1: bank name"},
	}
	for _, tt := range tests {
		if _, err := ParseBanks(strings.NewReader(tt.file)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestLoadBanks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "banks.txt")
	if err := os.WriteFile(path, []byte("KEN Equity Bank\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBanks(path)
	if err != nil || !b.Has("KEN", "Equity Bank") {
		t.Errorf("LoadBanks = %v, %v", b, err)
	}
	if err := os.WriteFile(path, []byte("XXX Nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBanks(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("LoadBanks(bad) = %v, want the path and line", err)
	}
	if _, err := LoadBanks(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("LoadBanks(missing) = nil")
	}
}
