package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"countersign/admin"
	"countersign/handlers"
	"countersign/password"
	"countersign/payout"
	"countersign/stepup"
	"countersign/store"
)

// demoAccounts exist only in sandbox mode, so that `go run .` can be clicked
// through at once. With a real provider no account exists until `users add`.
//
// The approvers and admins come with their second factor set up under a
// published secret (base32, as an authenticator app takes it): the sign-in
// page shows their current codes, so the demo stays a few clicks. Two admins,
// so that dual control over administration can be shown.
var demoAccounts = []handlers.DemoAccount{
	{Email: "maker@example.com", Password: "maker-demo-password", Roles: []string{"maker"}},
	{Email: "approver1@example.com", Password: "approver1-demo-password", Roles: []string{"approver"}, Secret: "APPROVERONEDEMOSECRETCOUNTERSIGN"},
	{Email: "approver2@example.com", Password: "approver2-demo-password", Roles: []string{"approver"}, Secret: "APPROVERTWODEMOSECRETCOUNTERSIGN"},
	{Email: "admin@example.com", Password: "admin-demo-password", Roles: []string{"admin"}, Secret: "ADMINONEDEMOSECRETCOUNTERSIGNAAA"},
	{Email: "admin2@example.com", Password: "admin2-demo-password", Roles: []string{"admin"}, Secret: "ADMINTWODEMOSECRETCOUNTERSIGNAAA"},
	{Email: "auditor@example.com", Password: "auditor-demo-password", Roles: []string{"auditor"}},
}

var demoNames = map[string]string{
	"maker@example.com":     "Mia Maker",
	"approver1@example.com": "Alex Approver",
	"approver2@example.com": "Bea Approver",
	"admin@example.com":     "Ada Admin",
	"admin2@example.com":    "Abe Admin",
	"auditor@example.com":   "Otto Auditor",
}

// ensureDemoAccounts creates the demo accounts when the database has none at
// all, as the server's operator would, and enrols their published secrets.
func ensureDemoAccounts(ctx context.Context, db *store.DB, adm *admin.Service, factors *stepup.Service, say func(string, ...any)) error {
	n, err := db.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	for _, d := range demoAccounts {
		u, err := adm.AddUserAsOperator(ctx, admin.NewUser{Email: d.Email, Name: demoNames[d.Email], Roles: d.Roles},
			password.Hash(d.Password), "system (sandbox demo set-up)")
		if err != nil {
			return err
		}
		if d.Secret != "" {
			if err := factors.EnrolWithSecret(ctx, u, d.Secret, "sandbox demo account: published secret"); err != nil {
				return err
			}
		}
	}
	say("created %d sandbox demo accounts", len(demoAccounts))
	return nil
}

func printDemoAccounts(w io.Writer) {
	fmt.Fprintln(w, "Demo accounts (sandbox only):")
	for _, d := range demoAccounts {
		fmt.Fprintf(w, "  %-24s %-26s %v\n", d.Email, d.Password, d.Roles)
	}
}

// ensureDemoPolicy sets a second-approval threshold in sandbox mode, so that the
// demo shows both policies: at or above 1,000.00 in USD, EUR and RUB two
// approvers must approve (any other currency always needs two). It is the
// set-up of a demo database, done at once as the operator's.
func ensureDemoPolicy(ctx context.Context, db *store.DB, s *payout.Service) error {
	p, err := s.Policy(ctx)
	if err != nil || len(p.Thresholds) > 0 {
		return err
	}
	if _, err := db.UserByEmail(ctx, "admin@example.com"); errors.Is(err, store.ErrNotFound) {
		return nil // not the demo database
	} else if err != nil {
		return err
	}
	return db.InTx(ctx, func(tx *store.Tx) error {
		v, err := payout.SavePolicy(ctx, tx, payout.Policy{Thresholds: map[string]int64{"USD": 100000, "EUR": 100000, "GBP": 100000, "RUB": 100000}})
		if err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEntry{Actor: "system (sandbox demo set-up)", Action: "settings.policy", ObjectType: "setting",
			ObjectID: payout.PolicySetting, Outcome: "ok", Detail: "approval thresholds " + v})
	})
}
