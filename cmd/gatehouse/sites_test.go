package main

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// sitesFlowDB opens the server's database directly, to look for rows the
// API no longer shows.
func sitesFlowDB(t *testing.T, s *server) (*sql.DB, func(string) string) {
	t.Helper()
	dsn := s.Config.Database
	driver, src := "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	if strings.HasPrefix(dsn, "postgres") {
		driver, src = "pgx", dsn
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rebind := func(q string) string {
		if driver != "pgx" {
			return q
		}
		return strings.Replace(q, "?", "$1", 1)
	}
	return db, rebind
}

// TestSiteShareFlow runs a site end to end over HTTP with real SMTP: a
// member creates it and uploads, shares it with a member and with an
// outside address, whose invitation mail is redeemed by code; the guest
// lists the site's files with their session until removed from the group;
// a pending guest's deletion revokes; and the site's deletion leaves no
// item, link or recipient behind.
func TestSiteShareFlow(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGuestEnv(t, b) // olivia@example.com owns; ada@example.com administers
			mia := e.s.addUser("mia@example.com", "Mia Member", "correct horse battery", false)
			m := &apiClient{t: t, base: e.s.URL, token: e.s.token(mia)}

			site := e.owner.json("POST", "/v1.0/sites", map[string]any{"displayName": "Launch", "description": "The launch"}, 201)
			id := site["id"].(string)
			webURL := site["webUrl"].(string)
			if webURL != e.s.URL+"/sites/"+id {
				t.Fatalf("webUrl %s", webURL)
			}
			drive := e.owner.json("GET", "/v1.0/sites/"+id+"/drive", nil, 200)
			if drive["driveType"] != "documentLibrary" || drive["id"] != site["drive"].(map[string]any)["id"] {
				t.Fatalf("site drive %v", drive)
			}
			driveID, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + driveID + "/items/"
			file := e.owner.json("PUT", items+root+":/brief.txt:/content", "the brief\n", 201)["id"].(string)
			folder := e.owner.json("POST", items+root+"/children", map[string]any{"name": "Assets", "folder": map[string]any{}}, 201)["id"].(string)
			if recs := e.records(t, "SiteCollectionCreated", "olivia@example.com"); len(recs) != 1 || recs[0]["ObjectId"] != webURL {
				t.Fatalf("SiteCollectionCreated %v", recs)
			}

			// A member: added at once, and edits.
			res := e.owner.json("POST", "/v1.0/sites/"+id+"/share", map[string]any{
				"recipients": []any{map[string]any{"objectId": mia.ID}}, "role": "write"}, 200)["value"].([]any)
			if len(res) != 1 || res[0].(map[string]any)["state"] != "added" {
				t.Fatalf("share to mia: %v", res)
			}
			m.json("PUT", items+folder+":/logo.txt:/content", "logo\n", 201)

			// An outside address: a guest invitation naming the site.
			erin := "erin@outside.example"
			res = e.owner.json("POST", "/v1.0/sites/"+id+"/share", map[string]any{
				"recipients": []any{map[string]any{"email": erin}}, "role": "read", "message": "Welcome to the launch team"}, 200)["value"].([]any)
			r0 := res[0].(map[string]any)
			erinID, _ := r0["userId"].(string)
			if len(res) != 1 || r0["state"] != "invited" || erinID == "" || r0["email"] != erin || r0["role"] != "read" {
				t.Fatalf("share to erin: %v", res)
			}
			if u := e.admin.json("GET", "/v1.0/users/"+erinID, nil, 200); u["userType"] != "Guest" || u["externalUserState"] != "PendingAcceptance" {
				t.Fatalf("pending guest %v", u)
			}
			recs := e.records(t, "SharingInvitationCreated", "olivia@example.com")
			if len(recs) != 1 || recs[0]["ObjectId"] != webURL || recs[0]["TargetUserOrGroupName"] != erin {
				t.Fatalf("SharingInvitationCreated %v", recs)
			}
			mail := e.smtp.WaitFor(t, erin, 10*time.Second)
			if !strings.Contains(mail.Subject, "Launch") || !strings.Contains(mail.Text, "Welcome to the launch team") {
				t.Errorf("invitation mail %q:\n%s", mail.Subject, mail.Text)
			}
			redeem := mailtest.ExtractLink(t, mail, e.s.URL+"/invite/")

			// Not yet redeemed: nothing in the site for the guest.
			if recs := e.records(t, "AddedToGroup", "olivia@example.com"); len(recs) != 2 { // olivia herself, then mia
				t.Errorf("AddedToGroup before redemption %v", recs)
			}

			rc := newRecipient(t)
			if st, page := invitePage(t, rc, redeem); st != 200 || !strings.Contains(page, erin) {
				t.Fatalf("redemption page: %d %s", st, page)
			}
			if st, _, body := rc.call("POST", redeem+"/passcode", map[string]any{}); st != 200 {
				t.Fatalf("passcode: %d %s", st, body)
			}
			code := mailtest.Code(t, e.smtp.WaitFor(t, erin, 10*time.Second))
			st, hdr, body := rc.call("POST", redeem+"/verify", map[string]any{"code": code})
			var out map[string]string
			if st != 200 || json.Unmarshal(body, &out) != nil || out["redirectUrl"] != "/sites/"+id || !setsSession(hdr) {
				t.Fatalf("verify: %d %s", st, body)
			}
			accepted := e.records(t, "SharingInvitationAccepted", erin)
			added := e.records(t, "AddedToGroup", erin)
			if len(accepted) != 1 || len(added) != 1 || added[0]["TargetUserOrGroupName"] != erin || added[0]["TargetUserOrGroupType"] != "Guest" ||
				!strings.Contains(added[0]["EventData"].(string), "Launch Visitors") {
				t.Fatalf("redemption records: accepted %v, added %v", accepted, added)
			}
			if accepted[0]["CreationTime"].(string) > added[0]["CreationTime"].(string) {
				t.Errorf("AddedToGroup before SharingInvitationAccepted")
			}

			// The guest, with the session the redemption set, reads the site.
			st, _, body = rc.call("GET", e.s.URL+items+root+"/children", nil)
			if st != 200 || !strings.Contains(string(body), "brief.txt") || !strings.Contains(string(body), "Assets") {
				t.Fatalf("guest lists the site: %d %s", st, body)
			}
			if st, _, body := rc.call("GET", e.s.URL+"/v1.0/sites", nil); st != 200 || !strings.Contains(string(body), `"id":"`+id+`"`) {
				t.Errorf("guest's sites: %d %s", st, body)
			}
			if st, _, body := rc.call("GET", e.s.URL+items+file+"/content", nil); st != 200 || string(body) != "the brief\n" {
				t.Errorf("guest downloads: %d %s", st, body)
			}

			// Removed from the group: 404 at once, on every route.
			visitors := e.s.Store
			st2, err := visitors.Site(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if code, _, body := e.owner.do("DELETE", "/v1.0/groups/"+st2.VisitorsGroupID+"/members/"+erinID+"/$ref", nil); code != http.StatusNoContent {
				t.Fatalf("remove erin: %d %s", code, body)
			}
			for _, p := range []string{items + root + "/children", items + file, items + file + "/content", "/v1.0/sites/" + id, "/v1.0/sites/" + id + "/drive"} {
				if st, _, body := rc.call("GET", e.s.URL+p, nil); st != 404 {
					t.Errorf("removed guest GET %s: %d %s", p, st, body)
				}
			}

			// A partner's address redeems through its partner's sign-in and
			// lands on the site, a member of its Members group.
			dana := "dana@fabrikam.example"
			e.owner.json("POST", "/v1.0/sites/"+id+"/share", map[string]any{
				"recipients": []any{map[string]any{"email": dana}}, "role": "write"}, 200)
			redeem = mailtest.ExtractLink(t, e.smtp.WaitFor(t, dana, 10*time.Second), e.s.URL+"/invite/")
			dc := newRecipient(t)
			_, _, body = dc.call("GET", redeem, nil)
			var v map[string]string
			if json.Unmarshal(body, &v) != nil || v["signInUrl"] == "" {
				t.Fatalf("partner redemption page: %s", body)
			}
			st, hdr, body = callback(t, dc, e.op.SignIn(t, v["signInUrl"], "Dana@Fabrikam.example", false))
			if st != 303 || hdr.Get("Location") != "/sites/"+id || !setsSession(hdr) {
				t.Fatalf("partner callback: %d to %q: %s", st, hdr.Get("Location"), body)
			}
			if added := e.records(t, "AddedToGroup", dana); len(added) != 1 || !strings.Contains(added[0]["EventData"].(string), "Launch Members") {
				t.Errorf("AddedToGroup for dana %v", added)
			}
			if st, _, body := dc.call("GET", e.s.URL+items+folder+"/children", nil); st != 200 || !strings.Contains(string(body), "logo.txt") {
				t.Errorf("dana lists the site: %d %s", st, body)
			}

			// A pending guest deleted: the invitation is revoked.
			res = e.owner.json("POST", "/v1.0/sites/"+id+"/share", map[string]any{
				"recipients": []any{map[string]any{"email": "zed@outside.example"}}, "role": "write"}, 200)["value"].([]any)
			zed := res[0].(map[string]any)["userId"].(string)
			e.admin.json("DELETE", "/v1.0/users/"+zed, nil, 204)
			if recs := e.records(t, "SharingInvitationRevoked", "ada@example.com"); len(recs) != 1 || recs[0]["TargetUserOrGroupName"] != "zed@outside.example" {
				t.Errorf("SharingInvitationRevoked %v", recs)
			}

			// A link in the site, then the site's deletion.
			inv := m.json("POST", items+file+"/invite", map[string]any{"recipients": []any{map[string]any{"email": "friend@outside.example"}},
				"roles": []string{"read"}, "requireSignIn": true, "sendInvitation": false}, 200)
			link := inv["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)
			if st, _, _ := newRecipient(t).call("GET", link, nil); st != 200 {
				t.Fatalf("the link before deletion: %d", st)
			}
			m.json("DELETE", "/v1.0/sites/"+id, nil, 403)
			e.owner.json("DELETE", "/v1.0/sites/"+id, nil, 204)
			if recs := e.records(t, "SiteDeleted", "olivia@example.com"); len(recs) != 1 || recs[0]["ObjectId"] != webURL {
				t.Errorf("SiteDeleted %v", recs)
			}
			if recs := e.records(t, "SecureLinkDeleted", "olivia@example.com"); len(recs) != 1 {
				t.Errorf("SecureLinkDeleted %v", recs)
			}
			for _, c := range []*apiClient{e.owner, m, e.admin} {
				for _, it := range []string{root, file, folder} {
					for _, p := range []string{items + it, items + it + "/children", items + it + "/content", items + it + "/permissions"} {
						if code, _, body := c.do("GET", p, nil); code != 404 {
							t.Errorf("GET %s after deletion: %d %s", p, code, body)
						}
					}
				}
				for _, p := range []string{"/v1.0/sites/" + id, "/v1.0/sites/" + id + "/drive", "/v1.0/drives/" + driveID} {
					if code, _, body := c.do("GET", p, nil); code != 404 {
						t.Errorf("GET %s after deletion: %d %s", p, code, body)
					}
				}
			}
			if st, _, body := newRecipient(t).call("GET", link, nil); st != 404 {
				t.Errorf("the former link: %d %s", st, body)
			}
			db, rebind := sitesFlowDB(t, e.s)
			for _, q := range []string{
				`SELECT COUNT(*) FROM links WHERE drive_id = ?`,
				`SELECT COUNT(*) FROM link_recipients r WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.id = r.link_id) OR r.link_id IN (SELECT id FROM links WHERE drive_id = ?)`,
				`SELECT COUNT(*) FROM link_groups lg WHERE lg.link_id IN (SELECT id FROM links WHERE drive_id = ?)`,
				`SELECT COUNT(*) FROM items WHERE drive_id = ?`,
				`SELECT COUNT(*) FROM security_groups WHERE drive_id = ?`,
			} {
				var n int
				if err := db.QueryRow(rebind(q), driveID).Scan(&n); err != nil || n != 0 {
					t.Errorf("%s: %d rows, %v", q, n, err)
				}
			}
		})
	}
}
