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

func gaugeWidth(f float64) string {
	if f < 0 {
		f = 0
	}
	if f > 1 {
		f = 1
	}
	return strconv.FormatFloat(200*f, 'f', 1, 64)
}

func gaugeColor(g Gauge) string {
	switch {
	case g.Negative || g.Fraction < 0.1:
		return "#b3261e"
	case g.Fraction < 0.25:
		return "#c98a00"
	default:
		return "#1d7a46"
	}
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
