package outbox_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/mail"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/outbox"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

var ctx = context.Background()

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, 30 * time.Second},
		{1, 30 * time.Second},
		{2, time.Minute},
		{3, 2 * time.Minute},
		{4, 4 * time.Minute},
		{7, 32 * time.Minute},
		{8, time.Hour},
		{9, time.Hour},
		{1000, time.Hour},
	} {
		if got := outbox.Backoff(tc.attempt); got != tc.want {
			t.Errorf("Backoff(%d): got %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

// clock is an injectable time that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func openStore(t *testing.T, b testenv.Backend, now func() time.Time) *store.Store {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, b.DSN(t, dir), blobs, store.Options{Now: now, BaseURL: "https://files.example.com"})
	if err != nil {
		t.Fatalf("store.Open(%s): %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// share shares a new folder with an external address, which queues an
// invitation, and returns the link.
func share(t *testing.T, s *store.Store, email string) *gatehouse.Link {
	t.Helper()
	u, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "owner@example.com", DisplayName: "Olive Owner", Password: "correct horse battery"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	by := gatehouse.UserActor(u, "192.0.2.10", "test-agent/1.0")
	d, err := s.DriveByOwner(ctx, u.ID)
	if err != nil {
		t.Fatalf("DriveByOwner: %v", err)
	}
	f, err := s.CreateFolder(ctx, by, d.ID, d.RootID, "Quarterly figures")
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	l, _, err := s.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID, Role: gatehouse.RoleRead, Emails: []string{email}, SendInvitation: true})
	if err != nil {
		t.Fatalf("Share: %v", err)
	}
	return l
}

// only returns the single message in the outbox.
func only(t *testing.T, s *store.Store) store.OutboxMessage {
	t.Helper()
	all, err := s.Outbox(ctx, "", 10)
	if err != nil || len(all) != 1 {
		t.Fatalf("Outbox: got %d messages, %v; want 1", len(all), err)
	}
	return all[0]
}

func TestOutboxWorkerDelivers(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := openStore(t, b, nil)
			relay := mailtest.Start(t)
			sender, err := mail.NewSMTP(relay.URL())
			if err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			w := &outbox.Worker{Store: s, Sender: sender, Log: slog.New(slog.NewTextHandler(&logs, nil))}
			stop := w.Start(ctx)
			defer stop()

			const guest = "guest@partner.example"
			l := share(t, s, guest)
			inv := relay.WaitFor(t, guest, 10*time.Second)
			if want := `Olive Owner shared "Quarterly figures" with you`; inv.Subject != want {
				t.Errorf("invitation subject: got %q, want %q", inv.Subject, want)
			}
			if !strings.Contains(inv.Text, s.LinkURL(l)) || !strings.Contains(inv.HTML, s.LinkURL(l)) {
				t.Errorf("invitation lacks the link %s:\n%s", s.LinkURL(l), inv.Text)
			}
			if inv.From != "gatehouse@localhost" {
				t.Errorf("envelope sender: got %q, want gatehouse@localhost", inv.From)
			}

			// The code that arrives is the one the store accepts.
			if err := s.SendPasscode(ctx, l.Token, guest, "198.51.100.7", "test-agent/1.0"); err != nil {
				t.Fatalf("SendPasscode: %v", err)
			}
			pc := relay.WaitFor(t, guest, 10*time.Second)
			code := mailtest.Code(t, pc)
			if _, err := s.VerifyPasscode(ctx, l.Token, guest, code, false, "198.51.100.7", "test-agent/1.0"); err != nil {
				t.Errorf("VerifyPasscode with the mailed code: %v", err)
			}

			// The worker records the delivery just after the relay has it.
			var sent []store.OutboxMessage
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if sent, err = s.Outbox(ctx, store.OutboxSent, 10); err != nil || len(sent) == 2 {
					break
				}
			}
			if len(sent) != 2 {
				t.Fatalf("sent messages: got %d (%v), want 2", len(sent), err)
			}
			for _, m := range sent {
				if m.Attempts != 1 || m.SentAt.IsZero() || m.LastError != "" {
					t.Errorf("sent %s: got %+v, want one attempt, a send time and no error", m.Kind, m)
				}
			}
			if got := len(relay.Messages()); got != 2 {
				t.Errorf("relay received %d messages, want 2", got)
			}

			stop()
			out := logs.String()
			for _, want := range []string{"mail sent", "kind=invitation", "kind=passcode", "to=" + guest} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, code) || strings.Contains(out, s.LinkURL(l)) {
				t.Errorf("log contains a mail body:\n%s", out)
			}
		})
	}
}

func TestOutboxWorkerRetriesThenGivesUp(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			clk := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
			s := openStore(t, b, clk.Now)

			// A relay address with nothing listening.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			sender, err := mail.NewSMTP("smtp://" + addr)
			if err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			w := &outbox.Worker{Store: s, Sender: sender, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: clk.Now}

			share(t, s, "guest@partner.example")
			created := clk.Now()
			deliver := func(want int) store.OutboxMessage {
				t.Helper()
				n, err := w.Deliver(ctx)
				if err != nil || n != want {
					t.Fatalf("Deliver at +%v: got %d, %v; want %d", clk.Now().Sub(created), n, err, want)
				}
				return only(t, s)
			}

			// Each failure waits twice as long as the one before.
			for i, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
				m := deliver(1)
				if m.State != store.OutboxPending || m.Attempts != i+1 || !m.NextAttemptAt.Equal(clk.Now().Add(wait)) {
					t.Errorf("after failure %d: got %+v, want pending, next attempt in %v", i+1, m, wait)
				}
				if !strings.Contains(m.LastError, "could not connect") {
					t.Errorf("LastError: got %q, want the connection failure", m.LastError)
				}
				clk.Advance(wait - time.Second)
				deliver(0)
				clk.Advance(time.Second)
			}

			// The last retry falls on the deadline rather than after it.
			deadline := created.Add(outbox.GiveUpAfter)
			clk.Advance(deadline.Sub(clk.Now()) - time.Minute)
			if m := deliver(1); m.State != store.OutboxPending || !m.NextAttemptAt.Equal(deadline) {
				t.Errorf("a minute before the deadline: got %+v, want the next attempt at %v", m, deadline)
			}
			clk.Advance(time.Minute)
			if m := deliver(1); m.State != store.OutboxFailed || m.Attempts != 5 {
				t.Errorf("at the deadline: got %+v, want failed after 5 attempts", m)
			}
			clk.Advance(time.Hour)
			deliver(0)

			out := logs.String()
			if got := strings.Count(out, "level=WARN msg=\"mail delivery failed; will retry\""); got != 4 {
				t.Errorf("retry warnings: got %d, want 4:\n%s", got, out)
			}
			if !strings.Contains(out, "level=WARN msg=\"mail delivery failed; giving up\"") {
				t.Errorf("no final warning:\n%s", out)
			}
		})
	}
}
