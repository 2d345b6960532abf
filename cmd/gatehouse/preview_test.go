package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// pngFile is a real 3×2 PNG.
func pngFile(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for x := 0; x < 3; x++ {
		img.Set(x, 0, color.RGBA{200, 30, 30, 255})
		img.Set(x, 1, color.RGBA{30, 30, 200, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pdfFile is a small, valid one-page PDF saying text, with a correct
// cross-reference table, so a viewer renders it.
func pdfFile(text string) []byte {
	stream := fmt.Sprintf("BT /F1 24 Tf 40 100 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// Files that must never be rendered, whatever they are called.
var scriptFiles = map[string]string{
	"page.html":   "<html><body><script>document.title='pwned'</script>hello</body></html>",
	"drawing.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`,
	"fake.png":    `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`,
	"page.txt":    "<!DOCTYPE html><html><script>alert(1)</script></html>",
	"feed.xml":    `<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>`,
	"app.js":      "alert(1)",
}

// checkPreview asserts a preview answer: our type, inline, the strict CSP,
// nosniff, framable by our own pages only, and the bytes.
func checkPreview(t *testing.T, what string, status int, hdr http.Header, body []byte, wantType string, want []byte) {
	t.Helper()
	if status != 200 {
		t.Fatalf("%s: status %d, want 200: %.200s", what, status, body)
	}
	for k, v := range map[string]string{
		"Content-Type":            wantType,
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'",
		"X-Frame-Options":         "SAMEORIGIN",
	} {
		if got := hdr.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	if cd := hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline; filename=") {
		t.Errorf("%s: Content-Disposition %q, want inline", what, cd)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("%s: body differs from the file (%d bytes, want %d)", what, len(body), len(want))
	}
}

// zipEntries reads a zip answer: each entry's content by path, and its
// method.
func zipEntries(t *testing.T, body []byte) (map[string]string, map[string]uint16) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a zip: %v (%d bytes)", err, len(body))
	}
	files, methods := map[string]string{}, map[string]uint16{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("zip entry %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("zip entry %s: %v", f.Name, err)
		}
		files[f.Name], methods[f.Name] = string(b), f.Method
	}
	return files, methods
}

// records returns the audit records of an operation, oldest first.
func (s *server) records(t *testing.T, op string) []*gatehouse.Record {
	t.Helper()
	recs, _, err := s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: op, Limit: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Seq < recs[j].Seq })
	return recs
}

func TestPreviewAndArchive(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			put := func(parent, name string, body []byte) string {
				return o.json("PUT", items+parent+":/"+name+":/content", body, 201)["id"].(string)
			}
			folder := func(parent, name string) string {
				return o.json("POST", items+parent+"/children", map[string]any{"name": name, "folder": map[string]any{}}, 201)["id"].(string)
			}

			// Previews decide the type from the bytes, and only for the
			// allow-list; the upload's claimed type plays no part.
			docs := folder(root, "Docs")
			pngB, pdfB, txtB := pngFile(t), pdfFile("Hello preview"), []byte("plain words, <b>not bold</b>\n")
			pngID := put(docs, "photo.png", pngB)
			pdfID := put(docs, "paper.pdf", pdfB)
			txtID := put(docs, "notes.txt", txtB)
			st, hdr, body := o.do("GET", items+pngID+"/preview", nil)
			checkPreview(t, "png", st, hdr, body, "image/png", pngB)
			st, hdr, body = o.do("GET", items+pdfID+"/preview", nil)
			checkPreview(t, "pdf", st, hdr, body, "application/pdf", pdfB)
			st, hdr, body = o.do("GET", items+txtID+"/preview", nil)
			checkPreview(t, "txt", st, hdr, body, "text/plain; charset=utf-8", txtB)
			if st, hdr, body := o.do("GET", items+pdfID+"/preview", nil, "Range", "bytes=0-7"); st != 206 || string(body) != "%PDF-1.4" ||
				hdr.Get("Content-Security-Policy") == "" {
				t.Errorf("a range of a preview: %d %q", st, body)
			}
			for name, content := range scriptFiles {
				id := put(docs, name, []byte(content))
				st, hdr, body := o.do("GET", items+id+"/preview", nil)
				if st != 415 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || bytes.Contains(body, []byte("alert")) {
					t.Errorf("preview of %s: %d %s %.200s, want 415 with a Graph error", name, st, hdr.Get("Content-Type"), body)
				}
				var e struct {
					Error struct{ Code, Message string }
				}
				json.Unmarshal(body, &e)
				if e.Error.Code != "notSupported" || !strings.Contains(e.Error.Message, "download it instead") {
					t.Errorf("preview of %s: error %+v", name, e.Error)
				}
			}
			if code := o.errorCode("GET", items+docs+"/preview", nil, 400); code != "invalidRequest" {
				t.Errorf("preview of a folder: %s", code)
			}
			previewed := s.records(t, gatehouse.OpFilePreviewed)
			if len(previewed) != 4 || previewed[0].SourceFileName != "photo.png" || !strings.Contains(previewed[3].EventData, `"range":"bytes=0-7"`) {
				t.Errorf("FilePreviewed records: %d, want 4 (png, pdf, txt, the range)", len(previewed))
			}

			// Another member cannot preview, and learns nothing.
			mal := s.addUser("mallory@example.com", "Mallory", "correct horse battery", false)
			m := &apiClient{t: t, base: s.URL, token: s.token(mal)}
			m.errorCode("GET", items+pngID+"/preview", nil, 404)
			m.errorCode("GET", items+docs+"/archive", nil, 404)
			(&apiClient{t: t, base: s.URL}).errorCode("GET", items+docs+"/archive", nil, 401)

			// Download all: a zip of the folder's tree, paths relative to
			// it, empty folders kept, text deflated, the rest stored.
			sub := folder(docs, "Sub folder")
			folder(sub, "Empty")
			put(sub, "deep.txt", []byte(strings.Repeat("deep text ", 100)))
			put(sub, "ünï cödé.png", pngB)
			before := len(s.records(t, gatehouse.OpFileDownloaded))
			st, hdr, body = o.do("GET", items+docs+"/archive", nil)
			if st != 200 || hdr.Get("Content-Type") != "application/zip" || !strings.Contains(hdr.Get("Content-Disposition"), `attachment; filename="Docs.zip"`) {
				t.Fatalf("archive: %d %v", st, hdr)
			}
			files, methods := zipEntries(t, body)
			want := map[string]string{"photo.png": string(pngB), "paper.pdf": string(pdfB), "notes.txt": string(txtB),
				"Sub folder/": "", "Sub folder/Empty/": "", "Sub folder/deep.txt": strings.Repeat("deep text ", 100), "Sub folder/ünï cödé.png": string(pngB)}
			for name, content := range scriptFiles {
				want[name] = content
			}
			if len(files) != len(want) {
				t.Errorf("zip has %d entries, want %d: %v", len(files), len(want), keys(files))
			}
			for name, content := range want {
				if got, ok := files[name]; !ok || got != content {
					t.Errorf("zip entry %q: present %v, content right %v", name, ok, got == content)
				}
			}
			if methods["notes.txt"] != zip.Deflate || methods["photo.png"] != zip.Store || methods["paper.pdf"] != zip.Store {
				t.Errorf("zip methods: txt %d, png %d, pdf %d; want deflate, store, store", methods["notes.txt"], methods["photo.png"], methods["paper.pdf"])
			}
			// Recorded once, as the folder's download, with the files.
			recs := s.records(t, gatehouse.OpFileDownloaded)[before:]
			if len(recs) != 1 || recs[0].ItemType != "Folder" || recs[0].SourceFileName != "Docs" {
				t.Fatalf("archive records: %d (want 1 of the folder): %+v", len(recs), recs)
			}
			var ev struct {
				FileCount int      `json:"fileCount"`
				Files     []string `json:"files"`
				Listed    *int     `json:"filesListed"`
			}
			if err := json.Unmarshal([]byte(recs[0].EventData), &ev); err != nil || ev.FileCount != 11 || len(ev.Files) != 11 || ev.Listed != nil {
				t.Errorf("archive EventData: %s", recs[0].EventData)
			}
			if !contains(ev.Files, "Sub folder/deep.txt") {
				t.Errorf("archive EventData lacks a nested path: %v", ev.Files)
			}
			// HEAD sends nothing and records nothing; a file has no archive.
			if st, _, _ := o.do("HEAD", items+docs+"/archive", nil); st != 200 || len(s.records(t, gatehouse.OpFileDownloaded)) != before+1 {
				t.Errorf("HEAD archive: %d, or it was recorded", st)
			}
			o.errorCode("GET", items+pngID+"/archive", nil, 400)

			// A recipient previews and downloads all through the link.
			ext := "ext@partner.test"
			perm := o.json("POST", items+docs+"/createLink", map[string]any{"type": "view", "recipients": []any{map[string]any{"email": ext}}}, 201)
			webURL := perm["link"].(map[string]any)["webUrl"].(string)
			rc := verifiedRecipient(t, s, smtp, webURL, ext)
			st, hdr, body = rc.call("GET", webURL+"/items/"+pngID+"/preview", nil)
			checkPreview(t, "recipient png", st, hdr, body, "image/png", pngB)
			if st, _, body := rc.call("GET", webURL+"/items/"+scriptID(t, o, items, docs, "drawing.svg")+"/preview", nil); st != 415 || bytes.Contains(body, []byte("<svg")) {
				t.Errorf("recipient preview of svg: %d", st)
			}
			st, _, body = rc.call("GET", webURL+"/items/"+sub+"/archive", nil)
			if files, _ := zipEntries(t, body); st != 200 || len(files) != 3 || files["deep.txt"] == "" || files["Empty/"] != "" {
				t.Errorf("recipient archive of a subfolder: %d %v", st, keys(files))
			}
			// Outside the share is not found, even for an id of the drive.
			if st, _, _ := rc.call("GET", webURL+"/items/"+root+"/archive", nil); st != 404 {
				t.Errorf("recipient archive of the drive root: %d, want 404", st)
			}
			if st, _, _ := newRecipient(t).call("GET", webURL+"/items/"+pngID+"/preview", nil); st != 401 {
				t.Errorf("preview before verification: %d, want 401", st)
			}
		})
	}
}

// TestArchiveRecordBounded: a zip of more than 1,000 files records the
// count and the first 1,000 paths only.
func TestArchiveRecordBounded(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			big := o.json("POST", items+root+"/children", map[string]any{"name": "Many", "folder": map[string]any{}}, 201)["id"].(string)
			ctx := context.Background()
			by := gatehouse.Actor{Principal: gatehouse.UserPrincipal(owner)}
			const n = 1003
			for i := 0; i < n; i++ {
				if _, _, err := s.Store.PutFile(ctx, by, d, big, fmt.Sprintf("f%04d.bin", i), strings.NewReader(fmt.Sprint(i)), 1<<20); err != nil {
					t.Fatal(err)
				}
			}
			st, _, body := o.do("GET", items+big+"/archive", nil)
			files, _ := zipEntries(t, body)
			if st != 200 || len(files) != n || files["f1002.bin"] != "1002" {
				t.Fatalf("archive of %d files: %d, %d entries", n, st, len(files))
			}
			recs := s.records(t, gatehouse.OpFileDownloaded)
			var ev struct {
				FileCount int      `json:"fileCount"`
				Files     []string `json:"files"`
				Listed    int      `json:"filesListed"`
			}
			if len(recs) != 1 || json.Unmarshal([]byte(recs[0].EventData), &ev) != nil {
				t.Fatalf("records: %d", len(recs))
			}
			if ev.FileCount != n || len(ev.Files) != 1000 || ev.Listed != 1000 || ev.Files[0] != "f0000.bin" {
				t.Errorf("EventData: count %d, %d listed (%d), first %q", ev.FileCount, len(ev.Files), ev.Listed, ev.Files[0])
			}
		})
	}
}

// verifiedRecipient asks for a code as email, reads it from the mail and
// verifies it, returning a client with the recipient's session.
func verifiedRecipient(t *testing.T, s *server, smtp *mailtest.Server, webURL, email string) *recipientClient {
	t.Helper()
	rc := newRecipient(t)
	if st, _, body := rc.call("POST", webURL+"/passcode", map[string]string{"email": email}); st != 200 {
		t.Fatalf("passcode: %d %s", st, body)
	}
	code := mailtest.Code(t, smtp.WaitFor(t, email, 10*time.Second))
	if st, _, body := rc.call("POST", webURL+"/verify", map[string]any{"email": email, "code": code}); st != 200 {
		t.Fatalf("verify: %d %s", st, body)
	}
	return rc
}

// scriptID finds a file of a folder by name.
func scriptID(t *testing.T, o *apiClient, items, folder, name string) string {
	t.Helper()
	for _, v := range o.json("GET", items+folder+"/children?$top=1000", nil, 200)["value"].([]any) {
		if it := v.(map[string]any); it["name"] == name {
			return it["id"].(string)
		}
	}
	t.Fatalf("no %s in the folder", name)
	return ""
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
