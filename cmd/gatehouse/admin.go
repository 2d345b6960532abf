package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
)

// adminFlags parses the storage flags plus extra ones and opens the store.
func adminStore(ctx context.Context, name string, args []string, extra func(fs *flag.FlagSet)) (*store.Store, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var c Config
	storageFlags(fs, &c)
	fs.StringVar(&c.BaseURL, "base-url", env("GATEHOUSE_BASE_URL", ""), "public `url` of the server (GATEHOUSE_BASE_URL)")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, &exitError{2, fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0))}
	}
	s, _, err := openStore(ctx, &c)
	return s, err
}

func runUserAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	var email, name string
	var admin bool
	s, err := adminStore(ctx, "user add", args, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the member's email `address`")
		fs.StringVar(&name, "name", "", "the member's display `name`")
		fs.BoolVar(&admin, "admin", false, "make the member an administrator")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	if email == "" || name == "" {
		return &exitError{2, "user add: --email and --name are required"}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read the password from standard input: %w", err)
	}
	u, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: email, DisplayName: name,
		Password: strings.TrimRight(line, "\r\n"), IsAdmin: admin})
	if err != nil {
		return fmt.Errorf("%s", gatehouse.ErrorMessage(err))
	}
	role := "member"
	if u.IsAdmin {
		role = "administrator"
	}
	fmt.Fprintf(stdout, "added %s <%s> as %s, id %s\n", u.DisplayName, u.Email, role, u.ID)
	return nil
}

func runUserList(ctx context.Context, args []string, stdout io.Writer) error {
	s, err := adminStore(ctx, "user list", args, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tTYPE\tADMIN\tENABLED\tCREATED")
	after := ""
	for {
		users, err := s.ListUsers(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%t\t%s\n", u.ID, u.Email, u.DisplayName, u.UserType, u.IsAdmin, !u.Disabled, u.CreatedAt.Format(time.RFC3339))
			after = u.Email
		}
		if len(users) < 500 {
			break
		}
	}
	return tw.Flush()
}

func runTokenCreate(ctx context.Context, args []string, stdout io.Writer) error {
	var email, name string
	s, err := adminStore(ctx, "token create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the user's email `address`")
		fs.StringVar(&name, "name", "cli", "a `label` for the token")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	if email == "" {
		return &exitError{2, "token create: --email is required"}
	}
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("%s", gatehouse.ErrorMessage(err))
	}
	t, secret, err := s.CreateToken(ctx, u.ID, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %s for %s; it is shown only once:\n%s\n", t.ID, u.Email, secret)
	return nil
}

func runTokenList(ctx context.Context, args []string, stdout io.Writer) error {
	var email string
	s, err := adminStore(ctx, "token list", args, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the user's email `address`")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("%s", gatehouse.ErrorMessage(err))
	}
	ts, err := s.ListTokens(ctx, u.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tREVOKED")
	for _, t := range ts {
		revoked := "-"
		if !t.RevokedAt.IsZero() {
			revoked = t.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

func runTokenRevoke(ctx context.Context, args []string, stdout io.Writer) error {
	var id string
	s, err := adminStore(ctx, "token revoke", args, func(fs *flag.FlagSet) {
		fs.StringVar(&id, "id", "", "the token's `id` (see token list)")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.RevokeToken(ctx, id); err != nil {
		return fmt.Errorf("%s", gatehouse.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "revoked token %s\n", id)
	return nil
}

// ParseTime reads an RFC 3339 time, a date, or a duration back from now
// ("24h" means 24 hours ago).
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, gatehouse.Errorf(gatehouse.EINVALID, "%q is not a time: use RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration back from now (24h).", s)
}

func runAuditSearch(ctx context.Context, args []string, stdout io.Writer) error {
	var f gatehouse.AuditFilter
	var since, until, format string
	var limit int
	s, err := adminStore(ctx, "audit search", args, func(fs *flag.FlagSet) {
		fs.StringVar(&f.Operation, "operation", "", "only this `operation`, e.g. FileDownloaded")
		fs.StringVar(&f.UserID, "user", "", "only records of this user `email`")
		fs.StringVar(&f.ObjectID, "object", "", "only records about this object `url`")
		fs.StringVar(&f.UniqueSharingID, "share-id", "", "only records about this sharing link (UniqueSharingId)")
		fs.StringVar(&since, "since", "", "from this `time` (RFC 3339, date, or duration ago like 24h)")
		fs.StringVar(&until, "until", "", "before this `time`")
		fs.StringVar(&format, "format", "table", "output `format`: table, json (one record per line) or csv")
		fs.IntVar(&limit, "limit", 0, "at most `n` records; 0 means all")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now()
	if f.Since, err = parseTime(since, now); err != nil {
		return &exitError{2, gatehouse.ErrorMessage(err)}
	}
	if f.Until, err = parseTime(until, now); err != nil {
		return &exitError{2, gatehouse.ErrorMessage(err)}
	}
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
			_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.CreationTime.Format(time.RFC3339), r.Operation,
				r.UserID, r.UserType, r.ClientIP, item, r.UniqueSharingID, r.ResultStatus)
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
	default:
		return &exitError{2, fmt.Sprintf("audit search: unknown format %q: use table, json or csv", format)}
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

var csvHeader = []string{"Id", "CreationTime", "Operation", "UserId", "UserType", "ClientIP", "UserAgent", "ObjectId", "ItemType",
	"SourceFileName", "SourceRelativeUrl", "TargetUserOrGroupName", "TargetUserOrGroupType", "UniqueSharingId", "EventData", "ResultStatus"}

func csvRow(r *gatehouse.Record) []string {
	row := []string{r.ID, r.CreationTime.Format(time.RFC3339Nano), r.Operation, r.UserID, r.UserType, r.ClientIP, r.UserAgent, r.ObjectID,
		r.ItemType, r.SourceFileName, r.SourceRelativeURL, r.TargetUserOrGroupName, r.TargetUserOrGroupType, r.UniqueSharingID, r.EventData, r.ResultStatus}
	// A cell starting with = + - @ would run as a formula in a spreadsheet.
	for i, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	return row
}

func runAuditVerify(ctx context.Context, args []string, stdout io.Writer) error {
	s, err := adminStore(ctx, "audit verify", args, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	n, brk, err := s.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if brk != nil {
		return &exitError{3, fmt.Sprintf("audit chain broken at record %d (Id %s): %s; %d records before it are intact", brk.Seq, brk.ID, brk.Reason, n)}
	}
	fmt.Fprintf(stdout, "audit chain intact: %d records\n", n)
	return nil
}

func runSeedAudit(ctx context.Context, args []string, stdout io.Writer) error {
	var count int
	var span time.Duration
	s, err := adminStore(ctx, "dev seed-audit", args, func(fs *flag.FlagSet) {
		fs.IntVar(&count, "count", 1000000, "how many `records` to append")
		fs.DurationVar(&span, "span", 30*24*time.Hour, "spread the records over this `duration` back from now")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	err = s.SeedAudit(ctx, count, SeedRecord(count, start.Add(-span), span))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "appended %d records in %s\n", count, time.Since(start).Round(time.Millisecond))
	return nil
}

// seedOps are the operations seeded records cycle through.
var seedOps = []string{gatehouse.OpFileAccessed, gatehouse.OpFileDownloaded, gatehouse.OpFileUploaded, gatehouse.OpFileModified,
	gatehouse.OpUserLoggedIn, gatehouse.OpFolderCreated, gatehouse.OpFileRenamed, gatehouse.OpFileDeleted,
	gatehouse.OpSecureLinkUsed, gatehouse.OpPasscodeSent, gatehouse.OpPasscodeVerified, gatehouse.OpAddedToSecureLink}

// SeedRecord returns a generator of n records spread evenly from start over span.
func SeedRecord(n int, start time.Time, span time.Duration) func(i int, r *gatehouse.Record) {
	step := span / time.Duration(max(n, 1))
	return func(i int, r *gatehouse.Record) {
		r.CreationTime = start.Add(time.Duration(i) * step)
		r.Operation = seedOps[i%len(seedOps)]
		r.UserID = fmt.Sprintf("user%d@example.com", i%500)
		r.UserType = gatehouse.UserTypeMember
		r.ClientIP = fmt.Sprintf("10.0.%d.%d", i%250, i%200)
		r.UserAgent = "seed"
		r.ObjectID = fmt.Sprintf("https://gatehouse.example/v1.0/drives/d%d/items/i%d", i%500, i%20000)
		r.ItemType = "File"
		r.SourceFileName = fmt.Sprintf("file-%d.txt", i%20000)
		r.SourceRelativeURL = "/"
	}
}
