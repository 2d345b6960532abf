package content

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestArchiveFollowsItsRecord, on both backends: the zip holds exactly
// what its FileDownloaded record counted, however the folder changes
// between the record and the stream. A file added meanwhile is left out,
// one deleted or moved out of the folder is skipped, one renamed keeps the
// recorded path, and one replaced goes out as the recorded version.
func TestArchiveFollowsItsRecord(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			blobs, err := blob.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(ctx, b.DSN(t, dir), blobs, store.Options{BaseURL: "https://files.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			u, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "ann@example.com", DisplayName: "Ann", Password: "correct horse battery"})
			if err != nil {
				t.Fatal(err)
			}
			by := gatehouse.UserActor(u, "192.0.2.1", "test")
			d, err := s.DriveByOwner(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			mkdir := func(parent, name string) *gatehouse.Item {
				t.Helper()
				it, err := s.CreateFolder(ctx, by, d.ID, parent, name)
				if err != nil {
					t.Fatal(err)
				}
				return it
			}
			put := func(parent, name, content string) *gatehouse.Item {
				t.Helper()
				it, _, err := s.PutFile(ctx, by, d.ID, parent, name, strings.NewReader(content), 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				return it
			}
			docs := mkdir(d.RootID, "Docs")
			a := put(docs.ID, "a.txt", "alpha")
			bf := put(docs.ID, "b.txt", "bravo")
			put(docs.ID, "c.txt", "charlie one")
			sub := mkdir(docs.ID, "sub")
			dd := put(sub.ID, "d.txt", "delta")
			put(sub.ID, "e.bin", "echo")

			// zipOf downloads Docs as a zip, with change run between the
			// record and the stream, and returns the zip's entries and the
			// record's EventData.
			zipOf := func(change func()) (map[string]string, map[string]any) {
				t.Helper()
				afterRecord = change
				defer func() { afterRecord = nil }()
				before, _, err := s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpFileDownloaded, Limit: 1}, nil)
				if err != nil {
					t.Fatal(err)
				}
				rec := httptest.NewRecorder()
				docsNow, err := s.Item(ctx, d.ID, docs.ID)
				if err != nil {
					t.Fatal(err)
				}
				if err := Archive(rec, httptest.NewRequest("GET", "/archive", nil), s, by, docsNow); err != nil {
					t.Fatalf("Archive: %v", err)
				}
				zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
				if err != nil {
					t.Fatalf("the zip: %v", err)
				}
				got := map[string]string{}
				for _, f := range zr.File {
					rc, err := f.Open()
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(rc)
					rc.Close()
					got[f.Name] = string(b)
				}
				// Archive returns once its record has committed.
				recs, _, err := s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpFileDownloaded, Limit: 1}, nil)
				if err != nil || len(recs) != 1 || len(before) > 0 && recs[0].Seq == before[0].Seq {
					t.Fatalf("no new FileDownloaded record: %v", err)
				}
				var ev map[string]any
				if err := json.Unmarshal([]byte(recs[0].EventData), &ev); err != nil {
					t.Fatal(err)
				}
				return got, ev
			}
			files := func(ev map[string]any) []string {
				var out []string
				for _, f := range ev["files"].([]any) {
					out = append(out, f.(string))
				}
				sort.Strings(out)
				return out
			}
			fileNames := func(got map[string]string) []string {
				var out []string
				for n := range got {
					if !strings.HasSuffix(n, "/") {
						out = append(out, n)
					}
				}
				sort.Strings(out)
				return out
			}

			// Unchanged: the zip's files are the record's, one for one.
			got, ev := zipOf(nil)
			want := []string{"a.txt", "b.txt", "c.txt", "sub/d.txt", "sub/e.bin"}
			if !slices.Equal(files(ev), want) || ev["fileCount"] != 5.0 || !slices.Equal(fileNames(got), want) {
				t.Fatalf("unchanged folder: record %v (count %v), zip %v; want %v", files(ev), ev["fileCount"], fileNames(got), want)
			}

			// Changed between the record and the stream.
			got, ev = zipOf(func() {
				if err := s.DeleteItem(ctx, by, d.ID, bf.ID); err != nil { // to the bin
					t.Error(err)
				}
				put(docs.ID, "c.txt", "charlie two, replaced") // a new version
				put(docs.ID, "new.txt", "added meanwhile")
				out := d.RootID
				if _, err := s.UpdateItem(ctx, by, d.ID, dd.ID, store.ItemUpdate{ParentID: &out}); err != nil { // out of Docs
					t.Error(err)
				}
				name := "a-renamed.txt"
				if _, err := s.UpdateItem(ctx, by, d.ID, a.ID, store.ItemUpdate{Name: &name}); err != nil {
					t.Error(err)
				}
				mkdir(sub.ID, "new folder")
			})
			if !slices.Equal(files(ev), want) || ev["fileCount"] != 5.0 {
				t.Errorf("record: %v (count %v), want %v", files(ev), ev["fileCount"], want)
			}
			wantZip := map[string]string{"a.txt": "alpha", "c.txt": "charlie one", "sub/": "", "sub/e.bin": "echo"}
			if len(got) != len(wantZip) {
				t.Errorf("zip after the changes: %v, want %v", got, wantZip)
			}
			for n, c := range wantZip {
				if g, ok := got[n]; !ok || g != c {
					t.Errorf("zip entry %q = %q (present %v), want %q", n, g, ok, c)
				}
			}
			// Every file the zip holds is one the record counted.
			for _, n := range fileNames(got) {
				if !slices.Contains(files(ev), n) {
					t.Errorf("the zip holds %q, which its record does not list", n)
				}
			}
		})
	}
}
