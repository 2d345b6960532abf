package store_test

import (
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// wantLinkEnded checks that a link's end was recorded: SecureLinkDeleted
// once, and RemovedFromSecureLink once for each of targets.
func wantLinkEnded(t *testing.T, e *env, what string, l *gatehouse.Link, targets ...string) {
	t.Helper()
	recs := e.records(gatehouse.AuditFilter{UniqueSharingID: l.ShareID})
	deleted, removed := 0, map[string]int{}
	for _, r := range recs {
		switch r.Operation {
		case gatehouse.OpSecureLinkDeleted:
			deleted++
		case gatehouse.OpRemovedFromSecureLink:
			removed[r.TargetUserOrGroupName]++
		}
	}
	if deleted != 1 {
		t.Errorf("%s: %d SecureLinkDeleted records, want 1", what, deleted)
	}
	for _, tg := range targets {
		if removed[tg] != 1 {
			t.Errorf("%s: RemovedFromSecureLink for %s recorded %d times, want once (all: %v)", what, tg, removed[tg], removed)
		}
	}
	if len(removed) != len(targets) {
		t.Errorf("%s: RemovedFromSecureLink targets %v, want %v", what, removed, targets)
	}
	if n := e.count(`SELECT COUNT(*) FROM links WHERE id = ?`, l.ID); n != 0 {
		t.Errorf("%s: the link is still there", what)
	}
}

// Deleting a user or a site ends the links on items in its recycle bin
// with the same records as the links on live items; before, the bin's went
// by cascade, unrecorded.
func TestDeleteDriveRecordsBinnedLinks(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			admin := gatehouse.SystemActor()
			g, err := e.CreateGroup(ctx, admin, store.NewGroup{DisplayName: "Team", MailNickname: "team"})
			if err != nil {
				t.Fatal(err)
			}
			// share makes a link to it with an outsider and the group, and one
			// to a file inside it (when it is a folder) with the outsider.
			share := func(by gatehouse.Actor, d *gatehouse.Drive, it *gatehouse.Item) *gatehouse.Link {
				t.Helper()
				l, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Role: gatehouse.RoleRead,
					Emails: []string{"ext@partner.test"}, ObjectIDs: []string{g.ID}})
				if err != nil {
					t.Fatalf("Share(%s): %v", it.Name, err)
				}
				return l
			}
			// tree makes a live file with a link, and a binned folder with a
			// link on it and one on a file inside.
			tree := func(by gatehouse.Actor, d *gatehouse.Drive) (live, binned, inside *gatehouse.Link) {
				t.Helper()
				live = share(by, d, e.file(by, d, d.RootID, "live.txt", "live"))
				old := e.folder(by, d, d.RootID, "Old")
				binned = share(by, d, old)
				inside = share(by, d, e.file(by, d, old.ID, "in.txt", "in"))
				if err := e.DeleteItem(ctx, by, d.ID, old.ID); err != nil {
					t.Fatalf("DeleteItem: %v", err)
				}
				return live, binned, inside
			}

			ann, byAnn, d := e.member("ann@example.com")
			live, binned, inside := tree(byAnn, d)
			if err := e.DeleteUser(ctx, admin, ann.ID); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			for what, l := range map[string]*gatehouse.Link{"user's live link": live, "user's binned folder's link": binned, "user's link inside the bin": inside} {
				wantLinkEnded(t, e, what, l, "ext@partner.test", "Team")
			}

			_, byOwner, _ := e.member("owner@example.com")
			st, err := e.CreateSite(ctx, byOwner, store.NewSite{DisplayName: "Doomed"})
			if err != nil {
				t.Fatal(err)
			}
			live, binned, inside = tree(byOwner, e.siteDrive(st))
			if err := e.DeleteSite(ctx, byOwner, st.ID); err != nil {
				t.Fatalf("DeleteSite: %v", err)
			}
			for what, l := range map[string]*gatehouse.Link{"site's live link": live, "site's binned folder's link": binned, "site's link inside the bin": inside} {
				wantLinkEnded(t, e, what, l, "ext@partner.test", "Team")
			}
			if _, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil {
				t.Errorf("VerifyAudit: %v, %v", brk, err)
			}
		})
	}
}
