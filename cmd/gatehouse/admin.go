package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"

	"gatehouse"
	"gatehouse/internal/auditcsv"
	"gatehouse/internal/store"
)

// cmdEnv is what an admin command runs with.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	name           string // "user add", for messages
	cfg            Config
	store          *store.Store // once open; runCommand closes it
}

// open opens the store of an existing installation. Admin commands never
// create one: a mistyped --data would otherwise give an empty log that
// "verifies".
func (e *cmdEnv) open(ctx context.Context) (*store.Store, error) {
	if err := checkInstalled(ctx, &e.cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", e.name, err)
	}
	s, _, err := openStore(ctx, &e.cfg)
	if err != nil {
		return nil, err
	}
	e.store = s
	return s, nil
}

// checkInstalled reports what is missing for c to name a data directory,
// database and audit key that "gatehouse serve" has set up. It only reads.
func checkInstalled(ctx context.Context, c *Config) error {
	const start = `start "gatehouse serve" with these settings first`
	info, err := os.Stat(c.Data)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the data directory %s does not exist: %s, or fix --data", c.Data, start)
	} else if err != nil {
		return err
	} else if !info.IsDir() {
		return fmt.Errorf("the data directory %s is not a directory: fix --data", c.Data)
	}
	dsn := c.Database
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		var ok bool
		if err := db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&ok); err != nil {
			return fmt.Errorf("connect to database: %w", err)
		}
		if !ok {
			return fmt.Errorf("the PostgreSQL database has no Gatehouse tables: %s, or fix --database", start)
		}
	} else {
		flagName := "--database"
		if dsn == "" {
			dsn, flagName = filepath.Join(c.Data, "gatehouse.db"), "--data"
		}
		path := strings.TrimPrefix(dsn, "sqlite://")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("there is no database at %s: %s, or fix %s", path, start, flagName)
		} else if err != nil {
			return err
		}
		// mode=rw opens an existing file and never creates one.
		esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
		db, err := sql.Open("sqlite", "file:"+esc+"?mode=rw&_pragma=busy_timeout(10000)")
		if err != nil {
			return err
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
			return fmt.Errorf("%s is not a Gatehouse database: %w", path, err)
		} else if n == 0 {
			return fmt.Errorf("%s is not a Gatehouse database: %s, or fix %s", path, start, flagName)
		}
	}
	keyFile := c.AuditKey
	if keyFile == "" {
		keyFile = filepath.Join(c.Data, "audit.key")
	}
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the audit key file %s does not exist: give the server's key with --audit-key-file, or fix --data", keyFile)
	} else if err != nil {
		return err
	}
	return nil
}

// readPassword prompts for a new password without echo on a terminal, and
// asks for it twice; otherwise it reads one line of standard input.
func (e *cmdEnv) readPassword(email string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(e.stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return "", fmt.Errorf("read the password: %w", err)
			}
			return string(b), nil
		}
		p, err := ask("Password for " + clean(email) + ": ")
		if err != nil {
			return "", err
		}
		if err := gatehouse.ValidatePassword(p); err != nil {
			return "", errors.New(gatehouse.ErrorMessage(err))
		}
		again, err := ask("Confirm the password for " + clean(email) + ": ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", errors.New("the two passwords differ; nothing was changed")
		}
		return p, nil
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("%s: no password on standard input: type it at the prompt on a terminal, or pipe one line", e.name)
	}
	return line, nil
}

func required(name, flagName, v string) error {
	if strings.TrimSpace(v) == "" {
		return usageError("%s: %s is required", name, flagName)
	}
	return nil
}

// userMessage turns a store error into the sentence it carries.
func userMessage(err error) error { return errors.New(gatehouse.ErrorMessage(err)) }

func setupUserAdd(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	var email, name string
	var admin bool
	fs.StringVar(&email, "email", "", "the member's email `address`")
	fs.StringVar(&name, "name", "", "the member's display `name`")
	fs.BoolVar(&admin, "admin", false, "make the member an administrator")
	return func(ctx context.Context, e *cmdEnv) error {
		if err := required(e.name, "--email", email); err != nil {
			return err
		}
		if err := required(e.name, "--name", name); err != nil {
			return err
		}
		if _, err := gatehouse.NormalizeEmail(email); err != nil {
			return usageError("%s: --email: %s", e.name, gatehouse.ErrorMessage(err))
		}
		if err := gatehouse.ValidateDisplayName(name); err != nil {
			return usageError("%s: --name: %s", e.name, gatehouse.ErrorMessage(err))
		}
		s, err := e.open(ctx)
		if err != nil {
			return err
		}
		if _, err := s.UserByEmail(ctx, email); err == nil {
			return fmt.Errorf("%s: a user with the address %s exists already", e.name, clean(email))
		}
		password, err := e.readPassword(email)
		if err != nil {
			return err
		}
		u, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: email, DisplayName: name, Password: password, IsAdmin: admin})
		if err != nil {
			return userMessage(err)
		}
		role := "member"
		if u.IsAdmin {
			role = "administrator"
		}
		fmt.Fprintf(e.stdout, "added %s <%s> as %s, id %s\n", clean(u.DisplayName), clean(u.Email), role, u.ID)
		return nil
	}
}

func setupUserList(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	return func(ctx context.Context, e *cmdEnv) error {
		s, err := e.open(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tTYPE\tADMIN\tENABLED\tCREATED")
		after := ""
		for {
			users, err := s.ListUsers(ctx, after, 500)
			if err != nil {
				return err
			}
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%t\t%s\n", u.ID, clean(u.Email), clean(u.DisplayName), clean(u.UserType), u.IsAdmin, !u.Disabled, u.CreatedAt.Format(time.RFC3339))
				after = u.Email
			}
			if len(users) < 500 {
				break
			}
		}
		return tw.Flush()
	}
}

// openUser opens the store and finds the user the --email flag names; the
// flag is required.
func (e *cmdEnv) openUser(ctx context.Context, email string) (*store.Store, *gatehouse.User, error) {
	if err := required(e.name, "--email", email); err != nil {
		return nil, nil, err
	}
	s, err := e.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.UserByEmail(ctx, email)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil, fmt.Errorf("%s: there is no user with the address %s (see gatehouse user list)", e.name, clean(email))
	} else if err != nil {
		return nil, nil, userMessage(err)
	}
	return s, u, nil
}

func setupUserPasswd(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	var email string
	fs.StringVar(&email, "email", "", "the user's email `address`")
	return func(ctx context.Context, e *cmdEnv) error {
		s, u, err := e.openUser(ctx, email)
		if err != nil {
			return err
		}
		password, err := e.readPassword(u.Email)
		if err != nil {
			return err
		}
		if _, err := s.UpdateUser(ctx, gatehouse.SystemActor(), u.ID, store.UserUpdate{Password: &password}); err != nil {
			return userMessage(err)
		}
		fmt.Fprintf(e.stdout, "changed the password of %s; their sessions have ended\n", clean(u.Email))
		return nil
	}
}

func setupUserDisable(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	return setupUserEnabled(fs, true)
}

func setupUserEnable(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	return setupUserEnabled(fs, false)
}

func setupUserEnabled(fs *flag.FlagSet, disable bool) func(context.Context, *cmdEnv) error {
	var email string
	fs.StringVar(&email, "email", "", "the user's email `address`")
	return func(ctx context.Context, e *cmdEnv) error {
		s, u, err := e.openUser(ctx, email)
		if err != nil {
			return err
		}
		if u.Disabled == disable {
			fmt.Fprintf(e.stdout, "%s is %s already\n", clean(u.Email), map[bool]string{true: "disabled", false: "enabled"}[disable])
			return nil
		}
		if _, err := s.UpdateUser(ctx, gatehouse.SystemActor(), u.ID, store.UserUpdate{Disabled: &disable}); err != nil {
			return userMessage(err)
		}
		if disable {
			fmt.Fprintf(e.stdout, "disabled %s: their sessions have ended and their tokens are suspended\n", clean(u.Email))
		} else {
			fmt.Fprintf(e.stdout, "enabled %s\n", clean(u.Email))
		}
		return nil
	}
}

func setupTokenCreate(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	var email, name string
	fs.StringVar(&email, "email", "", "the user's email `address`")
	fs.StringVar(&name, "name", "cli", "a `label` for the token, up to 100 characters")
	return func(ctx context.Context, e *cmdEnv) error {
		if err := required(e.name, "--email", email); err != nil {
			return err
		}
		if err := required(e.name, "--name", name); err != nil {
			return err
		}
		if utf8.RuneCountInString(name) > 100 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			return usageError("%s: --name must be up to 100 printable characters", e.name)
		}
		s, u, err := e.openUser(ctx, email)
		if err != nil {
			return err
		}
		t, secret, err := s.CreateToken(ctx, u.ID, name)
		if err != nil {
			return userMessage(err)
		}
		fmt.Fprintf(e.stdout, "token %s for %s; it is shown only once:\n%s\n", t.ID, clean(u.Email), secret)
		return nil
	}
}

func setupTokenList(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	var email string
	fs.StringVar(&email, "email", "", "the user's email `address`")
	return func(ctx context.Context, e *cmdEnv) error {
		s, u, err := e.openUser(ctx, email)
		if err != nil {
			return err
		}
		ts, err := s.ListTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tREVOKED")
		for _, t := range ts {
			revoked := "-"
			if !t.RevokedAt.IsZero() {
				revoked = t.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, clean(t.Name), t.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	}
}

func setupTokenRevoke(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	var id string
	fs.StringVar(&id, "id", "", "the token's `id` (see token list)")
	return func(ctx context.Context, e *cmdEnv) error {
		if err := required(e.name, "--id", id); err != nil {
			return err
		}
		s, err := e.open(ctx)
		if err != nil {
			return err
		}
		if err := s.RevokeToken(ctx, id); err != nil {
			return userMessage(err)
		}
		fmt.Fprintf(e.stdout, "revoked token %s\n", clean(id))
		return nil
	}
}

// parseTime reads an RFC 3339 time, a date, or a duration back from now
// ("24h" means 24 hours ago).
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, gatehouse.Errorf(gatehouse.EINVALID, "%s is not a time: use RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration back from now (24h).", strconv.Quote(s))
}

// operation returns the known audit operation op names, in its own case.
func operation(op string) (string, bool) {
	for _, known := range gatehouse.Operations() {
		if strings.EqualFold(op, known) {
			return known, true
		}
	}
	return "", false
}

func setupAuditSearch(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	var f gatehouse.AuditFilter
	var since, until, format string
	var limit int
	fs.StringVar(&f.Operation, "operation", "", "only this `operation`, e.g. FileDownloaded")
	fs.StringVar(&f.UserID, "user", "", "only records of this user `email`")
	fs.StringVar(&f.ObjectID, "object", "", "only records about this object `url`")
	fs.StringVar(&f.UniqueSharingID, "share-id", "", "only records about this sharing link (UniqueSharingId)")
	fs.StringVar(&since, "since", "", "from this `time` (RFC 3339, date, or duration ago like 24h)")
	fs.StringVar(&until, "until", "", "before this `time`")
	fs.StringVar(&format, "format", "table", "output `format`: table, json (one record per line) or csv")
	fs.IntVar(&limit, "limit", 0, "at most `n` records; 0 means all")
	return func(ctx context.Context, e *cmdEnv) error {
		if f.Operation != "" {
			op, ok := operation(f.Operation)
			if !ok {
				return usageError("%s: --operation: unknown operation %s; the operations are %s", e.name, strconv.Quote(f.Operation), strings.Join(gatehouse.Operations(), ", "))
			}
			f.Operation = op
		}
		if limit < 0 {
			return usageError("%s: --limit must be 0 (all records) or more, not %d", e.name, limit)
		}
		if !slices.Contains([]string{"table", "json", "csv"}, format) {
			return usageError("%s: --format: unknown format %s: use table, json or csv", e.name, strconv.Quote(format))
		}
		now := time.Now()
		var err error
		if f.Since, err = parseTime(since, now); err != nil {
			return usageError("%s: --since: %s", e.name, gatehouse.ErrorMessage(err))
		}
		if f.Until, err = parseTime(until, now); err != nil {
			return usageError("%s: --until: %s", e.name, gatehouse.ErrorMessage(err))
		}
		if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
			return usageError("%s: --since must be before --until", e.name)
		}
		s, err := e.open(ctx)
		if err != nil {
			return err
		}
		return searchAudit(ctx, s, f, limit, format, e.stdout)
	}
}

func searchAudit(ctx context.Context, s *store.Store, f gatehouse.AuditFilter, limit int, format string, stdout io.Writer) error {
	var emit func(r *gatehouse.Record) error
	var done func() error
	switch format {
	case "table":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tOPERATION\tUSER\tTYPE\tIP\tITEM\tSHARING ID\tRESULT")
		emit = func(r *gatehouse.Record) error {
			item := r.SourceFileName
			if item == "" {
				item = r.ObjectID
			}
			_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.CreationTime.Format(time.RFC3339), clean(r.Operation),
				clean(r.UserID), clean(r.UserType), clean(r.ClientIP), clean(item), clean(r.UniqueSharingID), clean(r.ResultStatus))
			return err
		}
		done = tw.Flush
	case "json":
		enc := json.NewEncoder(stdout)
		emit = func(r *gatehouse.Record) error { return enc.Encode(r) }
		done = func() error { return nil }
	case "csv":
		w := csv.NewWriter(stdout)
		w.Write(csvHeader)
		emit = func(r *gatehouse.Record) error { return w.Write(csvRow(r)) }
		done = func() error { w.Flush(); return w.Error() }
	}
	var cur *store.AuditCursor
	n := 0
	for {
		f.Limit = 1000
		recs, next, err := s.SearchAudit(ctx, f, cur)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if limit > 0 && n >= limit {
				return done()
			}
			if err := emit(r); err != nil {
				return err
			}
			n++
		}
		if next == nil {
			return done()
		}
		cur = next
	}
}

// The CSV encoding and the escaping live in internal/auditcsv, which the
// API's export uses too.
var csvHeader = auditcsv.Header

func csvRow(r *gatehouse.Record) []string { return auditcsv.Row(r) }

// clean escapes what could forge or hide output on a terminal or in a
// spreadsheet (see auditcsv.Clean).
func clean(s string) string { return auditcsv.Clean(s) }

func setupAuditVerify(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
	return func(ctx context.Context, e *cmdEnv) error {
		s, err := e.open(ctx)
		if err != nil {
			return err
		}
		n, brk, err := s.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if brk != nil {
			return &exitError{3, fmt.Sprintf("audit chain broken at record %d (Id %s): %s; %d records before it are intact", brk.Seq, clean(brk.ID), clean(brk.Reason), n)}
		}
		fmt.Fprintf(e.stdout, "audit chain intact: %d records\n", n)
		return nil
	}
}
