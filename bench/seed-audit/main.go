//go:build seed

// Command seed-audit appends synthetic, back-dated audit records to a
// development database, to benchmark audit search over a large log. It
// builds only with -tags seed and is not part of the gatehouse binary:
//
//	go run -tags seed ./bench/seed-audit --data ./gatehouse-data --count 1000000
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"gatehouse/internal/blob"
	"gatehouse/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "seed-audit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("seed-audit", flag.ContinueOnError)
	flags.SetOutput(stderr)
	data := flags.String("data", "./gatehouse-data", "data `dir` of a development installation (gatehouse serve has run on it)")
	database := flags.String("database", "", "database `url`: postgres://… or a SQLite path; default SQLite in the data directory")
	keyFile := flags.String("audit-key-file", "", "`file` with the audit chain's key; default <data>/audit.key")
	count := flags.Int("count", 1000000, "how many `records` to append")
	span := flags.Duration("span", 30*24*time.Hour, "spread the records over this `duration` back from now")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if *count < 0 || *span <= 0 {
		return errors.New("--count must be 0 or more and --span more than 0")
	}
	if _, err := os.Stat(*data); err != nil {
		return fmt.Errorf("--data: %w (run gatehouse serve on it first)", err)
	}
	dsn := *database
	if dsn == "" {
		dsn = filepath.Join(*data, "gatehouse.db")
		if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no database at %s: run gatehouse serve on it first", dsn)
		}
	}
	if *keyFile == "" {
		*keyFile = filepath.Join(*data, "audit.key")
	}
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return fmt.Errorf("audit key %s: not 64 hex digits", *keyFile)
	}
	blobs, err := blob.Open(*data)
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, dsn, blobs, store.Options{AuditKey: key})
	if err != nil {
		return fmt.Errorf("open the store (audit key %s): %w", *keyFile, err)
	}
	defer s.Close()
	start := time.Now()
	if err := s.SeedAudit(ctx, *count, store.SeedRecord(*count, start.Add(-*span), *span)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "appended %d records in %s\n", *count, time.Since(start).Round(time.Millisecond))
	return nil
}
