// Package text holds the rules for short human text that leaves this
// console: names typed by one person and read by another, or sent to the
// provider and on to a bank.
package text

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"countersign/card"
)

// CheckName cleans s and checks it as a person's or a company's name, or
// any other one line of text a person types for another to read (a street
// address, a city, a payout's customer reference or note), of at most limit
// characters. It is the one rule for such text: payouts, recipients, bank
// accounts and senders all go through it. It returns the cleaned text and,
// when it is not acceptable, a problem to show beside the field.
//
// Cleaning trims the text, makes every space character a plain space and
// collapses each run of spaces to one: a page shows "Jane  Smith" and
// "Jane\u00a0Smith" as "Jane Smith", so the provider must get exactly that.
//
// It refuses what a reader cannot see or what changes how the text around it
// reads: control characters (line breaks, tabs), format characters
// (zero-width spaces and joiners, text-direction marks, embeddings and
// overrides, the byte-order mark, soft hyphens), line and paragraph
// separators, private-use code points and invalid UTF-8. Such characters let
// two names look the same to an approver while differing underneath, or make
// a name read backwards.
//
// It refuses a card number anywhere in the text (card.ContainsPAN): free
// text is stored, shown, exported and sent to the provider, and a card
// number may live in none of those. Then the text returned is "", so that
// the number goes no further, and a form shows the field empty
// (HoldsCardNumber).
//
// An empty name is not a problem here: whether a name is required is the
// caller's rule.
func CheckName(s string, limit int) (name, problem string) {
	s = collapseSpaces(s)
	switch {
	case card.ContainsPAN(s):
		return "", CardNumberProblem
	case !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError):
		return s, "This contains characters that cannot be read"
	case strings.IndexFunc(s, hidden) >= 0:
		return s, "This cannot contain line breaks, invisible characters or text-direction marks"
	case utf8.RuneCountInString(s) > limit:
		return s, fmt.Sprintf("Keep this to %d characters or fewer", limit)
	}
	return s, ""
}

// CardNumberProblem is the problem of text that holds a card number.
const CardNumberProblem = "This looks like a card number. Card numbers are never kept in text: remove it (the last four digits are enough)"

// HoldsCardNumber reports whether problem is CardNumberProblem: the form
// must not show what was typed in that field again.
func HoldsCardNumber(problem string) bool { return problem == CardNumberProblem }

// MaxReasonLen is the longest reason, in characters.
const MaxReasonLen = 500

// CheckReason cleans and checks why someone cancels, rejects or records a
// return: the one rule for reasons, which the other side and the audit log
// read. It is CheckName's rule (no line breaks, invisible characters,
// text-direction marks or card numbers) at MaxReasonLen, and a reason is
// required: it returns the cleaned reason and a problem to show, "" if none.
func CheckReason(s string) (reason, problem string) {
	reason, problem = CheckName(s, MaxReasonLen)
	if problem == "" && reason == "" {
		problem = "Give a reason"
	}
	return reason, problem
}

// collapseSpaces trims s and turns each run of space characters (Unicode
// Zs: the plain space, no-break spaces, the wide and thin spaces) into one
// plain space. Line breaks and tabs are not spaces here: CheckName refuses them.
func collapseSpaces(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		if unicode.Is(unicode.Zs, r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// hidden reports whether r is invisible or reorders the text around it.
func hidden(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co)
}

// DigitsOnly reports whether s holds digits and nothing but digits and
// spaces: the provider's test for a name that is really a number.
func DigitsOnly(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != ' ' }) < 0
}

// MaxEmail is the longest email address anything here stores (RFC 5321's
// limit on a path).
const MaxEmail = 254

// IsEmail reports whether s is a bare email address, name@example.com,
// as a person's account, a recipient or a bank's form takes one: no display
// name, no spaces around it, at most MaxEmail bytes, a dot in the domain.
// It is the one rule for an address typed into this console. The dot keeps
// out what RFC 5322 allows but no one here reaches mail at (name@localhost),
// and makes a password that holds an @ ("Summer@2026") less likely to pass
// for an address where a refused sign-in records what was typed.
func IsEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && len(s) <= MaxEmail &&
		strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}
