package content

import "testing"

func TestZipPath(t *testing.T) {
	for _, tc := range []struct {
		rel, name, want string // want "" when left out
	}{
		{"", "a.txt", "a.txt"},
		{"Sub folder", "ünï cödé.png", "Sub folder/ünï cödé.png"},
		{"a/b", "c", "a/b/c"},
		{"", "..", ""},
		{"", ".", ""},
		{"", "", ""},
		{"a", "../../etc/passwd", ""},
		{"", "/etc/passwd", ""},
		{"a", `..\..\x`, "a/.._.._x"},
		{"", `C:\x`, "C:_x"},
	} {
		got, ok := zipPath(tc.rel, tc.name)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("zipPath(%q, %q) = %q, %v; want %q", tc.rel, tc.name, got, ok, tc.want)
		}
	}
}

func TestDeflated(t *testing.T) {
	for name, want := range map[string]bool{"notes.txt": true, "DATA.CSV": true, "page.html": true, "photo.png": false,
		"paper.pdf": false, "movie.mp4": false, "archive.zip": false, "noext": false} {
		if got := deflated(name); got != want {
			t.Errorf("deflated(%q) = %v, want %v", name, got, want)
		}
	}
}
