package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"gatehouse"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	dir := t.TempDir()
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
