package authn

import (
	"io"
	"maps"
	"net/http"

	"gatehouse/internal/store"
)

// Remembering serves a download route with the store's view of access
// facts (store/view.go), which saves the route its queries. When the view
// turns out to have held a fact that changed before the download's record
// could commit, nothing has been recorded or sent: the answer of that try
// is dropped and the request is served again, decided from the database.
func Remembering(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, use := store.Remembering(r.Context())
		saved := w.Header().Clone()
		g := &staleGuard{ResponseWriter: w, use: use}
		next.ServeHTTP(g, r.WithContext(ctx))
		if !g.dropped {
			return
		}
		h := w.Header()
		clear(h)
		maps.Copy(h, saved)
		next.ServeHTTP(w, r)
	})
}

// staleGuard passes a response through unless its request went stale, in
// which case it drops it whole; staleness is known before the status.
type staleGuard struct {
	http.ResponseWriter
	use     *store.ViewUse
	dropped bool
}

func (g *staleGuard) WriteHeader(status int) {
	if g.dropped || g.use.Stale() {
		g.dropped = true
		return
	}
	g.ResponseWriter.WriteHeader(status)
}

func (g *staleGuard) Write(b []byte) (int, error) {
	if g.dropped || g.use.Stale() {
		g.dropped = true
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for the content.
func (g *staleGuard) ReadFrom(src io.Reader) (int64, error) {
	if g.dropped || g.use.Stale() {
		g.dropped = true
		return io.Copy(io.Discard, src)
	}
	return io.Copy(g.ResponseWriter, src)
}

func (g *staleGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }
