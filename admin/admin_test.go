package admin

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"countersign/fail"
	"countersign/payout"
	"countersign/secret"
	"countersign/stepup"
	"countersign/store"
	"countersign/store/pgtest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

const published = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

type fixture struct {
	t      *testing.T
	db     *store.DB
	dbPath string
	clock  *clock
	s      *Service
	stepup *stepup.Service
	ann    Actor // an admin
	ben    Actor // another admin
}

func TestMain(m *testing.M) { pgtest.Main(m) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, dbPath: pgtest.DSN(t), clock: &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	db, err := store.Open(t.Context(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = f.clock.Now
	key, _ := secret.New(bytes.Repeat([]byte{3}, 32))
	f.db, f.s, f.stepup = db, New(db, nil, nil), stepup.New(db, key, nil)
	f.ann = f.actor(f.user("ann@example.com", "Ann", "admin"))
	f.ben = f.actor(f.user("ben@example.com", "Ben", "admin"))
	return f
}

func (f *fixture) user(email, name string, roles ...string) *store.User {
	f.t.Helper()
	u := &store.User{Email: email, Name: name, Roles: roles, Active: true, PasswordHash: "old-hash"}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	if err := f.stepup.EnrolWithSecret(context.Background(), u, published, "test"); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// actor is u signed in, having proved their second factor with a current code.
func (f *fixture) actor(u *store.User) Actor {
	f.t.Helper()
	code, _ := stepup.Code(published, f.clock.Now())
	proof, err := f.stepup.Prove(context.Background(), u, time.Time{}, code, "192.0.2.7")
	if err != nil {
		f.t.Fatal(err)
	}
	var roles []payout.Role
	for _, r := range u.Roles {
		roles = append(roles, payout.Role(r))
	}
	return Actor{UserID: u.ID, Email: u.Email, Roles: roles, IP: "192.0.2.7", StepUp: proof}
}

func (f *fixture) load(id int64) *store.User {
	f.t.Helper()
	u, err := f.db.UserByID(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) audits(action string) []store.AuditEntry {
	f.t.Helper()
	es, err := f.db.AuditEntries(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range es {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func (f *fixture) approve(a Actor, c *store.AdminChange) Approved {
	f.t.Helper()
	got, err := f.s.Approve(context.Background(), a, c.ID)
	if err != nil {
		f.t.Fatalf("Approve change %d (%s) by %s: %v", c.ID, c.Summary, a.Email, err)
	}
	return got
}

// handover is the handover code a's approved change issued, taken by a.
func (f *fixture) handover(a Actor, c *store.AdminChange) string {
	f.t.Helper()
	code, _, err := f.s.TakeHandover(context.Background(), a, c.ID)
	if err != nil {
		f.t.Fatalf("TakeHandover of change %d by %s: %v", c.ID, a.Email, err)
	}
	return code
}

// TestALoneAdminCannotMakeAWorkingApprover: the new account waits for a
// second admin, and the proposer can never be that admin.
func TestALoneAdminCannotMakeAWorkingApprover(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"approver"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.UserByEmail(ctx, "ivy@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the account exists before a second admin approved: %v", err)
	}
	if _, err := f.s.Approve(ctx, f.ann, c.ID); !errors.Is(err, ErrOwnChange) {
		t.Errorf("proposer approves own change: %v; want ErrOwnChange", err)
	}
	// Whatever roles the proposer holds.
	if err := f.db.UpdateUserAccess(ctx, f.ann.UserID, "Ann", []string{"admin", "approver", "maker", "auditor"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(ctx, f.ann, c.ID); !errors.Is(err, ErrOwnChange) {
		t.Errorf("proposer with every role approves own change: %v; want ErrOwnChange", err)
	}
	if _, err := f.db.UserByEmail(ctx, "ivy@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the account exists after the proposer's attempts: %v", err)
	}
	if n := len(f.audits("change.approve")); n != 2 {
		t.Errorf("refused approvals audited: %d; want 2", n)
	}
	if pending, _ := f.s.Waiting(ctx); pending != 1 {
		t.Errorf("changes waiting: %d; want 1", pending)
	}
}

// TestANewAccountsPasswordIsChosenThroughALink: approved by a second admin,
// the account has no password until its person uses the one-time link; the
// link is shown once (only its hash is stored), lasts 24 hours, works once.
func TestANewAccountsPasswordIsChosenThroughALink(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"approver", "maker"}})
	if err != nil {
		t.Fatal(err)
	}
	got := f.approve(f.ben, c)
	if got.Link == "" {
		t.Fatal("approving a new account gave no sign-in link")
	}
	ivy, err := f.db.UserByEmail(ctx, "ivy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ivy.PasswordHash != "" || !ivy.Active || strings.Join(ivy.Roles, ",") != "approver,maker" {
		t.Errorf("new account = %+v; want active, roles approver+maker, no password", ivy)
	}
	open, err := f.s.Link(ctx, got.Link)
	if err != nil || open.User.ID != ivy.ID || open.Link.Purpose != LinkNewAccount || open.ApprovedBy != "Ben" || open.ProposedBy != "Ann" {
		t.Fatalf("Link = %+v, %v", open, err)
	}
	code := f.handover(f.ann, c)
	if _, err := f.s.RedeemLink(ctx, got.Link, code, "ivy-hash", "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	if f.load(ivy.ID).PasswordHash != "ivy-hash" {
		t.Error("the chosen password was not set")
	}
	if _, err := f.s.RedeemLink(ctx, got.Link, code, "eve-hash", ""); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("second use of the link: %v; want ErrLinkInvalid", err)
	}
	if _, err := f.s.Link(ctx, got.Link); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("opening a used link: %v; want ErrLinkInvalid", err)
	}
	if f.load(ivy.ID).PasswordHash != "ivy-hash" {
		t.Error("a used link changed the password")
	}
	f.db.Close()
	if db := pgtest.Contents(t, f.dbPath); bytes.Contains(db, []byte(got.Link)) || bytes.Contains(db, []byte(code)) {
		t.Error("the link's token or its handover code is stored in the database")
	}
}

func TestSigninLinksExpireAndAreReplaced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ivy := f.user("ivy@example.com", "Ivy", "maker")
	c1 := must(f.s.ProposePasswordReset(ctx, f.ann, ivy.ID))
	first := f.approve(f.ben, c1)
	code1 := f.handover(f.ann, c1)
	c2 := must(f.s.ProposePasswordReset(ctx, f.ann, ivy.ID))
	second := f.approve(f.ben, c2)
	code2 := f.handover(f.ann, c2)
	if _, err := f.s.RedeemLink(ctx, first.Link, code1, "h1", ""); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a replaced link: %v; want ErrLinkInvalid", err)
	}
	f.clock.Advance(LinkValidity)
	if _, err := f.s.RedeemLink(ctx, second.Link, code2, "h2", ""); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a link after 24 hours: %v; want ErrLinkInvalid", err)
	}
	if f.load(ivy.ID).PasswordHash != "" {
		t.Error("an expired or replaced link set a password")
	}
	if n := len(f.audits("user.password_set")); n != 2 {
		t.Errorf("refused links audited: %d; want 2", n)
	}
}

func must(c *store.AdminChange, err error) *store.AdminChange {
	if err != nil {
		panic(err)
	}
	return c
}

// TestALoneAdminCannotGrantThemselvesARole: adding a role waits; removing
// one applies at once.
func TestALoneAdminCannotGrantThemselvesARole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.s.UpdateUser(ctx, f.ann, f.ann.UserID, Access{Name: "Ann", Roles: []string{"admin", "approver"}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || len(res.Pending) != 1 || res.Pending[0].Kind != string(KindGrantRoles) {
		t.Fatalf("result = %+v; want one pending role grant", res)
	}
	if f.load(f.ann.UserID).HasRole("approver") {
		t.Fatal("the role was granted at once")
	}
	if _, err := f.s.Approve(ctx, f.ann, res.Pending[0].ID); !errors.Is(err, ErrOwnChange) {
		t.Errorf("self-approval: %v; want ErrOwnChange", err)
	}
	f.approve(f.ben, res.Pending[0])
	if !f.load(f.ann.UserID).HasRole("approver") {
		t.Error("the approved grant did not apply")
	}
}

// TestTakingPowerAwayAppliesAtOnce: removing a role and deactivating (which
// ends sessions) apply at once, in one request with what waits.
func TestTakingPowerAwayAppliesAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ivy := f.user("ivy@example.com", "Ivy", "approver", "maker")
	if err := f.db.StartSession(ctx, "", &store.SessionRow{IDHash: "s1", UserID: ivy.ID, Data: []byte{}, CreatedAt: f.clock.Now(), LastSeenAt: f.clock.Now()}, store.AuditEntry{ActorID: ivy.ID, Actor: ivy.Email, Action: "login.ok", ObjectType: "user", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.s.UpdateUser(ctx, f.ann, ivy.ID, Access{Name: "Ivy", Roles: []string{"maker", "auditor"}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	got := f.load(ivy.ID)
	if got.HasRole("approver") || got.HasRole("auditor") || !got.HasRole("maker") {
		t.Errorf("roles = %v; want approver removed now, auditor waiting", got.Roles)
	}
	if len(res.Applied) != 1 || len(res.Pending) != 1 {
		t.Errorf("result = %+v; want one applied, one pending", res)
	}
	if _, err := f.s.UpdateUser(ctx, f.ann, ivy.ID, Access{Name: "Ivy", Roles: []string{"maker"}, Active: false}); err != nil {
		t.Fatal(err)
	}
	if f.load(ivy.ID).Active {
		t.Error("deactivation waited")
	}
	if n, _ := f.db.CountUserSessions(ctx, ivy.ID); n != 0 {
		t.Errorf("sessions after deactivation: %d", n)
	}
	// Reactivating grants power again: it waits.
	res, err = f.s.UpdateUser(ctx, f.ann, ivy.ID, Access{Name: "Ivy", Roles: []string{"maker"}, Active: true})
	if err != nil || len(res.Pending) != 1 || res.Pending[0].Kind != string(KindReactivate) || f.load(ivy.ID).Active {
		t.Errorf("reactivation: %+v, %v; want it pending", res, err)
	}
	if _, err := f.s.UpdateUser(ctx, f.ann, f.ann.UserID, Access{Name: "Ann", Roles: []string{"maker"}, Active: true}); !errors.Is(err, ErrSelfLockout) {
		t.Errorf("admin removes own admin role: %v; want ErrSelfLockout", err)
	}
	n, err := f.s.EndSessions(ctx, f.ann, ivy.ID)
	if err != nil || n != 0 {
		t.Errorf("EndSessions = %d, %v", n, err)
	}
}

// TestAResetApproverNeedsTheirSecondFactor: a password reset ends sessions
// and lets the person choose a new password, but the second factor stays: a
// decision still needs a code. A second-factor reset makes them enrol again.
func TestAResetApproverNeedsTheirSecondFactor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alex := f.user("alex@example.com", "Alex", "approver")
	reset := must(f.s.ProposePasswordReset(ctx, f.ann, alex.ID))
	got := f.approve(f.ben, reset)
	if f.load(alex.ID).PasswordHash != "" || got.Link == "" {
		t.Fatal("the old password still works, or no link was issued")
	}
	if _, err := f.s.RedeemLink(ctx, got.Link, f.handover(f.ann, reset), "new-hash", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.stepup.Prove(ctx, f.load(alex.ID), time.Time{}, "", ""); !errors.Is(err, stepup.ErrCodeRequired) {
		t.Errorf("after a password reset, a decision without a code: %v; want ErrCodeRequired", err)
	}
	f.approve(f.ann, must(f.s.ProposeSecondFactorReset(ctx, f.ben, alex.ID)))
	if _, err := f.stepup.Prove(ctx, f.load(alex.ID), time.Time{}, "123456", ""); !errors.Is(err, stepup.ErrMustEnrol) {
		t.Errorf("after a second-factor reset: %v; want ErrMustEnrol", err)
	}
}

func TestDecidingAChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cleo := f.actor(f.user("cleo@example.com", "Cleo", "admin"))
	ivy := f.user("ivy@example.com", "Ivy", "maker")
	c := must(f.s.ProposePasswordReset(ctx, f.ann, ivy.ID))

	noProof := f.ben
	noProof.StepUp = stepup.Proof{}
	if _, err := f.s.Approve(ctx, noProof, c.ID); !errors.Is(err, ErrStepUp) {
		t.Errorf("approve without the second factor: %v; want ErrStepUp", err)
	}
	if err := f.s.Reject(ctx, noProof, c.ID, "no"); !errors.Is(err, ErrStepUp) {
		t.Errorf("reject without the second factor: %v; want ErrStepUp", err)
	}
	if err := f.s.Reject(ctx, f.ann, c.ID, "changed my mind"); !errors.Is(err, ErrOwnChange) {
		t.Errorf("proposer rejects: %v; want ErrOwnChange (withdraw instead)", err)
	}
	if err := f.s.Reject(ctx, f.ben, c.ID, "  "); !errors.Is(err, ErrReasonRequired) {
		t.Errorf("reject without a reason: %v; want ErrReasonRequired", err)
	}
	if err := f.s.Withdraw(ctx, f.ben, c.ID); !errors.Is(err, ErrNotProposer) {
		t.Errorf("another admin withdraws: %v; want ErrNotProposer", err)
	}
	maker := f.actor(ivy)
	if _, err := f.s.Approve(ctx, maker, c.ID); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a maker approves: %v; want ErrNotAdmin", err)
	}
	if err := f.s.Reject(ctx, f.ben, c.ID, "Ivy has not asked for a reset"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(ctx, cleo, c.ID); !errors.Is(err, ErrDecided) {
		t.Errorf("approve a rejected change: %v; want ErrDecided", err)
	}
	if f.load(ivy.ID).PasswordHash != "old-hash" {
		t.Error("a rejected reset applied")
	}
	if rej := f.audits("change.reject"); len(rej) == 0 || !strings.Contains(rej[0].Detail, "has not asked") {
		t.Errorf("rejection audit entries %+v; want the reason", rej)
	}

	w := must(f.s.ProposePasswordReset(ctx, f.ann, ivy.ID))
	if err := f.s.Withdraw(ctx, f.ann, w.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.s.Waiting(ctx); n != 0 {
		t.Errorf("waiting after reject and withdraw: %d", n)
	}

	// A change whose proposer is no longer an admin is not applied.
	gone := must(f.s.ProposePasswordReset(ctx, cleo, ivy.ID))
	if _, err := f.s.UpdateUser(ctx, f.ann, cleo.UserID, Access{Name: "Cleo", Active: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(ctx, f.ben, gone.ID); !errors.Is(err, ErrProposerGone) {
		t.Errorf("approve a deactivated admin's change: %v; want ErrProposerGone", err)
	}
}

// TestConcurrentApprovalsApplyOnce: of several admins approving one change at
// once, one wins.
func TestConcurrentApprovalsApplyOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var admins []Actor
	for _, n := range []string{"c", "d", "e", "g"} {
		admins = append(admins, f.actor(f.user(n+"@example.com", n, "admin")))
	}
	c := must(f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"maker"}}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, links := 0, 0
	for _, a := range append(admins, f.ben) {
		wg.Go(func() {
			got, err := f.s.Approve(ctx, a, c.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
				if got.Link != "" {
					links++
				}
			case !errors.Is(err, ErrDecided):
				t.Errorf("Approve: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || links != 1 {
		t.Errorf("approvals won %d, links %d; want 1 and 1", won, links)
	}
}

// TestEveryChangeCommitsWithItsAuditEntry: an approval whose change cannot
// apply (the email was taken meanwhile) leaves neither the decision nor an
// "ok" audit entry behind.
func TestEveryChangeCommitsWithItsAuditEntry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := must(f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: "Ivy", Roles: []string{"maker"}}))
	f.user("ivy@example.com", "Ivy from the server", "maker")
	if _, err := f.s.Approve(ctx, f.ben, c.ID); !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("Approve: %v; want ErrEmailTaken", err)
	}
	if got, _ := f.db.AdminChangeByID(ctx, c.ID); got.State != store.ChangePending {
		t.Errorf("change is %s; want still pending", got.State)
	}
	for _, e := range f.audits("change.approve") {
		if e.Outcome == "ok" {
			t.Errorf("an approval that did not apply was audited as ok: %+v", e)
		}
	}
	for _, action := range []string{"change.propose"} {
		if len(f.audits(action)) != 1 {
			t.Errorf("%s entries: %d; want 1", action, len(f.audits(action)))
		}
	}
}

func TestProposeUserValidates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ve *fail.FieldError
	_, err := f.s.ProposeUser(ctx, f.ann, NewUser{Email: "not an email", Name: "", Roles: []string{"root"}})
	if !errors.As(err, &ve) || ve.Fields["email"] == "" || ve.Fields["name"] == "" || ve.Fields["role"] == "" {
		t.Errorf("bad new user: %v; want email, name and role errors", err)
	}
	_, err = f.s.ProposeUser(ctx, f.ann, NewUser{Email: "BEN@example.com", Name: "Ben again", Roles: []string{"maker"}})
	if !errors.As(err, &ve) || ve.Fields["email"] == "" {
		t.Errorf("existing email: %v; want an email error", err)
	}
	maker := f.actor(f.user("mia@example.com", "Mia", "maker"))
	if _, err := f.s.ProposeUser(ctx, maker, NewUser{Email: "x@example.com", Name: "X"}); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a maker proposes an account: %v; want ErrNotAdmin", err)
	}
}

// TestPeoplesNamesGoThroughTheOneNameRule: an account's name is text one
// admin types and others read, so it is cleaned and checked like a payee's
// (text.CheckName): runs of spaces fold, hidden characters are refused.
func TestPeoplesNamesGoThroughTheOneNameRule(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ve *fail.FieldError
	for _, name := range []string{"Ivy\u200bApprover", "Ivy\u202eApprover", "Ivy\nApprover"} {
		if _, err := f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: name, Roles: []string{"maker"}}); !errors.As(err, &ve) || ve.Fields["name"] == "" {
			t.Errorf("name %q: %v; want a name error", name, err)
		}
	}
	c, err := f.s.ProposeUser(ctx, f.ann, NewUser{Email: "ivy@example.com", Name: " Ivy\u00a0\u00a0 Approver ", Roles: []string{"maker"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Summary, "create Ivy Approver <ivy@example.com>") {
		t.Errorf("summary %q; want the name with its spaces folded", c.Summary)
	}
	ivy := f.user("ivy2@example.com", "Ivy", "maker")
	if _, err := f.s.UpdateUser(ctx, f.ann, ivy.ID, Access{Name: "Ivy  \u2009Two", Roles: []string{"maker"}, Active: true}); err != nil {
		t.Fatal(err)
	}
	if got := f.load(ivy.ID).Name; got != "Ivy Two" {
		t.Errorf("renamed to %q; want %q", got, "Ivy Two")
	}
}

func TestOperatorAddsAtOnce(t *testing.T) {
	f := newFixture(t)
	u, err := f.s.AddUserAsOperator(t.Context(), NewUser{Email: "op@example.com", Name: "Op", Roles: []string{"admin"}}, "hash", "cli")
	if err != nil {
		t.Fatal(err)
	}
	if f.load(u.ID).PasswordHash != "hash" {
		t.Error("operator's account has no password")
	}
	es := f.audits("user.create")
	if len(es) != 1 || es[0].Actor != "cli" || !strings.Contains(es[0].Detail, "server operator") {
		t.Errorf("audit = %+v; want one entry saying the operator did it", es)
	}
	if _, err := f.s.AddUserAsOperator(t.Context(), NewUser{Email: "op@example.com", Name: "Op", Roles: []string{"admin"}}, "hash", "cli"); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("same email twice: %v", err)
	}
}
