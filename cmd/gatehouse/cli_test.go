package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// cli runs a gatehouse command in-process with the data directory.
func cli(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--data", dir)
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
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
	db, err := sql.Open("sqlite", filepath.Join(dir, "gatehouse.db"))
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
