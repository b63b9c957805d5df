package payout

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules for names and references people type, in one place: a payout
// draft and a recipient both go through them, so that what an approver sees
// is what the provider gets.

// cleanName trims a name and collapses each run of spaces inside it to one.
// Other white space (a newline, a tab) stays, for checkName to refuse.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

// checkName says what is wrong with a cleaned full name, or "".
func checkName(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "Enter the recipient's full name"
	case n > MaxFullNameLen:
		return fmt.Sprintf("Keep the name to %d characters or fewer", MaxFullNameLen)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "The name cannot contain line breaks or control characters"
	}
	return ""
}

// checkReference says what is wrong with a trimmed customer reference, or "".
func checkReference(ref string) string {
	switch {
	case utf8.RuneCountInString(ref) > MaxReferenceLen:
		return fmt.Sprintf("Keep the customer reference to %d characters or fewer", MaxReferenceLen)
	case strings.ContainsFunc(ref, unicode.IsControl):
		return "The customer reference cannot contain line breaks or control characters"
	}
	return ""
}
