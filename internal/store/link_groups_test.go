package store_test

import (
	"io"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestShareWithGroup: a group secured to a link opens the shared folder to
// its current members, signed in, through the link page and the API's
// item routes alike, and nobody else; taking a member out of the group,
// or the group off the link, ends it with that commit.
func TestShareWithGroup(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ann, d := e.member("ann@example.com")
			bob, bobActor, _ := e.member("bob@example.com")
			carol, _, _ := e.member("carol@example.com")
			docs := e.folder(ann, d, d.RootID, "docs")
			plan := e.file(ann, d, docs.ID, "plan.txt", "plan")
			g, err := e.CreateGroup(ctx, ann, store.NewGroup{DisplayName: "Design team", MailNickname: "design"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.AddGroupMember(ctx, ann, g.ID, "bob@example.com", gatehouse.GroupMember); err != nil {
				t.Fatal(err)
			}
			l, created, err := e.Share(ctx, ann, store.ShareRequest{DriveID: d.ID, ItemID: docs.ID, Role: gatehouse.RoleRead,
				ObjectIDs: []string{g.ID}, SendInvitation: true})
			if err != nil || !created {
				t.Fatalf("Share with a group: created %v, %v", created, err)
			}
			if len(l.Groups) != 1 || l.Groups[0].ID != g.ID || l.Groups[0].DisplayName != "Design team" || len(l.Recipients) != 0 {
				t.Fatalf("link groups %+v, recipients %+v", l.Groups, l.Recipients)
			}
			rec := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpAddedToSecureLink, TargetUserOrGroupName: "Design team",
				UniqueSharingID: l.ShareID, ObjectID: e.objectID(docs)})
			if rec.TargetUserOrGroupType != gatehouse.TargetTypeGroup {
				t.Errorf("AddedToSecureLink type %q, want %q", rec.TargetUserOrGroupType, gatehouse.TargetTypeGroup)
			}
			// The group's one member gets the invitation.
			if n := e.count(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'invitation'`, "bob@example.com"); n != 1 {
				t.Errorf("invitations to bob: %d, want 1", n)
			}
			// Sharing with the group again adds nothing and records nothing.
			before := e.auditCount()
			if _, _, err := e.Share(ctx, ann, store.ShareRequest{DriveID: d.ID, ItemID: docs.ID, Role: gatehouse.RoleRead, ObjectIDs: []string{g.ID}}); err != nil {
				t.Fatal(err)
			}
			if e.auditCount() != before {
				t.Errorf("sharing with the group again wrote %d records", e.auditCount()-before)
			}

			decide := func(who *gatehouse.User, act gatehouse.Action, it *gatehouse.Item) error {
				t.Helper()
				p := gatehouse.UserPrincipal(who)
				_, f, err := e.ItemFacts(ctx, p, d.ID, it.ID)
				if err != nil {
					return err
				}
				return gatehouse.Authorize(p, act, f)
			}
			viaLink := func(who *gatehouse.User) error {
				t.Helper()
				p := gatehouse.UserPrincipal(who)
				_, f, err := e.UserLink(ctx, l.Token, p)
				if err != nil {
					return err
				}
				return gatehouse.Authorize(p, gatehouse.ActRead, f)
			}
			if err := decide(bob, gatehouse.ActDownload, plan); err != nil {
				t.Errorf("bob downloads through the group: %v", err)
			}
			if err := decide(bob, gatehouse.ActRead, docs); err != nil {
				t.Errorf("bob lists the folder through the group: %v", err)
			}
			wantCode(t, "bob uploads through a view link", decide(bob, gatehouse.ActWrite, plan), gatehouse.EFORBIDDEN)
			wantCode(t, "bob reads the drive's root", decide(bob, gatehouse.ActRead, &gatehouse.Item{ID: d.RootID}), gatehouse.ENOTFOUND)
			if err := viaLink(bob); err != nil {
				t.Errorf("bob opens the link page signed in: %v", err)
			}
			shared := func(who *gatehouse.User) int {
				t.Helper()
				items, err := e.SharedWith(ctx, gatehouse.UserPrincipal(who))
				if err != nil {
					t.Fatal(err)
				}
				return len(items)
			}
			if n := shared(bob); n != 1 {
				t.Errorf("bob's shared with me: %d items, want the folder", n)
			}
			if n := shared(carol); n != 0 {
				t.Errorf("carol's shared with me: %d items, want none", n)
			}
			wantCode(t, "carol, not in the group", decide(carol, gatehouse.ActDownload, plan), gatehouse.ENOTFOUND)
			wantCode(t, "carol at the link page", viaLink(carol), gatehouse.EFORBIDDEN)

			// Out of the group: out of the link, at once.
			if err := e.RemoveGroupMember(ctx, ann, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "bob after removal from the group", decide(bob, gatehouse.ActDownload, plan), gatehouse.ENOTFOUND)
			wantCode(t, "bob at the link page after removal", viaLink(bob), gatehouse.EFORBIDDEN)
			if n := shared(bob); n != 0 {
				t.Errorf("bob's shared with me after removal: %d items", n)
			}

			// Back in, then the group off the link.
			if _, err := e.AddGroupMember(ctx, ann, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
				t.Fatal(err)
			}
			if err := decide(bob, gatehouse.ActDownload, plan); err != nil {
				t.Errorf("bob back in the group: %v", err)
			}
			l, err = e.RevokeGrants(ctx, ann, d.ID, docs.ID, l.ID, nil, []string{g.ID})
			if err != nil || len(l.Groups) != 0 {
				t.Fatalf("RevokeGrants of the group: groups %+v, %v", l, err)
			}
			rec = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpRemovedFromSecureLink, TargetUserOrGroupName: "Design team", UniqueSharingID: l.ShareID})
			if rec.TargetUserOrGroupType != gatehouse.TargetTypeGroup {
				t.Errorf("RemovedFromSecureLink type %q", rec.TargetUserOrGroupType)
			}
			wantCode(t, "bob after the group left the link", decide(bob, gatehouse.ActDownload, plan), gatehouse.ENOTFOUND)

			// A group deleted while on a link leaves it, recorded.
			if _, _, err := e.Share(ctx, ann, store.ShareRequest{DriveID: d.ID, ItemID: docs.ID, Role: gatehouse.RoleWrite, ObjectIDs: []string{g.ID}}); err != nil {
				t.Fatal(err)
			}
			if err := decide(bob, gatehouse.ActWrite, plan); err != nil {
				t.Errorf("bob writes through the group's edit link: %v", err)
			}
			if err := e.DeleteGroup(ctx, ann, g.ID); err != nil {
				t.Fatal(err)
			}
			if n := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromSecureLink})); n != 2 {
				t.Errorf("RemovedFromSecureLink records: %d, want 2", n)
			}
			wantCode(t, "bob after the group was deleted", decide(bob, gatehouse.ActRead, plan), gatehouse.ENOTFOUND)
			_ = bobActor
		})
	}
}

// TestShareObjectIDs: an objectId that names a user adds them by address;
// one that names nothing is refused and nothing changes.
func TestShareObjectIDs(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ann, d := e.member("ann@example.com")
			bob, _, _ := e.member("bob@example.com")
			docs := e.folder(ann, d, d.RootID, "docs")
			l, _, err := e.Share(ctx, ann, store.ShareRequest{DriveID: d.ID, ItemID: docs.ID, Role: gatehouse.RoleRead, ObjectIDs: []string{bob.ID}})
			if err != nil || len(l.Recipients) != 1 || l.Recipients[0].Email != "bob@example.com" {
				t.Fatalf("share with a user's objectId: %+v, %v", l, err)
			}
			before := e.auditCount()
			_, _, err = e.Share(ctx, ann, store.ShareRequest{DriveID: d.ID, ItemID: docs.ID, Role: gatehouse.RoleWrite, ObjectIDs: []string{"nothing-here"}})
			wantCode(t, "an unknown objectId", err, gatehouse.EINVALID)
			if e.auditCount() != before || e.count(`SELECT COUNT(*) FROM links`) != 1 {
				t.Errorf("a refused share changed something")
			}
		})
	}
}

// TestDeleteUserLeavesGroups: deleting a user records their removal from
// each group they were in, then UserDeleted.
func TestDeleteUserLeavesGroups(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ann, _ := e.member("ann@example.com")
			bob, _, _ := e.member("bob@example.com")
			g, err := e.CreateGroup(ctx, ann, store.NewGroup{DisplayName: "Team", MailNickname: "team"})
			if err != nil {
				t.Fatal(err)
			}
			for _, role := range []string{gatehouse.GroupMember, gatehouse.GroupOwner} {
				if _, err := e.AddGroupMember(ctx, ann, g.ID, bob.ID, role); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.DeleteUser(ctx, ann, bob.ID); err != nil {
				t.Fatal(err)
			}
			recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromGroup})
			if len(recs) != 2 || recs[0].TargetUserOrGroupName != "bob@example.com" || recs[0].ObjectID != g.ID {
				t.Errorf("RemovedFromGroup records on deleting a member: %+v", recs)
			}
			if n := e.count(`SELECT COUNT(*) FROM group_members WHERE user_id = ?`, bob.ID); n != 0 {
				t.Errorf("%d memberships outlive the user", n)
			}
		})
	}
}

// TestUploadDecidedAtCommit: someone taken out of the group that let them
// upload, while their upload's content arrives, gets nothing stored.
func TestUploadDecidedAtCommit(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, ann, d := e.member("ann@example.com")
			bob, bobActor, _ := e.member("bob@example.com")
			inbox := e.folder(ann, d, d.RootID, "inbox")
			g, err := e.CreateGroup(ctx, ann, store.NewGroup{DisplayName: "Writers", MailNickname: "writers"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.AddGroupMember(ctx, ann, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.Share(ctx, ann, store.ShareRequest{DriveID: d.ID, ItemID: inbox.ID, Role: gatehouse.RoleWrite, ObjectIDs: []string{g.ID}}); err != nil {
				t.Fatal(err)
			}
			// While it is allowed, bob uploads.
			if _, _, err := e.PutFile(ctx, bobActor, d.ID, inbox.ID, "first.txt", strings.NewReader("one"), 1<<20); err != nil {
				t.Fatalf("bob uploads through the group: %v", err)
			}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				_, _, err := e.PutFile(ctx, bobActor, d.ID, inbox.ID, "second.txt", pr, 1<<20)
				done <- err
			}()
			pw.Write([]byte("half of it"))
			if err := e.RemoveGroupMember(ctx, ann, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
				t.Fatal(err)
			}
			pw.Write([]byte(", the rest"))
			pw.Close()
			wantCode(t, "an upload finished after removal", <-done, gatehouse.ENOTFOUND)
			if n := e.count(`SELECT COUNT(*) FROM items WHERE parent_id = ?`, inbox.ID); n != 1 {
				t.Errorf("the folder holds %d files, want only the one uploaded before removal", n)
			}
		})
	}
}
