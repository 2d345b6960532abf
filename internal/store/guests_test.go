package store_test

import (
	"strings"
	"sync"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

const partnerIssuer = "https://login.fabrikam.example/"

var guestOrigin = gatehouse.Origin{ClientIP: "198.51.100.7", UserAgent: "partner-browser/1.0"}

func danaSignIn(sub string) store.GuestSignIn {
	return store.GuestSignIn{Issuer: partnerIssuer, Subject: sub, Email: "Dana@Fabrikam.example", Name: "Dana Scully",
		VerifiedEmail: "dana@fabrikam.example"}
}

func TestSignInGuest(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)

			t.Run("not verified here: no guest", func(t *testing.T) {
				if _, err := e.SignInGuest(ctx, danaSignIn("sub-1"), guestOrigin); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
					t.Fatalf("sign-in without attestation: %v, want EFORBIDDEN", err)
				}
				if n := e.count(`SELECT COUNT(*) FROM users WHERE email = ?`, "dana@fabrikam.example"); n != 0 {
					t.Fatalf("%d users created", n)
				}
				r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "dana@fabrikam.example", UserType: "Guest", ResultStatus: "Failed"})
				if !strings.Contains(r.EventData, "not_verified") {
					t.Errorf("EventData %s", r.EventData)
				}
			})

			if err := e.AttestGuestEmail(ctx, "dana@fabrikam.example"); err != nil {
				t.Fatal(err)
			}

			t.Run("mismatch with the verified address", func(t *testing.T) {
				in := danaSignIn("sub-1")
				in.Email = "fox@fabrikam.example"
				if _, err := e.SignInGuest(ctx, in, guestOrigin); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
					t.Fatalf("mismatch: %v", err)
				}
				r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "fox@fabrikam.example", ResultStatus: "Failed"})
				if !strings.Contains(r.EventData, "email_mismatch") || !strings.Contains(r.EventData, "dana@fabrikam.example") {
					t.Errorf("EventData %s", r.EventData)
				}
				if n := e.count(`SELECT COUNT(*) FROM users`); n != 0 {
					t.Fatalf("%d users", n)
				}
			})

			var guestID string
			t.Run("first sign-in creates the guest", func(t *testing.T) {
				gs, err := e.SignInGuest(ctx, danaSignIn("sub-1"), guestOrigin)
				if err != nil {
					t.Fatal(err)
				}
				u := gs.User
				guestID = u.ID
				if !gs.Created || gs.Session == "" || u.UserType != gatehouse.UserTypeGuest || u.DisplayName != "Dana Scully" ||
					u.Email != "dana@fabrikam.example" || u.ExternalUserState != gatehouse.ExternalAccepted ||
					u.CreationType != gatehouse.CreationTypeInvitation || u.ExternalUserStateChangedAt.IsZero() {
					t.Fatalf("guest %+v", gs)
				}
				want := []gatehouse.Identity{{SignInType: "federated", Issuer: partnerIssuer, IssuerAssignedID: "sub-1"}}
				if len(u.Identities) != 1 || u.Identities[0] != want[0] {
					t.Fatalf("identities %+v", u.Identities)
				}
				if _, err := e.DriveByOwner(ctx, u.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					t.Errorf("a guest has a drive: %v", err)
				}
				got, err := e.UserBySession(ctx, gs.Session)
				if err != nil || got.ID != u.ID {
					t.Fatalf("session: %v %v", got, err)
				}
				again, err := e.User(ctx, u.ID)
				if err != nil || again.ExternalUserState != gatehouse.ExternalAccepted || len(again.Identities) != 1 {
					t.Fatalf("reread %+v %v", again, err)
				}
				r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoggedIn, UserID: "dana@fabrikam.example", UserType: "Guest", ClientIP: guestOrigin.ClientIP})
				if !strings.Contains(r.EventData, partnerIssuer) {
					t.Errorf("UserLoggedIn EventData %s", r.EventData)
				}
				added := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGuestUserAdded})
				if len(added) != 1 || added[0].ObjectID != u.Email || added[0].UserType != "Guest" || added[0].Seq >= r.Seq {
					t.Fatalf("GuestUserAdded %+v", added)
				}
				if pl, err := e.PartnerLinkedGuest(ctx, u.Email); err != nil || !pl {
					t.Errorf("PartnerLinkedGuest: %v %v", pl, err)
				}
			})

			t.Run("a later sign-in of the same subject", func(t *testing.T) {
				gs, err := e.SignInGuest(ctx, danaSignIn("sub-1"), guestOrigin)
				if err != nil || gs.Created || gs.User.ID != guestID {
					t.Fatalf("%+v %v", gs, err)
				}
				if n := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGuestUserAdded})); n != 1 {
					t.Fatalf("%d GuestUserAdded", n)
				}
			})

			t.Run("another subject for the address is refused", func(t *testing.T) {
				if _, err := e.SignInGuest(ctx, danaSignIn("sub-evil"), guestOrigin); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
					t.Fatalf("%v", err)
				}
				r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "dana@fabrikam.example", ResultStatus: "Failed"})
				if !strings.Contains(r.EventData, "subject_mismatch") {
					t.Errorf("EventData %s", r.EventData)
				}
			})

			t.Run("a disabled guest gets no session", func(t *testing.T) {
				off := true
				if _, err := e.UpdateUser(ctx, gatehouse.SystemActor(), guestID, store.UserUpdate{Disabled: &off}); err != nil {
					t.Fatal(err)
				}
				before := e.count(`SELECT COUNT(*) FROM sessions`)
				if _, err := e.SignInGuest(ctx, danaSignIn("sub-1"), guestOrigin); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
					t.Fatalf("%v", err)
				}
				if after := e.count(`SELECT COUNT(*) FROM sessions`); after != before {
					t.Fatalf("sessions %d -> %d", before, after)
				}
				e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "dana@fabrikam.example"})
			})

			t.Run("a member's address is not a guest", func(t *testing.T) {
				e.user("fox@fabrikam.example")
				in := danaSignIn("sub-fox")
				in.Email, in.VerifiedEmail = "fox@fabrikam.example", "fox@fabrikam.example"
				if _, err := e.SignInGuest(ctx, in, guestOrigin); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
					t.Fatalf("%v", err)
				}
			})
		})
	}
}

// TestSignInGuestParallel: parallel callbacks for one new address create
// one guest, and every one of them signs in.
func TestSignInGuestParallel(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			if err := e.AttestGuestEmail(ctx, "dana@fabrikam.example"); err != nil {
				t.Fatal(err)
			}
			const n = 16
			var wg sync.WaitGroup
			errs := make([]error, n)
			created := make([]bool, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					gs, err := e.SignInGuest(ctx, danaSignIn("sub-1"), guestOrigin)
					errs[i] = err
					if err == nil {
						created[i] = gs.Created
					}
				}()
			}
			wg.Wait()
			nc := 0
			for i := range n {
				if errs[i] != nil {
					t.Errorf("sign-in %d: %v", i, errs[i])
				}
				if created[i] {
					nc++
				}
			}
			if nc != 1 || e.count(`SELECT COUNT(*) FROM users`) != 1 || e.count(`SELECT COUNT(*) FROM user_identities`) != 1 {
				t.Fatalf("created by %d sign-ins; %d users", nc, e.count(`SELECT COUNT(*) FROM users`))
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGuestUserAdded})); got != 1 {
				t.Fatalf("%d GuestUserAdded", got)
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpUserLoggedIn})); got != n {
				t.Fatalf("%d UserLoggedIn", got)
			}
		})
	}
}
