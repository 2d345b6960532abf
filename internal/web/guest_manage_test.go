package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// TestGuestLosesLinkPages: a guest's web session opens /s/ pages until an
// administrator disables the guest or the guest's access expires; then the
// same cookie gets the email form and nothing of the item.
func TestGuestLosesLinkPages(t *testing.T) {
	ctx := context.Background()
	for _, end := range []string{"disabled", "expired"} {
		t.Run(end, func(t *testing.T) {
			e := newShareEnv(t)
			it := e.putFile(e.owner, "", "report.txt", "r")
			l := e.share(it, gatehouse.RoleRead, "dana@fabrikam.example")
			if err := e.store.AttestGuestEmail(ctx, "dana@fabrikam.example"); err != nil {
				t.Fatal(err)
			}
			in := store.GuestSignIn{Issuer: "https://login.fabrikam.example/", Subject: "s1",
				Email: "dana@fabrikam.example", VerifiedEmail: "dana@fabrikam.example"}
			gs, err := e.store.SignInGuest(ctx, in, gatehouse.Origin{ClientIP: "198.51.100.7"})
			if err != nil {
				t.Fatal(err)
			}
			c := e.client()
			u, _ := url.Parse(e.srv.URL)
			c.c.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.SessionCookie, Value: gs.Session, Path: "/"}})
			if resp, body := c.get("/s/" + l.Token); resp.StatusCode != http.StatusOK || !strings.Contains(body, "report.txt") {
				t.Fatalf("guest before: %d\n%s", resp.StatusCode, body)
			}
			switch end {
			case "disabled":
				yes := true
				if _, err := e.store.UpdateUser(ctx, gatehouse.SystemActor(), gs.User.ID, store.UserUpdate{Disabled: &yes}); err != nil {
					t.Fatal(err)
				}
			case "expired":
				yes, days := true, 30
				if _, err := e.store.UpdateSharingSettings(ctx, gatehouse.SystemActor(), gatehouse.SharingSettingsPatch{
					ExternalUserExpirationRequired: &yes, ExternalUserExpireInDays: &days}); err != nil {
					t.Fatal(err)
				}
				// Past the period, with a session opened since: sessions have
				// their own, shorter life.
				e.clock.Advance(31 * 24 * time.Hour)
				gs, err = e.store.SignInGuest(ctx, in, gatehouse.Origin{ClientIP: "198.51.100.7"})
				if err != nil {
					t.Fatal(err)
				}
				c.c.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.SessionCookie, Value: gs.Session, Path: "/"}})
			}
			resp, body := c.get("/s/" + l.Token)
			if resp.StatusCode != http.StatusOK || strings.Contains(body, "report.txt") || !strings.Contains(body, `id="email-form"`) {
				t.Errorf("guest %s: %d\n%s", end, resp.StatusCode, body)
			}
			if resp, _ := c.get("/s/" + l.Token + "/content"); resp.StatusCode == http.StatusOK {
				t.Errorf("guest %s downloads the file", end)
			}
		})
	}
}
