package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"countersign/handlers"
	"countersign/password"
	"countersign/payout"
	"countersign/store"
)

// demoAccounts exist only in sandbox mode, so that `go run .` can be clicked
// through at once. With a real provider no account exists until `users add`.
var demoAccounts = []handlers.DemoAccount{
	{Email: "maker@example.com", Password: "maker-demo-password", Roles: []string{"maker"}},
	{Email: "approver1@example.com", Password: "approver1-demo-password", Roles: []string{"approver"}},
	{Email: "approver2@example.com", Password: "approver2-demo-password", Roles: []string{"approver"}},
	{Email: "admin@example.com", Password: "admin-demo-password", Roles: []string{"admin"}},
	{Email: "auditor@example.com", Password: "auditor-demo-password", Roles: []string{"auditor"}},
}

var demoNames = map[string]string{
	"maker@example.com":     "Mia Maker",
	"approver1@example.com": "Alex Approver",
	"approver2@example.com": "Bea Approver",
	"admin@example.com":     "Ada Admin",
	"auditor@example.com":   "Otto Auditor",
}

// ensureDemoAccounts creates the demo accounts when the database has none at all.
func ensureDemoAccounts(ctx context.Context, db *store.DB, say func(string, ...any)) error {
	n, err := db.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	for _, d := range demoAccounts {
		u := &store.User{Email: d.Email, Name: demoNames[d.Email], Roles: d.Roles, Active: true, PasswordHash: password.Hash(d.Password)}
		if err := db.CreateUser(ctx, u); err != nil {
			return err
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
// approvers must approve.
func ensureDemoPolicy(ctx context.Context, db *store.DB, s *payout.Service) error {
	p, err := s.Policy(ctx)
	if err != nil || len(p.Thresholds) > 0 {
		return err
	}
	admin, err := db.UserByEmail(ctx, "admin@example.com")
	if errors.Is(err, store.ErrNotFound) {
		return nil // not the demo database
	}
	if err != nil {
		return err
	}
	return s.SetPolicy(ctx, payout.Actor{UserID: admin.ID, Email: admin.Email + " (demo set-up)", Roles: []payout.Role{payout.RoleAdmin}},
		payout.Policy{Thresholds: map[string]int64{"USD": 100000, "EUR": 100000, "RUB": 100000}})
}
