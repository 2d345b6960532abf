package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// shareFolder has a new member share a folder with an external address,
// which queues an invitation, and returns the link's URL.
func (s *server) shareFolder(to string) string {
	s.t.Helper()
	u := s.addUser("owner@example.com", "Olive Owner", "correct horse battery", false)
	d, err := s.Store.DriveByOwner(context.Background(), u.ID)
	if err != nil {
		s.t.Fatalf("DriveByOwner: %v", err)
	}
	by := gatehouse.UserActor(u, "192.0.2.10", "test-agent/1.0")
	f, err := s.Store.CreateFolder(context.Background(), by, d.ID, d.RootID, "Plans")
	if err != nil {
		s.t.Fatalf("CreateFolder: %v", err)
	}
	l, _, err := s.Store.Share(context.Background(), by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID, Role: gatehouse.RoleRead, Emails: []string{to}, SendInvitation: true})
	if err != nil {
		s.t.Fatalf("Share: %v", err)
	}
	return s.Store.LinkURL(l)
}

func TestServeDeliversMail(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			relay := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = relay.URL(); c.MailFrom = "Files <files@example.com>" })
			link := s.shareFolder("guest@partner.example")
			m := relay.WaitFor(t, "guest@partner.example", 10*time.Second)
			if !strings.Contains(m.Text, link) || m.From != "files@example.com" {
				t.Errorf("invitation from %s lacks the link %s:\n%s", m.From, link, m.Text)
			}
		})
	}
}

func TestServeWritesMaildirWithoutSMTP(t *testing.T) {
	s := startServer(t, testenv.Backends()[0])
	link := s.shareFolder("guest@partner.example")
	dir := filepath.Join(s.Config.Data, "maildir", "new")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		files, _ := os.ReadDir(dir)
		if len(files) == 1 {
			raw, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
			if err != nil {
				t.Fatal(err)
			}
			// The body is quoted-printable: undo its soft line breaks; the
			// link has no character it would escape.
			if body := strings.ReplaceAll(string(raw), "=\r\n", ""); !strings.Contains(body, link) {
				t.Errorf("maildir message lacks the link %s:\n%s", link, raw)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail in %s after 10 s (%d files)", dir, len(files))
		}
	}
}

func TestServeRefusesBadSMTPURL(t *testing.T) {
	dir := t.TempDir()
	m := &Main{Config: Config{Listen: "127.0.0.1:0", Data: dir, SMTPURL: "http://relay.example:25"}}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "scheme") {
		m.Close()
		t.Fatalf("Run with an http:// SMTP URL: got %v, want an error about the scheme", err)
	}
}
