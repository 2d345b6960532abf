package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
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

// usageError is a mistake on the command line: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{2, fmt.Sprintf(format, args...)}
}

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

// command is one admin command; setup registers its flags and returns what
// runs once they are parsed.
type command struct {
	name     string // "user add"
	synopsis string // its own flags, for the usage lines
	brief    string
	setup    func(fs *flag.FlagSet) func(ctx context.Context, c *cmdEnv) error
}

var commands = []command{
	{"user add", "--email E --name N [--admin]", "add a member; the password is prompted for on a terminal, else read from standard input", setupUserAdd},
	{"user list", "", "list users", setupUserList},
	{"user passwd", "--email E", "set a user's password, read like user add's; ends their sessions", setupUserPasswd},
	{"user disable", "--email E", "disable a user: ends their sessions and suspends their tokens", setupUserDisable},
	{"user enable", "--email E", "enable a disabled user again", setupUserEnable},
	{"token create", "--email E [--name LABEL]", "issue an API bearer token (printed on the last line)", setupTokenCreate},
	{"token list", "--email E", "list a user's tokens", setupTokenList},
	{"token revoke", "--id ID", "revoke a token", setupTokenRevoke},
	{"audit search", "[filters]", "search the audit log", setupAuditSearch},
	{"audit verify", "", "check the audit hash chain", setupAuditVerify},
}

// groups are the first words of the admin commands.
var groups = []string{"user", "token", "audit"}

func usage(group string) string {
	var b strings.Builder
	if group == "" {
		b.WriteString("Usage: gatehouse <command> [flags]\n\nCommands:\n")
		fmt.Fprintf(&b, "  %-40s %s\n", "serve", "run the server")
	} else {
		fmt.Fprintf(&b, "Usage: gatehouse %s <command> [flags]\n\nCommands:\n", group)
	}
	for _, c := range commands {
		if group == "" || strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(&b, "  %-40s %s\n", strings.TrimSpace(c.name+" "+c.synopsis), c.brief)
		}
	}
	b.WriteString("\nEvery command takes --data, --database and --audit-key-file; the admin commands need a data\n" +
		"directory and database that \"gatehouse serve\" has started on. Run \"gatehouse <command> --help\" for its flags.\n")
	return b.String()
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage(""))
		return usageError("no command given")
	}
	// "gatehouse help user add" is "gatehouse user add --help".
	if args[0] == "help" && len(args) > 1 {
		args = append(append([]string{}, args[1:]...), "--help")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage(""))
		return nil
	}
	if args[0] == "serve" {
		return serveCommand(ctx, args[1:], stdout, stderr)
	}
	group := ""
	for _, g := range groups {
		if args[0] == g {
			group = g
		}
	}
	if group == "" {
		fmt.Fprint(stderr, usage(""))
		return usageError("unknown command %q", args[0])
	}
	if len(args) == 1 || strings.HasPrefix(args[1], "-") && !isHelp(args[1]) {
		fmt.Fprint(stderr, usage(group))
		return usageError("%s: which command? See above", group)
	}
	if isHelp(args[1]) {
		fmt.Fprint(stdout, usage(group))
		return nil
	}
	name := group + " " + args[1]
	for _, c := range commands {
		if c.name == name {
			return runCommand(ctx, c, args[2:], &cmdEnv{stdin: stdin, stdout: stdout, stderr: stderr})
		}
	}
	fmt.Fprint(stderr, usage(group))
	return usageError("unknown command %q", name)
}

// serveCommand runs serve, whose flags belong to main.go. A help request
// is found first, so that serve's usage goes to standard output with
// status 0 like every other command's.
func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	probe := flag.NewFlagSet("serve", flag.ContinueOnError)
	probe.SetOutput(io.Discard)
	serveFlags(probe, &Config{})
	probeErr := probe.Parse(args)
	if errors.Is(probeErr, flag.ErrHelp) || probeErr == nil && probe.NArg() > 0 && isHelp(probe.Arg(0)) {
		if err := runServe(ctx, []string{"-h"}, stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	if probeErr == nil && probe.NArg() > 0 {
		return usageError("serve: unexpected argument %q", probe.Arg(0))
	}
	err := runServe(ctx, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil && probeErr != nil {
		return usageError("serve: %v", err) // the flags did not parse
	}
	return err
}

// runCommand parses an admin command's flags and runs it, closing the
// store it opened.
func runCommand(ctx context.Context, c command, args []string, e *cmdEnv) error {
	fs := flag.NewFlagSet("gatehouse "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	storageFlags(fs, &e.cfg)
	fs.StringVar(&e.cfg.BaseURL, "base-url", env("GATEHOUSE_BASE_URL", ""), "public `url` of the server, the prefix of audit ObjectIds (GATEHOUSE_BASE_URL)")
	act := c.setup(fs)
	printUsage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: gatehouse %s [flags]\n\n%s.\n\nFlags:\n", strings.TrimSpace(c.name+" "+c.synopsis), upperFirst(c.brief))
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		printUsage(e.stdout)
		return nil
	} else if err != nil {
		printUsage(e.stderr)
		return usageError("%s: %v", c.name, err)
	}
	if fs.NArg() > 0 {
		if isHelp(fs.Arg(0)) {
			printUsage(e.stdout)
			return nil
		}
		return usageError("%s: unexpected argument %q (flags come before it)", c.name, fs.Arg(0))
	}
	e.name = c.name
	if strings.TrimSpace(e.cfg.Data) == "" {
		return usageError("%s: --data must name the data directory", c.name)
	}
	if b := e.cfg.BaseURL; b != "" {
		if u, err := url.Parse(b); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError("%s: --base-url must be an http:// or https:// URL, not %q", c.name, b)
		}
	}
	defer func() {
		if e.store != nil {
			e.store.Close()
		}
	}()
	return act(ctx, e)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
