// Package password hashes console passwords with argon2id, bounds how many
// hashes run at once, and says what is wrong with a new password. It knows
// nothing of HTTP.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// MinLength is the shortest password accepted (PCI DSS 8.3.6 asks for 12).
const MinLength = 12

// MaxLength bounds the work one sign-in can ask of argon2id, in bytes.
const MaxLength = 1024

// argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// Hash returns an argon2id hash of pw in the PHC string format.
func Hash(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Matches reports whether pw matches an argon2id PHC hash.
func Matches(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// decoy is a hash no sign-in is ever checked against for real.
var decoy = sync.OnceValue(func() string { return Hash("countersign-timing-equaliser") })

// CheckAgainstDecoy does the work of one Matches and throws the answer away:
// a sign-in for an account that does not exist takes as long as one for an
// account that does, so the time taken reveals nothing.
func CheckAgainstDecoy(pw string) {
	Matches(decoy(), pw)
}
