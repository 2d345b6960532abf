package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// BenchmarkDownload compares a bearer-authenticated download through
// /content with plain http.ServeContent of the same file, in the same run:
// compare the MB/s of each size's two sub-benchmarks.
func BenchmarkDownload(b *testing.B) {
	s := startServer(b, testenv.Backends()[0])
	u := s.addUser("bench@example.com", "Bench", "correct horse battery", false)
	tok := s.token(u)
	d, err := s.Store.DriveByOwner(context.Background(), u.ID)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, size := range []struct {
		name string
		n    int
	}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}} {
		data := make([]byte, size.n)
		rand.Read(data)
		req, _ := http.NewRequest("PUT", s.URL+"/v1.0/drives/"+d.ID+"/items/"+d.RootID+":/"+size.name+".bin:/content", bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("upload: %v %v", err, resp)
		}
		var item struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&item)
		resp.Body.Close()

		path := filepath.Join(b.TempDir(), "plain.bin")
		os.WriteFile(path, data, 0o600)
		baseline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(path)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer f.Close()
			http.ServeContent(w, r, "plain.bin", time.Time{}, f)
		}))
		b.Cleanup(baseline.Close)

		get := func(b *testing.B, url, token string) {
			b.SetBytes(int64(size.n))
			b.SetParallelism(8) // 16 clients on 2 cores: a loaded server, for both
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", url, nil)
					if token != "" {
						req.Header.Set("Authorization", "Bearer "+token)
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || n != int64(size.n) {
						b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
					}
				}
			})
		}
		b.Run(size.name+"/baseline", func(b *testing.B) { get(b, baseline.URL, "") })
		b.Run(size.name+"/gatehouse", func(b *testing.B) {
			get(b, s.URL+"/v1.0/drives/"+d.ID+"/items/"+item.ID+"/content", tok)
		})
	}
}
