package content

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// PreviewCSP is the Content-Security-Policy of a preview: the file may show
// itself and nothing more. sandbox gives the document a unique origin with
// no scripts, forms or plugins of its own; frame-ancestors lets only our
// own pages frame it. Chromium's PDF viewer still renders under it.
const PreviewCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"

// ErrNoPreview answers a file whose type has no preview.
func ErrNoPreview(name string) error {
	return gatehouse.Errorf(gatehouse.EUNSUPPORTED, "There is no preview for this type of file (“%s”); download it instead.", name)
}

// sniffLen is how much of a file DetectContentType reads.
const sniffLen = 512

// Preview sends a file to be shown inline, with the type we decide from
// its first bytes and its extension's allow-list (gatehouse.PreviewType),
// never the upload's claim: images, PDF and UTF-8 text. Any other file is
// EUNSUPPORTED, sent nothing. Like Serve it records the answer before the
// first byte, as FilePreviewed; ranges (a PDF viewer's) are recorded each.
func Preview(w http.ResponseWriter, r *http.Request, s *store.Store, by gatehouse.Actor, it *gatehouse.Item) error {
	if it.IsFolder {
		return gatehouse.Errorf(gatehouse.EINVALID, "“%s” is a folder; open it to see its files.", it.Name)
	}
	if gatehouse.PreviewKind(it.Name) == "" {
		return ErrNoPreview(it.Name) // decided without opening the content
	}
	f, err := s.OpenContent(it)
	if err != nil {
		return fmt.Errorf("open content of %s: %w", it.ID, err)
	}
	defer f.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read content of %s: %w", it.ID, err)
	}
	ctype, _, ok := gatehouse.PreviewType(it.Name, http.DetectContentType(head[:n]))
	if !ok {
		return ErrNoPreview(it.Name)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind content of %s: %w", it.ID, err)
	}
	hd := w.Header()
	saved := hd.Clone()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", inline(it.Name))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", PreviewCSP)
	// Our preview pages frame it; no other site may, nor embed it.
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("ETag", it.ETag())
	hd.Set("Cache-Control", "private, no-cache")
	rw := &recordingWriter{ResponseWriter: w, rec: recordFunc(func(status int) error {
		if r.Method == http.MethodHead {
			return nil
		}
		var data map[string]any
		if status == http.StatusPartialContent {
			data = map[string]any{"range": clip(r.Header.Get("Range"), maxRangeData)}
		}
		return s.RecordAccessData(r.Context(), by, gatehouse.OpFilePreviewed, it, data)
	})}
	http.ServeContent(rw, r, "", it.ModifiedAt, f)
	if rw.err != nil {
		clear(hd)
		for k, v := range saved {
			hd[k] = v
		}
		return rw.err
	}
	return nil
}

// inline is the Content-Disposition of a preview: shown, with the file's
// name for when it is saved anyway.
func inline(name string) string {
	return "inline" + strings.TrimPrefix(httpx.ContentDisposition(name), "attachment")
}
