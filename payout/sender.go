package payout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"countersign/fail"
	"countersign/smartglocal/bank"
)

// SenderSetting is the settings key of the sender company, stored as JSON.
const SenderSetting = "bank.sender"

// ErrNoSender refuses a bank-account payout while no sender company is set.
var ErrNoSender = fail.New(fail.Conflict, "no_sender",
	"Bank-account payouts carry the sender company, and none is set yet: an admin proposes it in Settings and another admin approves it.")

// Sender returns the sender company that bank-account payouts carry, and
// whether one was ever set. It changes only through package admin, as a
// change a second admin approves.
func (s *Service) Sender(ctx context.Context) (bank.Sender, bool, error) {
	v, err := s.db.Setting(ctx, SenderSetting, "")
	if err != nil {
		return bank.Sender{}, false, err
	}
	return ParseSender(v)
}

// ParseSender reads a stored sender company; "" is none.
func ParseSender(v string) (bank.Sender, bool, error) {
	if v == "" {
		return bank.Sender{}, false, nil
	}
	var snd bank.Sender
	if err := json.Unmarshal([]byte(v), &snd); err != nil {
		return bank.Sender{}, false, fmt.Errorf("stored %s: %w", SenderSetting, err)
	}
	return snd, true, nil
}

// FormatSender is a sender company (checked by bank.CheckSender) as stored.
func FormatSender(snd bank.Sender) (string, error) {
	v, err := json.Marshal(snd)
	return string(v), err
}

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
