package store_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

func TestGuestExpiry(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			owner, by, d := e.member("bob@example.com")
			it := e.file(by, d, d.RootID, "plan.txt", "hello")
			if _, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Role: gatehouse.RoleRead,
				Emails: []string{"dana@fabrikam.example"}}); err != nil {
				t.Fatal(err)
			}
			guest, _ := e.guest()
			_, tok, err := e.CreateToken(ctx, guest.ID, "cli")
			if err != nil {
				t.Fatal(err)
			}
			_, memberTok, _ := e.CreateToken(ctx, owner.ID, "cli")
			works := func(want bool) {
				t.Helper()
				// A fresh web session each time: sessions have their own, shorter life.
				gs, err := e.SignInGuest(ctx, danaSignIn("sub-1"), guestOrigin)
				if err != nil {
					t.Fatal(err)
				}
				_, err1 := e.UserBySession(ctx, gs.Session)
				_, err2 := e.UserByToken(ctx, tok)
				_, _, _, err3 := e.TokenItemFacts(ctx, tok, d.ID, it.ID)
				for i, err := range []error{err1, err2, err3} {
					if want && err != nil {
						t.Errorf("lookup %d: %v", i, err)
					}
					if !want && (gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED || !strings.Contains(gatehouse.ErrorMessage(err), "guest access expired")) {
						t.Errorf("lookup %d of an expired guest: %v", i, err)
					}
				}
			}
			admin := gatehouse.SystemActor()
			yes, days := true, 30

			// Expiration off: no end.
			e.clock.Advance(400 * 24 * time.Hour)
			works(true)
			if _, err := e.UpdateSharingSettings(ctx, admin, gatehouse.SharingSettingsPatch{ExternalUserExpirationRequired: &yes,
				ExternalUserExpireInDays: &days}); err != nil {
				t.Fatal(err)
			}
			works(false)
			exp := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGuestAccessExpired})
			if len(exp) != 1 || exp[0].UserID != "dana@fabrikam.example" || exp[0].UserType != "Guest" || exp[0].ObjectID != "dana@fabrikam.example" ||
				!strings.Contains(exp[0].EventData, "expiredAt") {
				t.Fatalf("GuestAccessExpired %+v", exp)
			}
			if _, err := e.UserByToken(ctx, memberTok); err != nil {
				t.Errorf("a member expired: %v", err)
			}

			// An extension restarts the period; the next expiry is recorded again.
			if _, err := e.ExtendGuestAccess(ctx, admin, owner.ID); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("extending a member: %v", err)
			}
			if _, err := e.ExtendGuestAccess(ctx, admin, "nobody"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("extending nobody: %v", err)
			}
			if _, err := e.ExtendGuestAccess(ctx, admin, guest.ID); err != nil {
				t.Fatal(err)
			}
			ext := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpGuestAccessExtended, UserID: "system", ObjectID: "dana@fabrikam.example",
				TargetUserOrGroupName: "dana@fabrikam.example"})
			if !strings.Contains(ext.EventData, e.clock.Now().AddDate(0, 0, 30).UTC().Format(time.RFC3339)) || !strings.Contains(ext.EventData, "oldEnd") {
				t.Errorf("extension EventData %s", ext.EventData)
			}
			works(true)
			e.clock.Advance(29 * 24 * time.Hour)
			works(true)
			e.clock.Advance(24 * time.Hour)
			works(false)
			works(false)
			if n := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGuestAccessExpired})); n != 2 {
				t.Errorf("%d GuestAccessExpired records, want one per period", n)
			}
			// Turning expiration off lets the guest back in.
			no := false
			if _, err := e.UpdateSharingSettings(ctx, admin, gatehouse.SharingSettingsPatch{ExternalUserExpirationRequired: &no}); err != nil {
				t.Fatal(err)
			}
			works(true)
		})
	}
}
