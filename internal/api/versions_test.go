package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// lastRecord returns the newest audit record of an operation.
func (e *adminEnv) lastRecord(op string) *gatehouse.Record {
	e.t.Helper()
	page, _, err := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: op, Limit: 1}, nil)
	if err != nil || len(page) != 1 {
		e.t.Fatalf("SearchAudit(%s): %d records, %v", op, len(page), err)
	}
	return page[0]
}

func eventData(t *testing.T, r *gatehouse.Record) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.EventData), &m); err != nil {
		t.Fatalf("EventData of %s: %q: %v", r.Operation, r.EventData, err)
	}
	return m
}

func hexSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestVersionsAPI: the versions of a file in Graph's shape, current first;
// an old version's bytes as the current content is served and recorded;
// restore makes a new current version and is recorded; the decision on
// the item answers another member 404 and a member with a view link 403
// for restore only.
func TestVersionsAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			bob, err := e.s.UserByToken(ctx, e.member)
			if err != nil {
				t.Fatal(err)
			}
			carol, carolTok := e.siteUser("carol@example.com")
			dave, daveTok := e.siteUser("dave@example.com")
			_, malloryTok := e.siteUser("mallory@example.com")
			byBob := gatehouse.UserActor(bob, "192.0.2.10", "test-agent/1.0")
			d, folder := e.link.DriveID, e.link.ItemID
			if _, _, err := e.s.Share(ctx, byBob, store.ShareRequest{DriveID: d, ItemID: folder, Role: gatehouse.RoleRead, Emails: []string{carol.Email}}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.s.Share(ctx, byBob, store.ShareRequest{DriveID: d, ItemID: folder, Role: gatehouse.RoleWrite, Emails: []string{dave.Email}}); err != nil {
				t.Fatal(err)
			}

			// Three versions: Bob, Dave through his link, Bob.
			var id string
			for i, up := range []struct{ tok, body string }{{e.member, "one"}, {daveTok, "two!"}, {e.member, "three"}} {
				resp, body := e.call("PUT", "/v1.0/drives/"+d+"/items/"+folder+":/minutes.txt:/content", up.tok, up.body)
				if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
					t.Fatalf("upload %d: %d %s", i+1, resp.StatusCode, body)
				}
				var it struct{ ID string }
				json.Unmarshal([]byte(body), &it)
				id = it.ID
				e.clock.Advance(time.Minute)
			}
			item := "/v1.0/drives/" + d + "/items/" + id
			versions := item + "/versions"

			// The item says who changed it last.
			_, got, raw := e.callJSON("GET", item, e.member, "")
			if by := lastModifiedUser(got); by["id"] != bob.ID || by["email"] != "bob@example.com" || by["displayName"] != "Bob Member" {
				t.Errorf("GET item lastModifiedBy.user: %v in %s", by, raw)
			}

			status, list, raw := e.callJSON("GET", versions, e.member, "")
			if status != http.StatusOK {
				t.Fatalf("GET versions: %d %s", status, raw)
			}
			vals, _ := list["value"].([]any)
			type row struct{ ID, By, Email, Name, URL string }
			var rows []row
			var sizes []float64
			for _, v := range vals {
				m := v.(map[string]any)
				u := lastModifiedUser(m)
				url, _ := m["@microsoft.graph.downloadUrl"].(string)
				rows = append(rows, row{str(m["id"]), str(u["id"]), str(u["email"]), str(u["displayName"]), url})
				sizes = append(sizes, m["size"].(float64))
				if _, err := time.Parse(time.RFC3339, str(m["lastModifiedDateTime"])); err != nil {
					t.Errorf("version %s lastModifiedDateTime: %v", m["id"], err)
				}
			}
			base := "https://files.example.com" + versions
			want := []row{
				{"3.0", bob.ID, "bob@example.com", "Bob Member", base + "/3.0/content"},
				{"2.0", dave.ID, "dave@example.com", "User dave@example.com", base + "/2.0/content"},
				{"1.0", bob.ID, "bob@example.com", "Bob Member", base + "/1.0/content"},
			}
			if len(rows) != 3 || rows[0] != want[0] || rows[1] != want[1] || rows[2] != want[2] || sizes[0] != 5 || sizes[1] != 4 || sizes[2] != 3 {
				t.Errorf("GET versions:\n got %+v sizes %v\nwant %+v sizes [5 4 3]", rows, sizes, want)
			}

			// An old version's bytes, as the current content is served.
			resp, body := e.call("GET", versions+"/1.0/content", e.member, "")
			if resp.StatusCode != http.StatusOK || body != "one" || resp.Header.Get("ETag") != `"`+hexSHA("one")+`"` ||
				!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
				t.Errorf("GET version 1 content: %d %q ETag %s, %s", resp.StatusCode, body, resp.Header.Get("ETag"), resp.Header.Get("Content-Disposition"))
			}
			r := e.lastRecord(gatehouse.OpFileDownloaded)
			if data := eventData(t, r); data["version"] != "1.0" || r.UserID != "bob@example.com" || r.SourceFileName != "minutes.txt" {
				t.Errorf("download record: %+v", r)
			}
			req, _ := http.NewRequest("GET", e.url+versions+"/2.0/content", nil)
			req.Header.Set("Authorization", "Bearer "+e.member)
			req.Header.Set("Range", "bytes=1-2")
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusPartialContent {
				t.Errorf("ranged GET of version 2: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			if data := eventData(t, e.lastRecord(gatehouse.OpFileDownloaded)); data["version"] != "2.0" || data["range"] != "bytes=1-2" {
				t.Errorf("ranged download record: %v", data)
			}
			for _, v := range []string{"4.0", "0.0", "x", "1.5", "01.0"} {
				if resp, body := e.call("GET", versions+"/"+v+"/content", e.member, ""); resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET version %q: %d %s, want 404", v, resp.StatusCode, body)
				}
			}

			// Another member learns nothing; a view link reads but does not
			// restore; nothing is recorded for a refusal.
			before := auditTotal(t, e)
			for _, c := range []struct {
				method, path, tok string
				want              int
			}{
				{"GET", versions, malloryTok, 404},
				{"GET", versions + "/1.0/content", malloryTok, 404},
				{"POST", versions + "/1.0/restoreVersion", malloryTok, 404},
				{"POST", versions + "/1.0/restoreVersion", carolTok, 403},
				{"POST", versions + "/1.0/restoreVersion", "", 401},
				{"GET", versions, "", 401},
				{"POST", versions + "/3.0/restoreVersion", e.member, 400},
				{"POST", versions + "/9.0/restoreVersion", e.member, 404},
				{"GET", "/v1.0/drives/" + d + "/items/" + folder + "/versions", e.member, 400},
			} {
				if resp, body := e.call(c.method, c.path, c.tok, ""); resp.StatusCode != c.want {
					t.Errorf("%s %s as %.6s: %d %s, want %d", c.method, c.path, c.tok, resp.StatusCode, body, c.want)
				}
			}
			if n := auditTotal(t, e); n != before {
				t.Errorf("refusals wrote %d records", n-before)
			}
			if status, _, raw := e.callJSON("GET", versions, carolTok, ""); status != http.StatusOK {
				t.Errorf("GET versions with a view link: %d %s", status, raw)
			}
			if resp, body := e.call("GET", versions+"/1.0/content", carolTok, ""); resp.StatusCode != http.StatusOK || body != "one" {
				t.Errorf("GET version content with a view link: %d %q", resp.StatusCode, body)
			}

			// Dave, who may edit, restores version 1.
			resp, body = e.call("POST", versions+"/1.0/restoreVersion", daveTok, "")
			if resp.StatusCode != http.StatusNoContent || body != "" {
				t.Fatalf("restoreVersion: %d %s", resp.StatusCode, body)
			}
			r = e.lastRecord(gatehouse.OpFileVersionRestored)
			if data := eventData(t, r); r.UserID != "dave@example.com" || data["restoredFrom"] != float64(1) || data["version"] != float64(4) ||
				r.ObjectID != "https://files.example.com"+item {
				t.Errorf("restore record: %+v", r)
			}
			if resp, body := e.call("GET", item+"/content", e.member, ""); resp.StatusCode != http.StatusOK || body != "one" {
				t.Errorf("current content after restore: %d %q", resp.StatusCode, body)
			}
			_, got, raw = e.callJSON("GET", item, e.member, "")
			if by := lastModifiedUser(got); by["email"] != "dave@example.com" || got["size"] != float64(3) {
				t.Errorf("item after restore: %s", raw)
			}
			_, list, raw = e.callJSON("GET", versions, e.member, "")
			vals, _ = list["value"].([]any)
			if len(vals) != 4 || str(vals[0].(map[string]any)["id"]) != "4.0" || str(vals[1].(map[string]any)["id"]) != "3.0" {
				t.Errorf("versions after restore: %s", raw)
			}
			if resp, body := e.call("GET", versions+"/3.0/content", e.member, ""); resp.StatusCode != http.StatusOK || body != "three" {
				t.Errorf("the replaced version's content: %d %q", resp.StatusCode, body)
			}

			// A recipient's replacement shows their address as who.
			l, _, err := e.s.Share(ctx, byBob, store.ShareRequest{DriveID: d, ItemID: folder, Role: gatehouse.RoleWrite, Emails: []string{"ext@partner.test"}})
			if err != nil {
				t.Fatal(err)
			}
			byExt := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("ext@partner.test"), Origin: gatehouse.Origin{ShareID: l.ShareID}}
			if _, _, err := e.s.PutFileThroughLink(ctx, byExt, l, folder, "minutes.txt", strings.NewReader("five!"), 1<<20); err != nil {
				t.Fatal(err)
			}
			_, got, raw = e.callJSON("GET", item, e.member, "")
			if by := lastModifiedUser(got); by["id"] != "" || by["email"] != "ext@partner.test" || by["displayName"] != "ext@partner.test" {
				t.Errorf("item replaced by a recipient: lastModifiedBy %v in %s", by, raw)
			}
			_, list, raw = e.callJSON("GET", versions, e.member, "")
			vals, _ = list["value"].([]any)
			if len(vals) != 5 || str(lastModifiedUser(vals[0].(map[string]any))["email"]) != "ext@partner.test" ||
				str(lastModifiedUser(vals[1].(map[string]any))["email"]) != "dave@example.com" {
				t.Errorf("versions after a recipient's replacement: %s", raw)
			}
		})
	}
}

func lastModifiedUser(m map[string]any) map[string]any {
	lm, _ := m["lastModifiedBy"].(map[string]any)
	u, _ := lm["user"].(map[string]any)
	return u
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func auditTotal(t *testing.T, e *adminEnv) int {
	t.Helper()
	n := 0
	var after *store.AuditCursor
	for {
		page, next, err := e.s.SearchAudit(ctx, gatehouse.AuditFilter{}, after)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if next == nil {
			return n
		}
		after = next
	}
}
