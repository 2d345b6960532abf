// Package content serves a file's content to any surface (API, web UI,
// recipient pages), recording the download before the first byte leaves.
package content

import (
	"fmt"
	"io"
	"maps"
	"net/http"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// Serve sends a file's content as an attachment, recording the download
// first: there is no access without its record. Exactly the answers that
// carry content (200, and 206 with the range in EventData) are recorded;
// HEAD, 304 revalidations and refused ranges are not. The record carries
// the link the actor came through, if any.
func Serve(w http.ResponseWriter, r *http.Request, s *store.Store, by gatehouse.Actor, it *gatehouse.Item) error {
	return ServeData(w, r, s, by, it, nil)
}

// ServeData is Serve with details for the download record's EventData,
// such as which version of the file it is.
func ServeData(w http.ResponseWriter, r *http.Request, s *store.Store, by gatehouse.Actor, it *gatehouse.Item, extra map[string]any) error {
	if it.IsFolder {
		return gatehouse.Errorf(gatehouse.EINVALID, "“%s” is a folder; open it to download its files.", it.Name)
	}
	f, err := s.OpenContent(it)
	if err != nil {
		return fmt.Errorf("open content of %s: %w", it.ID, err)
	}
	defer f.Close()
	hd := w.Header()
	// Kept to answer with the error instead, should the record fail. Set
	// and ServeContent replace value slices, never write into them, so the
	// slices themselves are enough.
	var savedArr [16]savedHeader
	saved := savedArr[:0]
	for k, v := range hd {
		saved = append(saved, savedHeader{k, v})
	}
	// One backing array for the values set here, instead of one each.
	vals := [...]string{httpx.ContentDisposition(it.Name), "nosniff", safeContentType(it.MimeType),
		// Should a browser render it anyway, the content runs with no rights.
		"default-src 'none'; sandbox",
		it.ETag(), "private, no-cache"}
	hv := vals[:]
	for i, k := range [...]string{"Content-Disposition", "X-Content-Type-Options", "Content-Type",
		"Content-Security-Policy", "Etag", "Cache-Control"} {
		hd[k] = hv[i : i+1 : i+1]
	}
	d := &download{r: r, s: s, by: by, it: it, extra: extra, hd: hd}
	d.rw = recordingWriter{ResponseWriter: w, rec: d}
	// ServeContent decides between 200, 206, 304, 412 and 416; the record
	// is written when it sends the status, before any content.
	http.ServeContent(&d.rw, r, "", it.ModifiedAt, f)
	if d.rw.err != nil {
		// Nothing was sent: the caller answers with the error instead.
		clear(hd)
		for _, kv := range saved {
			hd[kv.key] = kv.values
		}
		return d.rw.err
	}
	return nil
}

type savedHeader struct {
	key    string
	values []string
}

// download records one answer of ServeData; the writer lives in it so a
// download costs one allocation here, not a writer and a closure.
type download struct {
	rw    recordingWriter
	r     *http.Request
	s     *store.Store
	by    gatehouse.Actor
	it    *gatehouse.Item
	extra map[string]any
	hd    http.Header
}

func (d *download) record(status int) error {
	if d.r.Method == http.MethodHead {
		return nil
	}
	var data map[string]any
	if len(d.extra) > 0 {
		data = maps.Clone(d.extra)
	}
	if status == http.StatusPartialContent {
		if data == nil {
			data = map[string]any{}
		}
		data["range"] = clip(d.r.Header.Get("Range"), maxRangeData)
		if cr := d.hd.Get("Content-Range"); cr != "" {
			data["served"] = cr // one range; several go as multipart
		}
	}
	return d.s.RecordAccessData(d.r.Context(), d.by, gatehouse.OpFileDownloaded, d.it, data)
}

// maxRangeData bounds the Range header kept in a download record.
const maxRangeData = 200

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// recordingWriter calls record when a status with content (200 or 206) is
// about to be sent, and sends nothing if that fails.
type recordingWriter struct {
	http.ResponseWriter
	rec   recorder
	wrote bool
	err   error
}

type recorder interface{ record(status int) error }

// recordFunc is a recorder made of a function.
type recordFunc func(status int) error

func (f recordFunc) record(status int) error { return f(status) }

func (w *recordingWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if status == http.StatusOK || status == http.StatusPartialContent {
		if w.err = w.rec.record(status); w.err != nil {
			return
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.err != nil {
		return 0, w.err
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for the content.
func (w *recordingWriter) ReadFrom(src io.Reader) (int64, error) {
	w.WriteHeader(http.StatusOK)
	if w.err != nil {
		return 0, w.err
	}
	return io.Copy(w.ResponseWriter, src)
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// safeContentType keeps types a browser could run as a page from being sent
// as such, even though downloads are attachments.
func safeContentType(t string) string {
	if t == "" || containsFold(t, "html") || containsFold(t, "xml") || containsFold(t, "javascript") {
		return "application/octet-stream"
	}
	return t
}

// containsFold reports whether s contains sub, a lower-case ASCII word,
// in any ASCII case, without the copy strings.ToLower makes.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && (s[i+j] == sub[j] || s[i+j]|0x20 == sub[j] && 'a' <= sub[j] && sub[j] <= 'z') {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
