package handlers

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// csvCell is a cell neutralised as the exports neutralise it, for
// encoding/csv to write.
func csvCell(s string) string {
	if startsFormula(s) {
		return "'" + s
	}
	return s
}

// FuzzAppendCSVCell: a cell appended by hand is what encoding/csv (CRLF)
// writes for the neutralised cell, beside another.
func FuzzAppendCSVCell(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `say "hi"`, "line\nbreak", "\rReturned", "=1+2", "-5.00", "@SUM(A1)", "+1 555", "\tTabbed",
		" lead", "\u00a0nbsp", `\.`, "'quoted", "caf\xe9", "\r\n", "x\r"} {
		f.Add(s, "next")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var want bytes.Buffer
		w := csv.NewWriter(&want)
		w.UseCRLF = true
		if err := w.Write([]string{csvCell(a), csvCell(b)}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got := append(appendCSVCell(append(appendCSVCell(nil, a), ','), b), '\r', '\n')
		if string(got) != want.String() {
			t.Errorf("cells %q, %q: got %q, want %q", a, b, got, want.String())
		}
	})
}
