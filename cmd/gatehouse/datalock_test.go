package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"gatehouse/internal/testenv"
)

// A second serve on the data directory of a running SQLite server refuses
// and names the directory; admin commands still work beside the server;
// once the first closes, the directory is free again.
func TestDataDirLock(t *testing.T) {
	b := testenv.Backends()[0]
	first := startServer(t, b)
	dir := first.Config.Data
	second := &Main{Config: Config{Listen: "127.0.0.1:0", Data: dir, Database: b.DSN(t, dir)},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := second.Run(context.Background())
	if err == nil {
		second.Close()
		t.Fatal("a second serve on the same data directory started")
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second serve: got %q, want a message naming %s as in use", err, dir)
	}

	first.addUser("ada@example.com", "Ada", "correct horse battery", false)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"user", "list", "--data", dir}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Errorf("user list beside a running server: %v", err)
	} else if !strings.Contains(out.String(), "ada@example.com") {
		t.Errorf("user list beside a running server: %q", out.String())
	}

	first.Close()
	if err := second.Run(context.Background()); err != nil {
		t.Fatalf("serve after the first closed: %v", err)
	}
	second.Close()
}

// Servers on PostgreSQL may share a content directory, so they take the
// lock shared; a SQLite server, which owns its directory, is kept out.
func TestDataDirLockPostgres(t *testing.T) {
	pg := testenv.Backends()[1]
	first := startServer(t, pg)
	dir := first.Config.Data
	second := &Main{Config: Config{Listen: "127.0.0.1:0", Data: dir, Database: first.Config.Database},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := second.Run(context.Background()); err != nil {
		t.Fatalf("a second PostgreSQL node on the shared directory: %v", err)
	}
	defer second.Close()
	lite := &Main{Config: Config{Listen: "127.0.0.1:0", Data: dir}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := lite.Run(context.Background()); err == nil || !strings.Contains(err.Error(), dir) {
		lite.Close()
		t.Fatalf("a SQLite server on a directory PostgreSQL nodes use: got %v, want a refusal naming %s", err, dir)
	}
}
