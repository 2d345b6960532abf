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
	for _, q := range []string{
		`INSERT INTO users (id, email, display_name, user_type, created_at, updated_at) VALUES ('u1', 'ann@example.com', 'Ann', 'Member', 1, 1)`,
		`INSERT INTO drives (id, owner_id, root_id, created_at) VALUES ('d1', 'u1', 'root', 1)`,
		`INSERT INTO items (id, drive_id, parent_id, name, name_key, is_folder, created_at, modified_at, created_by, modified_by)
			VALUES ('root', 'd1', NULL, 'root', 'root', TRUE, 1, 1, 'u1', 'u1'), ('it1', 'd1', 'root', 'a', 'a', FALSE, 1, 1, 'u1', 'u1')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
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
	var owners int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM drive_owners WHERE drive_id = 'd1' AND user_id = 'u1'`).Scan(&owners); err != nil || owners != 1 {
		t.Errorf("drive_owners of d1: got %d, %v; want the personal drive's user", owners, err)
	}
	if d, err := s.Drive(ctx, "d1"); err != nil || d.Type != "personal" || d.OwnerID != "u1" {
		t.Errorf("drive d1 after 0007: got %+v, %v; want a personal drive of u1", d, err)
	}
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
