// Package content serves a file's content to any surface (API, web UI,
// recipient pages), recording the download before the first byte leaves.
package content

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"

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
	saved := hd.Clone()
	hd.Set("Content-Disposition", httpx.ContentDisposition(it.Name))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Type", safeContentType(it.MimeType))
	// Should a browser render it anyway, the content runs with no rights.
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("ETag", it.ETag())
	hd.Set("Cache-Control", "private, no-cache")
	rw := &recordingWriter{ResponseWriter: w, record: func(status int) error {
		if r.Method == http.MethodHead {
			return nil
		}
		var data map[string]any
		if len(extra) > 0 {
			data = maps.Clone(extra)
		}
		if status == http.StatusPartialContent {
			if data == nil {
				data = map[string]any{}
			}
			data["range"] = clip(r.Header.Get("Range"), maxRangeData)
			if cr := hd.Get("Content-Range"); cr != "" {
				data["served"] = cr // one range; several go as multipart
			}
		}
		return s.RecordAccessData(r.Context(), by, gatehouse.OpFileDownloaded, it, data)
	}}
	// ServeContent decides between 200, 206, 304, 412 and 416; the record
	// is written when it sends the status, before any content.
	http.ServeContent(rw, r, "", it.ModifiedAt, f)
	if rw.err != nil {
		// Nothing was sent: the caller answers with the error instead.
		clear(hd)
		for k, v := range saved {
			hd[k] = v
		}
		return rw.err
	}
	return nil
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
	record func(status int) error
	wrote  bool
	err    error
}

func (w *recordingWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if status == http.StatusOK || status == http.StatusPartialContent {
		if w.err = w.record(status); w.err != nil {
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
	lower := strings.ToLower(t)
	if t == "" || strings.Contains(lower, "html") || strings.Contains(lower, "xml") || strings.Contains(lower, "javascript") {
		return "application/octet-stream"
	}
	return t
}
