package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// cli runs a gatehouse command in-process with the data directory.
func cli(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--data", dir)
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

// installed returns a data directory set up as "gatehouse serve" leaves
// it on first start, with the database dsn ("" for SQLite inside it).
func installed(t *testing.T, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	s, _, err := openStore(context.Background(), &Config{Data: dir, Database: dsn})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

func TestCLI(t *testing.T) {
	dir := installed(t, "")
	out, err := cli(t, dir, "a long enough password\n", "user", "add", "--email", "Ada@Example.com", "--name", "Ada Admin", "--admin")
	if err != nil || !strings.Contains(out, "ada@example.com") {
		t.Fatalf("user add: %v %s", err, out)
	}
	if _, err := cli(t, dir, "short\n", "user", "add", "--email", "bob@example.com", "--name", "Bob"); err == nil || !strings.Contains(err.Error(), "at least 10 characters") {
		t.Errorf("short password: %v", err)
	}
	out, err = cli(t, dir, "", "user", "list")
	if err != nil || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "Ada Admin") {
		t.Errorf("user list: %v %s", err, out)
	}
	out, err = cli(t, dir, "", "token", "create", "--email", "ada@example.com")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || !strings.HasPrefix(lines[len(lines)-1], "gh_") {
		t.Errorf("token create: last line %q, %v", lines[len(lines)-1], err)
	}

	out, err = cli(t, dir, "", "audit", "search", "--operation", "UserAdded", "--format", "json")
	var rec map[string]any
	if err != nil || json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &rec) != nil || rec["Operation"] != "UserAdded" || rec["TargetUserOrGroupName"] != "ada@example.com" {
		t.Errorf("audit search json: %v %s", err, out)
	}
	out, err = cli(t, dir, "", "audit", "search", "--format", "csv", "--since", "1h")
	rows, cerr := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || cerr != nil || len(rows) != 2 || rows[0][2] != "Operation" {
		t.Errorf("audit search csv: %v %v %q", err, cerr, out)
	}
	if _, err := cli(t, dir, "", "audit", "search", "--since", "yesterday"); err == nil || exitCode(err) != 2 {
		t.Errorf("bad --since: %v", err)
	}
	if out, err := cli(t, dir, "", "audit", "verify"); err != nil || !strings.Contains(out, "intact: 1 records") {
		t.Errorf("audit verify: %v %s", err, out)
	}

	// Change the one record behind the store's back: verify must fail and
	// name it.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_records SET user_id = 'mallory@example.com' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = cli(t, dir, "", "audit", "verify")
	if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("audit verify after tampering: %v", err)
	}
	if _, err := cli(t, dir, "", "nonsense"); exitCode(err) != 2 {
		t.Errorf("unknown command: %v", err)
	}
}

// The audit chain is keyed by a file outside the database: a record forged
// and re-hashed by someone who can write the database but lacks the key is
// caught, and a node with another key refuses to continue the log.
func TestAuditKey(t *testing.T) {
	dir := installed(t, "")
	if _, err := cli(t, dir, "a long enough password\n", "user", "add", "--email", "ada@example.com", "--name", "Ada"); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, "audit.key"))
	if err != nil || len(strings.TrimSpace(string(key))) != 64 {
		t.Fatalf("audit.key: %q %v", key, err)
	}
	if info, _ := os.Stat(filepath.Join(dir, "audit.key")); info.Mode().Perm() != 0o600 {
		t.Errorf("audit.key mode %v, want 0600", info.Mode().Perm())
	}
	// Rewrite the record and its hash, and the head, as a database-only
	// attacker could: with SHA-256 alone this would pass.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	r, err := scanOne(db)
	if err != nil {
		t.Fatal(err)
	}
	r.UserID = "mallory@example.com"
	r.Hash = gatehouse.ChainHash(r.PrevHash, r)
	db.Exec(`UPDATE audit_records SET user_id = ?, hash = ? WHERE seq = 1`, r.UserID, r.Hash)
	db.Exec(`UPDATE audit_head SET hash = ? WHERE id = 1`, r.Hash)
	db.Close()
	if _, err := cli(t, dir, "", "audit", "verify"); err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("audit verify after a re-hashed forgery: %v", err)
	}

	other := filepath.Join(t.TempDir(), "other.key")
	os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	if _, err := cli(t, dir, "", "user", "list", "--audit-key-file", other); err == nil || !strings.Contains(err.Error(), "same key") {
		t.Errorf("a different key was accepted: %v", err)
	}
}

func scanOne(db *sql.DB) (*gatehouse.Record, error) {
	var r gatehouse.Record
	var ct int64
	err := db.QueryRow(`SELECT seq, id, creation_time, operation, user_id, user_type, client_ip, user_agent, object_id, item_type,
		source_file_name, source_relative_url, target_user_or_group_name, target_user_or_group_type, unique_sharing_id,
		event_data, result_status, prev_hash FROM audit_records WHERE seq = 1`).Scan(&r.Seq, &r.ID, &ct, &r.Operation, &r.UserID,
		&r.UserType, &r.ClientIP, &r.UserAgent, &r.ObjectID, &r.ItemType, &r.SourceFileName, &r.SourceRelativeURL,
		&r.TargetUserOrGroupName, &r.TargetUserOrGroupType, &r.UniqueSharingID, &r.EventData, &r.ResultStatus, &r.PrevHash)
	r.CreationTime = time.UnixMicro(ct).UTC()
	return &r, err
}

// stdio runs a command and keeps its two outputs apart.
func stdio(stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// Help works at every level, exits 0, goes to standard output, and opens
// no data directory.
func TestCLIHelp(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "user passwd --email E"},
		{[]string{"-h"}, "audit verify"},
		{[]string{"help"}, "serve"},
		{[]string{"user", "--help"}, "user disable --email E"},
		{[]string{"user", "-h"}, "user enable --email E"},
		{[]string{"user", "help"}, "user add"},
		{[]string{"help", "user"}, "user list"},
		{[]string{"token", "--help"}, "token revoke --id ID"},
		{[]string{"audit", "-h"}, "audit search"},
		{[]string{"user", "add", "--help"}, "-admin"},
		{[]string{"user", "add", "-h"}, "-email"},
		{[]string{"user", "passwd", "--help"}, "-email"},
		{[]string{"help", "user", "add"}, "-name"},
		{[]string{"audit", "search", "-h"}, "-operation"},
		{[]string{"audit", "search", "--limit", "5", "--help"}, "-limit"},
		{[]string{"audit", "verify", "--help"}, "-data"},
		{[]string{"token", "create", "--help"}, "-email"},
		{[]string{"serve", "--help"}, "-listen"},
		{[]string{"serve", "-h"}, "-org-domains"},
		{[]string{"serve", "help"}, "-max-upload-mib"},
	} {
		out, errOut, err := stdio("", tc.args...)
		if err != nil || exitCode(err) == 2 || !strings.Contains(out, "Usage") || !strings.Contains(out, tc.want) || errOut != "" {
			t.Errorf("gatehouse %s: err %v, stdout %q, stderr %q; want status 0 and usage with %q on stdout", strings.Join(tc.args, " "), err, out, errOut, tc.want)
		}
	}
	if _, _, err := stdio("", "serve", "stray"); exitCode(err) != 2 || !strings.Contains(err.Error(), `"stray"`) {
		t.Errorf("gatehouse serve stray: %v, want status 2", err)
	}
	for _, args := range [][]string{{}, {"user"}, {"user", "--email", "a@example.com"}, {"user", "nope"}, {"nope"}, {"help", "nope"}, {"dev", "seed-audit"}} {
		out, errOut, err := stdio("", args...)
		if exitCode(err) != 2 || out != "" || !strings.Contains(errOut, "Usage") {
			t.Errorf("gatehouse %s: err %v, stdout %q; want status 2 and usage on stderr", strings.Join(args, " "), err, out)
		}
	}
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("help created %v in the working directory", ents)
	}
}

// Admin commands refuse what "gatehouse serve" has not set up, say how to
// fix it, and create nothing.
func TestCLIRefusesMissingInstallation(t *testing.T) {
	ctx := context.Background()
	commands := [][]string{
		{"audit", "verify"},
		{"audit", "search"},
		{"user", "list"},
		{"user", "add", "--email", "ada@example.com", "--name", "Ada"},
		{"user", "passwd", "--email", "ada@example.com"},
		{"user", "disable", "--email", "ada@example.com"},
		{"token", "create", "--email", "ada@example.com"},
		{"token", "revoke", "--id", "x"},
	}
	refused := func(t *testing.T, args []string, want ...string) {
		t.Helper()
		out, errOut, err := stdio("a long enough password\n", args...)
		if err == nil || out != "" {
			t.Errorf("gatehouse %s: err %v, stdout %q; want a refusal", strings.Join(args, " "), err, out)
			return
		}
		for _, w := range append(want, `start "gatehouse serve"`) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("gatehouse %s: %q does not say %q", strings.Join(args, " "), err, w)
			}
		}
		_ = errOut
	}
	t.Run("missing directory", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "gatehuose-data")
		for _, c := range commands {
			refused(t, append(c, "--data", missing), missing, "does not exist", "--data")
		}
		if _, err := os.Stat(missing); err == nil {
			t.Errorf("%s was created", missing)
		}
	})
	t.Run("empty directory", func(t *testing.T) {
		dir := t.TempDir()
		for _, c := range commands {
			refused(t, append(c, "--data", dir), filepath.Join(dir, "gatehouse.db"), "--data")
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("the empty data directory now holds %v", ents)
		}
	})
	t.Run("missing SQLite file", func(t *testing.T) {
		dir := installed(t, "")
		db := filepath.Join(dir, "typo.db")
		refused(t, []string{"audit", "verify", "--data", dir, "--database", db}, db, "--database")
		if _, err := os.Stat(db); err == nil {
			t.Errorf("%s was created", db)
		}
	})
	t.Run("SQLite file that is not Gatehouse's", func(t *testing.T) {
		dir := installed(t, "")
		other := filepath.Join(t.TempDir(), "other.db")
		raw, err := sql.Open("sqlite", "file:"+other)
		if err == nil {
			_, err = raw.Exec(`CREATE TABLE notes (body TEXT)`)
		}
		if err != nil {
			t.Fatal(err)
		}
		refused(t, []string{"audit", "verify", "--data", dir, "--database", other}, other, "not a Gatehouse database")
		var n int
		raw.QueryRow(`SELECT COUNT(*) FROM sqlite_master`).Scan(&n)
		raw.Close()
		if n != 1 {
			t.Errorf("the foreign database now has %d objects, want its 1 table", n)
		}
	})
	t.Run("missing audit key", func(t *testing.T) {
		dir := installed(t, "")
		key := filepath.Join(dir, "audit.key")
		os.Remove(key)
		out, _, err := stdio("", "audit", "verify", "--data", dir)
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "--audit-key-file") {
			t.Errorf("audit verify without its key: %v %q", err, out)
		}
		if _, err := os.Stat(key); err == nil {
			t.Error("a new audit key was made")
		}
	})
	t.Run("PostgreSQL never migrated", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		dir := t.TempDir()
		for _, c := range commands {
			refused(t, append(c, "--data", dir, "--database", dsn), "PostgreSQL", "--database")
		}
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var tables int
		if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil || tables != 0 {
			t.Errorf("the schema now holds %d tables (%v), want none", tables, err)
		}
		// Once migrated, the same command works.
		dir = installed(t, dsn)
		if out, err := cli(t, dir, "", "audit", "verify", "--database", dsn); err != nil || !strings.Contains(out, "intact: 0 records") {
			t.Errorf("audit verify on a migrated database: %v %q", err, out)
		}
	})
}

// Every bad flag value is refused with status 2, naming the flag, before
// the store is touched.
func TestCLIFlagValidation(t *testing.T) {
	dir := installed(t, "")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"audit", "search", "--limit", "-3"}, []string{"--limit", "-3"}},
		{[]string{"audit", "search", "--limit", "many"}, []string{"-limit", "many"}},
		{[]string{"audit", "search", "--since", "yesterday"}, []string{"--since", `"yesterday" is not a time`}},
		{[]string{"audit", "search", "--until", "2026-13-45"}, []string{"--until", "is not a time"}},
		{[]string{"audit", "search", "--since", "-5h"}, []string{"--since"}},
		{[]string{"audit", "search", "--since", "1h", "--until", "2h"}, []string{"--since must be before --until"}},
		{[]string{"audit", "search", "--format", "xml"}, []string{"--format", `"xml"`, "table, json or csv"}},
		{[]string{"audit", "search", "--operation", "FileDownload"}, []string{"--operation", `"FileDownload"`, "FileDownloaded", "UserLoggedIn", "PasscodeVerificationPaused"}},
		{[]string{"audit", "search", "--frob"}, []string{"-frob"}},
		{[]string{"audit", "search", "stray"}, []string{`"stray"`}},
		{[]string{"user", "add", "--name", "Ada"}, []string{"--email is required"}},
		{[]string{"user", "add", "--email", "ada@example.com"}, []string{"--name is required"}},
		{[]string{"user", "add", "--email", "not an address", "--name", "Ada"}, []string{"--email"}},
		{[]string{"user", "passwd"}, []string{"--email is required"}},
		{[]string{"user", "disable", "--email", " "}, []string{"--email is required"}},
		{[]string{"user", "enable"}, []string{"--email is required"}},
		{[]string{"token", "create", "--email", "ada@example.com", "--name", ""}, []string{"--name is required"}},
		{[]string{"token", "create", "--email", "ada@example.com", "--name", "a\nb"}, []string{"--name"}},
		{[]string{"token", "list"}, []string{"--email is required"}},
		{[]string{"token", "revoke"}, []string{"--id is required"}},
		{[]string{"user", "list", "--base-url", "files.example.com"}, []string{"--base-url", "files.example.com"}},
	} {
		before := auditCount(t, dir)
		_, err := cli(t, dir, "a long enough password\n", tc.args...)
		if exitCode(err) != 2 {
			t.Errorf("gatehouse %s: %v, want status 2", strings.Join(tc.args, " "), err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("gatehouse %s: %q does not say %q", strings.Join(tc.args, " "), err, w)
			}
		}
		if n := auditCount(t, dir); n != before {
			t.Errorf("gatehouse %s changed the log: %d records, was %d", strings.Join(tc.args, " "), n, before)
		}
	}
	if _, _, err := stdio("", "audit", "verify", "--data", ""); exitCode(err) != 2 || !strings.Contains(err.Error(), "--data") {
		t.Errorf("an empty --data: %v, want status 2", err)
	}
	// Known operations are taken in any case.
	if out, err := cli(t, dir, "", "audit", "search", "--operation", "filedownloaded", "--limit", "0"); err != nil || !strings.HasPrefix(out, "TIME") {
		t.Errorf("a known operation in lower case: %v %q", err, out)
	}
}

func auditCount(t *testing.T, dir string) int {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM audit_records`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// passwd, disable and enable act through the store, so they are audited
// and end sessions, and they work on both backends.
func TestCLIUserCommands(t *testing.T) {
	ctx := context.Background()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := b.DSN(t, dir)
			s, _, err := openStore(ctx, &Config{Data: dir, Database: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := func(stdin string, args ...string) (string, error) {
				return cli(t, dir, stdin, append(args, "--database", dsn)...)
			}
			if out, err := c("first password ok\n", "user", "add", "--email", "ann@example.com", "--name", "Ann"); err != nil {
				t.Fatalf("user add: %v %s", err, out)
			}
			if _, err := c("again password\n", "user", "add", "--email", "ANN@example.com", "--name", "Ann"); err == nil || !strings.Contains(err.Error(), "exists already") {
				t.Errorf("user add of a taken address: %v", err)
			}
			raw, err := sql.Open(map[bool]string{true: "pgx", false: "sqlite"}[s.Postgres()], dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			// The stored hash, rather than a sign-in, so that throttling
			// plays no part.
			login := func(pw string) error {
				var hash string
				if err := raw.QueryRow(`SELECT password_hash FROM users WHERE email = 'ann@example.com'`).Scan(&hash); err != nil {
					t.Fatal(err)
				}
				if !gatehouse.CheckPassword(hash, pw) {
					return errors.New("wrong password")
				}
				return nil
			}
			if err := login("first password ok"); err != nil {
				t.Fatalf("login: %v", err)
			}

			if out, err := c("second password ok\n", "user", "passwd", "--email", "ann@example.com"); err != nil || !strings.Contains(out, "changed the password of ann@example.com") {
				t.Fatalf("user passwd: %v %q", err, out)
			}
			if login("first password ok") == nil || login("second password ok") != nil {
				t.Error("after user passwd: the old password still works or the new one does not")
			}
			if _, err := c("short\n", "user", "passwd", "--email", "ann@example.com"); err == nil || !strings.Contains(err.Error(), "at least 10 characters") {
				t.Errorf("user passwd with a short password: %v", err)
			}
			if _, err := c("", "user", "passwd", "--email", "ann@example.com"); err == nil || !strings.Contains(err.Error(), "no password") {
				t.Errorf("user passwd with nothing on stdin: %v", err)
			}
			if _, err := c("whatever password\n", "user", "passwd", "--email", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no user with the address nobody@example.com") {
				t.Errorf("user passwd of an unknown address: %v", err)
			}

			if out, err := c("", "user", "disable", "--email", "ann@example.com"); err != nil || !strings.Contains(out, "disabled ann@example.com") {
				t.Fatalf("user disable: %v %q", err, out)
			}
			if out, _ := c("", "user", "list"); !regexp.MustCompile(`ann@example.com\s+Ann\s+\S+\s+false\s+false`).MatchString(out) {
				t.Errorf("user list after disable: %q", out)
			}
			if out, err := c("", "user", "disable", "--email", "ann@example.com"); err != nil || !strings.Contains(out, "disabled already") {
				t.Errorf("user disable twice: %v %q", err, out)
			}
			if out, err := c("", "user", "enable", "--email", "ann@example.com"); err != nil || !strings.Contains(out, "enabled ann@example.com") {
				t.Fatalf("user enable: %v %q", err, out)
			}
			if out, _ := c("", "user", "list"); !regexp.MustCompile(`ann@example.com\s+Ann\s+\S+\s+false\s+true`).MatchString(out) {
				t.Errorf("user list after enable: %q", out)
			}

			out, err := c("", "audit", "search", "--operation", "UserUpdated", "--format", "json")
			var events []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var r gatehouse.Record
				if json.Unmarshal([]byte(line), &r) == nil && r.TargetUserOrGroupName == "ann@example.com" && r.UserID == "system" {
					events = append(events, r.EventData)
				}
			}
			// Newest first: enable, disable, passwd.
			if err != nil || len(events) != 3 || !strings.Contains(events[0], `"accountEnabled":true`) ||
				!strings.Contains(events[1], `"accountEnabled":false`) || !strings.Contains(events[2], `"password"`) {
				t.Errorf("UserUpdated records: %v %q", err, events)
			}
		})
	}
}

// A sign-in address with a newline and terminal escapes cannot forge a
// line or colour the output of audit search; JSON keeps it exact.
func TestCLIAuditOutputEscaped(t *testing.T) {
	ctx := context.Background()
	dir := installed(t, "")
	s, _, err := openStore(ctx, &Config{Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	evil := "x@example.com\n2026-01-01T00:00:00Z  UserLoggedIn  admin@example.com\x1b[31m"
	agent := "curl\r\u202egnp.exe\\n"
	by := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindMember, Email: evil}, Origin: gatehouse.Origin{ClientIP: "192.0.2.9", UserAgent: agent}}
	err = s.RecordAccess(ctx, by, gatehouse.OpFileAccessed, &gatehouse.Item{ID: "i", DriveID: "d", Name: "f.txt"})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	out, err := cli(t, dir, "", "audit", "search", "--operation", "FileAccessed")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if err != nil || len(lines) != 2 || strings.ContainsAny(out, "\x1b\r\u202e") ||
		!strings.Contains(lines[1], `x@example.com\n2026-01-01T00:00:00Z  UserLoggedIn  admin@example.com\x1b[31m`) {
		t.Errorf("table output: %v\n%q", err, out)
	}

	out, err = cli(t, dir, "", "audit", "search", "--operation", "FileAccessed", "--format", "csv")
	rows, cerr := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || cerr != nil || len(rows) != 2 || strings.ContainsAny(out, "\x1b\r\u202e") ||
		rows[1][3] != `x@example.com\n2026-01-01T00:00:00Z  UserLoggedIn  admin@example.com\x1b[31m` ||
		rows[1][6] != `curl\r\u202egnp.exe\\n` {
		t.Errorf("csv output: %v %v\n%q", err, cerr, out)
	}

	out, err = cli(t, dir, "", "audit", "search", "--operation", "FileAccessed", "--format", "json")
	var r gatehouse.Record
	if err != nil || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &r) != nil || r.UserID != evil || r.UserAgent != agent {
		t.Errorf("json output: %v %q", err, out)
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ann@example.com", "ann@example.com"},
		{"Ünïcode 日本 ok", "Ünïcode 日本 ok"},
		{"a\nb\tc\r", `a\nb\tc\r`},
		{"\x1b[31mred", `\x1b[31mred`},
		{"e\u202egnp.exe", `e\u202egnp.exe`},
		{"\u2066x\u2069\u200f", `\u2066x\u2069\u200f`},
		{"back\\n slash", `back\\n slash`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"\u0085next", `\u0085next`},
	} {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A formula in any cell is defused after escaping, too.
	row := csvRow(&gatehouse.Record{UserID: "=HYPERLINK(\"x\")", SourceFileName: "\t=1+1"})
	if row[3] != `'=HYPERLINK("x")` || row[9] != `\t=1+1` {
		t.Errorf("csvRow: %q %q", row[3], row[9])
	}
}
