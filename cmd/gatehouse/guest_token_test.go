package main

import (
	"context"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestTokenCreateForGuest: gatehouse token create --email works for a
// guest as for a member, and never makes a token for an address with no
// account, such as an ad hoc recipient on a link.
func TestTokenCreateForGuest(t *testing.T) {
	ctx := context.Background()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			dsn := b.DSN(t, dir)
			s, _, err := openStore(ctx, &Config{Data: dir, Database: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := func(args ...string) (string, error) { return cli(t, dir, "", append(args, "--database", dsn)...) }

			owner, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "bob@example.com", DisplayName: "Bob", Password: "correct horse battery"})
			if err != nil {
				t.Fatal(err)
			}
			d, _ := s.DriveByOwner(ctx, owner.ID)
			by := gatehouse.UserActor(owner, "192.0.2.1", "t")
			f, err := s.CreateFolder(ctx, by, d.ID, d.RootID, "Plans")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID,
				Role: gatehouse.RoleRead, Emails: []string{"dana@fabrikam.example", "erin@elsewhere.example"}}); err != nil {
				t.Fatal(err)
			}
			if err := s.AttestGuestEmail(ctx, "dana@fabrikam.example"); err != nil {
				t.Fatal(err)
			}
			gs, err := s.SignInGuest(ctx, store.GuestSignIn{Issuer: "https://login.fabrikam.example/", Subject: "s1",
				Email: "dana@fabrikam.example", VerifiedEmail: "dana@fabrikam.example"}, gatehouse.Origin{ClientIP: "198.51.100.7"})
			if err != nil {
				t.Fatal(err)
			}

			out, err := c("token", "create", "--email", "Dana@Fabrikam.example", "--name", "sync")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if err != nil || !strings.HasPrefix(lines[len(lines)-1], "gh_") {
				t.Fatalf("token create for a guest: %v %s", err, out)
			}
			u, err := s.UserByToken(ctx, lines[len(lines)-1])
			if err != nil || u.ID != gs.User.ID || u.UserType != gatehouse.UserTypeGuest {
				t.Fatalf("the guest's token resolves to %+v, %v", u, err)
			}
			if out, err := c("token", "list", "--email", "dana@fabrikam.example"); err != nil || !strings.Contains(out, "sync") {
				t.Errorf("token list: %v %s", err, out)
			}

			out, err = c("token", "create", "--email", "erin@elsewhere.example")
			if err == nil || !strings.Contains(err.Error()+out, "there is no user with the address erin@elsewhere.example") || strings.Contains(out, "gh_") {
				t.Errorf("token create for an ad hoc recipient: %v %s", err, out)
			}
			if ts, err := s.ListTokens(ctx, gs.User.ID); err != nil || len(ts) != 1 {
				t.Errorf("guest tokens: %d %v", len(ts), err)
			}
		})
	}
}
