package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestOpenSQLitePath checks that the database lands at the path given, even
// when the data directory's name holds characters that mean something in a
// URI. SQLite only.
func TestOpenSQLitePath(t *testing.T) {
	tests := []struct{ label, dir string }{
		{"plain", "plain"},
		{"space", "with space"},
		{"hash", "hash#mark"},
		{"question", "question?mark"},
		{"percent", "percent%20sign"},
		{"unicode", "ümlaut"},
	}
	for _, tt := range tests {
		// The label keeps these characters out of t.TempDir's own name, so
		// a misplaced database still lands inside the temp dir.
		t.Run(tt.label, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.dir)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			blobs, err := blob.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "gatehouse.db")
			s, err := store.Open(ctx, path, blobs, store.Options{})
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			s.Close()
			if _, err := os.Stat(path); err != nil {
				t.Errorf("Open(%q) did not create the database there: %v", path, err)
			}
		})
	}
}

// TestReopen checks that state survives closing and opening the store again
// on the same database, and that migrations are not applied twice.
func TestReopen(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			u := e.user("ann@example.com")
			e.Close()
			s := e.open(e.dir)
			if got, err := s.User(ctx, u.ID); err != nil || got.Email != u.Email {
				t.Errorf("User after reopening: got %v, %v; want %s", got, err, u.Email)
			}
			if n, brk, err := s.VerifyAudit(ctx); err != nil || brk != nil || n != 1 {
				t.Errorf("VerifyAudit after reopening: got %d, %+v, %v; want 1 and no break", n, brk, err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if got := s.Postgres(); got != (b.Name == "postgres") {
				t.Errorf("Postgres(): got %v on %s", got, b.Name)
			}
		})
	}
}
