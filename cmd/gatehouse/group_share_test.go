package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"gatehouse/internal/testenv"
)

// TestGroupShareEveryRoute: a folder shared with a group opens to a
// current member with no code on every route a signed-in user has (the
// API with a bearer token or a web session, and the link page signed in),
// and taking them out of the group closes every one of them with the next
// request. The records name the group.
func TestGroupShareEveryRoute(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			ann := s.addUser("ann@example.com", "Ann Owner", "correct horse battery", false)
			bob := s.addUser("bob@example.com", "Bob Member", "correct horse battery", false)
			s.addUser("carl@example.com", "Carl Outside", "correct horse battery", false)
			admin := s.addUser("ada@example.com", "Ada Admin", "correct horse battery", true)
			a := &apiClient{t: t, base: s.URL, token: s.token(ann)}
			bt := &apiClient{t: t, base: s.URL, token: s.token(bob)}
			ad := &apiClient{t: t, base: s.URL, token: s.token(admin)}

			drive := a.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			docs := a.json("POST", items+root+"/children", map[string]any{"name": "docs", "folder": map[string]any{}}, 201)["id"].(string)
			plan := a.json("PUT", items+docs+":/plan.txt:/content", "the plan", 201)["id"].(string)

			g := a.json("POST", "/v1.0/groups", map[string]any{"displayName": "Design team", "mailNickname": "design", "securityEnabled": true}, 201)["id"].(string)
			if st, _, out := a.do("POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": s.URL + "/v1.0/directoryObjects/" + bob.ID}); st != 204 {
				t.Fatalf("add bob to the group: %d %s", st, out)
			}
			resp := a.json("POST", items+docs+"/invite", map[string]any{"recipients": []any{map[string]any{"objectId": g}},
				"roles": []string{"read"}, "requireSignIn": true, "sendInvitation": false}, 200)
			perm := resp["value"].([]any)[0].(map[string]any)
			grantees := perm["grantedToIdentitiesV2"].([]any)
			if len(grantees) != 1 || grantees[0].(map[string]any)["group"].(map[string]any)["displayName"] != "Design team" {
				t.Fatalf("grantedToIdentitiesV2 = %v, want the group", grantees)
			}
			webURL := perm["link"].(map[string]any)["webUrl"].(string)

			// Bob's web session, for the API and the link page.
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			session := sessionCookie(t, signIn(t, c, s.URL, "bob@example.com", "correct horse battery"))
			web := func(path string) (int, []byte) {
				t.Helper()
				req, _ := http.NewRequest("GET", path, nil)
				req.AddCookie(session)
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var buf bytes.Buffer
				buf.ReadFrom(res.Body)
				return res.StatusCode, buf.Bytes()
			}
			type route struct {
				name string
				get  func() (int, []byte)
				want string // in the body of a 200
			}
			api := func(p string) func() (int, []byte) {
				return func() (int, []byte) { st, _, out := bt.do("GET", p, nil); return st, out }
			}
			routes := []route{
				{"API item (bearer)", api(items + plan), `"plan.txt"`},
				{"API folder listing (bearer)", api(items + docs + "/children"), `"plan.txt"`},
				{"API content (bearer)", api(items + plan + "/content"), "the plan"},
				{"API item (web session)", func() (int, []byte) { return web(s.URL + items + plan) }, `"plan.txt"`},
				{"API content (web session)", func() (int, []byte) { return web(s.URL + items + plan + "/content") }, "the plan"},
				{"link page signed in", func() (int, []byte) { return web(webURL) }, "plan.txt"},
				{"link page content signed in", func() (int, []byte) { return web(webURL + "/items/" + plan + "/content") }, "the plan"},
			}
			for _, rt := range routes {
				if st, out := rt.get(); st != 200 || !strings.Contains(string(out), rt.want) {
					t.Errorf("%s as a group member: %d %.200s", rt.name, st, out)
				}
			}
			// The rest of Ann's drive stays closed to Bob.
			if st, _, _ := bt.do("GET", items+root+"/children", nil); st != 404 {
				t.Errorf("bob lists ann's root: %d, want 404", st)
			}
			if st, _, _ := bt.do("PUT", items+docs+":/new.txt:/content", "x"); st != 403 {
				t.Errorf("bob uploads through a view share: %d, want 403", st)
			}

			// Out of the group: every route closes with the next request.
			if st, _, out := a.do("DELETE", "/v1.0/groups/"+g+"/members/"+bob.ID+"/$ref", nil); st != 204 {
				t.Fatalf("remove bob: %d %s", st, out)
			}
			for _, rt := range routes {
				st, out := rt.get()
				if st == 200 && strings.Contains(string(out), rt.want) || st == 200 && rt.name != "link page signed in" || st >= 500 {
					t.Errorf("%s after removal from the group: %d %.200s", rt.name, st, out)
				}
			}

			// The records name the group, and Bob's downloads.
			recs := ad.json("GET", "/v1.0/auditLog/records?operation=AddedToSecureLink", nil, 200)["value"].([]any)
			if len(recs) != 1 || recs[0].(map[string]any)["TargetUserOrGroupName"] != "Design team" ||
				recs[0].(map[string]any)["TargetUserOrGroupType"] != "SecurityGroup" {
				t.Errorf("AddedToSecureLink records: %v", recs)
			}
			recs = ad.json("GET", "/v1.0/auditLog/records?operation=RemovedFromGroup", nil, 200)["value"].([]any)
			if len(recs) != 1 || recs[0].(map[string]any)["TargetUserOrGroupName"] != "bob@example.com" {
				t.Errorf("RemovedFromGroup records: %v", recs)
			}
			recs = ad.json("GET", "/v1.0/auditLog/records?operation=FileDownloaded&userId=bob@example.com", nil, 200)["value"].([]any)
			if len(recs) != 3 {
				t.Errorf("bob's FileDownloaded records: %d, want 3 (bearer, session, link page)", len(recs))
			}
		})
	}
}
