package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"gatehouse/internal/blob"
)

// TestMigrateLinkSlots: links that races duplicated before 0003 keep
// working in slots of their own, and the unique index holds afterwards.
func TestMigrateLinkSlots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"migrations/0001_init.sql", "migrations/0002_links.sql"} {
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations (name) VALUES (?)`, name); err != nil {
			t.Fatal(err)
		}
	}
	// Foreign keys are off on this connection: only the links matter here.
	for i, l := range []struct {
		id, item, role string
		created        int
	}{{"dup-b", "it1", "read", 2}, {"dup-a", "it1", "read", 1}, {"dup-c", "it1", "read", 3}, {"other", "it1", "write", 1}} {
		if _, err := raw.Exec(`INSERT INTO links (id, share_id, token, token_hash, item_id, drive_id, created_by, scope, role, created_at, updated_at)
			VALUES (?, ?, '', ?, ?, 'd1', 'u1', 'users', ?, ?, ?)`, l.id, l.id, l.id, l.item, l.role, l.created, l.created); err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
	}
	raw.Close()

	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, blobs, Options{})
	if err != nil {
		t.Fatalf("Open (migrate): %v", err)
	}
	defer s.Close()
	want := map[string]int{"dup-a": 0, "dup-b": 1, "dup-c": 2, "other": 0}
	for id, slot := range want {
		var got int
		if err := s.queryRow(ctx, `SELECT slot FROM links WHERE id = ?`, id).Scan(&got); err != nil {
			t.Fatalf("slot of %s: %v", id, err)
		}
		if got != slot {
			t.Errorf("slot of %s: got %d, want %d (oldest first)", id, got, slot)
		}
	}
	_, err = s.write.Exec(`INSERT INTO links (id, share_id, token, token_hash, item_id, drive_id, created_by, scope, role, created_at, updated_at)
		VALUES ('dup-d', 'dup-d', '', 'dup-d', 'it1', 'd1', 'u1', 'users', 'read', 4, 4)`)
	if !isUniqueViolation(err) {
		t.Errorf("a fifth link of the same item, scope, role and expiry in slot 0: got %v, want a unique violation", err)
	}
}
