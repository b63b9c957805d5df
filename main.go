// Command countersign serves the Countersign payout console.
//
//	countersign                 serve the console (embedded sandbox provider unless SMARTGLOCAL_URL is set)
//	countersign sandbox         run the provider simulator alone
//	countersign users           list accounts
//	countersign users add       create an account (password on stdin)
//	countersign audit verify    check the audit log's hash chain
//	countersign backup -o FILE  copy a running SQLite database consistently, and verify the copy
//	countersign restore -i FILE put a backup in place of the SQLite database (console stopped)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"countersign/smartglocal/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "countersign:", err)
		os.Exit(1)
	}
}

// run dispatches a command line; everything the program touches comes in as an argument.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "sandbox":
			return sandbox.RunCommand(ctx, args[1:], getenv, stdout, stderr)
		case "users":
			return usersCommand(ctx, args[1:], getenv, stdin, stdout)
		case "audit":
			return auditCommand(ctx, args[1:], getenv, stdout)
		case "backup":
			return backupCommand(ctx, args[1:], getenv, stdout)
		case "restore":
			return restoreCommand(ctx, args[1:], getenv, stdout)
		}
	}
	return serve(ctx, args, getenv, stdout, stderr)
}
