package store_test

import (
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

const siteURLPrefix = "https://files.example.com/sites/"

// siteDrive loads a site's drive.
func (e *env) siteDrive(st *gatehouse.Site) *gatehouse.Drive {
	e.t.Helper()
	d, err := e.Drive(ctx, st.DriveID)
	if err != nil {
		e.t.Fatalf("Drive: %v", err)
	}
	return d
}

// decide runs the access decision for u on the item, as the API does.
func (e *env) decide(u *gatehouse.User, act gatehouse.Action, driveID, itemID string) error {
	e.t.Helper()
	p := gatehouse.UserPrincipal(u)
	_, f, err := e.ItemFacts(ctx, p, driveID, itemID)
	if err != nil {
		return err
	}
	return gatehouse.Authorize(p, act, f)
}

func TestCreateSite(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			alice, aliceA, _ := e.member("alice@corp.example")
			before := e.auditCount()
			st, err := e.CreateSite(ctx, aliceA, store.NewSite{DisplayName: " Marketing ", Description: "Campaigns"})
			if err != nil {
				t.Fatal(err)
			}
			if st.DisplayName != "Marketing" || st.Description != "Campaigns" || st.CreatedBy != alice.ID ||
				st.OwnersGroupID == "" || st.MembersGroupID == "" || st.VisitorsGroupID == "" {
				t.Fatalf("site %+v", st)
			}
			d := e.siteDrive(st)
			if d.Type != gatehouse.DriveTypeLibrary || d.OwnerID != "" || d.RootID == "" {
				t.Fatalf("drive %+v", d)
			}
			if got, err := e.Site(ctx, st.ID); err != nil || *got != *st {
				t.Fatalf("Site: %+v, %v; created %+v", got, err, st)
			}
			if got, err := e.SiteByDrive(ctx, st.DriveID); err != nil || got.ID != st.ID {
				t.Fatalf("SiteByDrive: %+v, %v", got, err)
			}
			for id, want := range map[string]struct {
				name   string
				access gatehouse.DriveAccess
			}{
				st.OwnersGroupID:   {"Marketing Owners", gatehouse.AccessOwner},
				st.MembersGroupID:  {"Marketing Members", gatehouse.AccessWrite},
				st.VisitorsGroupID: {"Marketing Visitors", gatehouse.AccessRead},
			} {
				g, err := e.Group(ctx, id)
				if err != nil || g.DisplayName != want.name || g.DriveAccess != want.access || g.DriveID != st.DriveID || g.SiteID != st.ID {
					t.Errorf("group %+v, %v; want %+v", g, err, want)
				}
			}
			owners, err := e.GroupMembers(ctx, st.OwnersGroupID, gatehouse.GroupMember, "", 10)
			if err != nil || len(owners) != 1 || owners[0].User.ID != alice.ID {
				t.Fatalf("owners group members %+v, %v", owners, err)
			}

			// The records, oldest first: the site, its three groups, the creator.
			recs := e.records(gatehouse.AuditFilter{})
			recs = recs[:len(recs)-before]
			var ops []string
			for i := len(recs) - 1; i >= 0; i-- {
				ops = append(ops, recs[i].Operation)
			}
			want := []string{gatehouse.OpSiteCollectionCreated, gatehouse.OpGroupAdded, gatehouse.OpGroupAdded, gatehouse.OpGroupAdded, gatehouse.OpAddedToGroup}
			if strings.Join(ops, ",") != strings.Join(want, ",") {
				t.Fatalf("records %v, want %v", ops, want)
			}
			created := recs[len(recs)-1]
			if created.ObjectID != siteURLPrefix+st.ID || created.ItemType != "Site" || created.UserID != "alice@corp.example" ||
				!strings.Contains(created.EventData, `"siteId":"`+st.ID+`"`) || !strings.Contains(created.EventData, `"driveId":"`+st.DriveID+`"`) ||
				!strings.Contains(created.EventData, `"displayName":"Marketing"`) {
				t.Errorf("SiteCollectionCreated %+v", created)
			}
			if r := recs[0]; r.TargetUserOrGroupName != "alice@corp.example" || !strings.Contains(r.EventData, "Marketing Owners") {
				t.Errorf("AddedToGroup %+v", r)
			}

			t.Run("invalid names", func(t *testing.T) {
				_, err := e.CreateSite(ctx, aliceA, store.NewSite{DisplayName: "  "})
				wantCode(t, "empty name", err, gatehouse.EINVALID)
				_, err = e.CreateSite(ctx, aliceA, store.NewSite{DisplayName: "x\x01"})
				wantCode(t, "control character", err, gatehouse.EINVALID)
			})

			t.Run("a guest may not create a site", func(t *testing.T) {
				inv, err := e.CreateInvitation(ctx, aliceA, store.InviteRequest{Email: "gina@outside.example"})
				if err != nil {
					t.Fatal(err)
				}
				g, _ := e.User(ctx, inv.UserID)
				_, err = e.CreateSite(ctx, gatehouse.UserActor(g, "192.0.2.1", "ua"), store.NewSite{DisplayName: "Mine"})
				wantCode(t, "guest creates a site", err, gatehouse.EFORBIDDEN)
			})
		})
	}
}

func TestSiteAccess(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ownerA, _ := e.member("owner@corp.example")
			member, _, _ := e.member("member@corp.example")
			visitor, _, _ := e.member("visitor@corp.example")
			outsider, outsiderA, _ := e.member("outsider@corp.example")
			admin := e.user("admin@corp.example")
			if _, err := e.UpdateUser(ctx, gatehouse.SystemActor(), admin.ID, store.UserUpdate{IsAdmin: sitePtr(true)}); err != nil {
				t.Fatal(err)
			}
			admin, _ = e.User(ctx, admin.ID)

			st, err := e.CreateSite(ctx, ownerA, store.NewSite{DisplayName: "Team"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := e.CreateSite(ctx, outsiderA, store.NewSite{DisplayName: "Another"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: gatehouse.SiteRoleWrite,
				Recipients: []store.SiteRecipient{{ObjectID: member.ID}}})
			if err != nil || len(res) != 1 || res[0] != (store.SiteShareResult{Email: member.Email, UserID: member.ID, Role: "write", State: "added"}) {
				t.Fatalf("share to member: %+v, %v", res, err)
			}
			if _, err := e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: gatehouse.SiteRoleRead,
				Recipients: []store.SiteRecipient{{Email: "Visitor@Corp.example"}}}); err != nil {
				t.Fatal(err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpAddedToGroup, UserID: "owner@corp.example", TargetUserOrGroupName: "visitor@corp.example"})

			d := e.siteDrive(st)
			doc := e.file(ownerA, d, d.RootID, "plan.txt", "v1")

			for _, c := range []struct {
				u      *gatehouse.User
				access gatehouse.DriveAccess
				act    gatehouse.Action
				code   string
			}{
				{member, gatehouse.AccessWrite, gatehouse.ActWrite, ""},
				{member, gatehouse.AccessWrite, gatehouse.ActManageAccess, gatehouse.EFORBIDDEN},
				{visitor, gatehouse.AccessRead, gatehouse.ActDownload, ""},
				{visitor, gatehouse.AccessRead, gatehouse.ActWrite, gatehouse.EFORBIDDEN},
				{outsider, gatehouse.NoAccess, gatehouse.ActRead, gatehouse.ENOTFOUND},
			} {
				_, access, err := e.SiteFacts(ctx, gatehouse.UserPrincipal(c.u), st.ID)
				if err != nil || access != c.access {
					t.Errorf("%s: access %d, %v; want %d", c.u.Email, access, err, c.access)
				}
				wantCode(t, c.u.Email+" on the item", e.decide(c.u, c.act, d.ID, doc.ID), c.code)
			}

			// The member writes: an upload into the site's drive.
			if _, _, err := e.PutFile(ctx, gatehouse.UserActor(member, "192.0.2.2", "ua"), d.ID, d.RootID, "notes.txt", strings.NewReader("n"), 1<<20); err != nil {
				t.Fatal(err)
			}

			list := func(u *gatehouse.User) []string {
				t.Helper()
				sites, err := e.Sites(ctx, gatehouse.UserPrincipal(u), "", 100)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, s := range sites {
					out = append(out, s.DisplayName)
				}
				return out
			}
			for u, want := range map[*gatehouse.User]string{member: "Team", visitor: "Team", outsider: "Another", admin: "Another,Team"} {
				if got := strings.Join(list(u), ","); got != want {
					t.Errorf("%s sees %q, want %q", u.Email, got, want)
				}
			}
			page, err := e.Sites(ctx, gatehouse.UserPrincipal(admin), other.ID, 100)
			if err != nil || len(page) != 1 || page[0].ID != st.ID {
				t.Errorf("page after %q: %+v, %v", other.DisplayName, page, err)
			}

			t.Run("only owners and administrators share and delete", func(t *testing.T) {
				share := store.SiteShare{Role: "read", Recipients: []store.SiteRecipient{{ObjectID: outsider.ID}}}
				_, err := e.ShareSite(ctx, gatehouse.UserActor(member, "", ""), st.ID, share)
				wantCode(t, "member shares", err, gatehouse.EFORBIDDEN)
				_, err = e.ShareSite(ctx, outsiderA, st.ID, share)
				wantCode(t, "outsider shares", err, gatehouse.ENOTFOUND)
				wantCode(t, "visitor deletes", e.DeleteSite(ctx, gatehouse.UserActor(visitor, "", ""), st.ID), gatehouse.EFORBIDDEN)
				wantCode(t, "outsider deletes", e.DeleteSite(ctx, outsiderA, st.ID), gatehouse.ENOTFOUND)
				_, err = e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "admin", Recipients: share.Recipients})
				wantCode(t, "bad role", err, gatehouse.EINVALID)
				_, err = e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "read"})
				wantCode(t, "no recipients", err, gatehouse.EINVALID)
				_, err = e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "read", Recipients: []store.SiteRecipient{{ObjectID: st.OwnersGroupID}}})
				wantCode(t, "a group as recipient", err, gatehouse.EINVALID)
				_, err = e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "read", OrgDomains: []string{"corp.example"},
					Recipients: []store.SiteRecipient{{Email: "nobody@corp.example"}}})
				wantCode(t, "an organization address outside the directory", err, gatehouse.EINVALID)
				if n := e.count(`SELECT COUNT(*) FROM users WHERE email = ?`, "nobody@corp.example"); n != 0 {
					t.Error("a guest was created for an organization address")
				}
				// An administrator who is not in the site manages it.
				if _, err := e.ShareSite(ctx, gatehouse.UserActor(admin, "", ""), st.ID, share); err != nil {
					t.Errorf("admin shares: %v", err)
				}
			})

			t.Run("removal from the group ends access at once", func(t *testing.T) {
				if err := e.RemoveGroupMember(ctx, ownerA, st.MembersGroupID, member.ID, gatehouse.GroupMember); err != nil {
					t.Fatal(err)
				}
				wantCode(t, "removed member reads", e.decide(member, gatehouse.ActRead, d.ID, doc.ID), gatehouse.ENOTFOUND)
				if got := list(member); len(got) != 0 {
					t.Errorf("removed member still sees %v", got)
				}
			})
		})
	}
}

func sitePtr[T any](v T) *T { return &v }

func TestShareSiteWithOutsider(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ownerA, _ := e.member("owner@corp.example")
			st, err := e.CreateSite(ctx, ownerA, store.NewSite{DisplayName: "Launch"})
			if err != nil {
				t.Fatal(err)
			}
			d := e.siteDrive(st)
			doc := e.file(ownerA, d, d.RootID, "brief.txt", "hello")

			res, err := e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "read", Message: "Welcome aboard",
				Recipients: []store.SiteRecipient{{Email: "Erin@Outside.example"}}})
			if err != nil || len(res) != 1 || res[0].State != store.SiteShareInvited || res[0].Email != "erin@outside.example" || res[0].UserID == "" {
				t.Fatalf("share: %+v, %v", res, err)
			}
			guestID := res[0].UserID
			g, err := e.User(ctx, guestID)
			if err != nil || g.UserType != gatehouse.UserTypeGuest || g.ExternalUserState != gatehouse.ExternalPendingAcceptance {
				t.Fatalf("pending guest %+v, %v", g, err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpSharingInvitationCreated, UserID: "owner@corp.example",
				ObjectID: siteURLPrefix + st.ID, TargetUserOrGroupName: "erin@outside.example"})
			if n := e.count(`SELECT COUNT(*) FROM pending_group_members WHERE group_id = ? AND user_id = ?`, st.VisitorsGroupID, guestID); n != 1 {
				t.Fatalf("%d pending rows", n)
			}
			if n := e.count(`SELECT COUNT(*) FROM group_members WHERE user_id = ?`, guestID); n != 0 {
				t.Fatal("the pending guest is already in a group")
			}
			wantCode(t, "pending guest reads", e.decide(g, gatehouse.ActRead, d.ID, doc.ID), gatehouse.ENOTFOUND)
			m := e.inviteMail("erin@outside.example", "invite")
			if m == nil || !strings.Contains(m.Subject, `"Launch"`) || !strings.Contains(m.Text, "Welcome aboard") {
				t.Fatalf("invitation mail %+v", m)
			}
			_, tok, ok := strings.Cut(m.Text, "https://files.example.com/invite/")
			if !ok {
				t.Fatalf("no redeem link in %q", m.Text)
			}
			tok = strings.Fields(tok)[0]

			// Shared again before redemption: a resend, still one pending row.
			res, err = e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "read", Recipients: []store.SiteRecipient{{Email: "erin@outside.example"}}})
			if err != nil || res[0].State != store.SiteShareInvited || res[0].UserID != guestID {
				t.Fatalf("second share: %+v, %v", res, err)
			}
			if n := e.count(`SELECT COUNT(*) FROM pending_group_members WHERE user_id = ?`, guestID); n != 1 {
				t.Fatalf("%d pending rows after the resend", n)
			}
			m = e.inviteMail("erin@outside.example", "invite")
			if m == nil {
				t.Fatal("no second invitation mail")
			}
			if _, err := e.InvitationByToken(ctx, tok); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Fatalf("the first link still works: %v", err)
			}
			_, tok, _ = strings.Cut(m.Text, "https://files.example.com/invite/")
			tok = strings.Fields(tok)[0]
			inv, err := e.InvitationByToken(ctx, tok)
			if err != nil || inv.RedirectURL != "/sites/"+st.ID {
				t.Fatalf("invitation %+v, %v", inv, err)
			}

			if err := e.SendInvitationCode(ctx, tok, "198.51.100.7", "ua"); err != nil {
				t.Fatal(err)
			}
			code := eightDigits.FindString(e.inviteMail("erin@outside.example", "passcode").Text)
			before := e.auditCount()
			red, err := e.RedeemInvitationCode(ctx, tok, code, "198.51.100.7", "ua")
			if err != nil || red.RedirectURL != "/sites/"+st.ID {
				t.Fatalf("redeem: %+v, %v", red, err)
			}
			recs := e.records(gatehouse.AuditFilter{})[:e.auditCount()-before]
			var ops []string
			for i := len(recs) - 1; i >= 0; i-- {
				ops = append(ops, recs[i].Operation)
			}
			if got := strings.Join(ops, ","); got != "SharingInvitationAccepted,AddedToGroup,UserLoggedIn" {
				t.Fatalf("redemption records %s", got)
			}
			added := recs[1]
			if added.TargetUserOrGroupName != "erin@outside.example" || added.TargetUserOrGroupType != gatehouse.UserTypeGuest ||
				!strings.Contains(added.EventData, "Launch Visitors") {
				t.Errorf("AddedToGroup %+v", added)
			}
			if n := e.count(`SELECT COUNT(*) FROM pending_group_members WHERE user_id = ?`, guestID); n != 0 {
				t.Errorf("%d pending rows left", n)
			}
			g, _ = e.UserBySession(ctx, red.Session)
			if err := e.decide(g, gatehouse.ActDownload, d.ID, doc.ID); err != nil {
				t.Fatalf("the guest cannot read the site's file: %v", err)
			}
			wantCode(t, "guest visitor writes", e.decide(g, gatehouse.ActWrite, d.ID, doc.ID), gatehouse.EFORBIDDEN)
			if sites, err := e.Sites(ctx, gatehouse.UserPrincipal(g), "", 10); err != nil || len(sites) != 1 || sites[0].ID != st.ID {
				t.Errorf("guest's sites %+v, %v", sites, err)
			}

			// An accepted guest shared another role is added at once.
			res, err = e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "write", Recipients: []store.SiteRecipient{{ObjectID: guestID}}})
			if err != nil || res[0].State != store.SiteShareAdded {
				t.Fatalf("share to the accepted guest: %+v, %v", res, err)
			}
			if err := e.decide(g, gatehouse.ActWrite, d.ID, doc.ID); err != nil {
				t.Errorf("guest member writes: %v", err)
			}
		})
	}
}

func TestShareSitePendingGuestDeleted(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ownerA, _ := e.member("owner@corp.example")
			st, err := e.CreateSite(ctx, ownerA, store.NewSite{DisplayName: "Launch"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "owner", Recipients: []store.SiteRecipient{{Email: "zed@outside.example"}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.DeleteUser(ctx, ownerA, res[0].UserID); err != nil {
				t.Fatal(err)
			}
			recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationRevoked})
			if len(recs) != 1 || recs[0].TargetUserOrGroupName != "zed@outside.example" || recs[0].UserID != "owner@corp.example" ||
				recs[0].EventData != `{"siteIds":["`+st.ID+`"]}` {
				t.Fatalf("revoked records %+v", recs)
			}
			if n := e.count(`SELECT COUNT(*) FROM pending_group_members`); n != 0 {
				t.Errorf("%d pending rows left", n)
			}
		})
	}
}

func TestDeleteSite(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ownerA, _ := e.member("owner@corp.example")
			member, _, _ := e.member("member@corp.example")
			st, err := e.CreateSite(ctx, ownerA, store.NewSite{DisplayName: "Doomed"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ShareSite(ctx, ownerA, st.ID, store.SiteShare{Role: "write", Recipients: []store.SiteRecipient{{ObjectID: member.ID}}}); err != nil {
				t.Fatal(err)
			}
			d := e.siteDrive(st)
			dir := e.folder(ownerA, d, d.RootID, "docs")
			doc := e.file(ownerA, d, dir.ID, "a.txt", "one")
			e.file(ownerA, d, dir.ID, "a.txt", "two") // a version
			link, _, err := e.Share(ctx, ownerA, store.ShareRequest{DriveID: d.ID, ItemID: doc.ID, Role: gatehouse.RoleRead,
				Emails: []string{"someone@outside.example"}})
			if err != nil {
				t.Fatal(err)
			}
			blobsBefore := len(e.files("blobs"))

			if err := e.DeleteSite(ctx, ownerA, st.ID); err != nil {
				t.Fatal(err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpSiteDeleted, UserID: "owner@corp.example", ObjectID: siteURLPrefix + st.ID, ItemType: "Site"})
			for _, op := range []string{gatehouse.OpSecureLinkDeleted, gatehouse.OpRemovedFromSecureLink} {
				if recs := e.records(gatehouse.AuditFilter{Operation: op}); len(recs) != 1 || recs[0].UniqueSharingID != link.ShareID {
					t.Errorf("%s records %+v", op, recs)
				}
			}
			if recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGroupRemoved}); len(recs) != 3 {
				t.Errorf("%d GroupRemoved records", len(recs))
			}
			for _, q := range []string{
				`SELECT COUNT(*) FROM items WHERE drive_id = ?`,
				`SELECT COUNT(*) FROM drives WHERE id = ?`,
				`SELECT COUNT(*) FROM sites WHERE drive_id = ?`,
				`SELECT COUNT(*) FROM security_groups WHERE drive_id = ?`,
				`SELECT COUNT(*) FROM links WHERE drive_id = ?`,
				`SELECT COUNT(*) FROM link_recipients r JOIN links l ON l.id = r.link_id WHERE l.drive_id = ?`,
			} {
				if n := e.count(q, d.ID); n != 0 {
					t.Errorf("%s: %d rows left", q, n)
				}
			}
			for _, q := range []string{`SELECT COUNT(*) FROM item_versions`, `SELECT COUNT(*) FROM group_members`, `SELECT COUNT(*) FROM link_recipients`} {
				if n := e.count(q); n != 0 {
					t.Errorf("%s: %d rows left", q, n)
				}
			}
			if got := len(e.files("blobs")); got != blobsBefore-2 {
				t.Errorf("%d blobs left of %d, want two removed", got, blobsBefore)
			}
			_, err = e.Site(ctx, st.ID)
			wantCode(t, "the deleted site", err, gatehouse.ENOTFOUND)
			wantCode(t, "the member on a former item", e.decide(member, gatehouse.ActRead, d.ID, doc.ID), gatehouse.ENOTFOUND)
			_, err = e.LinkByToken(ctx, link.Token)
			wantCode(t, "the former link", err, gatehouse.ENOTFOUND)
			wantCode(t, "deleting again", e.DeleteSite(ctx, ownerA, st.ID), gatehouse.ENOTFOUND)
		})
	}
}
