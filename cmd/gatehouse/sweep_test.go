package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// Content left behind by a crash between writing and committing is removed
// when the server starts.
func TestOrphansSweptAtStart(t *testing.T) {
	dir := t.TempDir()
	orphan := filepath.Join(dir, "blobs", "ab", "ab0123456789abcdef0123456789abcd")
	partial := filepath.Join(dir, "tmp", "upload-123")
	for _, p := range []string{orphan, partial} {
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("left over"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := &Main{Config: Config{Listen: "127.0.0.1:0", Data: dir}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, p := range []string{orphan, partial} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the start (%v)", p, err)
		}
	}
}
