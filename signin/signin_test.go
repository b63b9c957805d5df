package signin

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"countersign/password"
	"countersign/store"
	"countersign/store/pgtest"
)

const pw = "correct horse battery staple"

func newService(t *testing.T) (*Service, *store.User) {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &store.User{Email: "ann@example.com", Name: "Ann", Roles: []string{"maker"}, Active: true, PasswordHash: password.Hash(pw)}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return &Service{DB: db, Limits: store.LoginLimits{PerAccount: 10, PerAddress: 3, LockFor: time.Hour},
		Hasher: password.NewLimiter(2, time.Second)}, u
}

// entries is the audit log, oldest first, as "action: detail".
func entries(t *testing.T, s *Service) []string {
	t.Helper()
	es, err := s.DB.AuditEntries(context.Background(), store.AuditFilter{Ascending: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action+": "+e.Detail+" ("+e.Actor+" from "+e.IP+")")
	}
	return out
}

// logSince checks the audit log's entries after the first before (see
// entries) against want.
func logSince(t *testing.T, s *Service, before int, want []string) {
	t.Helper()
	if got := entries(t, s)[before:]; !slices.Equal(got, want) {
		t.Errorf("audit log:\n%q\nwant\n%q", got, want)
	}
}

// TestRefusalsAreAuditedAndAlike: every refusal is the same error, and the
// log says why; the attempt that locks an address out is recorded with the
// lock, and the right password from that address is then refused too.
func TestRefusalsAreAuditedAndAlike(t *testing.T) {
	s, ann := newService(t)
	ctx := t.Context()
	check := func(email, password, ip string) error {
		u, err := s.Check(ctx, Attempt{Email: email, Password: password, IP: ip})
		if err == nil && u.ID != ann.ID {
			t.Fatalf("signed in as %d, want Ann (%d)", u.ID, ann.ID)
		}
		return err
	}
	before := len(entries(t, s))
	for _, a := range []Attempt{
		{"nobody@example.com", pw, "192.0.2.1"},
		{" ann@example.com ", "wrong password!", "192.0.2.1"},
		{"ann@example.com", "wrong password!", "192.0.2.1"},
		{"ann@example.com", "wrong password!", "192.0.2.1"}, // the third from the address locks it out
		{"ann@example.com", pw, "192.0.2.1"},
	} {
		if err := check(a.Email, a.Password, a.IP); !errors.Is(err, ErrRefused) {
			t.Errorf("%+v: %v, want ErrRefused", a, err)
		}
	}
	if err := check("ann@example.com", pw, "192.0.2.2"); err != nil {
		t.Fatalf("the right password from another address: %v", err)
	}
	want := []string{
		"login.failed: unknown account (nobody@example.com from 192.0.2.1)",
		"login.failed: wrong password (ann@example.com from 192.0.2.1)",
		"login.failed: wrong password (ann@example.com from 192.0.2.1)",
		"login.lockout: 192.0.2.1 locked out of the account for 1h0m0s after 3 failures from it (ann@example.com from 192.0.2.1)",
		"login.failed: wrong password (ann@example.com from 192.0.2.1)",
		"login.failed: locked out from this address (ann@example.com from 192.0.2.1)",
	}
	logSince(t, s, before, want)
	if err := s.DB.UpdateUserAccess(ctx, ann.ID, ann.Name, ann.Roles, false); err != nil {
		t.Fatal(err)
	}
	if err := check("ann@example.com", pw, "192.0.2.2"); !errors.Is(err, ErrRefused) {
		t.Errorf("a deactivated account: %v, want ErrRefused", err)
	}
	if got := entries(t, s); got[len(got)-1] != "login.failed: account deactivated (ann@example.com from 192.0.2.2)" {
		t.Errorf("last entry %q, want the deactivated account's refusal", got[len(got)-1])
	}
}

// TestAPasswordInTheEmailFieldIsNotLogged: what was typed as the email is
// recorded for an unknown account, refused or throttled, only when it is an
// email address. A
// password typed into the wrong field must not reach the audit log, which
// everyone with the auditor's role reads and exports; a known account is
// recorded by its own address, however it was typed.
func TestAPasswordInTheEmailFieldIsNotLogged(t *testing.T) {
	s, _ := newService(t)
	ctx := t.Context()
	before := len(entries(t, s))
	for _, typed := range []string{"Summer@2026", "correct horse battery staple", "ANN@example.com", "intruder@example.com"} {
		if _, err := s.Check(ctx, Attempt{Email: typed, Password: "whatever it is", IP: "192.0.2.9"}); !errors.Is(err, ErrRefused) {
			t.Fatalf("%q: %v, want ErrRefused", typed, err)
		}
	}
	for _, typed := range []string{"Summer@2026", "intruder@example.com"} {
		if err := s.Throttled(ctx, Attempt{Email: typed, IP: "192.0.2.9"}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"login.failed: unknown account ((not an email address) from 192.0.2.9)",
		"login.failed: unknown account ((not an email address) from 192.0.2.9)",
		"login.failed: wrong password (ann@example.com from 192.0.2.9)",
		"login.failed: unknown account (intruder@example.com from 192.0.2.9)",
		"login.rate_limited: too many sign-ins from 192.0.2.9 ((not an email address) from 192.0.2.9)",
		"login.rate_limited: too many sign-ins from 192.0.2.9 (intruder@example.com from 192.0.2.9)",
	}
	logSince(t, s, before, want)
}

// TestNoSlotNothingCounted: with every hashing slot taken for longer than
// the wait, the attempt is refused as busy and counts for nothing.
func TestNoSlotNothingCounted(t *testing.T) {
	s, _ := newService(t)
	s.Hasher = password.NewLimiter(1, 10*time.Millisecond)
	release, err := s.Hasher.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	before := len(entries(t, s))
	if _, err := s.Check(t.Context(), Attempt{Email: "ann@example.com", Password: "wrong password!", IP: "192.0.2.1"}); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("%v, want password.ErrBusy", err)
	}
	if got := entries(t, s)[before:]; len(got) != 0 {
		t.Errorf("a busy refusal wrote %q", got)
	}
}

func TestMain(m *testing.M) { pgtest.Main(m) }
