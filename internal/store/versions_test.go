package store_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestVersions: a file's versions list the current one first with who
// made each; an old version's content stays readable; restoring one makes
// a new current version with its content, keeps the replaced one, and is
// recorded; a recipient's replacement is shown under their address.
func TestVersions(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ann, byAnn, d := e.member("ann@example.com")
			bob := e.user("bob@example.com")
			e.file(byAnn, d, d.RootID, "notes.txt", "one")
			e.clock.Advance(time.Minute)
			// Bob writes through a link on the folder; a recipient too.
			sub := e.folder(byAnn, d, d.RootID, "Shared")
			l, _, err := e.Share(ctx, byAnn, store.ShareRequest{DriveID: d.ID, ItemID: sub.ID, Role: gatehouse.RoleWrite,
				Emails: []string{"bob@example.com", "ext@partner.test"}})
			if err != nil {
				t.Fatalf("Share: %v", err)
			}
			it := e.file(byAnn, d, sub.ID, "plan.txt", "one")
			e.clock.Advance(time.Minute)
			byBob := gatehouse.UserActor(bob, "192.0.2.11", "test-agent/1.0")
			byBob.ShareID = l.ShareID
			if _, err := e.ReplaceFile(ctx, byBob, d.ID, it.ID, strings.NewReader("two!"), 1<<20); err != nil {
				t.Fatalf("ReplaceFile by Bob: %v", err)
			}
			e.clock.Advance(time.Minute)
			byExt := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("ext@partner.test"), Origin: gatehouse.Origin{ClientIP: "203.0.113.5", ShareID: l.ShareID}}
			got, _, err := e.PutFileThroughLink(ctx, byExt, l, sub.ID, "plan.txt", strings.NewReader("three"), 1<<20)
			if err != nil {
				t.Fatalf("ReplaceFile by a recipient: %v", err)
			}
			if got.ModifiedBy != "ext@partner.test" || got.ModifiedByEmail != "" {
				t.Errorf("a recipient's replacement: modified by %q (%q), want their address", got.ModifiedBy, got.ModifiedByEmail)
			}

			it, err = e.Item(ctx, d.ID, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if it.Version != 3 || it.ModifiedBy != "ext@partner.test" {
				t.Errorf("item: version %d by %q, want 3 by the recipient's address", it.Version, it.ModifiedBy)
			}
			vs, err := e.Versions(ctx, it)
			if err != nil {
				t.Fatalf("Versions: %v", err)
			}
			type row struct {
				N                  int
				Size               int64
				By, Email, Display string
			}
			var rows []row
			for _, v := range vs {
				rows = append(rows, row{v.Number, v.Size, v.ModifiedBy, v.ModifiedByEmail, v.ModifiedByName})
			}
			want := []row{
				{3, 5, "ext@partner.test", "", ""},
				{2, 4, bob.ID, "bob@example.com", "User bob@example.com"},
				{1, 3, ann.ID, "ann@example.com", "User ann@example.com"},
			}
			if len(rows) != len(want) {
				t.Fatalf("Versions: got %+v, want %+v", rows, want)
			}
			for i := range want {
				if rows[i] != want[i] {
					t.Errorf("version %d: got %+v, want %+v", i, rows[i], want[i])
				}
			}
			if !vs[1].ModifiedAt.Before(vs[0].ModifiedAt) || !vs[2].ModifiedAt.Before(vs[1].ModifiedAt) {
				t.Errorf("version times not newest first: %v, %v, %v", vs[0].ModifiedAt, vs[1].ModifiedAt, vs[2].ModifiedAt)
			}

			// A listing reads names with the items.
			kids, _, err := e.Children(ctx, d.ID, sub.ID, nil, 0)
			if err != nil || len(kids) != 1 || kids[0].ModifiedBy != "ext@partner.test" {
				t.Fatalf("Children: %v, %v", kids, err)
			}
			if k, _, err := e.Children(ctx, d.ID, d.RootID, nil, 0); err != nil || len(k) == 0 || k[0].ModifiedByEmail != "ann@example.com" ||
				k[0].ModifiedByName != "User ann@example.com" {
				t.Errorf("Children of the root: %+v, %v; want Ann's email and name", k, err)
			}

			v1, err := e.Version(ctx, it, 1)
			if err != nil {
				t.Fatalf("Version(1): %v", err)
			}
			if c := readVersion(t, e, it, v1); c != "one" {
				t.Errorf("version 1 content: got %q, want %q", c, "one")
			}
			wantCode(t, "Version(4)", func() error { _, err := e.Version(ctx, it, 4); return err }(), gatehouse.ENOTFOUND)
			wantCode(t, "Version(0)", func() error { _, err := e.Version(ctx, it, 0); return err }(), gatehouse.ENOTFOUND)
			wantCode(t, "Versions of a folder", func() error { _, err := e.Versions(ctx, sub); return err }(), gatehouse.EINVALID)

			// Restore version 1, by Ann.
			e.clock.Advance(time.Minute)
			before := e.auditCount()
			restored, err := e.RestoreVersion(ctx, byAnn, d.ID, it.ID, 1)
			if err != nil {
				t.Fatalf("RestoreVersion: %v", err)
			}
			if restored.Version != 4 || restored.Size != 3 || restored.SHA256 != sha("one") || restored.ModifiedBy != ann.ID ||
				restored.ModifiedByEmail != "ann@example.com" || !restored.ModifiedAt.Equal(e.clock.Now()) {
				t.Errorf("restored: %+v", restored)
			}
			if n := e.auditCount(); n != before+1 {
				t.Errorf("RestoreVersion wrote %d records, want 1", n-before)
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileVersionRestored, UserID: "ann@example.com", ObjectID: e.objectID(it),
				ItemType: "File", SourceFileName: "plan.txt", SourceRelativeURL: "/Shared"})
			var data map[string]any
			if err := json.Unmarshal([]byte(r.EventData), &data); err != nil || data["restoredFrom"] != float64(1) || data["version"] != float64(4) {
				t.Errorf("EventData: %s (%v), want restoredFrom 1 and version 4", r.EventData, err)
			}
			cur, err := e.Item(ctx, d.ID, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cur.Version != 4 || cur.SHA256 != sha("one") {
				t.Errorf("item after restore: version %d sha %s", cur.Version, cur.SHA256)
			}
			f, err := e.OpenContent(cur)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) != "one" {
				t.Errorf("current content after restore: %q", b)
			}
			vs, err = e.Versions(ctx, cur)
			if err != nil || len(vs) != 4 || vs[0].Number != 4 || vs[1].Number != 3 || vs[1].ModifiedBy != "ext@partner.test" || vs[1].Size != 5 {
				t.Errorf("Versions after restore: %+v, %v", vs, err)
			}
			if c := readVersion(t, e, cur, vs[1]); c != "three" {
				t.Errorf("the replaced version's content: %q, want %q", c, "three")
			}

			// Refusals change nothing.
			_, byCarol, _ := e.member("carol@example.com")
			before = e.auditCount()
			_, err = e.RestoreVersion(ctx, byAnn, d.ID, it.ID, 4)
			wantCode(t, "restore the current version", err, gatehouse.EINVALID)
			_, err = e.RestoreVersion(ctx, byAnn, d.ID, it.ID, 9)
			wantCode(t, "restore a missing version", err, gatehouse.ENOTFOUND)
			_, err = e.RestoreVersion(ctx, byAnn, d.ID, sub.ID, 1)
			wantCode(t, "restore a folder", err, gatehouse.EINVALID)
			_, err = e.RestoreVersion(ctx, byCarol, d.ID, it.ID, 1)
			wantCode(t, "restore by another member", err, gatehouse.ENOTFOUND)
			if n := e.auditCount(); n != before {
				t.Errorf("refused restores wrote %d records", n-before)
			}
			if e.count(`SELECT COUNT(*) FROM item_versions WHERE item_id = ?`, it.ID) != 3 {
				t.Errorf("refused restores changed the kept versions")
			}

			// Deleting the file keeps its versions in the recycle bin;
			// purging it removes every version, shared content or not.
			if err := e.DeleteItem(ctx, byAnn, d.ID, it.ID); err != nil {
				t.Fatal(err)
			}
			if e.count(`SELECT COUNT(*) FROM item_versions WHERE item_id = ?`, it.ID) != 3 {
				t.Errorf("versions of a file in the recycle bin were not kept")
			}
			if err := e.PurgeItem(ctx, byAnn, d.ID, it.ID); err != nil {
				t.Fatal(err)
			}
			if e.count(`SELECT COUNT(*) FROM item_versions WHERE item_id = ?`, it.ID) != 0 {
				t.Errorf("versions kept after purge")
			}
		})
	}
}

func readVersion(t *testing.T, e *env, it *gatehouse.Item, v store.Version) string {
	t.Helper()
	at := *it
	at.BlobKey = v.BlobKey
	f, err := e.OpenContent(&at)
	if err != nil {
		t.Fatalf("open version %d: %v", v.Number, err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}
