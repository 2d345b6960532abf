package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// siteUser adds a member and returns it with a bearer token.
func (e *adminEnv) siteUser(email string) (*gatehouse.User, string) {
	e.t.Helper()
	u, err := e.s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: email, DisplayName: "User " + email, Password: "correct horse battery"})
	if err != nil {
		e.t.Fatal(err)
	}
	_, tok, err := e.s.CreateToken(ctx, u.ID, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return u, tok
}

// callJSON sends a request and decodes a JSON object answer.
func (e *adminEnv) callJSON(method, path, token, body string) (int, map[string]any, string) {
	e.t.Helper()
	resp, raw := e.call(method, path, token, body)
	var m map[string]any
	json.Unmarshal([]byte(raw), &m)
	return resp.StatusCode, m, raw
}

func TestSitesAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			mux := http.NewServeMux()
			api.New(e.s, api.Config{BaseURL: "https://files.example.com", MaxUpload: 1 << 20, OrgDomains: []string{"example.com"}}).Register(mux)
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			e.url = srv.URL
			owner := e.member // bob
			carol, carolTok := e.siteUser("carol@example.com")
			_, daveTok := e.siteUser("dave@example.com")
			_, eveTok := e.siteUser("eve@example.com")

			code, m, raw := e.callJSON("POST", "/v1.0/sites", owner, `{"displayName":"Research","description":"Lab notes"}`)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, raw)
			}
			id, _ := m["id"].(string)
			drive, _ := m["drive"].(map[string]any)
			if id == "" || m["displayName"] != "Research" || m["description"] != "Lab notes" || m["webUrl"] != "https://files.example.com/sites/"+id ||
				m["createdDateTime"] == nil || drive == nil || drive["id"] == "" || drive["driveType"] != gatehouse.DriveTypeLibrary {
				t.Fatalf("created %s", raw)
			}
			driveID := drive["id"].(string)
			site := "/v1.0/sites/" + id
			recs, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSiteCollectionCreated}, nil)
			if len(recs) != 1 || recs[0].ObjectID != "https://files.example.com/sites/"+id || recs[0].UserID != "bob@example.com" {
				t.Fatalf("SiteCollectionCreated %+v", recs)
			}

			for _, c := range []struct {
				name, token, body string
				want              int
			}{
				{"no name", owner, `{"description":"x"}`, http.StatusBadRequest},
				{"empty name", owner, `{"displayName":" "}`, http.StatusBadRequest},
				{"unknown field", owner, `{"displayName":"X","template":"team"}`, http.StatusBadRequest},
				{"not JSON", owner, `displayName=X`, http.StatusBadRequest},
				{"anonymous", "", `{"displayName":"X"}`, http.StatusUnauthorized},
			} {
				if code, _, raw := e.callJSON("POST", "/v1.0/sites", c.token, c.body); code != c.want {
					t.Errorf("create, %s: %d %s, want %d", c.name, code, raw, c.want)
				}
			}

			code, m, raw = e.callJSON("POST", site+"/share", owner, `{"recipients":[{"objectId":"`+carol.ID+`"}],"role":"write"}`)
			if v, _ := m["value"].([]any); code != http.StatusOK || len(v) != 1 ||
				v[0].(map[string]any)["state"] != "added" || v[0].(map[string]any)["userId"] != carol.ID || v[0].(map[string]any)["role"] != "write" ||
				v[0].(map[string]any)["email"] != "carol@example.com" {
				t.Fatalf("share to carol: %d %s", code, raw)
			}
			if code, _, raw := e.callJSON("POST", site+"/share", owner, `{"recipients":[{"email":"Dave@Example.com"}],"role":"read"}`); code != http.StatusOK {
				t.Fatalf("share to dave: %d %s", code, raw)
			}
			code, m, raw = e.callJSON("POST", site+"/share", owner,
				`{"recipients":[{"email":"erin@outside.example"}],"role":"read","message":"Have a look"}`)
			v, _ := m["value"].([]any)
			if code != http.StatusOK || len(v) != 1 || v[0].(map[string]any)["state"] != "invited" || v[0].(map[string]any)["userId"] == "" {
				t.Fatalf("share to erin: %d %s", code, raw)
			}
			guest, err := e.s.User(ctx, v[0].(map[string]any)["userId"].(string))
			if err != nil || guest.Email != "erin@outside.example" || guest.UserType != gatehouse.UserTypeGuest {
				t.Fatalf("pending guest %+v %v", guest, err)
			}
			recs, _, _ = e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationCreated, Limit: 1}, nil)
			if len(recs) != 1 || recs[0].ObjectID != "https://files.example.com/sites/"+id || recs[0].TargetUserOrGroupName != "erin@outside.example" {
				t.Fatalf("SharingInvitationCreated %+v", recs)
			}

			for _, c := range []struct {
				name, token, body string
				want              int
			}{
				{"a site member", carolTok, `{"recipients":[{"email":"eve@example.com"}],"role":"read"}`, http.StatusForbidden},
				{"an outsider", eveTok, `{"recipients":[{"email":"eve@example.com"}],"role":"read"}`, http.StatusNotFound},
				{"organization address not in the directory", owner, `{"recipients":[{"email":"zoe@example.com"}],"role":"read"}`, http.StatusBadRequest},
				{"bad role", owner, `{"recipients":[{"email":"eve@example.com"}],"role":"admin"}`, http.StatusBadRequest},
				{"no role", owner, `{"recipients":[{"email":"eve@example.com"}]}`, http.StatusBadRequest},
				{"no recipients", owner, `{"recipients":[],"role":"read"}`, http.StatusBadRequest},
				{"both email and objectId", owner, `{"recipients":[{"email":"eve@example.com","objectId":"x"}],"role":"read"}`, http.StatusBadRequest},
				{"unknown user id", owner, `{"recipients":[{"objectId":"nosuchuser"}],"role":"read"}`, http.StatusNotFound},
				{"bad address", owner, `{"recipients":[{"email":"not an address"}],"role":"read"}`, http.StatusBadRequest},
				{"message too long", owner, `{"recipients":[{"email":"eve@example.com"}],"role":"read","message":"` + strings.Repeat("a", gatehouse.MaxShareMessage+1) + `"}`, http.StatusBadRequest},
				{"unknown field", owner, `{"recipients":[{"email":"eve@example.com"}],"role":"read","notify":true}`, http.StatusBadRequest},
			} {
				if code, _, raw := e.callJSON("POST", site+"/share", c.token, c.body); code != c.want {
					t.Errorf("share, %s: %d %s, want %d", c.name, code, raw, c.want)
				}
			}
			if n, err := e.s.UserByEmail(ctx, "zoe@example.com"); err == nil {
				t.Errorf("a guest was made for an organization address: %+v", n)
			}

			// Who sees the site.
			for _, c := range []struct {
				who, token string
				want       int
			}{{"owner", owner, 200}, {"member", carolTok, 200}, {"visitor", daveTok, 200}, {"admin", e.admin, 200}, {"outsider", eveTok, 404}} {
				if code, _, raw := e.callJSON("GET", site, c.token, ""); code != c.want {
					t.Errorf("%s GET site: %d %s", c.who, code, raw)
				}
				if code, _, raw := e.callJSON("GET", site+"/drive", c.token, ""); code != c.want {
					t.Errorf("%s GET site drive: %d %s", c.who, code, raw)
				}
			}
			for _, p := range []string{site + "/drive", "/v1.0/drives/" + driveID} {
				code, m, raw = e.callJSON("GET", p, daveTok, "")
				if code != 200 || m["id"] != driveID || m["driveType"] != gatehouse.DriveTypeLibrary || m["root"] == nil ||
					m["name"] != "Documents" || !strings.HasSuffix(m["webUrl"].(string), "/sites/"+id) || m["owner"] != nil {
					t.Errorf("site drive at %s: %s", p, raw)
				}
			}
			listed := func(token string) string {
				t.Helper()
				code, m, raw := e.callJSON("GET", "/v1.0/sites", token, "")
				v, ok := m["value"].([]any)
				if code != 200 || !ok {
					t.Fatalf("GET /v1.0/sites: %d %s", code, raw)
				}
				var names []string
				for _, s := range v {
					names = append(names, s.(map[string]any)["displayName"].(string))
				}
				sort.Strings(names)
				return strings.Join(names, ",")
			}
			if code, _, raw := e.callJSON("POST", "/v1.0/sites", eveTok, `{"displayName":"Eve's"}`); code != http.StatusCreated {
				t.Fatalf("eve creates: %d %s", code, raw)
			}
			for token, want := range map[string]string{owner: "Research", daveTok: "Research", eveTok: "Eve's", e.admin: "Eve's,Research"} {
				if got := listed(token); got != want {
					t.Errorf("sites listed %q, want %q", got, want)
				}
			}
			code, m, raw = e.callJSON("GET", "/v1.0/sites?$top=1", e.admin, "")
			next, _ := m["@odata.nextLink"].(string)
			if code != 200 || !strings.HasPrefix(next, "https://files.example.com/v1.0/sites?") {
				t.Fatalf("first page %s", raw)
			}
			code, m, raw = e.callJSON("GET", strings.TrimPrefix(next, "https://files.example.com"), e.admin, "")
			if v, _ := m["value"].([]any); code != 200 || len(v) != 1 || v[0].(map[string]any)["displayName"] != "Research" || m["@odata.nextLink"] != nil {
				t.Errorf("second page %s", raw)
			}

			if code, m, raw := e.callJSON("GET", "/v1.0/me/drive/root", owner, ""); code != 200 ||
				m["parentReference"].(map[string]any)["driveType"] != gatehouse.DriveTypePersonal {
				t.Errorf("a personal root: %d %s", code, raw)
			}

			// The drive API on the site's drive, by role.
			var root string
			if code, m, raw := e.callJSON("GET", "/v1.0/drives/"+driveID+"/root", daveTok, ""); code != 200 {
				t.Fatalf("visitor root: %d %s", code, raw)
			} else {
				root = m["id"].(string)
			}
			items := "/v1.0/drives/" + driveID + "/items/"
			upload := func(token, name string) (int, map[string]any, string) {
				return e.callJSON("PUT", items+root+":/"+name+":/content", token, "content of "+name)
			}
			code, m, raw = upload(carolTok, "results.txt")
			if code != http.StatusCreated {
				t.Fatalf("member uploads: %d %s", code, raw)
			}
			file := m["id"].(string)
			if ref, _ := m["parentReference"].(map[string]any); ref == nil || ref["driveId"] != driveID || ref["driveType"] != gatehouse.DriveTypeLibrary {
				t.Errorf("uploaded item %s", raw)
			}
			if code, _, raw := upload(carolTok, "results.txt"); code != http.StatusOK {
				t.Errorf("member uploads a second version: %d %s", code, raw)
			}
			if code, _, raw := upload(daveTok, "visitor.txt"); code != http.StatusForbidden {
				t.Errorf("visitor uploads: %d %s, want 403", code, raw)
			}
			if code, _, raw := upload(eveTok, "outsider.txt"); code != http.StatusNotFound {
				t.Errorf("outsider uploads: %d %s, want 404", code, raw)
			}
			code, m, raw = e.callJSON("POST", items+root+"/children", carolTok, `{"name":"Data","folder":{}}`)
			if code != http.StatusCreated {
				t.Fatalf("member creates a folder: %d %s", code, raw)
			}
			folder := m["id"].(string)
			if code, m, raw := e.callJSON("GET", items+root+"/children", daveTok, ""); code != 200 || len(m["value"].([]any)) != 2 {
				t.Errorf("visitor lists: %d %s", code, raw)
			} else {
				for _, v := range m["value"].([]any) {
					if ref := v.(map[string]any)["parentReference"].(map[string]any); ref["driveType"] != gatehouse.DriveTypeLibrary {
						t.Errorf("listed item's parentReference %v", ref)
					}
				}
			}
			if code, m, _ := e.callJSON("GET", items+folder, daveTok, ""); code != 200 || m["parentReference"].(map[string]any)["driveType"] != gatehouse.DriveTypeLibrary {
				t.Errorf("folder's parentReference %v", m["parentReference"])
			}
			if resp, body := e.call("GET", items+file+"/content", daveTok, ""); resp.StatusCode != 200 || body != "content of results.txt" {
				t.Errorf("visitor downloads: %d %s", resp.StatusCode, body)
			}
			if code, _, raw := e.callJSON("GET", items+file, eveTok, ""); code != http.StatusNotFound {
				t.Errorf("outsider reads an item: %d %s", code, raw)
			}
			code, m, raw = e.callJSON("POST", items+file+"/invite", carolTok,
				`{"recipients":[{"email":"friend@outside.example"}],"roles":["read"],"requireSignIn":true,"sendInvitation":false}`)
			if code != http.StatusOK {
				t.Fatalf("member shares an item: %d %s", code, raw)
			}
			links, err := e.s.Links(ctx, driveID, file)
			if err != nil || len(links) != 1 {
				t.Fatalf("links %+v %v", links, err)
			}
			token := links[0].Token

			// Removing the member from the group ends their access at once.
			if err := e.s.RemoveGroupMember(ctx, gatehouse.SystemActor(), siteGroup(t, e, id, gatehouse.AccessWrite), carol.ID, gatehouse.GroupMember); err != nil {
				t.Fatal(err)
			}
			if code, _, raw := e.callJSON("GET", items+file, carolTok, ""); code != http.StatusNotFound {
				t.Errorf("removed member reads: %d %s", code, raw)
			}
			if code, _, raw := e.callJSON("GET", site, carolTok, ""); code != http.StatusNotFound {
				t.Errorf("removed member sees the site: %d %s", code, raw)
			}
			if _, err := e.s.ShareSite(ctx, gatehouse.SystemActor(), id, store.SiteShare{Role: "write",
				Recipients: []store.SiteRecipient{{ObjectID: carol.ID}}}); err != nil {
				t.Fatal(err)
			}

			// Deletion: owners and administrators only; then nothing is left.
			if code, _, raw := e.callJSON("DELETE", site, carolTok, ""); code != http.StatusForbidden {
				t.Errorf("member deletes the site: %d %s", code, raw)
			}
			if code, _, raw := e.callJSON("DELETE", site, eveTok, ""); code != http.StatusNotFound {
				t.Errorf("outsider deletes the site: %d %s", code, raw)
			}
			if resp, raw := e.call("DELETE", site, owner, ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("owner deletes the site: %d %s", resp.StatusCode, raw)
			}
			recs, _, _ = e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSiteDeleted}, nil)
			if len(recs) != 1 || recs[0].ObjectID != "https://files.example.com/sites/"+id || recs[0].UserID != "bob@example.com" {
				t.Errorf("SiteDeleted %+v", recs)
			}
			for _, tok := range []string{owner, carolTok, e.admin} {
				for _, p := range []string{site, site + "/drive", "/v1.0/drives/" + driveID, "/v1.0/drives/" + driveID + "/root"} {
					if code, _, raw := e.callJSON("GET", p, tok, ""); code != http.StatusNotFound {
						t.Errorf("GET %s after deletion: %d %s", p, code, raw)
					}
				}
				for _, it := range []string{root, file, folder} {
					for _, p := range []string{items + it, items + it + "/children", items + it + "/content", items + it + "/permissions"} {
						if resp, raw := e.call("GET", p, tok, ""); resp.StatusCode != http.StatusNotFound {
							t.Errorf("GET %s after deletion: %d %s", p, resp.StatusCode, raw)
						}
					}
				}
			}
			if _, err := e.s.LinkByToken(ctx, token); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("the former link: %v", err)
			}
			if code, _, raw := e.callJSON("DELETE", site, owner, ""); code != http.StatusNotFound {
				t.Errorf("deleting again: %d %s", code, raw)
			}
		})
	}
}

// siteGroup returns the id of a site's group of the access.
func siteGroup(t *testing.T, e *adminEnv, siteID string, a gatehouse.DriveAccess) string {
	t.Helper()
	st, err := e.s.Site(ctx, siteID)
	if err != nil {
		t.Fatal(err)
	}
	switch a {
	case gatehouse.AccessOwner:
		return st.OwnersGroupID
	case gatehouse.AccessWrite:
		return st.MembersGroupID
	}
	return st.VisitorsGroupID
}
