package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// getSerial downloads url b.N times from one client, so ns/op is the
// latency of one request, and checks every answer.
func getSerial(b *testing.B, client *http.Client, url string, size int, header ...string) {
	b.SetBytes(int64(size))
	for i := 0; i < b.N; i++ {
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
}

// analyze gathers PostgreSQL's statistics, as autovacuum would have by
// the time a deployment holds this much: without them it plans for tables
// of unknown size.
func analyze(b *testing.B, s *server) {
	if !s.Store.Postgres() {
		return
	}
	db, err := sql.Open("pgx", s.Config.Database)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGroupAccess measures what deciding through groups costs: a
// member in 50 groups, one of which a folder was shared with, downloads a
// file 20 folders below it; the owner downloads the same file, in the
// same run. Compare the two sub-benchmarks' ns/op: the difference is what
// the decision adds per request (the budget is 0.5 ms).
func BenchmarkGroupAccess(b *testing.B) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			s := startServer(b, backend)
			ann := s.addUser("ann@example.com", "Ann", "correct horse battery", false)
			bob := s.addUser("bob@example.com", "Bob", "correct horse battery", false)
			annActor := gatehouse.UserActor(ann, "127.0.0.1", "bench")
			d, err := s.Store.DriveByOwner(ctx, ann.ID)
			if err != nil {
				b.Fatal(err)
			}
			top, err := s.Store.CreateFolder(ctx, annActor, d.ID, d.RootID, "shared")
			if err != nil {
				b.Fatal(err)
			}
			parent := top.ID
			for i := 1; i < 20; i++ { // the file's folder is 20 folders deep
				f, err := s.Store.CreateFolder(ctx, annActor, d.ID, parent, fmt.Sprintf("level %d", i))
				if err != nil {
					b.Fatal(err)
				}
				parent = f.ID
			}
			data := make([]byte, 4<<10)
			file, _, err := s.Store.PutFile(ctx, annActor, d.ID, parent, "deep.bin", strings.NewReader(string(data)), 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			var shareWith string
			for i := 0; i < 50; i++ {
				g, err := s.Store.CreateGroup(ctx, annActor, store.NewGroup{DisplayName: fmt.Sprintf("Team %02d", i), MailNickname: fmt.Sprintf("team%02d", i)})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Store.AddGroupMember(ctx, annActor, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
					b.Fatal(err)
				}
				if i == 25 {
					shareWith = g.ID
				}
			}
			if _, _, err := s.Store.Share(ctx, annActor, store.ShareRequest{DriveID: d.ID, ItemID: top.ID, Role: gatehouse.RoleRead, ObjectIDs: []string{shareWith}}); err != nil {
				b.Fatal(err)
			}
			analyze(b, s)
			url := s.URL + "/v1.0/drives/" + d.ID + "/items/" + file.ID + "/content"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			annTok, bobTok := s.token(ann), s.token(bob)
			// Interleaved, so both see the same machine. A download commits
			// its record (an fsync), whose noise can hide a fraction of a
			// millisecond; the item's metadata is decided the same way
			// without one.
			meta := strings.TrimSuffix(url, "/content")
			metaSize := func(tok string) int {
				req, _ := http.NewRequest("GET", meta, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("metadata: %v %v", err, resp)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return int(n)
			}
			for round := 0; round < 3; round++ {
				b.Run(fmt.Sprintf("download/owner/round%d", round), func(b *testing.B) { getSerial(b, client, url, len(data), "Authorization", "Bearer "+annTok) })
				b.Run(fmt.Sprintf("download/group-member/round%d", round), func(b *testing.B) { getSerial(b, client, url, len(data), "Authorization", "Bearer "+bobTok) })
				b.Run(fmt.Sprintf("metadata/owner/round%d", round), func(b *testing.B) { getSerial(b, client, meta, metaSize(annTok), "Authorization", "Bearer "+annTok) })
				b.Run(fmt.Sprintf("metadata/group-member/round%d", round), func(b *testing.B) { getSerial(b, client, meta, metaSize(bobTok), "Authorization", "Bearer "+bobTok) })
			}
		})
	}
}

// BenchmarkSiteListing lists a site's folder of 10,000 items a page of 200
// at a time, as a site member: ns/op is the time of one page (the issue's
// budget is 100 ms). Deep pages start from a $skiptoken.
func BenchmarkSiteListing(b *testing.B) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			s := startServer(b, backend)
			ann := s.addUser("ann@example.com", "Ann", "correct horse battery", false)
			bob := s.addUser("bob@example.com", "Bob", "correct horse battery", false)
			annActor := gatehouse.UserActor(ann, "127.0.0.1", "bench")
			site, err := s.Store.CreateSite(ctx, annActor, store.NewSite{DisplayName: "Big site"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Store.AddGroupMember(ctx, annActor, site.MembersGroupID, bob.ID, gatehouse.GroupMember); err != nil {
				b.Fatal(err)
			}
			dr, err := s.Store.Drive(ctx, site.DriveID)
			if err != nil {
				b.Fatal(err)
			}
			folder, err := s.Store.CreateFolder(ctx, annActor, dr.ID, dr.RootID, "many")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < 10000; i += 8 {
						if _, _, err := s.Store.PutFile(ctx, annActor, dr.ID, folder.ID, fmt.Sprintf("file %05d.txt", i), strings.NewReader("x"), 1<<20); err != nil {
							errs <- err
							return
						}
					}
				}(w)
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			b.Logf("10,000 files uploaded in %v", time.Since(start).Round(time.Millisecond))
			analyze(b, s)
			tok := s.token(bob)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			first := s.URL + "/v1.0/drives/" + dr.ID + "/items/" + folder.ID + "/children?$top=200"
			page := func(url string) (int, string) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				var out struct {
					Value []struct{ Name string }
					Next  string `json:"@odata.nextLink"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
					b.Fatalf("page: %d %v", resp.StatusCode, err)
				}
				return len(out.Value), out.Next
			}
			// The 26th page, for a cursor deep in the folder.
			deep := first
			for i := 0; i < 25; i++ {
				n, next := page(deep)
				if n != 200 || next == "" {
					b.Fatalf("page %d: %d items, next %q", i+1, n, next)
				}
				deep = next
			}
			b.Run("first-page", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if n, _ := page(first); n != 200 {
						b.Fatalf("%d items", n)
					}
				}
			})
			b.Run("page-26", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if n, _ := page(deep); n != 200 {
						b.Fatalf("%d items", n)
					}
				}
			})
		})
	}
}
