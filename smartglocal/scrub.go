package smartglocal

import "strings"

// MaskPANs masks every run of 12 or more digits but its last four, so that a
// card number can never reach a database, a log or a message through text we
// did not write (a provider error description, a transport error, a name).
func MaskPANs(s string) string {
	var b strings.Builder
	run := 0
	flush := func(end int) {
		if run >= 12 {
			b.WriteString(strings.Repeat("*", run-4))
			b.WriteString(s[end-4 : end])
		} else {
			b.WriteString(s[end-run : end])
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			run++
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}
