package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestDriveRoot(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			u, _, d := e.member("ann@example.com")
			if d.OwnerID != u.ID || d.RootID == "" || !d.CreatedAt.Equal(e.clock.Now()) {
				t.Errorf("DriveByOwner: got %+v, want a drive of %s created now", d, u.ID)
			}
			if got, err := e.Drive(ctx, d.ID); err != nil || *got != *d {
				t.Errorf("Drive(%s): got %+v, %v; want %+v", d.ID, got, err, d)
			}
			root, err := e.Item(ctx, d.ID, d.RootID)
			if err != nil {
				t.Fatalf("Item(root): %v", err)
			}
			if !root.IsFolder || root.ParentID != "" || root.ParentPath != "" || root.DriveID != d.ID {
				t.Errorf("root: got %+v, want a folder without parent in drive %s", root, d.ID)
			}
			kids, next, err := e.Children(ctx, d.ID, d.RootID, nil, 0)
			if err != nil || len(kids) != 0 || next != nil {
				t.Errorf("Children(root) of a new drive: got %d items, cursor %v, %v; want none", len(kids), next, err)
			}
			_, _, d2 := e.member("bob@example.com")
			if d2.ID == d.ID || d2.RootID == d.RootID {
				t.Errorf("two users share drive %s / root %s", d.ID, d.RootID)
			}
		})
	}
}

func TestCreateFolder(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			u, by, d := e.member("ann@example.com")

			records := e.auditCount()
			bad := []string{"", ".", "..", "a/b", `a\b`, "a:b", "a*b", "a?b", `a"b`, "a<b", "a>b", "a|b", "a\x01b",
				" lead", "trail ", strings.Repeat("x", 256)}
			for _, name := range bad {
				_, err := e.CreateFolder(ctx, by, d.ID, d.RootID, name)
				wantCode(t, "CreateFolder("+name+")", err, gatehouse.EINVALID)
			}
			if n := e.auditCount(); n != records {
				t.Errorf("audit records after refused names: got %d, want %d", n, records)
			}
			if kids, _, _ := e.Children(ctx, d.ID, d.RootID, nil, 0); len(kids) != 0 {
				t.Errorf("refused names created %d items", len(kids))
			}

			long := strings.Repeat("é", 127) + "x" // 255 bytes
			f, err := e.CreateFolder(ctx, by, d.ID, d.RootID, long)
			if err != nil {
				t.Fatalf("CreateFolder of a 255-byte name: %v", err)
			}
			if f.Name != long || !f.IsFolder || f.ParentID != d.RootID || f.DriveID != d.ID || f.CreatedBy != u.ID || !f.CreatedAt.Equal(e.clock.Now()) {
				t.Errorf("CreateFolder: got %+v", f)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFolderCreated, UserID: "ann@example.com", ObjectID: e.objectID(f),
				ItemType: "Folder", SourceFileName: long, SourceRelativeURL: "/", ClientIP: by.ClientIP, UserAgent: by.UserAgent})
			if got, err := e.Item(ctx, d.ID, f.ID); err != nil || got.Name != long {
				t.Errorf("Item of the new folder: got %+v, %v", got, err)
			}

			docs := e.folder(by, d, d.RootID, "Docs")
			records = e.auditCount()
			for _, dup := range []string{"Docs", "docs", "DOCS"} {
				_, err := e.CreateFolder(ctx, by, d.ID, d.RootID, dup)
				wantCode(t, "CreateFolder duplicate "+dup, err, gatehouse.ECONFLICT)
			}
			e.file(by, d, d.RootID, "Notes.txt", "x")
			records++
			_, err = e.CreateFolder(ctx, by, d.ID, d.RootID, "notes.TXT")
			wantCode(t, "CreateFolder where a file has the name", err, gatehouse.ECONFLICT)
			if n := e.auditCount(); n != records {
				t.Errorf("audit records after conflicts: got %d, want %d", n, records)
			}
			// The same name in another folder is fine.
			if _, err := e.CreateFolder(ctx, by, d.ID, docs.ID, "docs"); err != nil {
				t.Errorf("CreateFolder docs inside Docs: %v", err)
			}

			_, err = e.CreateFolder(ctx, by, d.ID, "no-such-id", "x")
			wantCode(t, "CreateFolder in a missing parent", err, gatehouse.ENOTFOUND)
			file := e.file(by, d, d.RootID, "plain.txt", "x")
			_, err = e.CreateFolder(ctx, by, d.ID, file.ID, "x")
			wantCode(t, "CreateFolder inside a file", err, gatehouse.EINVALID)
		})
	}
}

func TestPutFile(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			u, by, d := e.member("ann@example.com")
			docs := e.folder(by, d, d.RootID, "Docs")

			it, created, err := e.PutFile(ctx, by, d.ID, docs.ID, "Report.txt", strings.NewReader("version one"), 1<<20)
			if err != nil {
				t.Fatalf("PutFile: %v", err)
			}
			if !created || it.Version != 1 || it.Size != 11 || it.SHA256 != sha("version one") || it.IsFolder ||
				it.ParentID != docs.ID || it.ParentPath != "/Docs" || it.CreatedBy != u.ID || !strings.HasPrefix(it.MimeType, "text/plain") {
				t.Errorf("PutFile new: got %+v, created %v", it, created)
			}
			if it.ETag() != `"`+sha("version one")+`"` {
				t.Errorf("ETag: got %s", it.ETag())
			}
			if _, err := os.Stat(e.dir + "/blobs/" + it.BlobKey[:2] + "/" + it.BlobKey); err != nil {
				t.Errorf("blob of the new file: %v", err)
			}
			readContent := func(it *gatehouse.Item) string {
				t.Helper()
				rc, err := e.OpenContent(it)
				if err != nil {
					t.Fatalf("OpenContent: %v", err)
				}
				defer rc.Close()
				b, _ := io.ReadAll(rc)
				return string(b)
			}
			if got := readContent(it); got != "version one" {
				t.Errorf("OpenContent: got %q, want %q", got, "version one")
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileUploaded, UserID: "ann@example.com", ObjectID: e.objectID(it),
				ItemType: "File", SourceFileName: "Report.txt", SourceRelativeURL: "/Docs"})
			if refs, err := e.ReferencedBlobs(ctx, []string{it.BlobKey}); err != nil || !refs[it.BlobKey] {
				t.Errorf("ReferencedBlobs(new file): got %v, %v; want it referenced", refs, err)
			}

			// The same name again, in another case, is a new version.
			e.clock.Advance(time.Minute)
			it2, created, err := e.PutFile(ctx, by, d.ID, docs.ID, "report.TXT", strings.NewReader("version two!"), 1<<20)
			if err != nil {
				t.Fatalf("PutFile again: %v", err)
			}
			if created || it2.ID != it.ID || it2.Version != 2 || it2.Size != 12 || it2.SHA256 != sha("version two!") ||
				it2.BlobKey == it.BlobKey || !it2.ModifiedAt.Equal(e.clock.Now()) || it2.ParentPath != "/Docs" {
				t.Errorf("PutFile again: got %+v, created %v; want version 2 of %s", it2, created, it.ID)
			}
			if got := readContent(it2); got != "version two!" {
				t.Errorf("OpenContent of version 2: got %q", got)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileModified, ObjectID: e.objectID(it), ItemType: "File", SourceRelativeURL: "/Docs"})
			if n := e.count(`SELECT COUNT(*) FROM item_versions WHERE item_id = ? AND blob_key = ? AND version = 1`, it.ID, it.BlobKey); n != 1 {
				t.Errorf("item_versions rows for version 1: got %d, want 1", n)
			}
			if got := len(e.files("blobs")); got != 2 {
				t.Errorf("blobs after two versions: got %d, want 2", got)
			}
			if refs, _ := e.ReferencedBlobs(ctx, []string{it.BlobKey}); !refs[it.BlobKey] {
				t.Errorf("ReferencedBlobs(version 1): got not referenced, want referenced")
			}
			if kids, _, _ := e.Children(ctx, d.ID, docs.ID, nil, 0); len(kids) != 1 {
				t.Errorf("Children after replacing: got %d, want 1", len(kids))
			}

			// Refusals leave nothing behind.
			e.folder(by, d, docs.ID, "Sub")
			records := e.auditCount()
			tests := []struct {
				name     string
				parentID string
				file     string
				content  string
				max      int64
				want     string
			}{
				{"too large", docs.ID, "big.bin", strings.Repeat("x", 101), 100, gatehouse.ETOOLARGE},
				{"too large replacing", docs.ID, "Report.txt", strings.Repeat("x", 101), 100, gatehouse.ETOOLARGE},
				{"folder has the name", docs.ID, "sub", "x", 100, gatehouse.ECONFLICT},
				{"bad name", docs.ID, "a:b", "x", 100, gatehouse.EINVALID},
				{"missing parent", "no-such-id", "x.txt", "x", 100, gatehouse.ENOTFOUND},
				{"parent is a file", it.ID, "x.txt", "x", 100, gatehouse.EINVALID},
			}
			for _, tt := range tests {
				_, _, err := e.PutFile(ctx, by, d.ID, tt.parentID, tt.file, strings.NewReader(tt.content), tt.max)
				wantCode(t, "PutFile "+tt.name, err, tt.want)
				if got := e.files("tmp"); len(got) != 0 {
					t.Errorf("PutFile %s left %v in tmp/", tt.name, got)
				}
				if got := len(e.files("blobs")); got != 2 {
					t.Errorf("PutFile %s: blobs on disk: got %d, want 2", tt.name, got)
				}
			}
			if n := e.auditCount(); n != records {
				t.Errorf("audit records after refused uploads: got %d, want %d", n, records)
			}
			cur, _ := e.Item(ctx, d.ID, it.ID)
			if cur.Version != 2 || cur.SHA256 != sha("version two!") {
				t.Errorf("file after a refused replacement: got version %d %s, want version 2 unchanged", cur.Version, cur.SHA256)
			}

			// Exactly the limit is allowed; an empty file too.
			if _, _, err := e.PutFile(ctx, by, d.ID, docs.ID, "edge.bin", strings.NewReader(strings.Repeat("x", 100)), 100); err != nil {
				t.Errorf("PutFile at exactly the limit: %v", err)
			}
			empty, _, err := e.PutFile(ctx, by, d.ID, d.RootID, "empty", strings.NewReader(""), 100)
			if err != nil || empty.Size != 0 || empty.SHA256 != sha("") || empty.MimeType != "application/octet-stream" {
				t.Errorf("PutFile empty: got %+v, %v", empty, err)
			}
		})
	}
}

func names(items []*gatehouse.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

func TestChildrenPaging(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			for _, n := range []string{"delta", "Bravo", "echo.txt", "alpha", "Charlie.txt"} {
				if strings.HasSuffix(n, ".txt") {
					e.file(by, d, d.RootID, n, n)
				} else {
					e.folder(by, d, d.RootID, n)
				}
			}
			var all []*gatehouse.Item
			var after *store.ChildCursor
			var pages []int
			for i := 0; ; i++ {
				if i > 5 {
					t.Fatalf("Children paging does not end: pages %v", pages)
				}
				page, next, err := e.Children(ctx, d.ID, d.RootID, after, 2)
				if err != nil {
					t.Fatalf("Children: %v", err)
				}
				pages = append(pages, len(page))
				all = append(all, page...)
				if next == nil {
					break
				}
				after = next
			}
			if want := []int{2, 2, 1}; !slices.Equal(pages, want) {
				t.Errorf("page sizes: got %v, want %v", pages, want)
			}
			want := []string{"alpha", "Bravo", "Charlie.txt", "delta", "echo.txt"}
			if got := names(all); !slices.Equal(got, want) {
				t.Errorf("Children in pages of 2: got %v, want %v", got, want)
			}
			whole, next, err := e.Children(ctx, d.ID, d.RootID, nil, 0)
			if err != nil || next != nil || !slices.Equal(names(whole), want) {
				t.Errorf("Children in one page: got %v, cursor %v, %v; want %v", names(whole), next, err, want)
			}
			for _, it := range whole {
				if it.ParentPath != "" || it.ParentID != d.RootID {
					t.Errorf("child %s: ParentPath %q ParentID %s, want \"\" and the root", it.Name, it.ParentPath, it.ParentID)
				}
			}
			// Exactly a page's worth leaves no extra cursor.
			page, next, err := e.Children(ctx, d.ID, d.RootID, nil, 5)
			if err != nil || len(page) != 5 || next != nil {
				t.Errorf("Children with limit 5 over 5: got %d items and cursor %v, %v; want 5 and no cursor", len(page), next, err)
			}

			// ChildCount of folders.
			alpha := whole[0]
			e.folder(by, d, alpha.ID, "x")
			e.file(by, d, alpha.ID, "y", "y")
			whole, _, _ = e.Children(ctx, d.ID, d.RootID, nil, 0)
			if whole[0].ChildCount != 2 || whole[1].ChildCount != 0 {
				t.Errorf("ChildCount: got alpha %d, Bravo %d; want 2 and 0", whole[0].ChildCount, whole[1].ChildCount)
			}

			// Children of a file.
			_, _, err = e.Children(ctx, d.ID, whole[2].ID, nil, 0)
			wantCode(t, "Children of a file", err, gatehouse.EINVALID)
			_, _, err = e.Children(ctx, d.ID, "no-such-id", nil, 0)
			wantCode(t, "Children of a missing folder", err, gatehouse.ENOTFOUND)
		})
	}
}

func TestParentPath(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			a := e.folder(by, d, d.RootID, "a")
			bb := e.folder(by, d, a.ID, "b b")
			c := e.folder(by, d, bb.ID, "c")
			f := e.file(by, d, c.ID, "f.txt", "f")
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileUploaded, SourceFileName: "f.txt", SourceRelativeURL: "/a/b b/c"})
			tests := []struct {
				it   *gatehouse.Item
				want string
			}{{a, ""}, {bb, "/a"}, {c, "/a/b b"}, {f, "/a/b b/c"}}
			for _, tt := range tests {
				if tt.it.ParentPath != tt.want {
					t.Errorf("%s as returned on creation: ParentPath %q, want %q", tt.it.Name, tt.it.ParentPath, tt.want)
				}
				got, err := e.Item(ctx, d.ID, tt.it.ID)
				if err != nil || got.ParentPath != tt.want {
					t.Errorf("Item(%s).ParentPath: got %q, %v; want %q", tt.it.Name, got.ParentPath, err, tt.want)
				}
			}
			kids, _, _ := e.Children(ctx, d.ID, c.ID, nil, 0)
			if len(kids) != 1 || kids[0].ParentPath != "/a/b b/c" {
				t.Errorf("Children(c): got %+v, want f.txt under /a/b b/c", kids)
			}
			crumbs, err := e.Breadcrumbs(ctx, d.ID, c.ID)
			if got, want := names(crumbs), []string{"root", "a", "b b", "c"}; err != nil || !slices.Equal(got, want) {
				t.Errorf("Breadcrumbs(c): got %v, %v; want %v", got, err, want)
			}
			// After moving b b to the root, paths below follow.
			root := d.RootID
			if _, err := e.UpdateItem(ctx, by, d.ID, bb.ID, store.ItemUpdate{ParentID: &root}); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.Item(ctx, d.ID, f.ID); got.ParentPath != "/b b/c" {
				t.Errorf("ParentPath after moving an ancestor: got %q, want %q", got.ParentPath, "/b b/c")
			}
		})
	}
}

func TestUpdateItem(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			_, otherBy, other := e.member("bob@example.com")
			otherFolder := e.folder(otherBy, other, other.RootID, "bobs")
			ptr := func(s string) *string { return &s }

			docs := e.folder(by, d, d.RootID, "Docs")
			sub := e.folder(by, d, docs.ID, "Sub")
			deep := e.folder(by, d, sub.ID, "Deep")
			f := e.file(by, d, d.RootID, "a.txt", "a")
			e.file(by, d, d.RootID, "taken.txt", "t")
			e.file(by, d, docs.ID, "b.txt", "b")

			// Rename a file.
			e.clock.Advance(time.Minute)
			got, err := e.UpdateItem(ctx, by, d.ID, f.ID, store.ItemUpdate{Name: ptr("renamed.txt")})
			if err != nil {
				t.Fatalf("UpdateItem rename: %v", err)
			}
			if got.Name != "renamed.txt" || got.ParentID != d.RootID || !got.ModifiedAt.Equal(e.clock.Now()) {
				t.Errorf("UpdateItem rename: got %+v", got)
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileRenamed, ObjectID: e.objectID(f), ItemType: "File",
				SourceFileName: "renamed.txt", SourceRelativeURL: "/"})
			if !strings.Contains(r.EventData, `"a.txt"`) {
				t.Errorf("FileRenamed EventData: got %s, want the old name", r.EventData)
			}
			if it, _ := e.Item(ctx, d.ID, f.ID); it.Name != "renamed.txt" {
				t.Errorf("Item after rename: got %q", it.Name)
			}
			// A change of case only is a rename too.
			if got, err := e.UpdateItem(ctx, by, d.ID, f.ID, store.ItemUpdate{Name: ptr("Renamed.txt")}); err != nil || got.Name != "Renamed.txt" {
				t.Errorf("UpdateItem case-only rename: got %v, %v", got, err)
			}

			// Rename a folder.
			if _, err := e.UpdateItem(ctx, by, d.ID, sub.ID, store.ItemUpdate{Name: ptr("Subfolder")}); err != nil {
				t.Fatalf("UpdateItem rename folder: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFolderRenamed, ObjectID: e.objectID(sub), ItemType: "Folder",
				SourceFileName: "Subfolder", SourceRelativeURL: "/Docs"})

			// Move a file.
			got, err = e.UpdateItem(ctx, by, d.ID, f.ID, store.ItemUpdate{ParentID: &sub.ID})
			if err != nil {
				t.Fatalf("UpdateItem move: %v", err)
			}
			if got.ParentID != sub.ID || got.ParentPath != "/Docs/Subfolder" {
				t.Errorf("UpdateItem move: got parent %s path %q, want %s /Docs/Subfolder", got.ParentID, got.ParentPath, sub.ID)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileMoved, ObjectID: e.objectID(f), ItemType: "File",
				SourceFileName: "Renamed.txt", SourceRelativeURL: "/Docs/Subfolder"})
			if kids, _, _ := e.Children(ctx, d.ID, sub.ID, nil, 0); !slices.Contains(names(kids), "Renamed.txt") {
				t.Errorf("Children of the new parent: got %v, want Renamed.txt", names(kids))
			}

			// Move and rename at once: two records.
			n := e.auditCount()
			got, err = e.UpdateItem(ctx, by, d.ID, f.ID, store.ItemUpdate{Name: ptr("c.txt"), ParentID: &d.RootID})
			if err != nil || got.Name != "c.txt" || got.ParentID != d.RootID {
				t.Fatalf("UpdateItem move and rename: got %+v, %v", got, err)
			}
			if got := e.auditCount() - n; got != 2 {
				t.Errorf("audit records for move and rename: got %d, want 2", got)
			}
			// Move a folder.
			if _, err := e.UpdateItem(ctx, by, d.ID, deep.ID, store.ItemUpdate{ParentID: &d.RootID}); err != nil {
				t.Fatalf("UpdateItem move folder: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFolderMoved, ObjectID: e.objectID(deep), ItemType: "Folder", SourceFileName: "Deep"})
			if _, err := e.UpdateItem(ctx, by, d.ID, deep.ID, store.ItemUpdate{ParentID: &sub.ID}); err != nil {
				t.Fatalf("UpdateItem move folder back: %v", err)
			}

			// Refusals change nothing and write no record.
			n = e.auditCount()
			refused := []struct {
				name string
				id   string
				up   store.ItemUpdate
				want string
			}{
				{"into itself", docs.ID, store.ItemUpdate{ParentID: &docs.ID}, gatehouse.EINVALID},
				{"into its child", docs.ID, store.ItemUpdate{ParentID: &sub.ID}, gatehouse.EINVALID},
				{"into its grandchild", docs.ID, store.ItemUpdate{ParentID: &deep.ID}, gatehouse.EINVALID},
				{"into a file", docs.ID, store.ItemUpdate{ParentID: &f.ID}, gatehouse.EINVALID},
				{"rename root", d.RootID, store.ItemUpdate{Name: ptr("x")}, gatehouse.EINVALID},
				{"move root", d.RootID, store.ItemUpdate{ParentID: &docs.ID}, gatehouse.EINVALID},
				{"bad name", f.ID, store.ItemUpdate{Name: ptr("a/b")}, gatehouse.EINVALID},
				{"empty name", f.ID, store.ItemUpdate{Name: ptr("")}, gatehouse.EINVALID},
				{"rename onto a file", f.ID, store.ItemUpdate{Name: ptr("TAKEN.txt")}, gatehouse.ECONFLICT},
				{"rename onto a folder", f.ID, store.ItemUpdate{Name: ptr("docs")}, gatehouse.ECONFLICT},
				{"move onto a name", f.ID, store.ItemUpdate{Name: ptr("b.txt"), ParentID: &docs.ID}, gatehouse.ECONFLICT},
				{"missing item", "no-such-id", store.ItemUpdate{Name: ptr("x")}, gatehouse.ENOTFOUND},
				{"missing parent", f.ID, store.ItemUpdate{ParentID: ptr("no-such-id")}, gatehouse.ENOTFOUND},
				{"item of another drive", otherFolder.ID, store.ItemUpdate{Name: ptr("x")}, gatehouse.ENOTFOUND},
				{"into another drive", f.ID, store.ItemUpdate{ParentID: &otherFolder.ID}, gatehouse.ENOTFOUND},
			}
			for _, tt := range refused {
				_, err := e.UpdateItem(ctx, by, d.ID, tt.id, tt.up)
				wantCode(t, "UpdateItem "+tt.name, err, tt.want)
			}
			if got := e.auditCount(); got != n {
				t.Errorf("audit records after refused updates: got %d, want %d", got, n)
			}
			if it, _ := e.Item(ctx, d.ID, f.ID); it.Name != "c.txt" || it.ParentID != d.RootID {
				t.Errorf("file after refused updates: got %q in %s, want c.txt in the root", it.Name, it.ParentID)
			}
			if it, _ := e.Item(ctx, d.ID, docs.ID); it.ParentID != d.RootID {
				t.Errorf("Docs after refused moves: parent %s, want the root", it.ParentID)
			}
			// No change is not an error and writes nothing.
			if _, err := e.UpdateItem(ctx, by, d.ID, f.ID, store.ItemUpdate{Name: ptr("c.txt"), ParentID: &d.RootID}); err != nil {
				t.Errorf("UpdateItem with no change: %v", err)
			}
			if got := e.auditCount(); got != n {
				t.Errorf("audit records after a no-op update: got %d, want %d", got, n)
			}
		})
	}
}

func TestDeleteItem(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			_, otherBy, other := e.member("bob@example.com")
			otherFile := e.file(otherBy, other, other.RootID, "bob.txt", "bob")

			docs := e.folder(by, d, d.RootID, "Docs")
			sub := e.folder(by, d, docs.ID, "Sub")
			a := e.file(by, d, docs.ID, "a.txt", "a1")
			e.file(by, d, docs.ID, "a.txt", "a2")
			s := e.file(by, d, sub.ID, "s.txt", "s")
			keep := e.file(by, d, d.RootID, "keep.txt", "keep")
			if got := len(e.files("blobs")); got != 5 {
				t.Fatalf("blobs before delete: got %d, want 5", got)
			}

			wantCode(t, "DeleteItem root", e.DeleteItem(ctx, by, d.ID, d.RootID), gatehouse.EINVALID)
			wantCode(t, "DeleteItem missing", e.DeleteItem(ctx, by, d.ID, "no-such-id"), gatehouse.ENOTFOUND)
			wantCode(t, "DeleteItem of another drive", e.DeleteItem(ctx, by, d.ID, otherFile.ID), gatehouse.ENOTFOUND)
			if _, err := e.Item(ctx, other.ID, otherFile.ID); err != nil {
				t.Errorf("the other drive's file after a refused delete: %v", err)
			}

			// A file.
			if err := e.DeleteItem(ctx, by, d.ID, s.ID); err != nil {
				t.Fatalf("DeleteItem file: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFileDeleted, ObjectID: e.objectID(s), ItemType: "File",
				SourceFileName: "s.txt", SourceRelativeURL: "/Docs/Sub"})
			// Deleting moves it to the recycle bin; purging removes its content.
			if _, err := os.Stat(e.dir + "/blobs/" + s.BlobKey[:2] + "/" + s.BlobKey); err != nil {
				t.Errorf("blob of the file in the recycle bin: %v, want it kept", err)
			}
			if err := e.PurgeItem(ctx, by, d.ID, s.ID); err != nil {
				t.Fatalf("PurgeItem file: %v", err)
			}
			if _, err := os.Stat(e.dir + "/blobs/" + s.BlobKey[:2] + "/" + s.BlobKey); !os.IsNotExist(err) {
				t.Errorf("blob of the deleted file: got %v, want it gone", err)
			}
			s = e.file(by, d, sub.ID, "s.txt", "s again")

			// A folder with everything below it.
			if err := e.DeleteItem(ctx, by, d.ID, docs.ID); err != nil {
				t.Fatalf("DeleteItem folder: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpFolderDeleted, ObjectID: e.objectID(docs), ItemType: "Folder",
				SourceFileName: "Docs", SourceRelativeURL: "/"})
			if _, err := e.EmptyRecycleBin(ctx, by, d.ID); err != nil {
				t.Fatalf("EmptyRecycleBin: %v", err)
			}
			for _, it := range []*gatehouse.Item{docs, sub, a, s} {
				_, err := e.Item(ctx, d.ID, it.ID)
				wantCode(t, "Item("+it.Name+") after deleting its folder", err, gatehouse.ENOTFOUND)
			}
			if n := e.count(`SELECT COUNT(*) FROM item_versions`); n != 0 {
				t.Errorf("item_versions after delete: got %d, want 0", n)
			}
			blobs := e.files("blobs")
			slices.Sort(blobs)
			want := []string{keep.BlobKey, otherFile.BlobKey}
			slices.Sort(want)
			if !slices.Equal(blobs, want) {
				t.Errorf("blobs after deleting the folder: got %v, want only %v", blobs, want)
			}
			kids, _, _ := e.Children(ctx, d.ID, d.RootID, nil, 0)
			if got := names(kids); !slices.Equal(got, []string{"keep.txt"}) {
				t.Errorf("root after delete: got %v, want [keep.txt]", got)
			}
			// The name is free again.
			if _, err := e.CreateFolder(ctx, by, d.ID, d.RootID, "docs"); err != nil {
				t.Errorf("CreateFolder with a deleted folder's name: %v", err)
			}
		})
	}
}

// TestOtherDrive checks that an item id from another drive is not found
// through every method that takes a drive.
func TestOtherDrive(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("ann@example.com")
			_, otherBy, other := e.member("bob@example.com")
			folder := e.folder(otherBy, other, other.RootID, "private")
			file := e.file(otherBy, other, folder.ID, "secret.txt", "secret")
			name := "x"
			n := e.auditCount()
			tests := []struct {
				name string
				call func() error
			}{
				{"Item", func() error { _, err := e.Item(ctx, d.ID, file.ID); return err }},
				{"Item of the other root", func() error { _, err := e.Item(ctx, d.ID, other.RootID); return err }},
				{"Children", func() error { _, _, err := e.Children(ctx, d.ID, folder.ID, nil, 0); return err }},
				{"Breadcrumbs", func() error { _, err := e.Breadcrumbs(ctx, d.ID, folder.ID); return err }},
				{"CreateFolder", func() error { _, err := e.CreateFolder(ctx, by, d.ID, folder.ID, "x"); return err }},
				{"PutFile", func() error {
					_, _, err := e.PutFile(ctx, by, d.ID, folder.ID, "x", strings.NewReader("x"), 100)
					return err
				}},
				{"PutFile over", func() error {
					_, _, err := e.PutFile(ctx, by, d.ID, folder.ID, "secret.txt", strings.NewReader("x"), 100)
					return err
				}},
				{"UpdateItem", func() error {
					_, err := e.UpdateItem(ctx, by, d.ID, file.ID, store.ItemUpdate{Name: &name})
					return err
				}},
				{"DeleteItem", func() error { return e.DeleteItem(ctx, by, d.ID, folder.ID) }},
			}
			for _, tt := range tests {
				wantCode(t, tt.name, tt.call(), gatehouse.ENOTFOUND)
			}
			if got := e.auditCount(); got != n {
				t.Errorf("audit records after cross-drive calls: got %d, want %d", got, n)
			}
			if got, err := e.Item(ctx, other.ID, file.ID); err != nil || got.Version != 1 || got.Name != "secret.txt" {
				t.Errorf("the other drive's file afterwards: got %+v, %v; want it unchanged", got, err)
			}
		})
	}
}
