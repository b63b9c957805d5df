package password

import (
	"strings"
	"testing"
)

func TestHashMatches(t *testing.T) {
	h := Hash("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q; want argon2id with 19 MiB, 2 passes, 1 lane", h)
	}
	if !Matches(h, "correct horse battery") {
		t.Error("the password does not match its own hash")
	}
	for _, wrong := range []string{"", "correct horse batter", "Correct horse battery"} {
		if Matches(h, wrong) {
			t.Errorf("%q matches", wrong)
		}
	}
	if Hash("correct horse battery") == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=x$a$b", "$bcrypt$v=1$m=1,t=1,p=1$YQ$YQ"} {
		if Matches(bad, "") {
			t.Errorf("malformed hash %q matches", bad)
		}
	}
}
