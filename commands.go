package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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
	path := fs.String("db", def, "SQLite database file or postgres:// URL ($COUNTERSIGN_DB)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return store.Open(ctx, *path)
}

// dbFlag is the -db flag of a command that works on the database's file.
func dbFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	def := getenv("COUNTERSIGN_DB")
	if def == "" {
		def = "countersign.db"
	}
	return fs.String("db", def, "SQLite database file ($COUNTERSIGN_DB)")
}

// backupCommand copies a running SQLite database consistently and verifies
// the copy: `countersign backup -o FILE`.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("o", "", "the backup file to write (must not exist)")
	db, err := openDB(ctx, fs, args, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if *out == "" {
		return errors.New("usage: countersign backup -o FILE [-db FILE]")
	}
	if err := db.Backup(ctx, *out); err != nil {
		return err
	}
	n, err := store.VerifyFile(ctx, *out)
	if err != nil {
		return fmt.Errorf("the backup was written but does not verify: %w", err)
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes): integrity ok, audit log intact: %d entries\n", *out, info.Size(), n)
	return nil
}

// restoreCommand puts a backup in place of the SQLite database, with the
// console stopped: `countersign restore -i FILE`.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	in := fs.String("i", "", "the backup file to restore")
	path := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("usage: countersign restore -i FILE [-db FILE] (with the console stopped)")
	}
	kept, err := store.Restore(ctx, *in, *path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", *path, *in)
	if kept != "" {
		fmt.Fprintf(stdout, "the database it replaced is kept as %s\n", kept)
	}
	return nil
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
	if err := password.Check(pw); err != nil {
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
