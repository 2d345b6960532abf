package gatehouse_test

import (
	"net/http"
	"testing"

	"gatehouse"
)

func TestPreviewType(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	for _, tc := range []struct {
		name, head string
		want       string // "" for no preview
	}{
		{"photo.png", png, "image/png"},
		{"PHOTO.PNG", png, "image/png"},
		{"photo.jpg", "\xff\xd8\xff\xe0", "image/jpeg"},
		{"anim.gif", "GIF89a....", "image/gif"},
		{"pic.webp", "RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"paper.pdf", "%PDF-1.7\n", "application/pdf"},
		{"notes.txt", "hello, world\n", "text/plain; charset=utf-8"},
		{"empty.txt", "", "text/plain; charset=utf-8"},
		{"data.csv", "a,b\n1,2\n", "text/plain; charset=utf-8"},
		// Anything that could run script is never previewed.
		{"page.html", "<html><script>alert(1)</script>", ""},
		{"page.htm", "hello", ""},
		{"drawing.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, ""},
		{"feed.xml", `<?xml version="1.0"?><a/>`, ""},
		{"app.js", "alert(1)", ""},
		// The extension and the bytes must agree.
		{"fake.png", `<svg xmlns="http://www.w3.org/2000/svg"/>`, ""},
		{"fake.png", "%PDF-1.4", ""},
		{"page.txt", "<!DOCTYPE html><html><script>alert(1)</script>", ""},
		{"data.txt", "\x00\x01\x02binary", ""},
		{"paper.pdf", "<html>", ""},
		{"noext", "hello", ""},
	} {
		got, kind, ok := gatehouse.PreviewType(tc.name, http.DetectContentType([]byte(tc.head)))
		if got != tc.want || ok != (tc.want != "") || (ok && kind != gatehouse.PreviewKind(tc.name)) {
			t.Errorf("PreviewType(%q, %q) = %q, %q, %v; want %q", tc.name, tc.head, got, kind, ok, tc.want)
		}
	}
}
