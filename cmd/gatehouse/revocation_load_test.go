package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestRevocationUnderLoad removes people while their downloads are in
// flight from many parallel loops, and checks the product's promise under
// load: no download that started after the removal committed (its call
// returned) gets content, and every content answer has its committed
// FileDownloaded record. The removal comes through the API of the same
// server, from the CLI in another process (disabling a member on the link,
// who downloads with a bearer token), as a member taken out of the group
// the file is shared with, and on PostgreSQL from a second node sharing
// the database. A decision cached without invalidation, or content
// sent before its record, fails it.
func TestRevocationUnderLoad(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			data := make([]byte, 4<<10)
			rand.Read(data)
			// share puts a file of its own on a link for the emails.
			share := func(name string, emails ...string) (fileID, permID, webURL string) {
				fileID = o.json("PUT", items+root+":/"+name+":/content", data, 201)["id"].(string)
				var rs []any
				for _, e := range emails {
					rs = append(rs, map[string]any{"email": e})
				}
				perm := o.json("POST", items+fileID+"/createLink", map[string]any{"type": "view", "sendInvitation": false, "recipients": rs}, 201)
				return fileID, perm["id"].(string), perm["link"].(map[string]any)["webUrl"].(string)
			}
			removeVia := func(c *apiClient, fileID, permID, email string) {
				c.json("POST", items+fileID+"/permissions/"+permID+"/revokeGrants", map[string]any{"grantees": []any{map[string]any{"email": email}}}, 200)
			}

			t.Run("the API removes a recipient", func(t *testing.T) {
				ext := "api-removed@partner.test"
				fileID, permID, webURL := share("api.bin", ext)
				rc := verifiedRecipient(t, s, smtp, webURL, ext)
				l := startLoad(t, data, webURL+"/content", nil, rc.http.Jar.Cookies)
				removed := l.remove(func() { removeVia(o, fileID, permID, ext) })
				l.check(t, s, removed, ext, 403)
			})

			t.Run("the CLI in another process disables a member on the link", func(t *testing.T) {
				bob := s.addUser("bob@example.com", "Bob Member", "correct horse battery", false)
				fileID, _, _ := share("cli.bin", bob.Email)
				l := startLoad(t, data, s.URL+items+fileID+"/content", http.Header{"Authorization": {"Bearer " + s.token(bob)}}, nil)
				removed := l.remove(func() {
					if out, err := cliProcess(t, "user", "disable", "--email", bob.Email, "--data", s.Config.Data, "--database", s.Config.Database); err != nil {
						t.Fatalf("gatehouse user disable in another process: %v\n%s", err, out)
					}
				})
				l.check(t, s, removed, bob.Email, 401)
			})

			t.Run("the API takes a member out of the group the file is shared with", func(t *testing.T) {
				carol := s.addUser("carol@example.com", "Carol Member", "correct horse battery", false)
				g := o.json("POST", "/v1.0/groups", map[string]any{"displayName": "Load team", "mailNickname": "load", "securityEnabled": true}, 201)["id"].(string)
				if st, _, out := o.do("POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": s.URL + "/v1.0/directoryObjects/" + carol.ID}); st != 204 {
					t.Fatalf("add carol to the group: %d %s", st, out)
				}
				fileID := o.json("PUT", items+root+":/group.bin:/content", data, 201)["id"].(string)
				o.json("POST", items+fileID+"/invite", map[string]any{"recipients": []any{map[string]any{"objectId": g}},
					"roles": []string{"read"}, "requireSignIn": true, "sendInvitation": false}, 200)
				l := startLoad(t, data, s.URL+items+fileID+"/content", http.Header{"Authorization": {"Bearer " + s.token(carol)}}, nil)
				removed := l.remove(func() {
					if st, _, out := o.do("DELETE", "/v1.0/groups/"+g+"/members/"+carol.ID+"/$ref", nil); st != 204 {
						t.Fatalf("take carol out of the group: %d %s", st, out)
					}
				})
				l.check(t, s, removed, carol.Email, 404)
			})

			if !s.Store.Postgres() {
				return
			}
			t.Run("a second node on the same database removes a recipient", func(t *testing.T) {
				node := &Main{Config: Config{Listen: "127.0.0.1:0", Data: s.Config.Data, Database: s.Config.Database, OrgDomains: s.Config.OrgDomains},
					Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
				if err := node.Run(context.Background()); err != nil {
					t.Fatalf("start the second node: %v", err)
				}
				defer node.Close()
				ext := "node-removed@partner.test"
				fileID, permID, webURL := share("node.bin", ext)
				rc := verifiedRecipient(t, s, smtp, webURL, ext)
				l := startLoad(t, data, webURL+"/content", nil, rc.http.Jar.Cookies)
				other := &apiClient{t: t, base: node.URL, token: o.token}
				removed := l.remove(func() { removeVia(other, fileID, permID, ext) })
				l.check(t, s, removed, ext, 403)
			})
		})
	}
}

// loadLoops are the parallel download loops of one case.
const loadLoops = 16

// attempt is one download: when it was sent, and what came back.
type attempt struct {
	start, end time.Time
	status     int
	content    bool // 200 with every byte of the file
}

type load struct {
	t        *testing.T
	mu       sync.Mutex
	attempts []attempt
	stop     chan struct{}
	wg       sync.WaitGroup
}

// startLoad starts loadLoops loops downloading target with the header and,
// if cookies is not nil, the cookies it gives for the URL.
func startLoad(t *testing.T, want []byte, target string, header http.Header, cookies func(*url.URL) []*http.Cookie) *load {
	l := &load{t: t, stop: make(chan struct{})}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadLoops}}
	t.Cleanup(client.CloseIdleConnections)
	req0, _ := http.NewRequest("GET", target, nil)
	hdr := header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if cookies != nil {
		for _, c := range cookies(req0.URL) {
			hdr.Add("Cookie", c.Name+"="+c.Value)
		}
	}
	for range loadLoops {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", target, nil)
				req.Header = hdr.Clone()
				a := attempt{start: time.Now()}
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("GET %s: %v", target, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				a.end, a.status = time.Now(), resp.StatusCode
				a.content = err == nil && resp.StatusCode == 200 && bytes.Equal(body, want)
				l.mu.Lock()
				l.attempts = append(l.attempts, a)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// remove lets the loops run, then removes with fn and returns when fn's
// change had committed: when fn returned. The loops go on for a while.
func (l *load) remove(fn func()) time.Time {
	time.Sleep(400 * time.Millisecond)
	fn()
	removed := time.Now()
	time.Sleep(300 * time.Millisecond)
	close(l.stop)
	l.wg.Wait()
	return removed
}

// check judges the attempts against the removal's commit and the audit
// log: no content for a request sent after it, a refusal with the status
// refused for every such request, and one committed record per content
// answer of email.
func (l *load) check(t *testing.T, s *server, removed time.Time, email string, refused int) {
	t.Helper()
	var before, after, inFlight, contents, late, odd int
	for _, a := range l.attempts {
		switch {
		case a.content:
			contents++
		case a.status != refused:
			if odd++; odd <= 3 {
				t.Errorf("an answer of %d (want 200 with the file or %d)", a.status, refused)
			}
		}
		if a.start.After(removed) {
			after++
			if a.content {
				if late++; late <= 3 {
					t.Errorf("a download sent %s after the removal committed got the file", a.start.Sub(removed))
				}
			}
		} else {
			before++
			if a.end.After(removed) {
				inFlight++
			}
		}
	}
	if late > 0 || odd > 0 {
		t.Errorf("in all, %d downloads sent after the removal committed got the file; %d other answers", late, odd)
	}
	// The case means something only if there was load on both sides.
	if contents < loadLoops || after < loadLoops {
		t.Errorf("%d downloads got the file and %d were sent after the removal; the load was too thin to judge", contents, after)
	}
	t.Logf("%d downloads before the removal committed (%d of them still in flight then), %d after; %d got the file", before, inFlight, after, contents)

	// Every content answer's record is committed and searchable now.
	var records int
	var cursor *store.AuditCursor
	for {
		recs, next, err := s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: gatehouse.OpFileDownloaded, UserID: email, Limit: 1000}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		records += len(recs)
		if next == nil {
			break
		}
		cursor = next
	}
	if records != contents {
		t.Errorf("%d FileDownloaded records of %s for %d answers with the file, want one each", records, email, contents)
	}
	if n, brk, err := s.Store.VerifyAudit(context.Background()); err != nil || brk != nil {
		t.Errorf("the audit chain after the load (%d records): %+v, %v", n, brk, err)
	}
}

// cliProcessEnv carries a gatehouse command to the test binary started
// again by cliProcess.
const cliProcessEnv = "GATEHOUSE_TEST_CLI_PROCESS"

// cliProcess runs one gatehouse command in a process of its own: this test
// binary again, which runs only TestCLIProcess, which runs the command.
func cliProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	b, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), cliProcessEnv+"="+string(b))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCLIProcess is the other process of cliProcess; run directly, it
// skips.
func TestCLIProcess(t *testing.T) {
	raw := os.Getenv(cliProcessEnv)
	if raw == "" {
		t.Skip("the process of cliProcess; nothing to do on its own")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), args, strings.NewReader(""), os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitCode(err))
	}
	os.Exit(0)
}
