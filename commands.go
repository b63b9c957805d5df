package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"countersign/admin"
	"countersign/audit"
	"countersign/password"
	"countersign/payout"
	"countersign/secret"
	"countersign/store"
)

// files are the database and the files kept beside it, as the commands take them.
type files struct{ db, key, checkpoint *string }

// fileFlags registers -db, -secret-key-file and -audit-checkpoint-file, with
// the same environment variables and defaults as the server.
func fileFlags(fs *flag.FlagSet, getenv func(string) string) files {
	def := func(env, fallback string) string {
		if v := getenv(env); v != "" {
			return v
		}
		return fallback
	}
	return files{
		db:         fs.String("db", def("COUNTERSIGN_DB", "countersign.db"), "SQLite database file or postgres:// URL ($COUNTERSIGN_DB)"),
		key:        fs.String("secret-key-file", getenv("COUNTERSIGN_SECRET_KEY_FILE"), "secret key file ($COUNTERSIGN_SECRET_KEY_FILE; default beside the database)"),
		checkpoint: fs.String("audit-checkpoint-file", getenv("COUNTERSIGN_AUDIT_CHECKPOINT_FILE"), "audit checkpoint file ($COUNTERSIGN_AUDIT_CHECKPOINT_FILE; default beside the key)"),
	}
}

// paths returns the database, key and checkpoint paths after parsing.
func (f files) paths() (db, key, checkpoint string, err error) {
	key, checkpoint, err = keyFiles(*f.db, *f.key, *f.checkpoint)
	return *f.db, key, checkpoint, err
}

func openDB(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string) (*store.DB, error) {
	f := fileFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return store.Open(ctx, *f.db)
}

// backupCommand copies a running SQLite database consistently and verifies
// the copy: `countersign backup -o FILE`.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("o", "", "the backup file to write (must not exist)")
	f := fileFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("usage: countersign backup -o FILE [-db FILE] [-secret-key-file FILE] [-audit-checkpoint-file FILE]")
	}
	dbPath, keyPath, checkpointPath, err := f.paths()
	if err != nil {
		return err
	}
	key, err := secret.Load(keyPath)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, *out); err != nil {
		return err
	}
	r, err := verifyCopy(ctx, *out, key, checkpointPath)
	if err != nil {
		return fmt.Errorf("the backup was written but does not verify: %w", err)
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes): integrity ok, audit log intact: %d entries\n", *out, info.Size(), r.Entries)
	return nil
}

// verifyCopy checks a backup: SQLite's integrity, the audit chain, and the
// checkpoint where the copy reaches it.
func verifyCopy(ctx context.Context, path string, key *secret.Key, checkpointPath string) (audit.Report, error) {
	copyDB, err := store.OpenCopy(ctx, path)
	if err != nil {
		return audit.Report{}, err
	}
	defer copyDB.Close()
	return audit.VerifyCopy(ctx, copyDB, key, checkpointPath)
}

// restoreCommand puts a backup in place of the SQLite database, with the
// console stopped: `countersign restore -i FILE`. A checkpoint newer than
// the backup would say that the restored log was cut short, which it was, on
// purpose: it is set aside (kept), the restore is recorded in the restored
// log, and a checkpoint of that is written.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	in := fs.String("i", "", "the backup file to restore")
	f := fileFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("usage: countersign restore -i FILE [-db FILE] [-secret-key-file FILE] [-audit-checkpoint-file FILE] (with the console stopped)")
	}
	dbPath, keyPath, checkpointPath, err := f.paths()
	if err != nil {
		return err
	}
	key, err := secret.Load(keyPath)
	if err != nil {
		return err
	}
	r, err := verifyCopy(ctx, *in, key, checkpointPath)
	if err != nil {
		return fmt.Errorf("the backup does not verify: %w", err)
	}
	kept, err := store.Restore(ctx, *in, dbPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s: %d audit entries\n", dbPath, *in, r.Entries)
	if kept != "" {
		fmt.Fprintf(stdout, "the database it replaced is kept as %s\n", kept)
	}
	if _, err := os.Stat(checkpointPath); err == nil && r.Checkpoint.Entry == 0 {
		aside := checkpointPath + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(checkpointPath, aside); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "the audit checkpoint is newer than the backup: kept as %s; checkpoints start again from the restored log\n", aside)
	}
	db, checkpointer, err := openKeyed(ctx, f, stdout)
	if err != nil {
		return err
	}
	defer db.Close()
	detail := fmt.Sprintf("restored from %s (%d audit entries)", filepath.Base(*in), r.Entries)
	if kept != "" {
		detail += "; the database it replaced is kept as " + filepath.Base(kept)
	}
	if err := db.Audit(ctx, store.AuditEntry{Actor: "operator (countersign restore)", Action: "backup.restore", Outcome: "ok", Detail: detail}); err != nil {
		return err
	}
	return checkpointer.WriteNow(ctx)
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
	f := fileFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
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
	db, checkpointer, err := openKeyed(ctx, f, stdout)
	if err != nil {
		return err
	}
	defer db.Close()
	// The operator acts at once: whoever runs commands on the server holds
	// the database and the key already. The audit log says it was them.
	u, err := admin.New(db, nil, nil).AddUserAsOperator(ctx, admin.NewUser{Email: *email, Name: *name, Roles: roles},
		password.Hash(pw), "operator (countersign users add)")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %d %s (%s)\n", u.ID, u.Email, strings.Join(u.Roles, ","))
	return checkpointer.WriteNow(ctx)
}

// openKeyed opens the database for a command that writes to the audit log:
// with the secret key (created if this is the installation's first command,
// as the server would) and a checkpointer to record what the command added.
func openKeyed(ctx context.Context, f files, say io.Writer) (*store.DB, *audit.Checkpointer, error) {
	dbPath, keyPath, checkpointPath, err := f.paths()
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, err
	}
	key, created, err := keyAudit(ctx, db, keyPath)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if created {
		fmt.Fprintf(say, "created a new secret key file at %s: keep it private and back it up apart from the database\n", keyPath)
	}
	return db, &audit.Checkpointer{DB: db, Key: key, Path: checkpointPath}, nil
}

// auditCommand checks the audit log's chain and its last checkpoint:
// `countersign audit verify`. It needs the secret key file and never creates one.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: countersign audit verify [-db FILE] [-secret-key-file FILE] [-audit-checkpoint-file FILE]")
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	f := fileFlags(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	dbPath, keyPath, checkpointPath, err := f.paths()
	if err != nil {
		return err
	}
	key, err := secret.Load(keyPath)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := audit.Verify(ctx, db, key, checkpointPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries", r.Entries)
	if r.KeyedFrom != 0 {
		fmt.Fprintf(stdout, ", keyed from entry %d", r.KeyedFrom)
	}
	if r.Checkpoint.Entry != 0 {
		fmt.Fprintf(stdout, ", matches the checkpoint of entry %d (%s)", r.Checkpoint.Entry, r.Checkpoint.At.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	return nil
}
