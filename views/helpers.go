package views

import (
	"strconv"
	"strings"
)

func joinRoles(roles []string) string { return strings.Join(roles, ", ") }

// describedBy points an input at its error message when it has one.
func describedBy(errs FieldErrors, field string) string {
	if errs.Has(field) {
		return field + "-error"
	}
	return ""
}

func invalid(errs FieldErrors, field string) string {
	if errs.Has(field) {
		return "true"
	}
	return "false"
}

func boolString(b bool) string { return strconv.FormatBool(b) }

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
