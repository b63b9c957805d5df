package bank

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"countersign/text"
)

// defaultBanks is the shipped list: the sandbox's, and the console's until
// the operator gives their own file.
//
//go:embed banks.txt
var defaultBanks string

// Banks are the banks the provider accepts, per country: what the form offers
// and what the sandbox takes in recipient.bank_name. A Banks is read-only
// once built and safe for concurrent use.
type Banks struct {
	byCountry map[string][]string // alpha-3 -> names, in file order
}

// DefaultBanks returns the shipped list (banks.txt in this package).
func DefaultBanks() *Banks {
	b, err := ParseBanks(strings.NewReader(defaultBanks))
	if err != nil {
		panic("bank: the shipped banks.txt is invalid: " + err.Error())
	}
	return b
}

// LoadBanks reads a bank list file (see ParseBanks for its format).
func LoadBanks(path string) (*Banks, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bank list: %w", err)
	}
	defer f.Close()
	b, err := ParseBanks(f)
	if err != nil {
		return nil, fmt.Errorf("bank list %s: %w", path, err)
	}
	return b, nil
}

// ParseBanks reads a bank list: one bank per line, a country's ISO 3166-1
// alpha-3 code, a space (or tab), and the bank's name as the provider spells it.
// Blank lines and lines starting with # are ignored. It refuses a country
// with no field table, a name that text.CheckName refuses or longer than
// MaxBankName, the same bank twice in a country (in any case), and a file with
// no bank at all; errors name the line.
func ParseBanks(r io.Reader) (*Banks, error) {
	b := &Banks{byCountry: map[string][]string{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code, name := line, ""
		if i := strings.IndexFunc(line, unicode.IsSpace); i > 0 {
			code, name = line[:i], line[i:]
		}
		c, ok := LookupCountry(code)
		if !ok || code != c.Code {
			return nil, fmt.Errorf("line %d: %q is not the upper-case code of a country we pay bank accounts in", n, code)
		}
		name, problem := text.CheckName(name, MaxBankName)
		switch {
		case name == "":
			return nil, fmt.Errorf("line %d: no bank name after %s", n, code)
		case problem != "":
			return nil, fmt.Errorf("line %d: bank name: %s", n, problem)
		case slices.ContainsFunc(b.byCountry[code], func(s string) bool { return strings.EqualFold(s, name) }):
			return nil, fmt.Errorf("line %d: %s is listed twice for %s", n, name, code)
		}
		b.byCountry[code] = append(b.byCountry[code], name)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(b.byCountry) == 0 {
		return nil, errors.New("no banks listed")
	}
	return b, nil
}

// For returns the banks of a country (alpha-3), in the file's order; none
// when the list has none for it.
func (b *Banks) For(country string) []string {
	return slices.Clone(b.byCountry[strings.ToUpper(country)])
}

// Has reports whether name is one of country's banks, spelled exactly: the
// provider matches names, so the console sends them as listed.
func (b *Banks) Has(country, name string) bool {
	return slices.Contains(b.byCountry[strings.ToUpper(country)], name)
}
