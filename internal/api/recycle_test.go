package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// binValue GETs a drive's recycle bin page and returns its items and next link.
func (e *adminEnv) binValue(path, token string) ([]map[string]any, string) {
	e.t.Helper()
	resp, body := e.call("GET", path, token, "")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var out struct {
		Value []map[string]any
		Next  string `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Value == nil {
		e.t.Fatalf("GET %s: %s (%v)", path, body, err)
	}
	return out.Value, out.Next
}

// near reports whether v is a JSON time within a few seconds after t.
func near(v any, t time.Time) bool {
	s, _ := v.(string)
	got, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && !got.Before(t.Truncate(time.Microsecond)) && got.Sub(t) < 5*time.Second
}

// TestRecycleBinAPI: DELETE moves a shared folder to the bin and its link
// stops at once, for a member on it too; the bin lists it in Graph's
// recycleBinItem shape, paged; restore answers the driveItem and leaves
// the link dormant until PATCH dormant false, which is recorded; purge and
// empty answer 204 and record; who may not delete may not see the bin.
func TestRecycleBinAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			bob, err := e.s.UserByToken(ctx, e.member)
			if err != nil {
				t.Fatal(err)
			}
			carol, carolTok := e.siteUser("carol@example.com")
			byBob := gatehouse.UserActor(bob, "192.0.2.10", "test-agent/1.0")
			d, folder := e.link.DriveID, e.link.ItemID
			l, _, err := e.s.Share(ctx, byBob, store.ShareRequest{DriveID: d, ItemID: folder, Role: gatehouse.RoleRead, Emails: []string{carol.Email}})
			if err != nil {
				t.Fatal(err)
			}
			if l.ID != e.link.ID {
				t.Fatalf("carol went on another link")
			}
			resp, body := e.call("PUT", "/v1.0/drives/"+d+"/items/"+folder+":/minutes.txt:/content", e.member, "minutes")
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("upload: %d %s", resp.StatusCode, body)
			}
			item := "/v1.0/drives/" + d + "/items/" + folder
			bin := "/v1.0/drives/" + d + "/recycleBin/items"
			if code, _, raw := e.callJSON("GET", item+"/children", carolTok, ""); code != http.StatusOK {
				t.Fatalf("carol lists the shared folder: %d %s", code, raw)
			}

			e.clock.Advance(time.Minute)
			deletedAt := e.clock.Now()
			if resp, body := e.call("DELETE", item, e.member, ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
			}
			if r := e.lastRecord(gatehouse.OpFolderDeleted); r.SourceFileName != "Board papers" || r.UserID != "bob@example.com" {
				t.Errorf("FolderDeleted: %+v", r)
			}
			// Gone at once: for carol through her grant, in her Shared with
			// me, for the owner by id and in the listing.
			for _, c := range []struct{ who, tok, path string }{
				{"carol", carolTok, item}, {"carol", carolTok, item + "/children"},
				{"bob", e.member, item}, {"bob", e.member, item + "/children"}, {"bob", e.member, item + "/permissions"},
			} {
				if code, _, raw := e.callJSON("GET", c.path, c.tok, ""); code != http.StatusNotFound {
					t.Errorf("%s GET %s after delete: %d %s", c.who, c.path, code, raw)
				}
			}
			if _, m, _ := e.callJSON("GET", "/v1.0/me/drive/sharedWithMe", carolTok, ""); len(m["value"].([]any)) != 0 {
				t.Errorf("carol's sharedWithMe after delete: %v", m["value"])
			}
			if _, m, raw := e.callJSON("GET", "/v1.0/me/drive/root/children", e.member, ""); len(m["value"].([]any)) != 0 {
				t.Errorf("root after delete: %s", raw)
			}

			vals, next := e.binValue(bin, e.member)
			if len(vals) != 1 || next != "" {
				t.Fatalf("bin: %v next %q", vals, next)
			}
			got := vals[0]
			by, _ := got["deletedBy"].(map[string]any)["user"].(map[string]any)
			parent, _ := got["parentReference"].(map[string]any)
			fol, _ := got["folder"].(map[string]any)
			if got["id"] != folder || got["name"] != "Board papers" || got["title"] != "Board papers" || got["size"] != 7.0 ||
				!near(got["deletedDateTime"], deletedAt) ||
				by["email"] != "bob@example.com" || by["id"] != bob.ID || by["displayName"] != "Bob Member" ||
				parent["driveId"] != d || parent["path"] != "/drive/root:" || got["deletedFromLocation"] != "/drive/root:" ||
				fol["childCount"] != 1.0 || got["file"] != nil {
				t.Errorf("recycleBinItem: %v", got)
			}

			// Who may see the bin: not carol (a recipient here), not a guest.
			_, guestTok, _ := e.signInGuest()
			for _, c := range []struct{ who, tok string }{{"carol", carolTok}, {"guest", guestTok}} {
				for _, req := range [][2]string{{"GET", bin}, {"POST", item + "/restore"}, {"DELETE", bin + "/" + folder},
					{"POST", "/v1.0/drives/" + d + "/recycleBin/empty"}} {
					if code, _, raw := e.callJSON(req[0], req[1], c.tok, ""); code != http.StatusNotFound {
						t.Errorf("%s %s %s: %d %s, want 404", c.who, req[0], req[1], code, raw)
					}
				}
			}

			// Restore: the driveItem, back in place; the link dormant.
			code, m, raw := e.callJSON("POST", item+"/restore", e.member, "")
			if code != http.StatusOK || m["id"] != folder || m["name"] != "Board papers" || m["folder"] == nil {
				t.Fatalf("restore: %d %s", code, raw)
			}
			if r := e.lastRecord(gatehouse.OpFolderRestored); r.SourceFileName != "Board papers" || r.SourceRelativeURL != "/" {
				t.Errorf("FolderRestored: %+v", r)
			}
			if code, _, raw := e.callJSON("POST", item+"/restore", e.member, ""); code != http.StatusNotFound {
				t.Errorf("restore again: %d %s", code, raw)
			}
			code, m, raw = e.callJSON("GET", item+"/permissions", e.member, "")
			perms, _ := m["value"].([]any)
			if code != http.StatusOK || len(perms) != 1 || perms[0].(map[string]any)["dormant"] != true {
				t.Fatalf("permissions after restore: %d %s", code, raw)
			}
			if code, _, raw := e.callJSON("GET", item, carolTok, ""); code != http.StatusNotFound {
				t.Errorf("carol through a dormant link: %d %s", code, raw)
			}
			perm := item + "/permissions/" + e.link.ID
			if code, _, raw := e.callJSON("PATCH", perm, e.member, `{"dormant":true}`); code != http.StatusBadRequest || !strings.Contains(raw, "dormant") {
				t.Errorf("PATCH dormant true: %d %s", code, raw)
			}
			if code, _, raw := e.callJSON("PATCH", perm, carolTok, `{"dormant":false}`); code != http.StatusNotFound && code != http.StatusForbidden {
				t.Errorf("carol turns the link on: %d %s", code, raw)
			}
			code, m, raw = e.callJSON("PATCH", perm, e.member, `{"dormant":false}`)
			if code != http.StatusOK || m["dormant"] != false {
				t.Fatalf("PATCH dormant false: %d %s", code, raw)
			}
			if r := e.lastRecord(gatehouse.OpSecureLinkUpdated); eventData(t, r)["dormant"] != false || r.UniqueSharingID != e.link.ShareID {
				t.Errorf("SecureLinkUpdated: %+v", r)
			}
			if code, _, raw := e.callJSON("GET", item, carolTok, ""); code != http.StatusOK {
				t.Errorf("carol after the link is on again: %d %s", code, raw)
			}

			// Paging, purge one, empty the rest.
			for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
				resp, body := e.call("PUT", "/v1.0/drives/"+d+"/items/"+folder+":/"+name+":/content", e.member, name)
				var it struct{ ID string }
				json.Unmarshal([]byte(body), &it)
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("upload %s: %d %s", name, resp.StatusCode, body)
				}
				e.clock.Advance(time.Second)
				if resp, body := e.call("DELETE", "/v1.0/drives/"+d+"/items/"+it.ID, e.member, ""); resp.StatusCode != http.StatusNoContent {
					t.Fatalf("DELETE %s: %d %s", name, resp.StatusCode, body)
				}
			}
			var names []string
			page, next := e.binValue(bin+"?$top=2", e.member)
			for _, v := range page {
				names = append(names, v["name"].(string))
			}
			if next == "" {
				t.Fatal("no nextLink after 2 of 3")
			}
			page, next = e.binValue(strings.TrimPrefix(next, "https://files.example.com"), e.member)
			for _, v := range page {
				names = append(names, v["name"].(string))
			}
			if strings.Join(names, ",") != "c.txt,b.txt,a.txt" || next != "" {
				t.Errorf("bin pages: %v next %q", names, next)
			}
			if code, _, raw := e.callJSON("GET", bin+"?$skiptoken=nope", e.member, ""); code != http.StatusBadRequest {
				t.Errorf("bad skiptoken: %d %s", code, raw)
			}
			c := page[0]["id"].(string)
			if resp, body := e.call("DELETE", bin+"/"+c, e.member, ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("purge: %d %s", resp.StatusCode, body)
			}
			if r := e.lastRecord(gatehouse.OpFileDeletedFirstStageRecycleBin); r.SourceFileName != "a.txt" {
				t.Errorf("purge record: %+v", r)
			}
			if code, _, raw := e.callJSON("DELETE", bin+"/"+c, e.member, ""); code != http.StatusNotFound {
				t.Errorf("purge again: %d %s", code, raw)
			}
			if resp, body := e.call("POST", "/v1.0/drives/"+d+"/recycleBin/empty", e.member, ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("empty: %d %s", resp.StatusCode, body)
			}
			if vals, _ := e.binValue(bin, e.member); len(vals) != 0 {
				t.Errorf("bin after empty: %v", vals)
			}
			recs, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpFileDeletedFirstStageRecycleBin}, nil)
			if len(recs) != 3 {
				t.Errorf("purge records: %d, want 3", len(recs))
			}
		})
	}
}

// TestRecycleBinSiteAccess: a site's members may see, restore and purge
// its bin; a visitor is told they may only view (403); others get 404.
func TestRecycleBinSiteAccess(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			owner := e.member
			carol, carolTok := e.siteUser("carol@example.com")
			dave, daveTok := e.siteUser("dave@example.com")
			_, eveTok := e.siteUser("eve@example.com")
			code, m, raw := e.callJSON("POST", "/v1.0/sites", owner, `{"displayName":"Research"}`)
			if code != http.StatusCreated {
				t.Fatalf("create site: %d %s", code, raw)
			}
			site := "/v1.0/sites/" + m["id"].(string)
			d := m["drive"].(map[string]any)["id"].(string)
			for _, s := range []string{`{"recipients":[{"objectId":"` + carol.ID + `"}],"role":"write"}`, `{"recipients":[{"objectId":"` + dave.ID + `"}],"role":"read"}`} {
				if code, _, raw := e.callJSON("POST", site+"/share", owner, s); code != http.StatusOK {
					t.Fatalf("share site: %d %s", code, raw)
				}
			}
			_, root, _ := e.callJSON("GET", "/v1.0/drives/"+d+"/root", carolTok, "")
			resp, body := e.call("PUT", "/v1.0/drives/"+d+"/items/"+root["id"].(string)+":/data.csv:/content", carolTok, "a,b")
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("carol uploads: %d %s", resp.StatusCode, body)
			}
			var it struct{ ID string }
			json.Unmarshal([]byte(body), &it)
			if code, _, raw := e.callJSON("DELETE", "/v1.0/drives/"+d+"/items/"+it.ID, carolTok, ""); code != http.StatusNoContent {
				t.Fatalf("carol deletes: %d %s", code, raw)
			}
			bin := "/v1.0/drives/" + d + "/recycleBin/items"
			for _, c := range []struct {
				who, tok string
				want     int
			}{{"visitor dave", daveTok, http.StatusForbidden}, {"stranger eve", eveTok, http.StatusNotFound}, {"owner bob", owner, http.StatusOK}} {
				if code, _, raw := e.callJSON("GET", bin, c.tok, ""); code != c.want {
					t.Errorf("%s lists the site's bin: %d %s, want %d", c.who, code, raw, c.want)
				}
			}
			if vals, _ := e.binValue(bin, carolTok); len(vals) != 1 || vals[0]["name"] != "data.csv" {
				t.Errorf("member carol's view of the bin: %v", vals)
			}
			for _, c := range []struct{ who, tok string }{{"dave", daveTok}, {"eve", eveTok}} {
				if code, _, raw := e.callJSON("POST", "/v1.0/drives/"+d+"/items/"+it.ID+"/restore", c.tok, ""); code == http.StatusOK {
					t.Errorf("%s restores: %d %s", c.who, code, raw)
				}
			}
			if code, m, raw := e.callJSON("POST", "/v1.0/drives/"+d+"/items/"+it.ID+"/restore", carolTok, ""); code != http.StatusOK || m["name"] != "data.csv" {
				t.Errorf("member carol restores: %d %s", code, raw)
			}
		})
	}
}
