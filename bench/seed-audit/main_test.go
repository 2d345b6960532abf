//go:build seed

package main

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/internal/blob"
	"gatehouse/internal/store"
)

// The tool continues a keyed chain that still verifies, and refuses a data
// directory nobody has set up.
func TestSeedAuditTool(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(dir, "audit.key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func() *store.Store {
		blobs, err := blob.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := hex.DecodeString(key)
		s, err := store.Open(ctx, filepath.Join(dir, "gatehouse.db"), blobs, store.Options{AuditKey: k})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	open().Close()
	var out strings.Builder
	if err := run(ctx, []string{"--data", dir, "--count", "7"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "appended 7 records") {
		t.Fatalf("seed-audit: %v %q", err, out.String())
	}
	s := open()
	defer s.Close()
	if n, brk, err := s.VerifyAudit(ctx); err != nil || brk != nil || n != 7 {
		t.Errorf("VerifyAudit after seeding: %d %+v %v, want 7 intact", n, brk, err)
	}
	missing := filepath.Join(dir, "nope")
	if err := run(ctx, []string{"--data", missing, "--count", "1"}, io.Discard, io.Discard); err == nil {
		t.Error("seeding a missing data directory succeeded")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("seeding a missing data directory created it")
	}
}
