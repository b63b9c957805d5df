package payout

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"countersign/fail"
	"countersign/smartglocal/bank"
	"countersign/store"
)

// SenderSetting is the settings key of the sender company, stored as JSON.
const SenderSetting = "bank.sender"

// ErrNoSender refuses a bank-account payout while no sender company is set.
var ErrNoSender = fail.New(fail.Conflict, "no_sender",
	"Bank-account payouts carry the sender company, and none is set yet: an admin sets it in Settings.")

// Sender returns the sender company that bank-account payouts carry, and
// whether one was ever set.
func (s *Service) Sender(ctx context.Context) (bank.Sender, bool, error) {
	v, err := s.db.Setting(ctx, SenderSetting, "")
	if err != nil || v == "" {
		return bank.Sender{}, false, err
	}
	var snd bank.Sender
	if err := json.Unmarshal([]byte(v), &snd); err != nil {
		return bank.Sender{}, false, fmt.Errorf("stored %s: %w", SenderSetting, err)
	}
	return snd, true, nil
}

// SetSender stores the sender company, as typed, normalised by
// bank.CheckSender; only admins may, and the change is audited with the new
// values. What is wrong is a *fail.FieldError keyed by the sender's JSON
// names (company_name, registration_number, country_iso3, code, …).
func (s *Service) SetSender(ctx context.Context, a Actor, typed bank.Sender) (bank.Sender, error) {
	if a.UserID <= 0 || !slices.Contains(a.Roles, RoleAdmin) {
		s.denied(ctx, a, "sender.update", 0, ErrNotAdminSettings)
		return bank.Sender{}, ErrNotAdminSettings
	}
	snd, bad := bank.CheckSender(typed)
	if bad != nil {
		return bank.Sender{}, fail.Fields(bad)
	}
	v, err := json.Marshal(snd)
	if err != nil {
		return bank.Sender{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetSetting(ctx, SenderSetting, string(v)); err != nil {
			return err
		}
		e := a.audit("sender.update", 0, "ok", SenderWords(snd))
		e.ObjectType, e.ObjectID = "setting", SenderSetting
		return tx.Audit(ctx, e)
	})
	return snd, err
}

// ErrNotAdminSettings refuses a settings change by someone who is not an admin.
var ErrNotAdminSettings = fail.New(fail.Forbidden, "not_admin", "Only admins can change the settings.")

// SenderWords is the sender company in one line, for the audit log and the
// settings page: "Acme Payroll Ltd, registration 09876543, GBR, code 09876543, 10 Finsbury Square, London EC2A 1AF".
func SenderWords(snd bank.Sender) string {
	parts := []string{snd.CompanyName, "registration " + snd.RegistrationNumber, snd.CountryISO3, "code " + snd.Code}
	if snd.AddressLine != "" {
		parts = append(parts, snd.AddressLine)
	}
	if place := strings.TrimSpace(strings.Join([]string{snd.City, snd.PostalCode, snd.State}, " ")); place != "" {
		parts = append(parts, strings.Join(strings.Fields(place), " "))
	}
	return strings.Join(parts, ", ")
}
