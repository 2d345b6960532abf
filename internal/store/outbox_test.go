package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// queueInvitations shares a new folder with n external addresses, which
// queues one invitation each, and returns the link.
func (e *env) queueInvitations(n int) *gatehouse.Link {
	e.t.Helper()
	_, by, d := e.member("owner@example.com")
	f := e.folder(by, d, d.RootID, "Reports")
	var emails []string
	for i := range n {
		emails = append(emails, fmt.Sprintf("guest%02d@partner.example", i))
	}
	l, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID, Role: gatehouse.RoleRead, Emails: emails, SendInvitation: true})
	if err != nil {
		e.t.Fatalf("Share: %v", err)
	}
	return l
}

// claim claims due mail and fails the test on error.
func (e *env) claim(limit int, lease time.Duration) []store.OutboxMessage {
	e.t.Helper()
	msgs, err := e.ClaimMail(ctx, limit, lease)
	if err != nil {
		e.t.Fatalf("ClaimMail: %v", err)
	}
	return msgs
}

// outboxMessage returns the listing entry of one message.
func (e *env) outboxMessage(id string) store.OutboxMessage {
	e.t.Helper()
	all, err := e.Outbox(ctx, "", 1000)
	if err != nil {
		e.t.Fatalf("Outbox: %v", err)
	}
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	e.t.Fatalf("message %s is not in the outbox", id)
	return store.OutboxMessage{}
}

func TestOutboxClaimIsExclusive(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			const n = 40
			e.queueInvitations(n)

			// A second node on the same database, with the same key file.
			other := e.open(t.TempDir())

			var mu sync.Mutex
			claimed := map[string]int{}
			var wg sync.WaitGroup
			for i := range 6 {
				s := e.Store
				if i%2 == 1 {
					s = other
				}
				wg.Go(func() {
					for {
						msgs, err := s.ClaimMail(ctx, 3, time.Minute)
						if err != nil {
							t.Errorf("ClaimMail: %v", err)
							return
						}
						if len(msgs) == 0 {
							return
						}
						mu.Lock()
						for _, m := range msgs {
							claimed[m.ID]++
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(claimed) != n {
				t.Errorf("claimed %d distinct messages, want %d", len(claimed), n)
			}
			for id, c := range claimed {
				if c != 1 {
					t.Errorf("message %s claimed %d times, want once", id, c)
				}
			}
			if got := e.count(`SELECT COUNT(*) FROM outbox WHERE attempts <> 1`); got != 0 {
				t.Errorf("%d messages have attempts other than 1", got)
			}
		})
	}
}

func TestOutboxLeaseExpiry(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			l := e.queueInvitations(1)

			got := e.claim(10, time.Minute)
			if len(got) != 1 {
				t.Fatalf("first claim: got %d messages, want 1", len(got))
			}
			m := got[0]
			if m.To != "guest00@partner.example" || m.Kind != "invitation" || m.Attempts != 1 || m.State != store.OutboxPending {
				t.Errorf("claimed %+v, want a pending invitation to guest00 on attempt 1", m)
			}
			if !strings.Contains(m.Text, e.LinkURL(l)) || !strings.Contains(m.HTML, e.LinkURL(l)) {
				t.Errorf("claimed bodies lack the link %s:\n%s", e.LinkURL(l), m.Text)
			}
			if want := e.clock.Now().Add(time.Minute); !m.LeaseUntil.Equal(want) {
				t.Errorf("LeaseUntil: got %v, want %v", m.LeaseUntil, want)
			}

			if got := e.claim(10, time.Minute); len(got) != 0 {
				t.Errorf("claim during the lease: got %d messages, want 0", len(got))
			}
			e.clock.Advance(59 * time.Second)
			if got := e.claim(10, time.Minute); len(got) != 0 {
				t.Errorf("claim 1 s before the lease ends: got %d messages, want 0", len(got))
			}
			e.clock.Advance(time.Second)
			got = e.claim(10, time.Minute)
			if len(got) != 1 || got[0].ID != m.ID || got[0].Attempts != 2 {
				t.Fatalf("claim after the lease: got %+v, want %s on attempt 2", got, m.ID)
			}
		})
	}
}

func TestOutboxFailureBackoffAndRetry(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.queueInvitations(1)
			m := e.claim(1, time.Minute)[0]

			now := e.clock.Now()
			long := strings.Repeat("é", 3000) // 6000 bytes
			if err := e.MailFailed(ctx, m.ID, "dial tcp: connection refused "+long, now.Add(30*time.Second), false); err != nil {
				t.Fatalf("MailFailed: %v", err)
			}
			got := e.outboxMessage(m.ID)
			if got.State != store.OutboxPending || got.Attempts != 1 || !got.NextAttemptAt.Equal(now.Add(30*time.Second)) || !got.LeaseUntil.IsZero() {
				t.Errorf("after a failure: got %+v, want pending, attempt 1, next in 30 s, no lease", got)
			}
			if !strings.HasPrefix(got.LastError, "dial tcp: connection refused") || len(got.LastError) > 1000 || !strings.HasSuffix(got.LastError, "é") {
				t.Errorf("LastError: got %d bytes %q…, want the error cut to at most 1000 bytes on a character boundary", len(got.LastError), got.LastError[:40])
			}
			if got.Text != "" || got.HTML != "" {
				t.Errorf("Outbox listed bodies")
			}

			// Not due until the backoff has passed, lease or not.
			if got := e.claim(1, time.Minute); len(got) != 0 {
				t.Errorf("claim before the retry time: got %d, want 0", len(got))
			}
			e.clock.Advance(30 * time.Second)
			again := e.claim(1, time.Minute)
			if len(again) != 1 || again[0].Attempts != 2 {
				t.Fatalf("claim at the retry time: got %+v, want the message on attempt 2", again)
			}

			if err := e.MailFailed(ctx, m.ID, "550 mailbox unavailable", time.Time{}, true); err != nil {
				t.Fatalf("MailFailed final: %v", err)
			}
			got = e.outboxMessage(m.ID)
			if got.State != store.OutboxFailed || got.LastError != "550 mailbox unavailable" {
				t.Errorf("after the final failure: got %+v, want failed with the last error", got)
			}
			e.clock.Advance(48 * time.Hour)
			if got := e.claim(1, time.Minute); len(got) != 0 {
				t.Errorf("claim of a failed message: got %d, want 0", len(got))
			}
			wantCode(t, "MailSent on a failed message", e.MailSent(ctx, m.ID), gatehouse.ENOTFOUND)
			wantCode(t, "MailFailed on a failed message", e.MailFailed(ctx, m.ID, "x", time.Time{}, true), gatehouse.ENOTFOUND)
			failed, err := e.Outbox(ctx, store.OutboxFailed, 10)
			if err != nil || len(failed) != 1 || failed[0].ID != m.ID {
				t.Errorf("Outbox(failed): got %+v, %v; want the message", failed, err)
			}

			// An administrator's retry makes it due at once.
			if err := e.RetryMail(ctx, m.ID); err != nil {
				t.Fatalf("RetryMail: %v", err)
			}
			retried := e.claim(1, time.Minute)
			if len(retried) != 1 || retried[0].ID != m.ID || retried[0].Attempts != 3 {
				t.Fatalf("claim after RetryMail: got %+v, want the message on attempt 3", retried)
			}
			if err := e.MailSent(ctx, m.ID); err != nil {
				t.Fatalf("MailSent: %v", err)
			}
			got = e.outboxMessage(m.ID)
			if got.State != store.OutboxSent || !got.SentAt.Equal(e.clock.Now()) || got.LastError != "" {
				t.Errorf("after MailSent: got %+v, want sent now with no error", got)
			}
			e.clock.Advance(time.Hour)
			if got := e.claim(1, time.Minute); len(got) != 0 {
				t.Errorf("claim of a sent message: got %d, want 0", len(got))
			}
			wantCode(t, "RetryMail on a sent message", e.RetryMail(ctx, m.ID), gatehouse.ECONFLICT)
			wantCode(t, "RetryMail on an unknown id", e.RetryMail(ctx, "nope"), gatehouse.ENOTFOUND)
		})
	}
}

func TestOutboxListing(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			l := e.queueInvitations(1)
			e.clock.Advance(time.Second)
			if err := e.SendPasscode(ctx, l.Token, "guest00@partner.example", "198.51.100.7", "test-agent/1.0"); err != nil {
				t.Fatalf("SendPasscode: %v", err)
			}

			all, err := e.Outbox(ctx, "", 10)
			if err != nil {
				t.Fatalf("Outbox: %v", err)
			}
			var kinds []string
			for _, m := range all {
				kinds = append(kinds, m.Kind)
				if m.Text != "" || m.HTML != "" {
					t.Errorf("Outbox listed the body of the %s mail", m.Kind)
				}
			}
			if got, want := strings.Join(kinds, ","), "passcode,invitation"; got != want {
				t.Errorf("kinds newest first: got %s, want %s", got, want)
			}
			if one, err := e.Outbox(ctx, store.OutboxPending, 1); err != nil || len(one) != 1 || one[0].Kind != "passcode" {
				t.Errorf("Outbox(pending, 1): got %+v, %v; want the passcode mail", one, err)
			}
			if sent, err := e.Outbox(ctx, store.OutboxSent, 10); err != nil || len(sent) != 0 {
				t.Errorf("Outbox(sent): got %+v, %v; want none", sent, err)
			}
			_, err = e.Outbox(ctx, "bogus", 10)
			wantCode(t, "Outbox(bogus)", err, gatehouse.EINVALID)
		})
	}
}

// rawOutbox returns every column of every outbox row as text, as someone
// holding a copy of the database would read it.
func (e *env) rawOutbox() []string {
	e.t.Helper()
	rows, err := e.DB().db.QueryContext(ctx, `SELECT * FROM outbox`)
	if err != nil {
		e.t.Fatalf("read the outbox table: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		var row strings.Builder
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(&row, "%s=%v\n", cols[i], v)
		}
		out = append(out, row.String())
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestOutboxBodiesSealed checks that the outbox table never holds a link
// token or a passcode in clear, while the worker's claim still gets both.
func TestOutboxBodiesSealed(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			l := e.queueInvitations(1)
			to := "guest00@partner.example"
			e.clock.Advance(time.Second)
			if err := e.SendPasscode(ctx, l.Token, to, "198.51.100.7", "test-agent/1.0"); err != nil {
				t.Fatalf("SendPasscode: %v", err)
			}
			rows := e.rawOutbox()
			if len(rows) != 2 {
				t.Fatalf("outbox rows: got %d, want an invitation and a passcode mail", len(rows))
			}
			for _, row := range rows {
				if strings.Contains(row, l.Token) {
					t.Errorf("an outbox row holds the link token in clear:\n%s", row)
				}
				if !strings.Contains(row, "text_body=enc1:") || !strings.Contains(row, "html_body=enc1:") {
					t.Errorf("an outbox row has a body that is not sealed:\n%s", row)
				}
			}

			msgs := e.claim(10, time.Minute)
			var code string
			for _, m := range msgs {
				switch m.Kind {
				case "invitation":
					if !strings.Contains(m.Text, e.LinkURL(l)) || !strings.Contains(m.HTML, e.LinkURL(l)) {
						t.Errorf("the claimed invitation lacks the link:\n%s", m.Text)
					}
				case "passcode":
					code = eightDigits.FindString(m.Text)
				}
			}
			if len(msgs) != 2 || code == "" {
				t.Fatalf("claimed %d messages, passcode %q; want both mails, with a code", len(msgs), code)
			}
			for _, row := range e.rawOutbox() {
				if strings.Contains(row, code) {
					t.Errorf("an outbox row holds the passcode %s in clear:\n%s", code, row)
				}
			}

			// Failing for good keeps the invitation for a retry, still sealed.
			for _, m := range msgs {
				if err := e.MailFailed(ctx, m.ID, "550 no", time.Time{}, true); err != nil {
					t.Fatalf("MailFailed: %v", err)
				}
			}
			for _, row := range e.rawOutbox() {
				if strings.Contains(row, l.Token) || strings.Contains(row, code) {
					t.Errorf("a failed outbox row holds a secret in clear:\n%s", row)
				}
			}
		})
	}
}

// TestOutboxBodyBoundToRecipient checks that a sealed body readdressed in
// the database is not sent: the message fails with a reason instead.
func TestOutboxBodyBoundToRecipient(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.queueInvitations(2)
			if n := e.exec(`UPDATE outbox SET to_addr = 'mallory@evil.example' WHERE to_addr = 'guest00@partner.example'`); n != 1 {
				t.Fatalf("readdressed %d rows, want 1", n)
			}
			msgs := e.claim(10, time.Minute)
			if len(msgs) != 1 || msgs[0].To != "guest01@partner.example" {
				t.Fatalf("claimed %+v, want only the untouched mail to guest01", msgs)
			}
			failed, err := e.Outbox(ctx, store.OutboxFailed, 10)
			if err != nil || len(failed) != 1 || failed[0].To != "mallory@evil.example" || !strings.Contains(failed[0].LastError, "does not open") {
				t.Errorf("Outbox(failed): got %+v, %v; want the readdressed mail, failed with the reason", failed, err)
			}
		})
	}
}
