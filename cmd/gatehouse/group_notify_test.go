package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestGroupMemberFirstOpen: on both backends, a group member's first open
// of a link they reach through the group tells the owner once per member
// and link, by real SMTP, naming the member and the item, even when 16 of
// their sessions open it at once; a member who is also on the link by
// address and opened it before, and a user outside the group, send
// nothing more.
func TestGroupMemberFirstOpen(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL(); c.MailFrom = "files@example.com" })
			ctx := context.Background()
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			bob := s.addUser("bob@example.com", "Bob", "correct horse battery", false)
			cy := s.addUser("cy@example.com", "Cy", "correct horse battery", false)
			dan := s.addUser("dan@example.com", "Dan", "correct horse battery", false)
			eve := s.addUser("eve@example.com", "Eve", "correct horse battery", false)
			byOwner := gatehouse.UserActor(owner, "192.0.2.1", "test")
			g, err := s.Store.CreateGroup(ctx, byOwner, store.NewGroup{DisplayName: "Team", MailNickname: "team"})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []*gatehouse.User{bob, cy, dan} {
				if _, err := s.Store.AddGroupMember(ctx, byOwner, g.ID, u.ID, gatehouse.GroupMember); err != nil {
					t.Fatalf("AddGroupMember(%s): %v", u.Email, err)
				}
			}
			d, err := s.Store.DriveByOwner(ctx, owner.ID)
			if err != nil {
				t.Fatal(err)
			}
			f, _, err := s.Store.PutFile(ctx, byOwner, d.ID, d.RootID, "roadmap.txt", strings.NewReader("x"), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			// Dan is on the link by address too.
			l, _, err := s.Store.Share(ctx, byOwner, store.ShareRequest{DriveID: d.ID, ItemID: f.ID, Role: gatehouse.RoleRead,
				ObjectIDs: []string{g.ID}, Emails: []string{dan.Email}})
			if err != nil {
				t.Fatalf("Share: %v", err)
			}
			count := func() int {
				n := 0
				for _, m := range notices(t, s) {
					if m.To == owner.Email {
						n++
					}
				}
				return n
			}
			// open16 opens the link from 16 new sessions of u at once.
			round := 0
			open16 := func(u *gatehouse.User) int {
				t.Helper()
				round++
				before := count()
				by := gatehouse.UserActor(u, "192.0.2.2", "test")
				var wg sync.WaitGroup
				errs := make(chan error, 16)
				start := make(chan struct{})
				for i := range 16 {
					wg.Go(func() {
						<-start
						errs <- s.Store.RecordLinkUse(ctx, by, l, fmt.Sprintf("session-%s-%d-%d", u.Email, round, i))
					})
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Errorf("RecordLinkUse(%s): %v", u.Email, err)
					}
				}
				return count() - before
			}

			if n := open16(bob); n != 1 {
				t.Errorf("Bob's 16 parallel first opens through the group queued %d notices, want 1", n)
			}
			m := smtp.WaitFor(t, owner.Email, 30*time.Second)
			if !strings.Contains(m.Text, bob.Email) || !strings.Contains(m.Text, "roadmap.txt") {
				t.Errorf("the notice does not name the member and the item:\n%s", m.Text)
			}
			if n := open16(bob); n != 0 {
				t.Errorf("Bob's later opens queued %d notices, want 0", n)
			}
			if n := open16(cy); n != 1 {
				t.Errorf("Cy's first opens queued %d notices, want 1 (per member)", n)
			}
			if n := open16(dan); n != 1 {
				t.Errorf("Dan (by address and group) queued %d notices on first open, want 1", n)
			}
			if n := open16(dan); n != 0 {
				t.Errorf("Dan's later opens queued %d notices, want 0", n)
			}
			if n := open16(eve); n != 0 {
				t.Errorf("Eve, outside the group, queued %d notices, want 0", n)
			}
			// The owner's own open is not news to them.
			if n := open16(owner); n != 0 {
				t.Errorf("the owner's opens queued %d notices, want 0", n)
			}
		})
	}
}
