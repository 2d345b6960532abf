package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// recipientClient is a browser-like client of the recipient endpoints,
// with its own cookies.
type recipientClient struct {
	t    *testing.T
	http *http.Client
}

func newRecipient(t *testing.T) *recipientClient {
	jar, _ := cookiejar.New(nil)
	return &recipientClient{t: t, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// call sends JSON (when body is not nil) and asks for JSON.
func (c *recipientClient) call(method, url string, body any) (int, http.Header, []byte) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.Bytes()
}

func TestSecureLinkFlow(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			admin := s.addUser("ada@example.com", "Ada Admin", "correct horse battery", true)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			a := &apiClient{t: t, base: s.URL, token: s.token(admin)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			content := []byte("quarterly numbers\n")
			file := o.json("PUT", items+root+":/Q3 & 'final'.txt:/content", content, 201)
			fileID := file["id"].(string)

			// Share with an outsider; the invitation arrives by SMTP.
			ext := "ext@partner.test"
			resp := o.json("POST", items+fileID+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": ext}}, "roles": []string{"read"},
				"requireSignIn": true, "sendInvitation": true, "message": "Please review <b>this</b>",
			}, 200)
			perm := resp["value"].([]any)[0].(map[string]any)
			link := perm["link"].(map[string]any)
			shareID, permID, webURL := perm["shareId"].(string), perm["id"].(string), link["webUrl"].(string)
			if link["scope"] != "users" || link["type"] != "view" || len(shareID) != 36 {
				t.Fatalf("permission: %v", perm)
			}
			token, ok := strings.CutPrefix(webURL, s.URL+"/s/")
			if !ok || len(token) < 26 || strings.Contains(webURL, shareID) {
				t.Fatalf("webUrl %q: want %s/s/{token of ≥128 bits}, not the shareId", webURL, s.URL)
			}
			inv := smtp.WaitFor(t, ext, 10*time.Second)
			if got := mailtest.ExtractLink(t, inv, s.URL+"/s/"); got != webURL {
				t.Errorf("invitation link = %q, want %q", got, webURL)
			}
			if !strings.Contains(inv.Text, "Olivia Owner") || !strings.Contains(inv.Text, "Q3 & 'final'.txt") {
				t.Errorf("invitation text lacks the sharer or the item:\n%s", inv.Text)
			}
			if strings.Contains(inv.HTML, "Q3 & 'final'") || strings.Contains(inv.HTML, "<b>this</b>") {
				t.Errorf("invitation HTML does not escape names and messages:\n%s", inv.HTML)
			}

			// The list never carries the secret.
			_, _, list := o.do("GET", items+fileID+"/permissions", nil)
			if bytes.Contains(list, []byte(token)) {
				t.Errorf("permissions list contains the link token")
			}

			// Before verification the landing page reveals nothing.
			rc := newRecipient(t)
			status, _, body := rc.call("GET", webURL, nil)
			if status != 200 || bytes.Contains(body, []byte("Q3")) || bytes.Contains(body, []byte("report")) {
				t.Errorf("landing before verification: %d %s", status, body)
			}
			if status, _, _ := rc.call("GET", webURL+"/content", nil); status != 401 && status != 403 {
				t.Errorf("content before verification: %d", status)
			}

			// Asking for a code answers alike for a recipient and a stranger.
			_, _, forRecipient := rc.call("POST", webURL+"/passcode", map[string]string{"email": ext})
			_, _, forStranger := newRecipient(t).call("POST", webURL+"/passcode", map[string]string{"email": "nobody@partner.test"})
			if !bytes.Equal(forRecipient, forStranger) || !bytes.Contains(forRecipient, []byte(`"resendAfterSeconds":`)) {
				t.Errorf("passcode answers differ, or lack resendAfterSeconds:\nrecipient: %s\nstranger:  %s", forRecipient, forStranger)
			}
			_, _, rateLimited := rc.call("POST", webURL+"/passcode", map[string]string{"email": ext})
			if !bytes.Equal(forRecipient, rateLimited) {
				t.Errorf("a refused send answers differently: %s", rateLimited)
			}
			pc := smtp.WaitFor(t, ext, 10*time.Second)
			code := mailtest.Code(t, pc)
			time.Sleep(200 * time.Millisecond)
			for _, m := range smtp.Messages() {
				for _, to := range m.To {
					if strings.EqualFold(to, "nobody@partner.test") {
						t.Errorf("mail went to an address that is not on the link")
					}
				}
			}

			// A JSON body is answered in JSON even without an Accept header.
			if resp, err := http.Post(webURL+"/verify", "application/json", strings.NewReader(`{"email":"`+ext+`","code":"1"}`)); err != nil ||
				resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("JSON verify without Accept: %v %v", err, resp)
			}
			// Wrong code, then the right one.
			if status, _, out := rc.call("POST", webURL+"/verify", map[string]any{"email": ext, "code": "00000000"}); status != 400 ||
				!bytes.Contains(out, []byte(`"code":"invalidCode"`)) {
				t.Errorf("wrong code: %d %s, want 400 invalidCode", status, out)
			}
			status, hdr, _ := rc.call("POST", webURL+"/verify", map[string]any{"email": ext, "code": code, "remember": false})
			if status != 200 {
				t.Fatalf("verify: status %d", status)
			}
			if sc := strings.Join(hdr.Values("Set-Cookie"), "; "); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
				t.Errorf("recipient cookie flags: %s", sc)
			}
			if status, _, _ := newRecipient(t).call("POST", webURL+"/verify", map[string]any{"email": ext, "code": code}); status != 400 {
				t.Errorf("a used code verified again: %d", status)
			}

			// Download as the verified recipient.
			status, hdr, body = rc.call("GET", webURL+"/content", nil)
			if status != 200 || !bytes.Equal(body, content) {
				t.Fatalf("recipient download: %d %q", status, body)
			}
			if !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") || hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("recipient download headers: %v", hdr)
			}
			// The session never opens the member API.
			if status, _, _ := rc.call("GET", s.URL+"/v1.0/me", nil); status != 401 && status != 403 {
				t.Errorf("recipient session on /v1.0/me: %d", status)
			}

			// Inviting again adds only the new address, and audits only it.
			o.json("POST", items+fileID+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": ext}, map[string]any{"email": "second@partner.test"}},
				"roles":      []string{"read"}, "sendInvitation": false}, 200)
			recs := auditOf(a, shareID)
			count := map[string]int{}
			for _, r := range recs {
				count[r["Operation"].(string)]++
				if r["UniqueSharingId"] != shareID {
					t.Errorf("record without the sharing id: %v", r)
				}
			}
			if count["SecureLinkCreated"] != 1 || count["AddedToSecureLink"] != 2 || count["PasscodeSent"] != 1 ||
				count["PasscodeVerified"] != 1 || count["PasscodeFailed"] != 3 || count["FileDownloaded"] != 1 {
				t.Errorf("audit operations: %v", count)
			}
			for _, r := range recs {
				if r["Operation"] == "FileDownloaded" && (r["UserId"] != ext || r["UserType"] != "AdHocRecipient") {
					t.Errorf("recipient download record: %v", r)
				}
				if r["Operation"] == "AddedToSecureLink" && r["TargetUserOrGroupName"] == "" {
					t.Errorf("AddedToSecureLink without a target: %v", r)
				}
			}
			raw, _ := json.Marshal(recs)
			if bytes.Contains(raw, []byte(token)) || bytes.Contains(raw, []byte(code)) {
				t.Errorf("the audit log contains the link token or the code")
			}

			// Removing the recipient ends the session's access at once.
			o.json("POST", items+fileID+"/permissions/"+permID+"/revokeGrants", map[string]any{"grantees": []any{map[string]any{"email": ext}}}, 200)
			if status, _, _ := rc.call("GET", webURL+"/content", nil); status != 403 {
				t.Errorf("content after removal: %d, want 403", status)
			}
			// Deleting the link: recipients removed one by one, then the link.
			if status, _, _ := o.do("DELETE", items+fileID+"/permissions/"+permID, nil); status != 204 {
				t.Errorf("delete permission: %d", status)
			}
			if status, _, _ := rc.call("GET", webURL, nil); status != 404 && status != 410 {
				t.Errorf("deleted link answers %d", status)
			}
			recs = auditOf(a, shareID)
			if recs[0]["Operation"] != "SecureLinkDeleted" || recs[1]["Operation"] != "RemovedFromSecureLink" || recs[1]["TargetUserOrGroupName"] != "second@partner.test" {
				t.Errorf("deletion records, newest first: %v, %v", recs[0]["Operation"], recs[1]["Operation"])
			}
		})
	}
}

// auditOf returns every record of a sharing link, newest first.
func auditOf(a *apiClient, shareID string) []map[string]any {
	var out []map[string]any
	next := "/v1.0/auditLog/records?$top=500&uniqueSharingId=" + shareID
	for next != "" {
		page := a.json("GET", next, nil, 200)
		for _, v := range page["value"].([]any) {
			out = append(out, v.(map[string]any))
		}
		next, _ = page["@odata.nextLink"].(string)
		next = strings.TrimPrefix(next, a.base)
	}
	return out
}

func TestPasscodeRace(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			o := &apiClient{t: t, base: s.URL, token: s.token(s.addUser("olivia@example.com", "Olivia", "correct horse battery", false))}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			folder := o.json("POST", "/v1.0/drives/"+d+"/items/"+root+"/children", map[string]any{"name": "Shared", "folder": map[string]any{}}, 201)
			resp := o.json("POST", "/v1.0/drives/"+d+"/items/"+folder["id"].(string)+"/createLink",
				map[string]any{"type": "edit", "scope": "users", "recipients": []any{map[string]any{"email": "racer@partner.test"}}}, 201)
			webURL := resp["link"].(map[string]any)["webUrl"].(string)
			newRecipient(t).call("POST", webURL+"/passcode", map[string]string{"email": "racer@partner.test"})
			code := mailtest.Code(t, smtp.WaitFor(t, "racer@partner.test", 10*time.Second))

			const n = 12
			var wg sync.WaitGroup
			statuses := make([]int, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i], _, _ = newRecipient(t).call("POST", webURL+"/verify", map[string]any{"email": "racer@partner.test", "code": code})
				}()
			}
			wg.Wait()
			ok := 0
			for _, st := range statuses {
				if st == 200 {
					ok++
				} else if st != 400 {
					t.Errorf("racing verify: status %d", st)
				}
			}
			if ok != 1 {
				t.Errorf("%d of %d concurrent redemptions of one code succeeded, want exactly 1 (%v)", ok, n, statuses)
			}
		})
	}
}

// TestInviteHundred invites 100 recipients in one call: all land on one
// link, each with its record, written by one transaction. The time goes to
// the log for the closing note; it is not asserted.
func TestInviteHundred(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			id := r.file(r.root, "a.txt", "x")
			var rcps []any
			var want []string
			for i := range 100 {
				want = append(want, fmt.Sprintf("r%03d@partner.test", i))
				rcps = append(rcps, map[string]any{"email": want[i]})
			}
			start := time.Now()
			resp := r.must(r.token, "POST", r.items()+id+"/invite", map[string]any{"recipients": rcps, "roles": []string{"read"}}, 200)
			t.Logf("invite with 100 recipients took %s on %s (target under 1 s)", time.Since(start), b.Name)
			perm := resp["value"].([]any)[0].(map[string]any)
			if got := grantees(perm); !slices.Equal(got, want) {
				t.Errorf("the answer's link holds %d recipients, want all 100", len(got))
			}
			perms := r.permissions(id)
			if len(perms) != 1 {
				t.Fatalf("%d links, want 1", len(perms))
			}
			if got := grantees(perms[0]); !slices.Equal(got, want) {
				t.Errorf("the stored link holds %d recipients, want all 100", len(got))
			}
			recs := r.records(gatehouse.AuditFilter{UniqueSharingID: perm["shareId"].(string)})
			count := map[string]int{}
			for _, rec := range recs {
				count[rec.Operation]++
			}
			if count[gatehouse.OpSecureLinkCreated] != 1 || count[gatehouse.OpAddedToSecureLink] != 100 || len(recs) != 101 {
				t.Errorf("records of the link: %v, want one SecureLinkCreated and 100 AddedToSecureLink", count)
			}
			// One transaction reads the clock once and appends its records
			// in one run of the chain.
			for i, rec := range recs {
				if !rec.CreationTime.Equal(recs[0].CreationTime) {
					t.Errorf("record %d has time %s, the first %s: not one transaction", rec.Seq, rec.CreationTime, recs[0].CreationTime)
					break
				}
				if i > 0 && rec.Seq != recs[i-1].Seq-1 {
					t.Errorf("records %d and %d are not consecutive: not one transaction", recs[i-1].Seq, rec.Seq)
					break
				}
			}
		})
	}
}

// Stored link tokens are sealed with the node's key: the database alone
// yields no working link, while the owner still gets the link back.
func TestLinkTokenSealed(t *testing.T) {
	s := startServer(t, testenv.Backends()[0])
	o := &apiClient{t: t, base: s.URL, token: s.token(s.addUser("olivia@example.com", "Olivia", "correct horse battery", false))}
	drive := o.json("GET", "/v1.0/me/drive", nil, 200)
	d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
	f := o.json("PUT", "/v1.0/drives/"+d+"/items/"+root+":/a.txt:/content", "x", 201)
	items := "/v1.0/drives/" + d + "/items/" + f["id"].(string)
	perm := o.json("POST", items+"/createLink", map[string]any{"type": "view", "scope": "users", "recipients": []any{map[string]any{"email": "x@partner.test"}}}, 201)
	webURL := perm["link"].(map[string]any)["webUrl"].(string)
	token := strings.TrimPrefix(webURL, s.URL+"/s/")

	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.Config.Data, "gatehouse.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRow(`SELECT token FROM links`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, token) || !strings.HasPrefix(stored, "enc1:") {
		t.Errorf("stored token %q is not sealed", stored)
	}
	again := o.json("GET", items+"/permissions/"+perm["id"].(string), nil, 200)
	if got := again["link"].(map[string]any)["webUrl"]; got != webURL {
		t.Errorf("webUrl read back = %v, want %s", got, webURL)
	}
	if status, _, _ := newRecipient(t).call("GET", webURL, nil); status != 200 {
		t.Errorf("the link's landing page answers %d", status)
	}
}
