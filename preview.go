package gatehouse

import (
	"path"
	"strings"
)

// Preview kinds: how a page shows a previewable file.
const (
	PreviewImage = "image" // an <img>
	PreviewPDF   = "pdf"   // a frame, for the browser's PDF viewer
	PreviewText  = "text"  // a sandboxed frame of plain text
)

// previewTypes is the allow-list of previews: by extension, the type the
// file is served with, which must also be what its first bytes sniff as.
// Nothing here can run script: no HTML, SVG, XML or JavaScript, whatever
// the upload claimed.
var previewTypes = map[string]struct{ kind, ctype string }{
	".png":  {PreviewImage, "image/png"},
	".jpg":  {PreviewImage, "image/jpeg"},
	".jpeg": {PreviewImage, "image/jpeg"},
	".gif":  {PreviewImage, "image/gif"},
	".webp": {PreviewImage, "image/webp"},
	".pdf":  {PreviewPDF, "application/pdf"},
	".txt":  {PreviewText, "text/plain; charset=utf-8"},
	".text": {PreviewText, "text/plain; charset=utf-8"},
	".log":  {PreviewText, "text/plain; charset=utf-8"},
	".md":   {PreviewText, "text/plain; charset=utf-8"},
	".csv":  {PreviewText, "text/plain; charset=utf-8"},
}

// PreviewKind returns how a file of this name would be previewed, or ""
// when its extension has no preview. Listings use it to link to a
// preview; serving it still needs PreviewType to agree with the bytes.
func PreviewKind(name string) string {
	return previewTypes[strings.ToLower(path.Ext(name))].kind
}

// PreviewType returns the Content-Type to preview a file with, decided from
// its name's extension and the type its first bytes sniff as (net/http's
// DetectContentType), never from the upload's claim; ok is false unless
// both agree on an allowed type. Text must sniff as UTF-8 plain text, so a
// .txt holding HTML is not previewed.
func PreviewType(name, sniffed string) (ctype, kind string, ok bool) {
	t, found := previewTypes[strings.ToLower(path.Ext(name))]
	if !found || !strings.EqualFold(sniffed, t.ctype) {
		return "", "", false
	}
	return t.ctype, t.kind, true
}
