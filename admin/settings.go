package admin

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"countersign/fail"
	"countersign/payout"
	"countersign/smartglocal/bank"
	"countersign/stepup"
	"countersign/store"
)

// Settings are the approval thresholds and the low-balance levels, per
// currency in minor units: the settings page's rows.
type Settings struct {
	Thresholds map[string]int64
	LowLevels  map[string]int64
}

// ErrNoThresholds refuses a settings change without a single threshold: a
// form sent without its rows must not read as "remove every threshold".
var ErrNoThresholds = fail.Field("threshold", "Set a threshold for at least one currency. A currency with no threshold needs two approvers for every payout.")

// Settings reads the approval policy and the low-balance levels.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	pol, err := payout.ReadPolicy(ctx, s.db)
	if err != nil {
		return Settings{}, err
	}
	v, err := s.db.Setting(ctx, payout.LowBalanceSetting, "")
	if err != nil {
		return Settings{}, err
	}
	low, err := payout.ParseLevels(v)
	if err != nil {
		return Settings{}, err
	}
	return Settings{Thresholds: pol.Thresholds, LowLevels: low}, nil
}

// ChangeSettings applies a stricter approval policy at once and proposes a
// looser one (and any change of the low-balance levels) for another admin.
// Stricter means no currency's payouts need a second approver less often: a
// lower threshold, or none (a currency with no threshold needs two).
func (s *Service) ChangeSettings(ctx context.Context, a Actor, to Settings) (Result, error) {
	if len(to.Thresholds) == 0 {
		return Result{}, ErrNoThresholds
	}
	newPolicy, err := payout.Policy{Thresholds: to.Thresholds}.Format()
	if err != nil {
		return Result{}, err
	}
	newLevels, err := payout.FormatLevels(to.LowLevels)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		oldPolicy, err := tx.Setting(ctx, payout.PolicySetting, "")
		if err != nil {
			return err
		}
		oldLevels, err := tx.Setting(ctx, payout.LowBalanceSetting, "")
		if err != nil {
			return err
		}
		if oldPolicy != newPolicy {
			old, err := payout.ParsePolicy(oldPolicy)
			if err != nil {
				return err
			}
			words := fmt.Sprintf("approval thresholds %s → %s", describe(oldPolicy), describe(newPolicy))
			if stricter(payout.Policy{Thresholds: to.Thresholds}, old) {
				if _, err := payout.SavePolicy(ctx, tx, payout.Policy{Thresholds: to.Thresholds}); err != nil {
					return err
				}
				e := entry(a, "settings.policy", "setting", 0, "ok", words+" (stricter: applied at once)")
				e.ObjectID = payout.PolicySetting
				if err := tx.Audit(ctx, e); err != nil {
					return err
				}
				res.Applied = append(res.Applied, words)
			} else {
				c, err := s.propose(ctx, tx, a, KindPolicy, 0, payload{From: oldPolicy, To: newPolicy}, words)
				if err != nil {
					return err
				}
				res.Pending = append(res.Pending, c)
			}
		}
		if oldLevels != newLevels {
			c, err := s.propose(ctx, tx, a, KindLowBalance, 0, payload{From: oldLevels, To: newLevels},
				fmt.Sprintf("low-balance levels %s → %s", describe(oldLevels), describe(newLevels)))
			if err != nil {
				return err
			}
			res.Pending = append(res.Pending, c)
		}
		return nil
	})
	if err != nil {
		return Result{}, s.denied(ctx, a, "settings.update", "setting", 0, err)
	}
	return res, nil
}

// stricter reports whether next asks for a second approver at least as
// often as old, in every currency either names.
func stricter(next, old payout.Policy) bool {
	curs := slices.Collect(maps.Keys(next.Thresholds))
	curs = append(curs, slices.Collect(maps.Keys(old.Thresholds))...)
	for _, c := range curs {
		if twoFrom(next, c) > twoFrom(old, c) {
			return false
		}
	}
	return true
}

// twoFrom is the amount from which currency needs two approvers: 0 (every
// payout) when it has no threshold.
func twoFrom(p payout.Policy, currency string) int64 {
	t, ok := p.Threshold(currency)
	if !ok || t < 0 {
		return 0
	}
	return t
}

func describe(stored string) string {
	if stored == "" {
		return "(none)"
	}
	// Stored in minor units ("USD=100000"); said in the currency's units
	// ("1,000.00 USD"), as people type them on the settings page.
	levels, err := payout.ParseLevels(stored)
	if err != nil {
		return stored
	}
	var parts []string
	for _, cur := range slices.Sorted(maps.Keys(levels)) {
		parts = append(parts, payout.FormatAmount(levels[cur], cur)+" "+cur)
	}
	return strings.Join(parts, ", ")
}

// SecondFactorPolicy reads who must give a second factor and for how long a code covers.
func (s *Service) SecondFactorPolicy(ctx context.Context) (stepup.Policy, error) {
	return stepup.ReadPolicy(ctx, s.db.Setting)
}

// ChangeSecondFactorPolicy applies a stricter second-factor policy at once
// (more roles, a shorter window) and proposes a looser one for another admin.
func (s *Service) ChangeSecondFactorPolicy(ctx context.Context, a Actor, to stepup.Policy) (Result, error) {
	bad := map[string]string{}
	checkRoles(to.Roles, bad)
	if to.Window < 0 || to.Window > stepup.MaxWindow || to.Window%time.Second != 0 {
		bad["window"] = fmt.Sprintf("Choose a window from 0 to %d minutes", int(stepup.MaxWindow/time.Minute))
	}
	if err := invalid(bad); err != nil {
		return Result{}, err
	}
	to.Roles = normalRoles(to.Roles)
	var res Result
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		old, err := stepup.ReadPolicy(ctx, tx.Setting)
		if err != nil || old.Equal(to) {
			return err
		}
		words := old.String() + " → " + to.String()
		if !to.Looser(old) {
			if err := to.Save(ctx, tx); err != nil {
				return err
			}
			if err := tx.Audit(ctx, entry(a, "settings.second_factor", "setting", 0, "ok", words+" (stricter: applied at once)")); err != nil {
				return err
			}
			res.Applied = append(res.Applied, words)
			return nil
		}
		c, err := s.propose(ctx, tx, a, KindSecondFactor, 0, payload{FromFactor: factorOf(old), ToFactor: factorOf(to)}, words)
		if err != nil {
			return err
		}
		res.Pending = append(res.Pending, c)
		return nil
	})
	if err != nil {
		return Result{}, s.denied(ctx, a, "settings.update", "setting", 0, err)
	}
	return res, nil
}

func factorOf(p stepup.Policy) *factorPolicy {
	return &factorPolicy{Roles: p.Roles, WindowSeconds: int(p.Window / time.Second)}
}

func (f *factorPolicy) policy() stepup.Policy {
	return stepup.Policy{Roles: f.Roles, Window: time.Duration(f.WindowSeconds) * time.Second}
}

// ProposeSender proposes a new sender company for bank-account payouts, as
// typed (normalised by bank.CheckSender). The sender is what every bank
// payout says it comes from, so a change, the first one included, always
// waits for a second admin. What is wrong is a *fail.FieldError keyed by
// the sender's JSON names (company_name, registration_number, …); the same
// sender as set proposes nothing.
func (s *Service) ProposeSender(ctx context.Context, a Actor, typed bank.Sender) (Result, error) {
	snd, bad := bank.CheckSender(typed)
	if bad != nil {
		return Result{}, fail.Fields(bad)
	}
	to, err := payout.FormatSender(snd)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := admin(ctx, tx, a); err != nil {
			return err
		}
		from, err := tx.Setting(ctx, payout.SenderSetting, "")
		if err != nil || from == to {
			return err
		}
		old, _, err := payout.ParseSender(from)
		if err != nil {
			return err
		}
		words := "sender company (none)"
		if from != "" {
			words = "sender company " + payout.SenderWords(old)
		}
		c, err := s.propose(ctx, tx, a, KindSender, 0, payload{From: from, To: to}, words+" → "+payout.SenderWords(snd))
		if err != nil {
			return err
		}
		res.Pending = append(res.Pending, c)
		return nil
	})
	if err != nil {
		return Result{}, s.denied(ctx, a, "settings.sender", "setting", 0, err)
	}
	return res, nil
}
