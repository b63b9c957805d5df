package password

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"countersign/fail"
)

// Refusals of a new password. Each message says why, so that a person can
// choose better at once.
var (
	ErrTooShort   = fail.New(fail.Invalid, "password_too_short", fmt.Sprintf("Use at least %d characters", MinLength))
	ErrTooLong    = fail.New(fail.Invalid, "password_too_long", fmt.Sprintf("Use at most %d characters", MaxLength))
	ErrRepeated   = fail.New(fail.Invalid, "password_repeated", "Use more than one character: one character repeated is guessed at once")
	ErrDigitsOnly = fail.New(fail.Invalid, "password_digits_only", "Use more than digits: a password of digits only is guessed quickly")
	ErrPersonal   = fail.New(fail.Invalid, "password_personal", "Do not use the account's email address or name as its password")
	ErrCommon     = fail.New(fail.Invalid, "password_common", "This is one of the most common passwords (perhaps with digits or symbols added at the end): choose another")
)

// Account is whose password it is: a password must not be made of their own
// email address or name.
type Account struct {
	Email, Name string
}

// Check says what is wrong with pw as the new password of who (a
// *fail.Error of kind Invalid whose message can be shown as it is), or nil.
// It refuses passwords that are too short or too long; a single character
// repeated; digits only; the account's email address, the part of it before
// the @, or its name (ignoring case, spaces and punctuation, and digits
// added at the end); and passwords on the shipped list of common passwords,
// also with digits or symbols added at the end ("password1234").
func Check(pw string, who Account) error {
	switch {
	case utf8.RuneCountInString(pw) < MinLength:
		return ErrTooShort
	case len(pw) > MaxLength:
		return ErrTooLong
	case repeated(pw):
		return ErrRepeated
	case strings.IndexFunc(pw, func(r rune) bool { return r < '0' || r > '9' }) < 0:
		return ErrDigitsOnly
	case personal(pw, who):
		return ErrPersonal
	case common(pw):
		return ErrCommon
	}
	return nil
}

// repeated reports whether pw is one character, repeated.
func repeated(pw string) bool {
	first, _ := utf8.DecodeRuneInString(pw)
	return strings.Trim(pw, string(first)) == ""
}

// personal reports whether pw is made of the account's email, the part of
// it before the @, or its name.
func personal(pw string, who Account) bool {
	p := letters(pw)
	email := letters(who.Email)
	if email != "" && strings.Contains(p, email) {
		return true
	}
	local, _, _ := strings.Cut(who.Email, "@")
	bare := strings.TrimRightFunc(p, unicode.IsDigit)
	for _, s := range []string{letters(local), letters(who.Name)} {
		if s != "" && (p == s || bare == s) {
			return true
		}
	}
	return false
}

// letters is s in lower case with only its letters and digits.
func letters(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

//go:embed common/passwords.txt
var commonList string

// commonSet is the shipped list of common passwords (common/README.md).
var commonSet = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 6000)
	for w := range strings.Lines(commonList) {
		if w = strings.TrimSpace(w); w != "" {
			set[w] = true
		}
	}
	return set
})

// common reports whether pw, in lower case, is on the list, or is a word on
// the list with anything but letters added at the end.
func common(pw string) bool {
	set := commonSet()
	lower := strings.ToLower(pw)
	stem := strings.TrimRightFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	return set[lower] || (stem != "" && set[stem])
}
