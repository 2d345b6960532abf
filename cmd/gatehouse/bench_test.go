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
	"strings"
	"testing"
	"time"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// sizes are the file sizes the download benchmarks compare.
var sizes = []struct {
	name string
	n    int
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}}

// baselineServer serves data with plain http.ServeContent from a file.
func baselineServer(b *testing.B, data []byte) string {
	path := filepath.Join(b.TempDir(), "plain.bin")
	os.WriteFile(path, data, 0o600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "plain.bin", time.Time{}, f)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// getParallel downloads url from 16 clients at once (8 per core on 2
// cores: a loaded server) and checks every answer.
func getParallel(b *testing.B, client *http.Client, url string, size int, header ...string) {
	b.SetBytes(int64(size))
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n != int64(size) {
				b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
			}
		}
	})
}

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
	for _, size := range sizes {
		data := make([]byte, size.n)
		rand.Read(data)
		id := benchUpload(b, client, s, tok, d.ID, d.RootID, size.name+".bin", data)
		base := baselineServer(b, data)
		b.Run(size.name+"/baseline", func(b *testing.B) { getParallel(b, client, base, size.n) })
		url := s.URL + "/v1.0/drives/" + d.ID + "/items/" + id + "/content"
		b.Run(size.name+"/gatehouse", func(b *testing.B) { getParallel(b, client, url, size.n, "Authorization", "Bearer "+tok) })
		// What synchronous=FULL costs: the same download with NORMAL.
		if err := s.Store.SetSQLiteSynchronous(context.Background(), "NORMAL"); err != nil {
			b.Fatal(err)
		}
		b.Run(size.name+"/gatehouse-sync-normal", func(b *testing.B) { getParallel(b, client, url, size.n, "Authorization", "Bearer "+tok) })
		if err := s.Store.SetSQLiteSynchronous(context.Background(), "FULL"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecipientDownload compares a verified recipient's download
// through /s/{token}/content with plain http.ServeContent, in the same run.
func BenchmarkRecipientDownload(b *testing.B) {
	smtp := mailtest.Start(b)
	s := startServer(b, testenv.Backends()[0], func(c *Config) { c.SMTPURL = smtp.URL() })
	u := s.addUser("bench@example.com", "Bench", "correct horse battery", false)
	tok := s.token(u)
	d, err := s.Store.DriveByOwner(context.Background(), u.ID)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, size := range sizes {
		data := make([]byte, size.n)
		rand.Read(data)
		id := benchUpload(b, client, s, tok, d.ID, d.RootID, size.name+".bin", data)
		email := "reader-" + strings.ToLower(size.name) + "@partner.test"
		body, _ := json.Marshal(map[string]any{"recipients": []any{map[string]string{"email": email}}, "roles": []string{"read"}, "sendInvitation": false})
		req, _ := http.NewRequest("POST", s.URL+"/v1.0/drives/"+d.ID+"/items/"+id+"/invite", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("invite: %v %v", err, resp)
		}
		var perm struct {
			Value []struct {
				Link struct{ WebURL string }
			}
		}
		json.NewDecoder(resp.Body).Decode(&perm)
		resp.Body.Close()
		link := perm.Value[0].Link.WebURL
		post := func(path string, v any) *http.Response {
			j, _ := json.Marshal(v)
			resp, err := client.Post(link+path, "application/json", bytes.NewReader(j))
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		post("/passcode", map[string]string{"email": email})
		code := mailtest.Code(b, smtp.WaitFor(b, email, 10*time.Second))
		resp = post("/verify", map[string]any{"email": email, "code": code})
		var cookie string
		for _, c := range resp.Cookies() {
			if c.Name == "gh_rs" {
				cookie = c.Name + "=" + c.Value
			}
		}
		if resp.StatusCode != 200 || cookie == "" {
			b.Fatalf("verify: %d", resp.StatusCode)
		}
		base := baselineServer(b, data)
		b.Run(size.name+"/baseline", func(b *testing.B) { getParallel(b, client, base, size.n) })
		b.Run(size.name+"/gatehouse", func(b *testing.B) { getParallel(b, client, link+"/content", size.n, "Cookie", cookie) })
	}
}

// benchUpload stores data as name in a folder and returns its item id.
func benchUpload(b *testing.B, client *http.Client, s *server, tok, drive, parent, name string, data []byte) string {
	req, _ := http.NewRequest("PUT", s.URL+"/v1.0/drives/"+drive+"/items/"+parent+":/"+name+":/content", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != 201 {
		b.Fatalf("upload: %v %v", err, resp)
	}
	defer resp.Body.Close()
	var item struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&item)
	return item.ID
}
