package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// myFilesItems is how many items the benchmark's folder holds: the
// issue's number.
const myFilesItems = 10_000

// BenchmarkMyFiles renders the first page (200 items) of My files for a
// folder of 10,000 items (500 folders, 9,500 files, 200 of them shared),
// on each backend, and in the same run the API's GET …/children?$top=200
// of the same folder as the baseline: the same page of the same folder,
// without the HTML, the shared marks or the breadcrumbs. It reports
// page-ms, api-ms and page/api. Times are the client's round trip over
// loopback, which bounds the server's time from above.
//
//	go test ./cmd/gatehouse -run '^$' -bench MyFiles -benchtime 50x
func BenchmarkMyFiles(b *testing.B) {
	for _, be := range testenv.Backends() {
		// The folder is built once per backend: b.Run calls its function
		// more than once.
		func() {
			s := startServer(b, be)
			const pw = "correct horse battery"
			owner := s.addUser("olivia@example.com", "Olivia Owner", pw, false)
			ctx := context.Background()
			by := gatehouse.UserActor(owner, "127.0.0.1", "bench")
			d, err := s.Store.DriveByOwner(ctx, owner.ID)
			if err != nil {
				b.Fatal(err)
			}
			big, err := s.Store.CreateFolder(ctx, by, d.ID, d.RootID, "Big")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for i := range myFilesItems {
				name := fmt.Sprintf("item %05d", i)
				var it *gatehouse.Item
				if i%20 == 0 {
					it, err = s.Store.CreateFolder(ctx, by, d.ID, big.ID, name)
				} else {
					it, _, err = s.Store.PutFile(ctx, by, d.ID, big.ID, name+".txt", strings.NewReader(name), 1<<20)
				}
				if err != nil {
					b.Fatal(err)
				}
				// Every 50th item is shared, so the first page has marks.
				if i%50 == 1 {
					if _, _, err := s.Store.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Role: gatehouse.RoleRead,
						Emails: []string{"ext@partner.test", "two@partner.test"}}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Logf("%s: created %d items in %v", be.Name, myFilesItems, time.Since(start).Round(time.Millisecond))

			web := webSession(b, s.URL, owner.Email, pw)
			tok := s.token(owner)
			pageURL := s.URL + "/files/" + big.ID
			apiURL := s.URL + "/v1.0/drives/" + d.ID + "/items/" + big.ID + "/children?$top=200"
			get := func(c *http.Client, u string, hdr ...string) (time.Duration, string) {
				req, _ := http.NewRequest("GET", u, nil)
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header.Set(hdr[i], hdr[i+1])
				}
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if resp.StatusCode != 200 {
					b.Fatalf("GET %s: %d %.300s", u, resp.StatusCode, body)
				}
				return el, string(body)
			}
			// Check once that the page is what it claims: 200 rows, marks, a
			// next page.
			_, page := get(web, pageURL)
			if n := strings.Count(page, `<td class="name">`); n != 200 {
				b.Fatalf("the first page has %d rows, want 200", n)
			}
			if !strings.Contains(page, `class="shared-mark"`) || !strings.Contains(page, "Next page") {
				b.Fatalf("the first page lacks shared marks or a next page")
			}
			// Warm both paths (statement caches, connection pools).
			for range 3 {
				get(web, pageURL)
				get(http.DefaultClient, apiURL, "Authorization", "Bearer "+tok)
			}
			b.Run(be.Name, func(b *testing.B) {
				var pageT, apiT time.Duration
				for range b.N {
					// Alternate, so that both see the same machine load.
					el, _ := get(web, pageURL)
					pageT += el
					el, _ = get(http.DefaultClient, apiURL, "Authorization", "Bearer "+tok)
					apiT += el
				}
				b.StopTimer()
				pageMS := float64(pageT) / float64(b.N) / 1e6
				apiMS := float64(apiT) / float64(b.N) / 1e6
				b.ReportMetric(pageMS, "page-ms")
				b.ReportMetric(apiMS, "api-ms")
				b.ReportMetric(pageMS/apiMS, "page/api")
				if pageMS >= 100 {
					b.Errorf("%s: the first page of 10,000 items took %.1f ms, want under 100 ms", be.Name, pageMS)
				}
			})
		}()
	}
}

// webSession signs a member in to the web UI and returns a client with
// the session cookie.
func webSession(b testing.TB, base, email, password string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(base)
	v := url.Values{"email": {email}, "password": {password}}
	for _, k := range jar.Cookies(u) {
		if k.Name == httpx.CSRFCookie {
			v.Set("csrf", k.Value)
		}
	}
	resp, err = c.PostForm(base+"/login", v)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %d", resp.StatusCode)
	}
	return c
}
