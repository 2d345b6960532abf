package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

const usage = `Usage: gatehouse <command> [flags]

Commands:
  serve                       run the server
  user add --email E --name N [--admin]   add a member; the password is read from standard input
  user list                   list users
  token create --email E      issue an API bearer token (printed on the last line)
  token list --email E        list a user's tokens
  token revoke --id ID        revoke a token
  audit search [filters]      search the audit log
  audit verify                check the audit hash chain
  dev seed-audit --count N    append N synthetic audit records (benchmarks)

Every command takes --data and --database; run "gatehouse <command> -h" for its flags.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{2, "no command given"}
	}
	cmd, rest := args[0], args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && (cmd == "user" || cmd == "token" || cmd == "audit" || cmd == "dev") {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stderr)
	case "user add":
		return runUserAdd(ctx, rest, stdin, stdout)
	case "user list":
		return runUserList(ctx, rest, stdout)
	case "token create":
		return runTokenCreate(ctx, rest, stdout)
	case "token list":
		return runTokenList(ctx, rest, stdout)
	case "token revoke":
		return runTokenRevoke(ctx, rest, stdout)
	case "audit search":
		return runAuditSearch(ctx, rest, stdout)
	case "audit verify":
		return runAuditVerify(ctx, rest, stdout)
	case "dev seed-audit":
		return runSeedAudit(ctx, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &exitError{2, fmt.Sprintf("unknown command %q", strings.Join(args[:min(2, len(args))], " "))}
}
