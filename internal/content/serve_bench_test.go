package content

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// serveFixture opens a store on be with a member and a 4 KiB text file.
// The caller closes the store.
func serveFixture(tb testing.TB, be testenv.Backend) (*store.Store, gatehouse.Actor, *gatehouse.Item) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := store.Open(ctx, be.DSN(tb, dir), blobs, store.Options{BaseURL: "https://files.example.com"})
	if err != nil {
		tb.Fatal(err)
	}
	u, err := s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "ann@example.com", DisplayName: "Ann", Password: "correct horse battery"})
	if err != nil {
		tb.Fatal(err)
	}
	by := gatehouse.UserActor(u, "192.0.2.1", "bench")
	d, err := s.DriveByOwner(ctx, u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	it, _, err := s.PutFile(ctx, by, d.ID, d.RootID, "report 2024.txt", strings.NewReader(strings.Repeat("x", 4096)), 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	return s, by, it
}

// BenchmarkServeData is one 4 KiB download through ServeData on each
// backend, record included; -benchmem shows what a download allocates.
//
//	go test ./internal/content -run X -bench ServeData -benchmem
func BenchmarkServeData(b *testing.B) {
	for _, be := range testenv.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s, by, it := serveFixture(b, be)
			defer s.Close()
			r := httptest.NewRequest(http.MethodGet, "/content", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				if err := Serve(w, r, s, by, it); err != nil || w.Code != http.StatusOK || w.Body.Len() != 4096 {
					b.Fatalf("Serve: %v, %d, %d bytes", err, w.Code, w.Body.Len())
				}
			}
		})
	}
}
