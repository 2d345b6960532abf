//go:build linux

package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gatehouse"
)

// openPTY returns a new pseudo-terminal: what is written to master is what
// a user types on slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// typeAt waits until the command has shown prompt and turned echo off,
// then types line, as a person would.
func typeAt(t *testing.T, master, slave *os.File, stderr *syncBuffer, done <-chan error, prompt, line string) {
	t.Helper()
	for {
		tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stderr.String(), prompt) && tio.Lflag&unix.ECHO == 0 {
			break
		}
		if d, ok := t.Deadline(); ok && time.Until(d) < 10*time.Second {
			t.Fatalf("no prompt %q with echo off before the test deadline; stderr %q", prompt, stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("the command ended before prompting %q: %v; stderr %q", prompt, err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if _, err := io.WriteString(master, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// On a terminal, user add and user passwd prompt on stderr, twice, and the
// password never shows.
func TestCLIPasswordPrompt(t *testing.T) {
	dir := installed(t, "")
	const pw = "typed secret phrase"
	master, slave := openPTY(t)
	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"user", "add", "--email", "ada@example.com", "--name", "Ada", "--data", dir}, slave, &stdout, &stderr)
	}()
	typeAt(t, master, slave, &stderr, done, "Password for ada@example.com: ", pw)
	typeAt(t, master, slave, &stderr, done, "Confirm the password for ada@example.com: ", pw)
	if err := <-done; err != nil || !strings.Contains(stdout.String(), "added Ada <ada@example.com>") {
		t.Fatalf("user add on a terminal: %v %q %q", err, stdout.String(), stderr.String())
	}
	slave.Close()
	echoed, _ := io.ReadAll(master) // ends with EIO once the terminal is closed
	if bytes.Contains(echoed, []byte("secret")) || strings.Contains(stdout.String()+stderr.String(), "secret") {
		t.Errorf("the password was shown: terminal %q, stdout %q, stderr %q", echoed, stdout.String(), stderr.String())
	}
	if !checkPassword(t, dir, "ada@example.com", pw) {
		t.Error("the typed password is not the member's")
	}

	// Two different entries change nothing.
	master, slave = openPTY(t)
	stderr = syncBuffer{}
	go func() {
		done <- run(context.Background(), []string{"user", "passwd", "--email", "ada@example.com", "--data", dir}, slave, io.Discard, &stderr)
	}()
	typeAt(t, master, slave, &stderr, done, "Password for ada@example.com: ", "another long phrase")
	typeAt(t, master, slave, &stderr, done, "Confirm the password for ada@example.com: ", "another long phrasf")
	if err := <-done; err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("user passwd with two different entries: %v", err)
	}
	if !checkPassword(t, dir, "ada@example.com", pw) {
		t.Error("the password changed after a mismatched confirmation")
	}

	// A password too short is refused before the confirmation.
	master, slave = openPTY(t)
	stderr = syncBuffer{}
	go func() {
		done <- run(context.Background(), []string{"user", "passwd", "--email", "ada@example.com", "--data", dir}, slave, io.Discard, &stderr)
	}()
	typeAt(t, master, slave, &stderr, done, "Password for ada@example.com: ", "short")
	if err := <-done; err == nil || !strings.Contains(err.Error(), "at least 10 characters") || strings.Contains(stderr.String(), "Confirm") {
		t.Errorf("a short password on a terminal: %v %q", err, stderr.String())
	}
}

func checkPassword(t *testing.T, dir, email, pw string) bool {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var hash string
	if err := raw.QueryRow(`SELECT password_hash FROM users WHERE email = ?`, email).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	return gatehouse.CheckPassword(hash, pw)
}
