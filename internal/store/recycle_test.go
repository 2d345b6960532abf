package store_test

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// blobExists reports whether the content of key is on disk.
func (e *env) blobExists(key string) bool {
	_, err := os.Stat(e.dir + "/blobs/" + key[:2] + "/" + key)
	return err == nil
}

func binNames(t *testing.T, e *env, d *gatehouse.Drive) []string {
	t.Helper()
	bin, _, err := e.RecycleBin(ctx, d.ID, nil, 0)
	if err != nil {
		t.Fatalf("RecycleBin: %v", err)
	}
	var out []string
	for _, b := range bin {
		out = append(out, b.Item.Name)
	}
	return out
}

// TestRecycleBin: deleting a shared folder moves it and what it holds to
// the bin in one step, its links go dormant and nothing in it is found by
// any lookup; restoring puts it back with its links still dormant until
// the owner turns one on again (recorded); purging removes content,
// versions and links.
func TestRecycleBin(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ann, byAnn, d := e.member("ann@example.com")
			bob, _, _ := e.member("bob@example.com")
			docs := e.folder(byAnn, d, d.RootID, "Docs")
			sub := e.folder(byAnn, d, docs.ID, "Sub")
			plan := e.file(byAnn, d, sub.ID, "plan.txt", "one")
			plan2 := e.file(byAnn, d, sub.ID, "plan.txt", "two!") // a version
			l, _, err := e.Share(ctx, byAnn, store.ShareRequest{DriveID: d.ID, ItemID: sub.ID, Role: gatehouse.RoleRead,
				Emails: []string{"bob@example.com", "ext@partner.test"}})
			if err != nil {
				t.Fatalf("Share: %v", err)
			}
			if n, err := e.LosingAccess(ctx, d.ID, docs.ID); err != nil || n != 2 {
				t.Errorf("LosingAccess(Docs) = %d, %v; want 2", n, err)
			}
			// A group on another link inside counts its members, once each.
			g, err := e.CreateGroup(ctx, byAnn, store.NewGroup{DisplayName: "Team", MailNickname: "team"})
			if err != nil {
				t.Fatal(err)
			}
			e.user("cy@example.com")
			for _, u := range []string{"bob@example.com", "cy@example.com"} {
				if _, err := e.AddGroupMember(ctx, byAnn, g.ID, u, gatehouse.GroupMember); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := e.Share(ctx, byAnn, store.ShareRequest{DriveID: d.ID, ItemID: plan.ID, Role: gatehouse.RoleWrite, ObjectIDs: []string{g.ID}}); err != nil {
				t.Fatal(err)
			}
			keep := e.folder(byAnn, d, d.RootID, "Keep")
			if got, err := e.LosingAccessIn(ctx, d.ID, []string{docs.ID, sub.ID, plan.ID, keep.ID}); err != nil ||
				got[docs.ID] != 3 || got[sub.ID] != 3 || got[plan.ID] != 2 || got[keep.ID] != 0 {
				t.Errorf("LosingAccessIn = %v, %v; want Docs 3, Sub 3, plan 2, Keep 0", got, err)
			}
			if n, err := e.LosingAccess(ctx, d.ID, docs.ID); err != nil || n != 3 {
				t.Errorf("LosingAccess(Docs) with the group = %d, %v; want 3", n, err)
			}
			// Bob opens the file through his grant before the delete.
			if _, f, err := e.ItemFacts(ctx, gatehouse.UserPrincipal(bob), d.ID, plan.ID); err != nil || gatehouse.Authorize(gatehouse.UserPrincipal(bob), gatehouse.ActDownload, f) != nil {
				t.Fatalf("Bob before the delete: %v", err)
			}

			e.clock.Advance(time.Minute)
			deletedAt := e.clock.Now()
			if err := e.DeleteItem(ctx, byAnn, d.ID, docs.ID); err != nil {
				t.Fatalf("DeleteItem: %v", err)
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFolderDeleted, ObjectID: e.objectID(docs), ItemType: "Folder",
				SourceFileName: "Docs", SourceRelativeURL: "/", UserID: "ann@example.com"})
			if got := eventData(t, r)["linksMadeDormant"]; got != 2.0 {
				t.Errorf("FolderDeleted linksMadeDormant = %v, want 2", got)
			}
			// Nothing in the bin is found: by id, as a child, through the
			// link's token, through Bob's grant, in Shared with me.
			for _, it := range []*gatehouse.Item{docs, sub, plan} {
				_, err := e.Item(ctx, d.ID, it.ID)
				wantCode(t, "Item("+it.Name+") in the bin", err, gatehouse.ENOTFOUND)
				_, _, err = e.ItemFacts(ctx, gatehouse.UserPrincipal(ann), d.ID, it.ID)
				wantCode(t, "owner's ItemFacts("+it.Name+") in the bin", err, gatehouse.ENOTFOUND)
				_, _, err = e.ItemFacts(ctx, gatehouse.UserPrincipal(bob), d.ID, it.ID)
				wantCode(t, "Bob's ItemFacts("+it.Name+") in the bin", err, gatehouse.ENOTFOUND)
			}
			_, _, err = e.Children(ctx, d.ID, sub.ID, nil, 0)
			wantCode(t, "Children of a binned folder", err, gatehouse.ENOTFOUND)
			if kids, _, _ := e.Children(ctx, d.ID, d.RootID, nil, 0); !slices.Equal(names(kids), []string{"Keep"}) {
				t.Errorf("root after delete: %v, want [Keep]", names(kids))
			}
			_, err = e.LinkByToken(ctx, l.Token)
			wantCode(t, "LinkByToken of a dormant link", err, gatehouse.ENOTFOUND)
			_, _, _, err = e.RecipientLink(ctx, l.Token, "")
			wantCode(t, "RecipientLink of a dormant link", err, gatehouse.ENOTFOUND)
			_, _, err = e.UserLink(ctx, l.Token, gatehouse.UserPrincipal(bob))
			wantCode(t, "UserLink of a dormant link", err, gatehouse.ENOTFOUND)
			_, _, err = e.PutFile(ctx, byAnn, d.ID, sub.ID, "new.txt", nil, 1<<20)
			wantCode(t, "upload into a binned folder", err, gatehouse.ENOTFOUND)
			wantCode(t, "deleting it again", e.DeleteItem(ctx, byAnn, d.ID, docs.ID), gatehouse.ENOTFOUND)
			wantCode(t, "deleting what is under it", e.DeleteItem(ctx, byAnn, d.ID, plan.ID), gatehouse.ENOTFOUND)
			if n, err := e.LosingAccess(ctx, d.ID, docs.ID); err != nil || n != 0 {
				t.Errorf("LosingAccess of a binned folder = %d, %v; want 0", n, err)
			}
			// Content stays while in the bin.
			if !e.blobExists(plan2.BlobKey) || !e.blobExists(plan.BlobKey) {
				t.Error("content of a binned file was removed")
			}

			// The bin lists the top item with where it came from.
			bin, next, err := e.RecycleBin(ctx, d.ID, nil, 0)
			if err != nil || next != nil || len(bin) != 1 {
				t.Fatalf("RecycleBin: %d items, next %v, %v; want 1", len(bin), next, err)
			}
			got := bin[0]
			if got.Item.ID != docs.ID || got.DeletedFrom != d.RootID || got.DeletedPath != "" || !got.DeletedAt.Equal(deletedAt) ||
				got.DeletedBy != ann.ID || got.DeletedByEmail != "ann@example.com" || got.Item.Size != 4 || !got.Item.IsFolder {
				t.Errorf("bin item: %+v (item %+v)", got, got.Item)
			}

			// A new Docs takes the name while the old one is in the bin.
			e.folder(byAnn, d, d.RootID, "docs")
			e.clock.Advance(time.Minute)
			back, err := e.RestoreItem(ctx, byAnn, d.ID, docs.ID)
			if err != nil {
				t.Fatalf("RestoreItem: %v", err)
			}
			if back.Name != "Docs (1)" || back.ParentID != d.RootID {
				t.Errorf("restored as %q in %q, want Docs (1) at the top", back.Name, back.ParentID)
			}
			r = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFolderRestored, ObjectID: e.objectID(docs), ItemType: "Folder",
				SourceFileName: "Docs (1)", SourceRelativeURL: "/"})
			if got := eventData(t, r)["originalName"]; got != "Docs" {
				t.Errorf("FolderRestored originalName = %v", got)
			}
			if it, err := e.Item(ctx, d.ID, plan.ID); err != nil || it.ParentPath != "/Docs (1)/Sub" {
				t.Errorf("plan.txt after restore: %+v, %v", it, err)
			}
			if vs, err := e.Versions(ctx, plan2); err != nil || len(vs) != 2 {
				t.Errorf("versions after restore: %d, %v; want 2", len(vs), err)
			}
			_, err = e.RestoreItem(ctx, byAnn, d.ID, docs.ID)
			wantCode(t, "restoring what is not in the bin", err, gatehouse.ENOTFOUND)
			// Its link stays dormant: it opens nothing, and Bob's grant
			// through it neither.
			_, err = e.LinkByToken(ctx, l.Token)
			wantCode(t, "LinkByToken after restore", err, gatehouse.ENOTFOUND)
			_, f, err := e.ItemFacts(ctx, gatehouse.UserPrincipal(bob), d.ID, plan.ID)
			if err == nil {
				err = gatehouse.Authorize(gatehouse.UserPrincipal(bob), gatehouse.ActRead, f)
			}
			wantCode(t, "Bob through a dormant link", err, gatehouse.ENOTFOUND)
			if links, err := e.Links(ctx, d.ID, sub.ID); err != nil || len(links) != 1 || !links[0].Dormant {
				t.Fatalf("Links after restore: %v, %v; want one dormant", links, err)
			}
			// Adding people to the dormant link is refused, not a silent
			// way to turn it on.
			nb := e.auditCount()
			_, _, err = e.Share(ctx, byAnn, store.ShareRequest{DriveID: d.ID, ItemID: sub.ID, Role: gatehouse.RoleRead, Emails: []string{"new@partner.test"}})
			wantCode(t, "sharing through a dormant link", err, gatehouse.ECONFLICT)
			if e.auditCount() != nb {
				t.Errorf("a refused share wrote records")
			}
			n := e.auditCount()
			on, err := e.EnableLink(ctx, byAnn, d.ID, sub.ID, l.ID)
			if err != nil || on.Dormant {
				t.Fatalf("EnableLink: %+v, %v", on, err)
			}
			r = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpSecureLinkUpdated, UniqueSharingID: l.ShareID})
			if got, ok := eventData(t, r)["dormant"]; !ok || got != false {
				t.Errorf("SecureLinkUpdated EventData: %s, want dormant false", r.EventData)
			}
			if _, err := e.EnableLink(ctx, byAnn, d.ID, sub.ID, l.ID); err != nil || e.auditCount() != n+1 {
				t.Errorf("enabling an enabled link: %v, %d new records; want none", err, e.auditCount()-n)
			}
			if _, err := e.LinkByToken(ctx, l.Token); err != nil {
				t.Errorf("LinkByToken after EnableLink: %v", err)
			}
			if n, err := e.LosingAccess(ctx, d.ID, back.ID); err != nil || n != 2 {
				t.Errorf("LosingAccess after EnableLink = %d, %v; want 2", n, err)
			}

			// Purge: content, versions and the link go, with records.
			if err := e.DeleteItem(ctx, byAnn, d.ID, sub.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.PurgeItem(ctx, byAnn, d.ID, sub.ID); err != nil {
				t.Fatalf("PurgeItem: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileDeletedFirstStageRecycleBin, ObjectID: e.objectID(sub), ItemType: "Folder",
				SourceFileName: "Sub", SourceRelativeURL: "/Docs (1)"})
			if e.blobExists(plan.BlobKey) || e.blobExists(plan2.BlobKey) {
				t.Error("content of a purged file is still there")
			}
			for q, want := range map[string]int{
				`SELECT COUNT(*) FROM item_versions`:                      0,
				`SELECT COUNT(*) FROM links`:                              0,
				`SELECT COUNT(*) FROM items WHERE deleted_at > 0`:         0,
				`SELECT COUNT(*) FROM items WHERE id = '` + plan.ID + `'`: 0,
			} {
				if got := e.count(q); got != want {
					t.Errorf("%s: %d, want %d", q, got, want)
				}
			}
			if len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSecureLinkDeleted})) != 2 {
				t.Error("purging did not record the link's deletion")
			}
			wantCode(t, "purging it again", e.PurgeItem(ctx, byAnn, d.ID, sub.ID), gatehouse.ENOTFOUND)
			if nb, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil {
				t.Errorf("VerifyAudit after %d: %+v %v", nb, brk, err)
			}
		})
	}
}

// TestRestoreWhereParentIsGone: an item whose folder went to the bin after
// it comes back at the top of the drive; a file's numbered name keeps its
// extension; emptying purges each top item with its own record.
func TestRestoreWhereParentIsGone(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			f := e.folder(by, d, d.RootID, "F")
			a := e.file(by, d, f.ID, "a.txt", "a")
			e.file(by, d, d.RootID, "a.txt", "top")
			if err := e.DeleteItem(ctx, by, d.ID, a.ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Second)
			if err := e.DeleteItem(ctx, by, d.ID, f.ID); err != nil {
				t.Fatal(err)
			}
			if got := binNames(t, e, d); !slices.Equal(got, []string{"F", "a.txt"}) {
				t.Errorf("bin: %v, want [F a.txt], newest first", got)
			}
			back, err := e.RestoreItem(ctx, by, d.ID, a.ID)
			if err != nil {
				t.Fatalf("RestoreItem: %v", err)
			}
			if back.ParentID != d.RootID || back.Name != "a (1).txt" {
				t.Errorf("restored to %q as %q, want the top as a (1).txt", back.ParentID, back.Name)
			}
			if err := e.DeleteItem(ctx, by, d.ID, back.ID); err != nil {
				t.Fatal(err)
			}
			n, err := e.EmptyRecycleBin(ctx, by, d.ID)
			if err != nil || n != 2 {
				t.Fatalf("EmptyRecycleBin: %d, %v; want 2", n, err)
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpFileDeletedFirstStageRecycleBin})); got != 2 {
				t.Errorf("purge records: %d, want 2", got)
			}
			if got := binNames(t, e, d); len(got) != 0 {
				t.Errorf("bin after emptying: %v", got)
			}
		})
	}
}

// TestRecycleBinRetention: the sweep purges what has been in the bin
// longer than recycleBinRetentionDays (93 by default), not what is newer.
func TestRecycleBinRetention(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			old := e.file(by, d, d.RootID, "old.txt", "old")
			young := e.file(by, d, d.RootID, "young.txt", "young")
			if st, err := e.SharingSettings(ctx); err != nil || st.RecycleBinRetentionDays != 93 {
				t.Fatalf("default retention: %+v, %v", st, err)
			}
			if err := e.DeleteItem(ctx, by, d.ID, old.ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(50 * 24 * time.Hour)
			if err := e.DeleteItem(ctx, by, d.ID, young.ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(43*24*time.Hour - time.Second)
			if n, err := e.PurgeExpiredRecycleBin(ctx); err != nil || n != 0 {
				t.Errorf("sweep before 93 days: %d, %v; want 0", n, err)
			}
			e.clock.Advance(2 * time.Second)
			if n, err := e.PurgeExpiredRecycleBin(ctx); err != nil || n != 1 {
				t.Errorf("sweep after 93 days: %d, %v; want 1", n, err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileDeletedFirstStageRecycleBin, SourceFileName: "old.txt", UserType: "System"})
			if e.blobExists(old.BlobKey) || !e.blobExists(young.BlobKey) {
				t.Error("the sweep removed the wrong content")
			}
			if got := binNames(t, e, d); !slices.Equal(got, []string{"young.txt"}) {
				t.Errorf("bin after the sweep: %v", got)
			}
			// A shorter retention applies at the next sweep.
			days := 30
			if _, err := e.UpdateSharingSettings(ctx, gatehouse.SystemActor(), gatehouse.SharingSettingsPatch{RecycleBinRetentionDays: &days}); err != nil {
				t.Fatal(err)
			}
			if n, err := e.PurgeExpiredRecycleBin(ctx); err != nil || n != 1 {
				t.Errorf("sweep after shortening to 30 days: %d, %v; want 1", n, err)
			}
			bad := 0
			_, err := e.UpdateSharingSettings(ctx, gatehouse.SystemActor(), gatehouse.SharingSettingsPatch{RecycleBinRetentionDays: &bad})
			wantCode(t, "retention of 0 days", err, gatehouse.EINVALID)
		})
	}
}

// TestRecycleBinParallel: 16 clients delete, restore and purge the same
// folder at once. Each call either does its step or answers not found; the
// records alternate Deleted, Restored… with at most one purge at the end,
// and no content outlives its metadata.
func TestRecycleBinParallel(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			f := e.folder(by, d, d.RootID, "Busy")
			var keys []string
			for i := range 3 {
				keys = append(keys, e.file(by, d, f.ID, fmt.Sprintf("f%d.txt", i), fmt.Sprintf("content %d", i)).BlobKey)
			}
			if _, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID, Role: gatehouse.RoleRead, Emails: []string{"ext@partner.test"}}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			done := map[string]int{}
			parallel(16, func(c int) {
				for i := range 12 {
					var err error
					op := (c + i) % 6
					name := ""
					switch {
					case op < 3:
						name, err = "delete", e.DeleteItem(ctx, by, d.ID, f.ID)
					case op < 5:
						name = "restore"
						_, err = e.RestoreItem(ctx, by, d.ID, f.ID)
					default:
						if i < 10 {
							continue // purge late, so the rest has something to race on
						}
						name, err = "purge", e.PurgeItem(ctx, by, d.ID, f.ID)
					}
					if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
						t.Errorf("client %d %s: %v", c, name, err)
					}
					if err == nil {
						mu.Lock()
						done[name]++
						mu.Unlock()
					}
				}
			})
			var ops []string
			for _, r := range e.records(gatehouse.AuditFilter{ObjectID: e.objectID(f)}) {
				switch r.Operation {
				case gatehouse.OpFolderDeleted, gatehouse.OpFolderRestored, gatehouse.OpFileDeletedFirstStageRecycleBin:
					ops = append(ops, r.Operation)
				}
			}
			slices.Reverse(ops) // oldest first
			if len(ops) != done["delete"]+done["restore"]+done["purge"] {
				t.Errorf("records %d, successful calls %v", len(ops), done)
			}
			for i, op := range ops {
				want := gatehouse.OpFolderDeleted
				if i%2 == 1 {
					want = gatehouse.OpFolderRestored
				}
				if op == gatehouse.OpFileDeletedFirstStageRecycleBin && i == len(ops)-1 && i%2 == 1 {
					continue
				}
				if op != want {
					t.Fatalf("records out of order at %d: %v", i, ops)
				}
			}
			purged := done["purge"] == 1
			if done["purge"] > 1 {
				t.Errorf("purged %d times", done["purge"])
			}
			items := e.count(`SELECT COUNT(*) FROM items WHERE drive_id = ?`, d.ID)
			for _, k := range keys {
				if e.blobExists(k) == purged {
					t.Errorf("content %s exists %v after purged=%v", k, e.blobExists(k), purged)
				}
			}
			if want := map[bool]int{true: 1, false: 5}[purged]; items != want {
				t.Errorf("items left: %d, want %d (purged %v)", items, want, purged)
			}
			t.Logf("calls done: %v", done)
		})
	}
}
