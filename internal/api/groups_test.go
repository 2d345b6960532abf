package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// groupsEnv adds to the admin env a second member, carol, and a guest, each
// with a bearer token.
type groupsEnv struct {
	*adminEnv
	carol, guest       *gatehouse.User
	carolTok, guestTok string
}

func newGroupsEnv(t *testing.T, b testenv.Backend) *groupsEnv {
	t.Helper()
	e := &groupsEnv{adminEnv: newAdminEnv(t, b)}
	var err error
	if e.carol, err = e.s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "carol@example.com",
		DisplayName: "Carol Member", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	inv, err := e.s.CreateInvitation(ctx, gatehouse.SystemActor(), store.InviteRequest{Email: "erin@outside.example", DisplayName: "Erin O"})
	if err != nil {
		t.Fatal(err)
	}
	if e.guest, err = e.s.User(ctx, inv.UserID); err != nil {
		t.Fatal(err)
	}
	if _, e.carolTok, err = e.s.CreateToken(ctx, e.carol.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, e.guestTok, err = e.s.CreateToken(ctx, e.guest.ID, "test"); err != nil {
		t.Fatal(err)
	}
	return e
}

// json sends a request and decodes an object answer.
func (e *groupsEnv) json(method, path, token, body string) (int, map[string]any, string) {
	e.t.Helper()
	resp, raw := e.call(method, path, token, body)
	var m map[string]any
	json.Unmarshal([]byte(raw), &m)
	return resp.StatusCode, m, raw
}

func (e *groupsEnv) want(method, path, token, body string, want int) string {
	e.t.Helper()
	code, _, raw := e.json(method, path, token, body)
	if code != want {
		e.t.Errorf("%s %s: got %d, want %d: %s", method, path, code, want, raw)
	}
	return raw
}

// odataRef is an @odata.id body.
func odataRef(s string) string {
	b, _ := json.Marshal(map[string]string{"@odata.id": s})
	return string(b)
}

// collect follows @odata.nextLink from path and returns field of every
// value.
func (e *groupsEnv) collect(path, token, field string) (got []string, pages int) {
	e.t.Helper()
	for path != "" && pages < 20 {
		code, m, raw := e.json("GET", path, token, "")
		if code != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", path, code, raw)
		}
		vals, _ := m["value"].([]any)
		for _, v := range vals {
			got = append(got, v.(map[string]any)[field].(string))
		}
		pages++
		next, _ := m["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, "https://files.example.com/v1.0/") {
			e.t.Fatalf("nextLink %q", next)
		}
		path = strings.TrimPrefix(next, "https://files.example.com")
	}
	return got, pages
}

const groupsBase = "https://files.example.com"

func TestGroupsAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGroupsEnv(t, b)
			bob, err := e.s.UserByToken(ctx, e.member)
			if err != nil {
				t.Fatal(err)
			}

			// A member creates a group and owns it.
			resp, raw := e.call("POST", "/v1.0/groups", e.member,
				`{"displayName":"Finance","description":"Money","mailNickname":"finance","securityEnabled":true}`)
			var g map[string]any
			json.Unmarshal([]byte(raw), &g)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create: %d %s", resp.StatusCode, raw)
			}
			id, _ := g["id"].(string)
			types, _ := g["groupTypes"].([]any)
			if id == "" || g["displayName"] != "Finance" || g["description"] != "Money" || g["mailNickname"] != "finance" ||
				g["securityEnabled"] != true || g["mailEnabled"] != false || types == nil || len(types) != 0 ||
				g["createdDateTime"] == nil || g["siteId"] != nil {
				t.Fatalf("created group %s", raw)
			}
			if loc := resp.Header.Get("Location"); loc != groupsBase+"/v1.0/groups/"+id {
				t.Errorf("Location %q", loc)
			}
			gp := "/v1.0/groups/" + id
			if owners, _ := e.collect(gp+"/owners", e.member, "mail"); !slices.Equal(owners, []string{"bob@example.com"}) {
				t.Errorf("owners after create: %v", owners)
			}

			// Only security groups, and bodies as every handler reads them.
			for _, tc := range []struct{ name, body, msg string }{
				{"not a security group", `{"displayName":"X","mailNickname":"x","securityEnabled":false}`, "Only security groups"},
				{"mail enabled", `{"displayName":"X","mailNickname":"x","securityEnabled":true,"mailEnabled":true}`, "Only security groups"},
				{"unified", `{"displayName":"X","mailNickname":"x","groupTypes":["Unified"]}`, "Only security groups"},
				{"no nickname", `{"displayName":"X","securityEnabled":true}`, "mailNickname"},
				{"no name", `{"mailNickname":"x"}`, ""},
				{"malformed", `{"displayName":`, "not valid JSON"},
				{"unknown field", `{"displayName":"X","mailNickname":"x","visibility":"Public"}`, "unknown field"},
				{"wrong type", `{"displayName":"X","mailNickname":"x","securityEnabled":"yes"}`, "wrong type"},
			} {
				code, _, raw := e.json("POST", "/v1.0/groups", e.member, tc.body)
				if code != http.StatusBadRequest || !strings.Contains(graphMessage(raw), tc.msg) {
					t.Errorf("%s: %d %s, want 400 saying %q", tc.name, code, raw, tc.msg)
				}
			}
			e.want("POST", "/v1.0/groups", e.member, `{"displayName":"X","mailNickname":"`+strings.Repeat("x", 1<<20+100)+`"}`,
				http.StatusRequestEntityTooLarge)

			// Another member reads the group but cannot manage it.
			if code, m, raw := e.json("GET", gp, e.carolTok, ""); code != http.StatusOK || m["displayName"] != "Finance" {
				t.Errorf("carol reads: %d %s", code, raw)
			}
			// Who is in it is for its members, owners and administrators.
			e.want("GET", gp+"/members", e.carolTok, "", http.StatusForbidden)
			e.want("GET", gp+"/owners", e.carolTok, "", http.StatusForbidden)
			e.want("GET", gp+"/owners", e.admin, "", http.StatusOK)
			e.want("PATCH", gp, e.carolTok, `{"displayName":"Mine"}`, http.StatusForbidden)
			e.want("DELETE", gp, e.carolTok, "", http.StatusForbidden)
			e.want("POST", gp+"/members/$ref", e.carolTok, odataRef(groupsBase+"/v1.0/directoryObjects/"+e.carol.ID), http.StatusForbidden)
			e.want("POST", gp+"/owners/$ref", e.carolTok, odataRef(groupsBase+"/v1.0/directoryObjects/"+e.carol.ID), http.StatusForbidden)
			e.want("DELETE", gp+"/owners/"+bob.ID+"/$ref", e.carolTok, "", http.StatusForbidden)

			// The owner renames it (204, as Graph), and adds a member by
			// directoryObjects id and a guest by users address.
			e.want("PATCH", gp, e.member, `{"displayName":"Finance team","description":"Money matters"}`, http.StatusNoContent)
			if code, m, raw := e.json("GET", gp, e.carolTok, ""); code != http.StatusOK || m["displayName"] != "Finance team" ||
				m["description"] != "Money matters" || m["mailNickname"] != "finance" {
				t.Errorf("after PATCH: %d %s", code, raw)
			}
			e.want("PATCH", gp, e.member, `{"securityEnabled":false}`, http.StatusBadRequest)
			e.want("PATCH", gp, e.member, `{"displayName":`, http.StatusBadRequest)
			e.want("POST", gp+"/members/$ref", e.member, odataRef(groupsBase+"/v1.0/directoryObjects/"+e.carol.ID), http.StatusNoContent)
			e.want("POST", gp+"/members/$ref", e.member, odataRef(groupsBase+"/v1.0/users/Erin%40Outside.example"), http.StatusNoContent)
			// Adding again changes nothing, and a literal "$" need not be
			// sent as is.
			e.want("POST", gp+"/members/%24ref", e.member, odataRef(groupsBase+"/v1.0/directoryObjects/"+e.carol.ID), http.StatusNoContent)

			members, _ := e.collect(gp+"/members", e.carolTok, "mail")
			if !slices.Equal(members, []string{"carol@example.com", "erin@outside.example"}) {
				t.Errorf("members: %v", members)
			}
			code, m, raw := e.json("GET", gp+"/members", e.member, "")
			vals, _ := m["value"].([]any)
			if code != http.StatusOK || len(vals) != 2 {
				t.Fatalf("members: %d %s", code, raw)
			}
			erin := vals[1].(map[string]any)
			if erin["@odata.type"] != "#microsoft.graph.user" || erin["id"] != e.guest.ID || erin["displayName"] != "Erin O" ||
				erin["userPrincipalName"] != "erin@outside.example" || erin["userType"] != gatehouse.UserTypeGuest ||
				vals[0].(map[string]any)["userType"] != gatehouse.UserTypeMember {
				t.Errorf("members listing %s", raw)
			}
			if got, pages := e.collect(gp+"/members?$top=1", e.member, "id"); !slices.Equal(got, []string{e.carol.ID, e.guest.ID}) || pages != 2 {
				t.Errorf("members by pages of 1: %v in %d pages", got, pages)
			}
			recs, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpAddedToGroup, ObjectID: id}, nil)
			if len(recs) != 3 || recs[0].TargetUserOrGroupName != "erin@outside.example" ||
				recs[0].TargetUserOrGroupType != gatehouse.UserTypeGuest || recs[0].UserID != "bob@example.com" {
				t.Errorf("AddedToGroup records (creator, carol, erin): %d, newest %+v", len(recs), recs[0])
			}

			// Who cannot be a member, and which references are not users.
			other, err := e.s.CreateGroup(ctx, gatehouse.SystemActor(), store.NewGroup{DisplayName: "Other", MailNickname: "other"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct{ name, body, msg string }{
				{"ad hoc", odataRef(groupsBase + "/v1.0/directoryObjects/zed@nowhere.example"), "invite them as a guest first"},
				{"nested", odataRef(groupsBase + "/v1.0/directoryObjects/" + other.ID), "cannot be a member of another group"},
				{"nested by groups", odataRef(groupsBase + "/v1.0/groups/" + other.ID), "cannot be a member of another group"},
				{"other host", odataRef("https://evil.example/v1.0/directoryObjects/" + e.carol.ID), "@odata.id must be"},
				{"other resource", odataRef(groupsBase + "/v1.0/drives/" + e.carol.ID), "@odata.id must be"},
				{"no id", odataRef(groupsBase + "/v1.0/directoryObjects/"), "@odata.id must be"},
				{"deeper", odataRef(groupsBase + "/v1.0/directoryObjects/" + e.carol.ID + "/manager"), "@odata.id must be"},
				{"bare id", odataRef(e.carol.ID), "@odata.id must be"},
				{"NUL", odataRef(groupsBase + "/v1.0/directoryObjects/a\x00b"), "@odata.id must be"},
				{"escaped NUL", odataRef(groupsBase + "/v1.0/directoryObjects/a%00b"), "@odata.id must be"},
				{"bad UTF-8", odataRef(groupsBase + "/v1.0/directoryObjects/a%FFb"), "@odata.id must be"},
				{"long", odataRef(groupsBase + "/v1.0/directoryObjects/" + strings.Repeat("x", 400)), "@odata.id must be"},
				{"missing", `{}`, "@odata.id is required"},
				{"malformed", `{"@odata.id":`, "not valid JSON"},
				{"unknown field", `{"@odata.id":"x","id":"y"}`, "unknown field"},
			} {
				code, _, raw := e.json("POST", gp+"/members/$ref", e.member, tc.body)
				if code != http.StatusBadRequest || !strings.Contains(graphMessage(raw), tc.msg) {
					t.Errorf("%s: %d %s, want 400 saying %q", tc.name, code, raw, tc.msg)
				}
			}
			e.want("POST", gp+"/members/$ref", e.member, odataRef(groupsBase+"/v1.0/directoryObjects/no-such-user"), http.StatusNotFound)
			if n, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpAddedToGroup, ObjectID: id}, nil); len(n) != 3 {
				t.Errorf("%d AddedToGroup records after the refusals, want 3", len(n))
			}

			// An owner added by $ref manages the group, until removed.
			e.want("POST", gp+"/owners/$ref", e.member, odataRef(groupsBase+"/v1.0/directoryObjects/carol@example.com"), http.StatusNoContent)
			if owners, _ := e.collect(gp+"/owners", e.member, "mail"); !slices.Equal(owners, []string{"bob@example.com", "carol@example.com"}) {
				t.Errorf("owners: %v", owners)
			}
			e.want("PATCH", gp, e.carolTok, `{"description":"Carol's now"}`, http.StatusNoContent)
			e.want("DELETE", gp+"/owners/"+e.carol.ID+"/$ref", e.member, "", http.StatusNoContent)
			e.want("PATCH", gp, e.carolTok, `{"description":"Carol's again"}`, http.StatusForbidden)

			// Removing a member: 204 once, then 404; by id or address.
			e.want("DELETE", gp+"/members/"+e.carol.ID+"/$ref", e.member, "", http.StatusNoContent)
			e.want("DELETE", gp+"/members/"+e.carol.ID+"/$ref", e.member, "", http.StatusNotFound)
			e.want("GET", gp+"/members", e.carolTok, "", http.StatusForbidden)
			rec, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromGroup, ObjectID: id}, nil)
			if len(rec) != 2 || rec[0].TargetUserOrGroupName != "carol@example.com" || rec[0].TargetUserOrGroupType != gatehouse.UserTypeMember {
				t.Errorf("RemovedFromGroup records (carol as owner, carol as member): %+v", rec)
			}
			// An administrator manages any group.
			e.want("DELETE", gp+"/members/erin@outside.example/$ref", e.admin, "", http.StatusNoContent)
			e.want("PATCH", gp, e.admin, `{"mailNickname":"fin"}`, http.StatusNoContent)
			if members, _ := e.collect(gp+"/members", e.member, "mail"); len(members) != 0 {
				t.Errorf("members after removals: %v", members)
			}

			// Guests and strangers; unknown groups.
			for _, tc := range []struct{ method, path, body string }{
				{"GET", "/v1.0/groups", ""},
				{"POST", "/v1.0/groups", `{"displayName":"G","mailNickname":"g","securityEnabled":true}`},
				{"GET", gp, ""},
				{"PATCH", gp, `{"displayName":"G"}`},
				{"DELETE", gp, ""},
				{"GET", gp + "/members", ""},
				{"POST", gp + "/members/$ref", odataRef(groupsBase + "/v1.0/directoryObjects/" + e.guest.ID)},
				{"DELETE", gp + "/owners/" + bob.ID + "/$ref", ""},
				{"GET", "/v1.0/groups/no-such-group", ""},
			} {
				e.want(tc.method, tc.path, e.guestTok, tc.body, http.StatusForbidden)
				e.want(tc.method, tc.path, "", tc.body, http.StatusUnauthorized)
			}
			for _, tc := range []struct{ method, path, body string }{
				{"GET", "/v1.0/groups/no-such-group", ""},
				{"PATCH", "/v1.0/groups/no-such-group", `{"displayName":"G"}`},
				{"DELETE", "/v1.0/groups/no-such-group", ""},
				{"GET", "/v1.0/groups/no-such-group/members", ""},
				{"GET", "/v1.0/groups/no-such-group/owners", ""},
				{"POST", "/v1.0/groups/no-such-group/members/$ref", odataRef(groupsBase + "/v1.0/directoryObjects/" + e.carol.ID)},
				{"DELETE", "/v1.0/groups/no-such-group/members/" + e.carol.ID + "/$ref", ""},
			} {
				e.want(tc.method, tc.path, e.member, tc.body, http.StatusNotFound)
				e.want(tc.method, tc.path, e.admin, tc.body, http.StatusNotFound)
			}

			// The list pages by name.
			for _, name := range []string{"Delta", "Alpha", "Charlie"} {
				e.want("POST", "/v1.0/groups", e.carolTok, `{"displayName":"`+name+`","mailNickname":"`+strings.ToLower(name)+`","securityEnabled":true}`,
					http.StatusCreated)
			}
			want := []string{"Alpha", "Charlie", "Delta", "Finance team", "Other"}
			if got, pages := e.collect("/v1.0/groups?$top=2", e.carolTok, "displayName"); !slices.Equal(got, want) || pages != 3 {
				t.Errorf("groups by pages of 2: %v in %d pages, want %v in 3", got, pages, want)
			}
			if got, pages := e.collect("/v1.0/groups", e.admin, "displayName"); !slices.Equal(got, want) || pages != 1 {
				t.Errorf("groups: %v in %d pages", got, pages)
			}
			e.want("GET", "/v1.0/groups?$top=0", e.member, "", http.StatusBadRequest)
			e.want("GET", "/v1.0/groups?$skiptoken=%25%25", e.member, "", http.StatusBadRequest)
			nul := base64.RawURLEncoding.EncodeToString([]byte(`{"n":"a\u0000","i":""}`))
			e.want("GET", "/v1.0/groups?$skiptoken="+nul, e.member, "", http.StatusBadRequest)

			// The owner deletes the group: 204, then it is gone.
			e.want("DELETE", gp, e.member, "", http.StatusNoContent)
			e.want("GET", gp, e.member, "", http.StatusNotFound)
			e.want("DELETE", gp, e.admin, "", http.StatusNotFound)
			for _, op := range []string{gatehouse.OpGroupAdded, gatehouse.OpGroupUpdated, gatehouse.OpGroupRemoved} {
				recs, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: op, ObjectID: id}, nil)
				want := map[string]int{gatehouse.OpGroupAdded: 1, gatehouse.OpGroupUpdated: 3, gatehouse.OpGroupRemoved: 1}[op]
				if len(recs) != want {
					t.Errorf("%d %s records, want %d", len(recs), op, want)
				}
			}
			// An administrator deletes a group they do not own.
			e.want("DELETE", "/v1.0/groups/"+other.ID, e.admin, "", http.StatusNoContent)
		})
	}
}

// TestGroupsAPIFullPage: with more than 1000 groups, $top=1000 still ends
// its page with a nextLink (the store gives at most 1000 rows).
func TestGroupsAPIFullPage(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGroupsEnv(t, b)
			for i := range 1001 {
				if _, err := e.s.CreateGroup(ctx, gatehouse.SystemActor(), store.NewGroup{DisplayName: fmt.Sprintf("G%04d", i),
					MailNickname: fmt.Sprintf("g%04d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			got, pages := e.collect("/v1.0/groups?$top=1000", e.member, "displayName")
			if len(got) != 1001 || pages != 2 || got[0] != "G0000" || got[1000] != "G1000" {
				t.Errorf("$top=1000 over 1001 groups: %d in %d pages", len(got), pages)
			}
		})
	}
}

// TestGroupsAPISiteGroups: a site's groups name the site (siteId), its
// owners manage all three, other members do not, and the groups go only
// with the site.
func TestGroupsAPISiteGroups(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGroupsEnv(t, b)
			bob, err := e.s.UserByToken(ctx, e.member)
			if err != nil {
				t.Fatal(err)
			}
			st, err := e.s.CreateSite(ctx, gatehouse.UserActor(bob, "192.0.2.10", "test"), store.NewSite{DisplayName: "Board"})
			if err != nil {
				t.Fatal(err)
			}
			for _, gid := range []string{st.OwnersGroupID, st.MembersGroupID, st.VisitorsGroupID} {
				code, m, raw := e.json("GET", "/v1.0/groups/"+gid, e.member, "")
				if code != http.StatusOK || m["siteId"] != st.ID || m["securityEnabled"] != true {
					t.Errorf("site group: %d %s", code, raw)
				}
				// Outside the site, its groups do not exist.
				e.want("GET", "/v1.0/groups/"+gid, e.carolTok, "", http.StatusNotFound)
			}
			// Nor are they listed outside it.
			siteGroups := []string{"Board Members", "Board Owners", "Board Visitors"}
			if got, _ := e.collect("/v1.0/groups", e.member, "displayName"); !slices.Equal(got, siteGroups) {
				t.Errorf("groups for the site's owner: %v", got)
			}
			if got, _ := e.collect("/v1.0/groups", e.admin, "displayName"); !slices.Equal(got, siteGroups) {
				t.Errorf("groups for an administrator: %v", got)
			}
			if got, _ := e.collect("/v1.0/groups", e.carolTok, "displayName"); len(got) != 0 {
				t.Errorf("groups for a member outside the site: %v", got)
			}
			mp := "/v1.0/groups/" + st.MembersGroupID
			e.want("POST", mp+"/members/$ref", e.carolTok, odataRef(groupsBase+"/v1.0/directoryObjects/"+e.carol.ID), http.StatusNotFound)
			e.want("POST", mp+"/members/$ref", e.member, odataRef(groupsBase+"/v1.0/directoryObjects/"+e.carol.ID), http.StatusNoContent)
			// A site member is no owner of the site's groups.
			e.want("POST", mp+"/members/$ref", e.carolTok, odataRef(groupsBase+"/v1.0/users/"+e.guest.ID), http.StatusForbidden)
			if members, _ := e.collect(mp+"/members", e.carolTok, "mail"); !slices.Equal(members, []string{"carol@example.com"}) {
				t.Errorf("site members: %v", members)
			}
			// Once in the site, its groups are listed for her.
			if got, _ := e.collect("/v1.0/groups", e.carolTok, "displayName"); !slices.Equal(got, siteGroups) {
				t.Errorf("groups for a site member: %v", got)
			}
			e.want("PATCH", mp, e.member, `{"displayName":"Renamed"}`, http.StatusBadRequest)
			e.want("DELETE", mp, e.member, "", http.StatusBadRequest)
			e.want("DELETE", mp, e.admin, "", http.StatusBadRequest)
			e.want("DELETE", mp+"/members/"+e.carol.ID+"/$ref", e.member, "", http.StatusNoContent)
			e.want("GET", mp, e.member, "", http.StatusOK)
		})
	}
}
