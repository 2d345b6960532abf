package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gatehouse/internal/mail"
)

func TestMaildir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := mail.NewMaildir(dir, log)

	m := validMessage()
	m.Text = "Your code is 12345678.\n"
	for range 2 {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}

	for _, sub := range []string{"tmp", "new", "cur"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s has mode %v, want 0700", sub, got)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("tmp holds %d files after delivery, want 0", len(left))
	}
	files, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("new holds %d files, want 2", len(files))
	}
	name := regexp.MustCompile(`^\d+\.[0-9a-f]{16}\.[^/:]+$`)
	for _, f := range files {
		if !name.MatchString(f.Name()) {
			t.Errorf("file name %q is not <unixnano>.<random>.<hostname>", f.Name())
		}
		info, _ := f.Info()
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f.Name(), got)
		}
		raw, err := os.ReadFile(filepath.Join(dir, "new", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got := readMessage(t, raw)
		if got.subject != m.Subject || !strings.Contains(got.text, "12345678") {
			t.Errorf("delivered subject %q and text %q, want %q and the code", got.subject, got.text, m.Subject)
		}
		if got.header.Get("Message-ID") == "" {
			t.Error("delivered message has no Message-ID")
		}
	}

	out := logs.String()
	if n := strings.Count(out, `msg="mail delivered to maildir"`); n != 2 {
		t.Errorf("log has %d delivery lines, want 2:\n%s", n, out)
	}
	for _, want := range []string{"level=INFO", "to=bob@example.org", "subject=Hello", "path=" + filepath.Join(dir, "new")} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestMaildirRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	m := validMessage()
	m.Subject = "a\nb"
	if err := mail.NewMaildir(dir, nil).Send(context.Background(), m); err == nil {
		t.Fatal("Send of a message with a line break in the subject succeeded, want an error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("maildir has %d entries after a refused message, want 0", len(entries))
	}
}
