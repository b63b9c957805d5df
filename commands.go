package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"countersign/password"
	"countersign/payout"
	"countersign/store"
)

func openDB(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string) (*store.DB, error) {
	def := getenv("COUNTERSIGN_DB")
	if def == "" {
		def = "countersign.db"
	}
	path := fs.String("db", def, "SQLite database file ($COUNTERSIGN_DB)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return store.Open(ctx, *path)
}

// usersCommand lists accounts, or with "add" creates one reading the password from stdin.
func usersCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "add" {
		return addUser(ctx, args[1:], getenv, stdin, stdout)
	}
	db, err := openDB(ctx, flag.NewFlagSet("users", flag.ContinueOnError), args, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	users, err := db.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLES\tACTIVE")
	for _, u := range users {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\n", u.ID, u.Email, u.Name, strings.Join(u.Roles, ","), u.Active)
	}
	return tw.Flush()
}

func addUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	email := fs.String("email", "", "email address (sign-in name)")
	name := fs.String("name", "", "display name")
	var roles []string
	fs.Func("role", "role: maker, approver, admin or auditor (repeat for several)", func(r string) error {
		for _, known := range payout.AllRoles() {
			if r == string(known) {
				roles = append(roles, r)
				return nil
			}
		}
		return fmt.Errorf("unknown role %q", r)
	})
	db, err := openDB(ctx, fs, args, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if *email == "" || *name == "" || len(roles) == 0 {
		return errors.New("users add needs -email, -name and at least one -role; the password is read from stdin")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := password.Check(pw, password.Account{Email: *email, Name: *name}); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	u := &store.User{Email: *email, Name: *name, Roles: roles, Active: true, PasswordHash: password.Hash(pw)}
	if err := db.CreateUser(ctx, u); err != nil {
		return err
	}
	if err := db.Audit(ctx, store.AuditEntry{Actor: "cli", Action: "user.create", ObjectType: "user", ObjectID: fmt.Sprint(u.ID), Outcome: "ok",
		Detail: u.Email + " roles=" + strings.Join(u.Roles, ",")}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %d %s (%s)\n", u.ID, u.Email, strings.Join(u.Roles, ","))
	return nil
}

// auditCommand checks the audit log's hash chain: `countersign audit verify`.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: countersign audit verify [-db FILE]")
	}
	db, err := openDB(ctx, flag.NewFlagSet("audit verify", flag.ContinueOnError), args[1:], getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	n, brk, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if brk != nil {
		return fmt.Errorf("audit log broken at entry %d after %d good entries: %s", brk.ID, n, brk.Reason)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
	return nil
}
