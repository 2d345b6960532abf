package content

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"gatehouse/internal/testenv"
)

// TestServeHeaders: a download carries its attachment headers, and when its
// record cannot be written nothing is sent and the response's headers are
// exactly what they were before, for the caller to answer with the error.
func TestServeHeaders(t *testing.T) {
	for _, be := range testenv.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s, by, it := serveFixture(t, be)
			before := http.Header{"Content-Security-Policy": {"default-src 'self'"}, "X-Before": {"1", "2"}}
			r := httptest.NewRequest(http.MethodGet, "/content", nil)

			w := httptest.NewRecorder()
			maps.Copy(w.Header(), before.Clone())
			if err := Serve(w, r, s, by, it); err != nil || w.Code != http.StatusOK || w.Body.Len() != 4096 {
				t.Fatalf("Serve: %v, %d, %d bytes", err, w.Code, w.Body.Len())
			}
			want := map[string]string{
				"Content-Disposition":     `attachment; filename="report 2024.txt"; filename*=UTF-8''report%202024.txt`,
				"Content-Type":            "text/plain; charset=utf-8",
				"Content-Security-Policy": "default-src 'none'; sandbox",
				"X-Content-Type-Options":  "nosniff",
				"Etag":                    it.ETag(),
				"Cache-Control":           "private, no-cache",
				"Content-Length":          "4096",
				"X-Before":                "1",
			}
			for k, v := range want {
				if got := w.Result().Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}

			s.Close() // the record now fails
			w = httptest.NewRecorder()
			maps.Copy(w.Header(), before.Clone())
			if err := Serve(w, r, s, by, it); err == nil {
				t.Fatal("Serve on a closed store: no error")
			}
			if w.Body.Len() != 0 || w.Flushed {
				t.Errorf("%d bytes sent without a record", w.Body.Len())
			}
			got := w.Header()
			if !maps.EqualFunc(got, before, slices.Equal) {
				t.Errorf("headers after a failed record: %v, want %v", got, before)
			}
		})
	}
}
