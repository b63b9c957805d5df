package stepup

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/secret"
	"countersign/store"
	"countersign/store/pgtest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type fixture struct {
	t      *testing.T
	db     *store.DB
	dbPath string
	clock  *clock
	s      *Service
}

func TestMain(m *testing.M) { pgtest.Main(m) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, dbPath: pgtest.DSN(t), clock: &clock{now: time.Date(2026, 3, 2, 9, 0, 10, 0, time.UTC)}}
	db, err := store.Open(t.Context(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = f.clock.Now
	key, err := secret.New(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.db, f.s = db, New(db, key, nil)
	return f
}

func (f *fixture) user(email string, roles ...string) *store.User {
	f.t.Helper()
	u := &store.User{Email: email, Name: email, PasswordHash: "x", Roles: roles, Active: true}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// enrolled sets up u's second factor through the real enrolment and returns its secret.
func (f *fixture) enrolled(u *store.User) string {
	f.t.Helper()
	e, err := f.s.BeginEnrolment(context.Background(), u)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.ConfirmEnrolment(context.Background(), u, f.code(e.Secret, 0), "192.0.2.1"); err != nil {
		f.t.Fatalf("ConfirmEnrolment: %v", err)
	}
	f.clock.Advance(period * time.Second) // the confirming code is used up
	return e.Secret
}

// code is the code of secret at the clock's time plus steps time steps.
func (f *fixture) code(secretB32 string, steps int) string {
	f.t.Helper()
	c, err := Code(secretB32, f.clock.Now().Add(time.Duration(steps)*period*time.Second))
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) prove(u *store.User, at time.Time, code string) (Proof, error) {
	return f.s.Prove(context.Background(), u, at, code, "192.0.2.1")
}

func TestNoCodeWhereThePolicyAsksNone(t *testing.T) {
	f := newFixture(t)
	maker := f.user("maker@example.com", "maker")
	p, err := f.prove(maker, time.Time{}, "")
	if err != nil || !p.Covers(maker.ID) {
		t.Fatalf("maker's proof = %+v, %v; want one without a code", p, err)
	}
	if p.Covers(maker.ID + 1) {
		t.Error("a proof covers someone else")
	}
	if (Proof{}).Covers(maker.ID) {
		t.Error("the zero proof covers someone")
	}
}

func TestApproversAndAdminsMustEnrolFirst(t *testing.T) {
	f := newFixture(t)
	for _, roles := range [][]string{{"approver"}, {"admin"}, {"maker", "approver"}} {
		u := f.user(strings.Join(roles, "-")+"@example.com", roles...)
		st, err := f.s.Status(t.Context(), u)
		if err != nil || !st.MustEnrol() {
			t.Errorf("%v: status %+v, %v; want must enrol", roles, st, err)
		}
		if _, err := f.prove(u, time.Time{}, "123456"); !errors.Is(err, ErrMustEnrol) {
			t.Errorf("%v: Prove before enrolling = %v; want ErrMustEnrol", roles, err)
		}
	}
}

func TestEnrolment(t *testing.T) {
	f := newFixture(t)
	u := f.user("ann@example.com", "approver")
	e, err := f.s.BeginEnrolment(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URI, "otpauth://totp/Countersign:ann@example.com?") || !strings.Contains(e.URI, "secret="+e.Secret) ||
		!strings.Contains(e.URI, "issuer=Countersign") || !strings.Contains(e.URI, "period=30") || !strings.Contains(e.URI, "digits=6") {
		t.Errorf("URI = %s", e.URI)
	}
	if img, err := png.Decode(bytes.NewReader(e.QR)); err != nil || img.Bounds().Dx() < 200 {
		t.Errorf("QR code is not a usable PNG: %v", err)
	}
	again, err := f.s.BeginEnrolment(t.Context(), u)
	if err != nil || again.Secret != e.Secret {
		t.Errorf("reloading the page changed the secret: %v", err)
	}
	if _, err := f.s.ConfirmEnrolment(t.Context(), u, wrongCode(f, e.Secret), ""); !errors.Is(err, ErrWrongCode) {
		t.Errorf("confirm with a wrong code = %v", err)
	}
	opened, err := f.s.ConfirmEnrolment(t.Context(), u, f.code(e.Secret, 0), "")
	if err != nil {
		t.Fatalf("confirm with the current code: %v", err)
	}
	// The confirming code opens a window like a decision's code: the first
	// decision need not wait for the next code, and the code is used up.
	if p, err := f.prove(u, opened, ""); err != nil || !p.Covers(u.ID) {
		t.Errorf("first decision after enrolling, no code: %v", err)
	}
	if _, err := f.prove(u, time.Time{}, f.code(e.Secret, 0)); !errors.Is(err, ErrReplayed) {
		t.Errorf("the confirming code again: %v; want ErrReplayed", err)
	}
	if st, _ := f.s.Status(t.Context(), u); !st.Enrolled || st.MustEnrol() {
		t.Errorf("status after enrolling = %+v", st)
	}
	if _, err := f.s.BeginEnrolment(t.Context(), u); !errors.Is(err, ErrEnrolled) {
		t.Errorf("enrolling again = %v; want ErrEnrolled (a reset is an admin change)", err)
	}
	// The secret is sealed at rest: not in the database file, in any form.
	f.db.Close()
	stored := pgtest.Contents(t, f.dbPath)
	for _, form := range []string{e.Secret, strings.ToLower(e.Secret)} {
		if bytes.Contains(stored, []byte(form)) {
			t.Error("the second-factor secret is in the database in the clear")
		}
	}
}

func TestACodeIsAcceptedOncePerAccount(t *testing.T) {
	f := newFixture(t)
	u := f.user("ann@example.com", "approver")
	sec := f.enrolled(u)
	code := f.code(sec, 0)
	p, err := f.prove(u, time.Time{}, code)
	if err != nil || !p.Covers(u.ID) {
		t.Fatalf("first use: %+v, %v", p, err)
	}
	if want := f.clock.Now().Add(DefaultWindow); !p.Until().Equal(want) {
		t.Errorf("window until %v; want %v", p.Until(), want)
	}
	// The same code from a fresh session (no window), and an older code
	// still inside the skew, are both refused.
	if _, err := f.prove(u, time.Time{}, code); !errors.Is(err, ErrReplayed) {
		t.Errorf("replayed code = %v; want ErrReplayed", err)
	}
	if _, err := f.prove(u, time.Time{}, f.code(sec, -1)); !errors.Is(err, ErrReplayed) {
		t.Errorf("previous step's code after a newer one = %v; want ErrReplayed", err)
	}
	if n := f.audits("stepup.failed", "second_factor_replayed"); n != 2 {
		t.Errorf("replays audited: %d; want 2", n)
	}
	f.clock.Advance(period * time.Second)
	if _, err := f.prove(u, time.Time{}, f.code(sec, 0)); err != nil {
		t.Errorf("the next code: %v", err)
	}
}

func TestClockSkewOfOneStep(t *testing.T) {
	f := newFixture(t)
	u := f.user("ann@example.com", "admin")
	sec := f.enrolled(u)
	f.clock.Advance(2 * period * time.Second) // past the step that confirmed enrolment
	if _, err := f.prove(u, time.Time{}, f.code(sec, -2)); !errors.Is(err, ErrWrongCode) {
		t.Errorf("a code two steps old = %v; want ErrWrongCode", err)
	}
	if _, err := f.prove(u, time.Time{}, f.code(sec, 2)); !errors.Is(err, ErrWrongCode) {
		t.Errorf("a code two steps ahead = %v; want ErrWrongCode", err)
	}
	if _, err := f.prove(u, time.Time{}, f.code(sec, -1)); err != nil {
		t.Errorf("a code one step old = %v; want accepted", err)
	}
	f.clock.Advance(3 * period * time.Second)
	if _, err := f.prove(u, time.Time{}, " "+f.code(sec, 1)[:3]+" "+f.code(sec, 1)[3:]); err != nil {
		t.Errorf("a code one step ahead, typed with spaces = %v; want accepted", err)
	}
}

func TestStepUpWindow(t *testing.T) {
	f := newFixture(t)
	u := f.user("ann@example.com", "approver")
	sec := f.enrolled(u)
	p, err := f.prove(u, time.Time{}, f.code(sec, 0))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(4 * time.Minute)
	again, err := f.prove(u, p.At(), "")
	if err != nil || !again.Until().Equal(p.Until()) {
		t.Errorf("inside the window: %+v, %v; want the same window, no code", again, err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.prove(u, p.At(), ""); !errors.Is(err, ErrCodeRequired) {
		t.Errorf("at the window's end: %v; want ErrCodeRequired", err)
	}
	if _, err := f.prove(u, f.clock.Now().Add(time.Minute), ""); !errors.Is(err, ErrCodeRequired) {
		t.Errorf("a window that opens in the future: %v; want ErrCodeRequired", err)
	}
	// A shorter window set by the admins applies to windows already open.
	setWindow(t, f, 0)
	p, err = f.prove(u, time.Time{}, f.code(sec, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.prove(u, p.At(), ""); !errors.Is(err, ErrCodeRequired) {
		t.Errorf("with no window, the next decision: %v; want ErrCodeRequired", err)
	}
}

func setWindow(t *testing.T, f *fixture, w time.Duration) {
	t.Helper()
	err := f.db.InTx(t.Context(), func(tx *store.Tx) error { return Policy{Roles: DefaultRoles, Window: w}.Save(t.Context(), tx) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestFiveWrongCodesLockDecisions(t *testing.T) {
	f := newFixture(t)
	u := f.user("ann@example.com", "approver")
	sec := f.enrolled(u)
	wrong := wrongCode(f, sec)
	for i := range MaxFailures {
		_, err := f.prove(u, time.Time{}, wrong)
		want := ErrWrongCode
		if i == MaxFailures-1 {
			want = ErrLocked
		}
		if !errors.Is(err, want) {
			t.Fatalf("wrong code %d: %v; want %v", i+1, err, want)
		}
	}
	if _, err := f.prove(u, time.Time{}, f.code(sec, 0)); !errors.Is(err, ErrLocked) {
		t.Errorf("right code while locked: %v; want ErrLocked", err)
	}
	if st, _ := f.s.Status(t.Context(), u); st.LockedUntil.IsZero() {
		t.Error("status does not say the account is locked")
	}
	if n := f.audits("stepup.locked", ""); n != 1 {
		t.Errorf("lockouts audited: %d; want 1", n)
	}
	f.clock.Advance(LockFor)
	if _, err := f.prove(u, time.Time{}, f.code(sec, 0)); err != nil {
		t.Errorf("right code after the lock: %v", err)
	}
}

// TestParallelWrongCodesCheckedAtMostTheLimit: many wrong codes at once on
// one account get at most MaxFailures checked (each counted before it is
// checked, in one conditional update); the rest are refused as locked,
// unchecked, and the lock is audited once. A right code sent with them,
// after the lock, is refused too.
func TestParallelWrongCodesCheckedAtMostTheLimit(t *testing.T) {
	f := newFixture(t)
	u := f.user("ann@example.com", "approver")
	sec := f.enrolled(u)
	wrong, right := wrongCode(f, sec), f.code(sec, 0)
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.prove(u, time.Time{}, wrong) })
	}
	wg.Wait()
	var wrongs, locked int
	for _, err := range errs {
		switch {
		case errors.Is(err, ErrWrongCode):
			wrongs++
		case errors.Is(err, ErrLocked):
			locked++
		default:
			t.Errorf("unexpected answer: %v", err)
		}
	}
	if wrongs != MaxFailures-1 || locked != n-MaxFailures+1 {
		t.Errorf("%d wrong, %d locked; want %d wrong and the rest locked (the last checked one locks)", wrongs, locked, MaxFailures-1)
	}
	if got := f.audits("stepup.failed", ""); got != MaxFailures {
		t.Errorf("%d codes checked and refused; want at most the limit, %d", got, MaxFailures)
	}
	if got := f.audits("stepup.locked", ""); got != 1 {
		t.Errorf("lockouts audited: %d; want 1", got)
	}
	if _, err := f.prove(u, time.Time{}, right); !errors.Is(err, ErrLocked) {
		t.Errorf("right code after the parallel guesses: %v; want ErrLocked", err)
	}
}

// wrongCode is a 6-digit code that is none of the codes accepted now.
func wrongCode(f *fixture, sec string) string {
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if c != f.code(sec, -1) && c != f.code(sec, 0) && c != f.code(sec, 1) {
			return c
		}
	}
	f.t.Fatal("no wrong code")
	return ""
}

func TestEnrolWithSecret(t *testing.T) {
	f := newFixture(t)
	u := f.user("approver1@example.com", "approver")
	const published = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	if err := f.s.EnrolWithSecret(t.Context(), u, published, "sandbox demo account"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.prove(u, time.Time{}, f.code(published, 0)); err != nil {
		t.Errorf("the published secret's code: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	f := newFixture(t)
	p, err := f.s.Policy(t.Context())
	if err != nil || !p.Equal(Policy{Roles: []string{"admin", "approver"}, Window: 5 * time.Minute}) {
		t.Fatalf("default policy = %+v, %v", p, err)
	}
	for _, tt := range []struct {
		next   Policy
		looser bool
	}{
		{Policy{Roles: []string{"admin", "approver", "maker"}, Window: 5 * time.Minute}, false},
		{Policy{Roles: []string{"admin", "approver"}, Window: time.Minute}, false},
		{Policy{Roles: []string{"approver"}, Window: 5 * time.Minute}, true},
		{Policy{Roles: []string{"admin", "approver"}, Window: 10 * time.Minute}, true},
		{Policy{Roles: []string{"admin", "approver", "maker"}, Window: 10 * time.Minute}, true},
	} {
		if got := tt.next.Looser(p); got != tt.looser {
			t.Errorf("%v looser than %v = %v; want %v", tt.next, p, got, tt.looser)
		}
	}
	if err := f.db.InTx(t.Context(), func(tx *store.Tx) error { return tx.SetSetting(t.Context(), WindowSetting, "forever") }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Policy(t.Context()); err == nil {
		t.Error("a stored window that does not parse was read as a default")
	}
}

func (f *fixture) audits(action, detail string) int {
	f.t.Helper()
	es, err := f.db.AuditEntries(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == action && (detail == "" || e.Detail == detail) {
			n++
		}
	}
	return n
}
