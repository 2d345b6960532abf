package main

import (
	"database/sql"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// gate forwards TCP connections to addr while open; while shut it hangs up
// on every connection, as a relay that is down would.
type gate struct {
	ln   net.Listener
	open atomic.Bool
	wg   sync.WaitGroup
}

func newGate(t *testing.T, addr string) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln}
	t.Cleanup(func() { ln.Close(); g.wg.Wait() })
	g.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !g.open.Load() {
				c.Close()
				continue
			}
			g.wg.Go(func() {
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, up)
			})
		}
	})
	return g
}

// rawDB opens the server's database directly, as a copy of it would be read.
func rawDB(t *testing.T, s *server) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+s.Config.Database+"?_pragma=busy_timeout(10000)"
	if strings.HasPrefix(s.Config.Database, "postgres") {
		driver, dsn = "pgx", s.Config.Database
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// outboxRows returns every column of every outbox row as text.
func outboxRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM outbox`)
	if err != nil {
		t.Fatalf("read the outbox table: %v", err)
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
			t.Fatal(err)
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
		t.Fatal(err)
	}
	return out
}

// TestOutboxHoldsNoSecrets queues an invitation and a passcode mail while
// the relay is down, checks that the outbox table holds neither the link
// token nor the code in clear, then lets the relay up and follows the link
// with the code from the mail.
func TestOutboxHoldsNoSecrets(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			relay := mailtest.Start(t)
			g := newGate(t, relay.Addr())
			s := startServer(t, b, func(c *Config) { c.SMTPURL = "smtp://" + g.ln.Addr().String() })
			db := rawDB(t, s)
			o := &apiClient{t: t, base: s.URL, token: s.token(s.addUser("olivia@example.com", "Olivia", "correct horse battery", false))}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			f := o.json("PUT", "/v1.0/drives/"+d+"/items/"+root+":/plan.txt:/content", "the plan", 201)
			ext := "ext@partner.test"
			resp := o.json("POST", "/v1.0/drives/"+d+"/items/"+f["id"].(string)+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": ext}}, "roles": []string{"read"}, "sendInvitation": true}, 200)
			webURL := resp["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)
			token := strings.TrimPrefix(webURL, s.URL+"/s/")
			rc := newRecipient(t)
			if status, _, body := rc.call("POST", webURL+"/passcode", map[string]string{"email": ext}); status != 200 {
				t.Fatalf("ask for a code: %d %s", status, body)
			}

			// Both mails have been tried and failed: they wait, sealed.
			deadline := time.Now().Add(15 * time.Second)
			var tried int
			for time.Now().Before(deadline) {
				if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND attempts > 0 AND last_error <> ''`).Scan(&tried); err != nil {
					t.Fatal(err)
				}
				if tried == 2 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if tried != 2 {
				t.Fatalf("%d mails failed against the closed relay, want 2", tried)
			}
			pending := outboxRows(t, db)
			for _, row := range pending {
				if strings.Contains(row, token) {
					t.Errorf("a pending outbox row holds the link token in clear:\n%s", row)
				}
				if !strings.Contains(row, "text_body=enc1:") {
					t.Errorf("a pending outbox row has an unsealed body:\n%s", row)
				}
			}

			// The relay is back; make the retries due now rather than in 30 s.
			g.open.Store(true)
			if _, err := db.Exec(`UPDATE outbox SET next_attempt_at = 0 WHERE state = 'pending'`); err != nil {
				t.Fatal(err)
			}
			var inv, pc mailtest.Mail
			for range 2 {
				m := relay.WaitFor(t, ext, 15*time.Second)
				if strings.Contains(m.Subject, "verification code") {
					pc = m
				} else {
					inv = m
				}
			}
			if got := mailtest.ExtractLink(t, inv, s.URL+"/s/"); got != webURL {
				t.Errorf("invitation link = %q, want %q", got, webURL)
			}
			code := mailtest.Code(t, pc)
			for _, row := range pending {
				if strings.Contains(row, code) {
					t.Errorf("the pending passcode row held the code %s in clear:\n%s", code, row)
				}
			}
			if status, _, body := rc.call("POST", webURL+"/verify", map[string]any{"email": ext, "code": code}); status != 200 {
				t.Errorf("verify with the mailed code: %d %s", status, body)
			}
			for _, row := range outboxRows(t, db) {
				if strings.Contains(row, token) || strings.Contains(row, code) {
					t.Errorf("a sent outbox row holds a secret in clear:\n%s", row)
				}
			}
		})
	}
}
