package store_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// guest signs dana in through the partner, creating her guest account.
func (e *env) guest() (*gatehouse.User, string) {
	e.t.Helper()
	if err := e.AttestGuestEmail(ctx, "dana@fabrikam.example"); err != nil {
		e.t.Fatal(err)
	}
	gs, err := e.SignInGuest(ctx, danaSignIn("sub-1"), guestOrigin)
	if err != nil {
		e.t.Fatal(err)
	}
	return gs.User, gs.Session
}

func TestSharedWithMe(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			owner, by, d := e.member("bob@example.com")
			f := e.file(by, d, d.RootID, "plan.txt", "hello")
			folder := e.folder(by, d, d.RootID, "Board")
			for _, it := range []*gatehouse.Item{f, folder} {
				if _, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Role: gatehouse.RoleRead,
					Emails: []string{"dana@fabrikam.example"}}); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(time.Second)
			}
			got, err := e.SharedWithMe(ctx, "Dana@Fabrikam.example")
			if err != nil || len(got) != 2 {
				t.Fatalf("SharedWithMe: %d, %v", len(got), err)
			}
			if got[0].Item.ID != folder.ID || got[1].Item.ID != f.ID || got[1].Item.Size != 5 || got[0].Owner.ID != owner.ID ||
				got[0].Owner.DisplayName != owner.DisplayName || got[1].Link.Token == "" || !got[0].SharedAt.After(got[1].SharedAt) {
				t.Fatalf("items %+v %+v", got[0], got[1])
			}
			p := gatehouse.Principal{Kind: gatehouse.KindGuest, UserID: "g", Email: "dana@fabrikam.example"}
			if err := gatehouse.Authorize(p, gatehouse.ActRead, got[0].Facts); err != nil {
				t.Errorf("facts refuse a live link: %v", err)
			}
			if mine, _ := e.SharedWithMe(ctx, "carol@example.com"); len(mine) != 0 {
				t.Errorf("carol sees %d items", len(mine))
			}
			// A disabled owner's shares stay listed but no longer open.
			yes := true
			if _, err := e.UpdateUser(ctx, gatehouse.SystemActor(), owner.ID, store.UserUpdate{Disabled: &yes}); err != nil {
				t.Fatal(err)
			}
			got, _ = e.SharedWithMe(ctx, "dana@fabrikam.example")
			if len(got) != 2 || gatehouse.ErrorCode(gatehouse.Authorize(p, gatehouse.ActRead, got[0].Facts)) != gatehouse.EGONE {
				t.Errorf("a disabled owner's share still opens: %d", len(got))
			}
		})
	}
}

func TestListUsersOfType(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("ann@example.com")
			e.user("zed@example.com")
			g, _ := e.guest()
			guests, err := e.ListUsersOfType(ctx, gatehouse.UserTypeGuest, "", 10)
			if err != nil || len(guests) != 1 || guests[0].ID != g.ID || guests[0].ExternalUserState != gatehouse.ExternalAccepted ||
				len(guests[0].Identities) != 1 {
				t.Fatalf("guests %+v %v", guests, err)
			}
			members, err := e.ListUsersOfType(ctx, gatehouse.UserTypeMember, "", 10)
			if err != nil || len(members) != 2 || members[0].Email != "ann@example.com" || members[1].Email != "zed@example.com" {
				t.Fatalf("members %+v %v", members, err)
			}
			if page, _ := e.ListUsersOfType(ctx, gatehouse.UserTypeMember, "ann@example.com", 10); len(page) != 1 {
				t.Errorf("after ann: %d", len(page))
			}
		})
	}
}

func TestDeleteGuest(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("bob@example.com")
			admin := gatehouse.SystemActor()
			f := e.file(by, d, d.RootID, "plan.txt", "hello")
			g := e.folder(by, d, d.RootID, "Board")
			for _, it := range []*gatehouse.Item{f, g} {
				if _, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Role: gatehouse.RoleRead,
					Emails: []string{"dana@fabrikam.example", "erin@elsewhere.example"}}); err != nil {
					t.Fatal(err)
				}
			}
			guest, session := e.guest()
			if _, _, err := e.CreateToken(ctx, guest.ID, "cli"); err != nil {
				t.Fatal(err)
			}
			if err := e.DeleteUser(ctx, admin, guest.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.UserBySession(ctx, session); err == nil {
				t.Error("the deleted guest's session still works")
			}
			for q, want := range map[string]int{
				`SELECT COUNT(*) FROM link_recipients WHERE email = 'dana@fabrikam.example'`:  0,
				`SELECT COUNT(*) FROM link_recipients WHERE email = 'erin@elsewhere.example'`: 2,
				`SELECT COUNT(*) FROM api_tokens`:                                             0,
				`SELECT COUNT(*) FROM user_identities`:                                        0,
				`SELECT COUNT(*) FROM users WHERE email = 'dana@fabrikam.example'`:            0,
			} {
				if n := e.count(q); n != want {
					t.Errorf("%s: %d, want %d", q, n, want)
				}
			}
			removed := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromSecureLink})
			if len(removed) != 2 {
				t.Fatalf("%d RemovedFromSecureLink records", len(removed))
			}
			for _, r := range removed {
				if r.TargetUserOrGroupName != "Dana Scully" || !strings.Contains(r.EventData, `"targetEmail":"dana@fabrikam.example"`) ||
					r.TargetUserOrGroupType != "Guest" || r.UserID != "system" {
					t.Errorf("removal %+v", r)
				}
			}
			last := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserDeleted, ObjectID: "dana@fabrikam.example", TargetUserOrGroupName: "dana@fabrikam.example"})
			if last.TargetUserOrGroupType != "Guest" || last.Seq <= removed[0].Seq {
				t.Errorf("UserDeleted %+v", last)
			}
			if n := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationRevoked})); n != 0 {
				t.Errorf("an accepted guest's deletion recorded %d revocations", n)
			}

			// A guest who has not accepted: the invitation is revoked first.
			guest, _ = e.guest()
			e.exec(`UPDATE users SET external_user_state = ? WHERE id = ?`, gatehouse.ExternalPendingAcceptance, guest.ID)
			if err := e.DeleteUser(ctx, admin, guest.ID); err != nil {
				t.Fatal(err)
			}
			rev := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationRevoked})
			if len(rev) != 1 || rev[0].ObjectID != "dana@fabrikam.example" || rev[0].TargetUserOrGroupType != "Guest" {
				t.Fatalf("revocations %+v", rev)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserDeleted, ObjectID: "dana@fabrikam.example"})

			// A member's places on links stay with the address, as before.
			carol := e.user("carol@example.com")
			if _, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID, Role: gatehouse.RoleRead,
				Emails: []string{"carol@example.com"}}); err != nil {
				t.Fatal(err)
			}
			before := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromSecureLink}))
			if err := e.DeleteUser(ctx, admin, carol.ID); err != nil {
				t.Fatal(err)
			}
			if n := e.count(`SELECT COUNT(*) FROM link_recipients WHERE email = 'carol@example.com'`); n != 1 {
				t.Errorf("member's place: %d", n)
			}
			if after := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromSecureLink})); after != before {
				t.Errorf("member deletion recorded removals")
			}
		})
	}
}
