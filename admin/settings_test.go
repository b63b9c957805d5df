package admin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal/bank"
	"countersign/stepup"
)

func (f *fixture) settings() Settings {
	f.t.Helper()
	s, err := f.s.Settings(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// setPolicy sets the thresholds, by two admins when it takes two.
func (f *fixture) setPolicy(th map[string]int64) {
	f.t.Helper()
	res, err := f.s.ChangeSettings(context.Background(), f.ann, Settings{Thresholds: th, LowLevels: f.settings().LowLevels})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range res.Pending {
		f.approve(f.ben, c)
	}
}

func TestANewInstallationsFirstThresholdWaits(t *testing.T) {
	f := newFixture(t)
	res, err := f.s.ChangeSettings(context.Background(), f.ann, Settings{Thresholds: map[string]int64{"USD": 100000}})
	if err != nil || len(res.Pending) != 1 || len(f.settings().Thresholds) != 0 {
		t.Errorf("first threshold: %+v, %v; want it waiting (with none, every payout needs two)", res, err)
	}
}

func TestASettingsChangeWithoutRowsIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.setPolicy(map[string]int64{"USD": 100000})
	for _, empty := range []Settings{{}, {Thresholds: map[string]int64{}, LowLevels: map[string]int64{"USD": 5}}} {
		var ve *fail.FieldError
		if _, err := f.s.ChangeSettings(ctx, f.ann, empty); !errors.As(err, &ve) {
			t.Errorf("settings %+v: %v; want refused", empty, err)
		}
	}
	if got := f.settings().Thresholds; got["USD"] != 100000 || len(got) != 1 {
		t.Errorf("thresholds after refused changes: %v", got)
	}
}

// TestStricterPolicyAppliesLooserWaits: lowering a threshold or removing one
// (no threshold means two approvers) applies at once; raising one, or setting
// one for a currency that had none, waits for another admin.
func TestStricterPolicyAppliesLooserWaits(t *testing.T) {
	ctx := context.Background()
	start := map[string]int64{"USD": 100000, "EUR": 100000}
	for _, tt := range []struct {
		name    string
		to      map[string]int64
		applied bool
	}{
		{"lower USD", map[string]int64{"USD": 50000, "EUR": 100000}, true},
		{"remove EUR", map[string]int64{"USD": 100000}, true},
		{"zero USD", map[string]int64{"USD": 0, "EUR": 100000}, true},
		{"raise USD", map[string]int64{"USD": 200000, "EUR": 100000}, false},
		{"add GBP", map[string]int64{"USD": 100000, "EUR": 100000, "GBP": 100000}, false},
		{"lower one, raise another", map[string]int64{"USD": 50000, "EUR": 200000}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.setPolicy(start)
			res, err := f.s.ChangeSettings(ctx, f.ann, Settings{Thresholds: tt.to})
			if err != nil {
				t.Fatal(err)
			}
			now := f.settings().Thresholds
			if tt.applied {
				if len(res.Applied) != 1 || len(res.Pending) != 0 || len(now) != len(tt.to) {
					t.Errorf("result %+v, thresholds %v; want applied at once", res, now)
				}
				return
			}
			if len(res.Applied) != 0 || len(res.Pending) != 1 || len(now) != 2 || now["USD"] != 100000 {
				t.Fatalf("result %+v, thresholds %v; want it waiting", res, now)
			}
			if _, err := f.s.Approve(ctx, f.ann, res.Pending[0].ID); !errors.Is(err, ErrOwnChange) {
				t.Errorf("proposer loosens alone: %v", err)
			}
			f.approve(f.ben, res.Pending[0])
			if now := f.settings().Thresholds; len(now) != len(tt.to) {
				t.Errorf("after approval: %v; want %v", now, tt.to)
			}
		})
	}
}

// TestAStaleChangeIsNotApplied: a change proposed against settings that have
// changed since would undo that change; it is refused.
func TestAStaleChangeIsNotApplied(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.setPolicy(map[string]int64{"USD": 100000})
	res, _ := f.s.ChangeSettings(ctx, f.ann, Settings{Thresholds: map[string]int64{"USD": 900000}})
	if _, err := f.s.ChangeSettings(ctx, f.ben, Settings{Thresholds: map[string]int64{"USD": 10000}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(ctx, f.ben, res.Pending[0].ID); !errors.Is(err, ErrStale) {
		t.Errorf("approve a stale change: %v; want ErrStale", err)
	}
	if got := f.settings().Thresholds["USD"]; got != 10000 {
		t.Errorf("USD threshold %d; want the newer 10000", got)
	}
}

func TestLowBalanceLevelsWait(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.setPolicy(map[string]int64{"USD": 100000})
	res, err := f.s.ChangeSettings(ctx, f.ann, Settings{Thresholds: map[string]int64{"USD": 0}, LowLevels: map[string]int64{"USD": 50000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 1 || len(res.Pending) != 1 || res.Pending[0].Kind != string(KindLowBalance) {
		t.Fatalf("result = %+v; want the stricter policy applied and the levels waiting", res)
	}
	if len(f.settings().LowLevels) != 0 {
		t.Error("levels applied at once")
	}
	f.approve(f.ben, res.Pending[0])
	if got := f.settings().LowLevels; got["USD"] != 50000 {
		t.Errorf("levels after approval: %v", got)
	}
	maker := f.actor(f.user("mia@example.com", "Mia", "maker", "approver"))
	if _, err := f.s.ChangeSettings(ctx, maker, Settings{Thresholds: map[string]int64{"USD": 0}}); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a non-admin changes settings: %v", err)
	}
}

func TestSecondFactorPolicy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	def, err := f.s.SecondFactorPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Asking more applies at once.
	res, err := f.s.ChangeSecondFactorPolicy(ctx, f.ann, stepup.Policy{Roles: []string{"admin", "approver", "maker"}, Window: time.Minute})
	if err != nil || len(res.Applied) != 1 || len(res.Pending) != 0 {
		t.Fatalf("stricter: %+v, %v; want applied", res, err)
	}
	// Asking less waits.
	for _, looser := range []stepup.Policy{
		{Roles: []string{"admin", "maker"}, Window: time.Minute},
		{Roles: []string{"admin", "approver", "maker"}, Window: 10 * time.Minute},
	} {
		res, err := f.s.ChangeSecondFactorPolicy(ctx, f.ann, looser)
		if err != nil || len(res.Pending) != 1 || len(res.Applied) != 0 {
			t.Errorf("looser %v: %+v, %v; want it waiting", looser, res, err)
		}
	}
	if got, _ := f.s.SecondFactorPolicy(ctx); got.Window != time.Minute || len(got.Roles) != 3 {
		t.Errorf("policy = %v; want the stricter one only", got)
	}
	var ve *fail.FieldError
	if _, err := f.s.ChangeSecondFactorPolicy(ctx, f.ann, stepup.Policy{Roles: []string{"root"}, Window: time.Hour}); !errors.As(err, &ve) || ve.Fields["window"] == "" || ve.Fields["role"] == "" {
		t.Errorf("bad policy: %v", err)
	}
	// Back to the default drops a role and lengthens the window: it waits.
	res, _ = f.s.ChangeSecondFactorPolicy(ctx, f.ann, def)
	f.approve(f.ben, res.Pending[0])
	if got, _ := f.s.SecondFactorPolicy(ctx); !got.Equal(def) {
		t.Errorf("after approval: %v; want %v", got, def)
	}
}

// TestSenderIsAChangeForASecondAdmin: the sender company of bank-account
// payouts, the first one included, applies only when another admin approves
// it; the proposer cannot; a bad sender is refused field by field; the same
// sender again proposes nothing; a change of a sender that changed since is
// stale.
func TestSenderIsAChangeForASecondAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sender := func() (bank.Sender, bool) {
		v, err := f.db.Setting(ctx, payout.SenderSetting, "")
		if err != nil {
			t.Fatal(err)
		}
		snd, ok, err := payout.ParseSender(v)
		if err != nil {
			t.Fatal(err)
		}
		return snd, ok
	}
	acme := bank.Sender{CompanyName: "Acme Payroll Ltd", RegistrationNumber: "09876543", CountryISO3: "gbr", Code: "09876543"}

	maker := f.actor(f.user("mia@example.com", "Mia", "maker", "approver"))
	if _, err := f.s.ProposeSender(ctx, maker, acme); !errors.Is(err, ErrNotAdmin) {
		t.Errorf("a non-admin proposes the sender: %v; want ErrNotAdmin", err)
	}
	var fe *fail.FieldError
	if _, err := f.s.ProposeSender(ctx, f.ann, bank.Sender{CompanyName: "12345"}); !errors.As(err, &fe) || fe.Fields["company_name"] == "" || fe.Fields["code"] == "" {
		t.Errorf("a bad sender: %v; want field errors", err)
	}
	res, err := f.s.ProposeSender(ctx, f.ann, acme)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || len(res.Pending) != 1 || res.Pending[0].Kind != string(KindSender) ||
		res.Pending[0].Summary != "sender company (none) → Acme Payroll Ltd, registration 09876543, GBR, code 09876543" {
		t.Fatalf("result = %+v; want one change waiting, in words", res)
	}
	if _, ok := sender(); ok {
		t.Fatal("the sender applied at once")
	}
	if _, err := f.s.Approve(ctx, f.ann, res.Pending[0].ID); !errors.Is(err, ErrOwnChange) {
		t.Errorf("the proposer approves: %v; want ErrOwnChange", err)
	}
	f.approve(f.ben, res.Pending[0])
	if snd, ok := sender(); !ok || snd.CompanyName != "Acme Payroll Ltd" || snd.CountryISO3 != "GBR" {
		t.Errorf("sender after approval: %+v, %v", snd, ok)
	}
	if res, err := f.s.ProposeSender(ctx, f.ben, acme); err != nil || len(res.Pending) != 0 {
		t.Errorf("the same sender again: %+v, %v; want nothing proposed", res, err)
	}

	// Two proposals from the same sender: the first approved makes the second stale.
	moved := acme
	moved.AddressLine = "10 Finsbury Square"
	first, err := f.s.ProposeSender(ctx, f.ann, moved)
	if err != nil {
		t.Fatal(err)
	}
	renamed := acme
	renamed.CompanyName = "Acme Payroll Group Ltd"
	second, err := f.s.ProposeSender(ctx, f.ann, renamed)
	if err != nil {
		t.Fatal(err)
	}
	f.approve(f.ben, first.Pending[0])
	if _, err := f.s.Approve(ctx, f.ben, second.Pending[0].ID); !errors.Is(err, ErrStale) {
		t.Errorf("approving a sender change made against an older sender: %v; want ErrStale", err)
	}
	if snd, _ := sender(); snd.AddressLine != "10 Finsbury Square" || snd.CompanyName != "Acme Payroll Ltd" {
		t.Errorf("sender = %+v; want the first change's", snd)
	}
	if len(f.audits("change.approve")) == 0 {
		t.Error("the approval is not audited")
	}
}

// TestCurrencyKeysAreJudgedAsStored: the service, not only the form, reads
// "usd" as USD, so a lower threshold under one case cannot hide a higher one
// under another, and a currency named twice is refused with a clear message.
func TestCurrencyKeysAreJudgedAsStored(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.setPolicy(map[string]int64{"USD": 100000})

	var fe *fail.FieldError
	_, err := f.s.ChangeSettings(ctx, f.ann, Settings{Thresholds: map[string]int64{"USD": 100, "usd": 1e11}})
	if !errors.As(err, &fe) || !strings.Contains(fe.Fields["threshold"], "USD is named twice") {
		t.Errorf("USD and usd: %v; want refused, naming USD twice", err)
	}
	_, err = f.s.ChangeSettings(ctx, f.ann, Settings{Thresholds: map[string]int64{"USD": 100000}, LowLevels: map[string]int64{"eur": 1, "EUR": 2}})
	if !errors.As(err, &fe) || !strings.Contains(fe.Fields["low"], "EUR is named twice") {
		t.Errorf("EUR and eur levels: %v; want refused", err)
	}
	if got := f.settings().Thresholds; len(got) != 1 || got["USD"] != 100000 {
		t.Fatalf("thresholds after refusals: %v; want USD 1,000.00 only", got)
	}

	// A lower-case raise is a raise: it waits, and is stored upper-case.
	res, err := f.s.ChangeSettings(ctx, f.ann, Settings{Thresholds: map[string]int64{"usd": 1e11}})
	if err != nil || len(res.Applied) != 0 || len(res.Pending) != 1 {
		t.Fatalf("raise as usd: %+v, %v; want it waiting for another admin", res, err)
	}
	if got := f.settings().Thresholds; got["USD"] != 100000 {
		t.Errorf("threshold before approval: %v; want unchanged", got)
	}
	f.approve(f.ben, res.Pending[0])
	if got := f.settings().Thresholds; len(got) != 1 || got["USD"] != 1e11 {
		t.Errorf("thresholds after approval: %v; want one USD key", got)
	}
	// A lower-case cut applies at once, under the upper-case key.
	if res, err := f.s.ChangeSettings(ctx, f.ann, Settings{Thresholds: map[string]int64{" usd ": 500}}); err != nil || len(res.Applied) != 1 {
		t.Fatalf("cut as usd: %+v, %v; want applied at once", res, err)
	}
	if got := f.settings().Thresholds; len(got) != 1 || got["USD"] != 500 {
		t.Errorf("thresholds after cut: %v", got)
	}
}
