package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// signInGuest makes the env's link recipient a partner guest and returns
// the guest, a bearer token and a web session secret.
func (e *adminEnv) signInGuest() (*gatehouse.User, string, string) {
	e.t.Helper()
	if err := e.s.AttestGuestEmail(ctx, e.guest); err != nil {
		e.t.Fatal(err)
	}
	gs, err := e.s.SignInGuest(ctx, store.GuestSignIn{Issuer: "https://login.partner.example/", Subject: "sub-1", Email: e.guest,
		Name: "Gail Guest", VerifiedEmail: e.guest}, gatehouse.Origin{ClientIP: "198.51.100.7"})
	if err != nil {
		e.t.Fatal(err)
	}
	_, tok, err := e.s.CreateToken(ctx, gs.User.ID, "cli")
	if err != nil {
		e.t.Fatal(err)
	}
	return gs.User, tok, gs.Session
}

func TestGuestDriveAndSharedWithMe(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			guest, tok, session := e.signInGuest()
			cookie := &http.Cookie{Name: httpx.SessionCookie, Value: session}

			for _, p := range []string{"/v1.0/me/drive", "/v1.0/me/drive/root", "/v1.0/me/drive/root/children"} {
				resp, body := e.call("GET", p, tok, "")
				if resp.StatusCode != http.StatusNotFound || graphMessage(body) != "Guests have no drive of their own; see /v1.0/me/drive/sharedWithMe." {
					t.Errorf("guest GET %s: %d %s", p, resp.StatusCode, body)
				}
			}
			if resp, body := e.call("GET", "/v1.0/me/drive", e.member, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("member's drive: %d %s", resp.StatusCode, body)
			}

			shared := func(token string, cookies ...*http.Cookie) []map[string]any {
				t.Helper()
				resp, body := e.call("GET", "/v1.0/me/drive/sharedWithMe", token, "", cookies...)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("sharedWithMe: %d %s", resp.StatusCode, body)
				}
				var out struct{ Value []map[string]any }
				if err := json.Unmarshal([]byte(body), &out); err != nil || out.Value == nil {
					t.Fatalf("not a collection: %s", body)
				}
				return out.Value
			}
			bob, err := e.s.UserByToken(ctx, e.member)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range [][]map[string]any{shared(tok), shared("", cookie)} {
				if len(got) != 1 {
					t.Fatalf("guest sees %d items", len(got))
				}
				ri, _ := got[0]["remoteItem"].(map[string]any)
				owner, _ := ri["shared"].(map[string]any)["owner"].(map[string]any)["user"].(map[string]any)
				parent, _ := ri["parentReference"].(map[string]any)
				if ri["id"] != e.link.ItemID || ri["name"] != "Board papers" || ri["folder"] == nil || ri["file"] != nil ||
					ri["webUrl"] != "https://files.example.com/s/"+e.link.Token || got[0]["webUrl"] != ri["webUrl"] ||
					parent["driveId"] != e.link.DriveID || owner["id"] != bob.ID || owner["displayName"] != "Bob Member" ||
					ri["shared"].(map[string]any)["sharedDateTime"] == nil {
					t.Errorf("item %v", got[0])
				}
			}
			if got := shared(e.member); len(got) != 0 {
				t.Errorf("bob sees %d items", len(got))
			}

			// A member sees what is shared with them, too.
			ada, err := e.s.UserByToken(ctx, e.admin)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := e.s.DriveByOwner(ctx, ada.ID)
			by := gatehouse.UserActor(ada, "192.0.2.1", "t")
			it, _, err := e.s.PutFile(ctx, by, d.ID, d.RootID, "budget.txt", strings.NewReader("12345"), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			l, _, err := e.s.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Role: gatehouse.RoleRead,
				Emails: []string{"bob@example.com"}, ExpiresAt: e.clock.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			got := shared(e.member)
			if len(got) != 1 || got[0]["remoteItem"].(map[string]any)["file"] == nil || got[0]["size"] != float64(5) ||
				got[0]["webUrl"] != "https://files.example.com/s/"+l.Token {
				t.Fatalf("bob's list %v", got)
			}
			// A link that no longer opens is not listed.
			e.clock.Advance(2 * time.Hour)
			if got := shared(e.member); len(got) != 0 {
				t.Errorf("an expired link is listed: %v", got)
			}
			if resp, _ := e.call("GET", "/v1.0/me/drive/sharedWithMe", "", ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous: %d", resp.StatusCode)
			}
			_ = guest
		})
	}
}

func TestManageGuests(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			guest, tok, session := e.signInGuest()
			cookie := &http.Cookie{Name: httpx.SessionCookie, Value: session}

			t.Run("filter by userType", func(t *testing.T) {
				got := e.list("/v1.0/users?$filter=" + url.QueryEscape("userType eq 'Guest'"))
				if len(got) != 1 || got[0]["id"] != guest.ID || got[0]["userType"] != "Guest" || got[0]["externalUserState"] != "Accepted" ||
					got[0]["creationType"] != "Invitation" || got[0]["externalUserStateChangeDateTime"] == nil || len(got[0]["identities"].([]any)) != 1 {
					t.Fatalf("guests %v", got)
				}
				got = e.list("/v1.0/users?$top=1&$filter=" + url.QueryEscape("userType eq 'Member'"))
				if len(got) != 1 || got[0]["mail"] != "ada@example.com" {
					t.Fatalf("members %v", got)
				}
				status, body := e.do(e.admin, "GET", "/v1.0/users?$top=1&$filter="+url.QueryEscape("userType eq 'Member'"))
				if status != 200 || !strings.Contains(body, "%24filter=userType") {
					t.Errorf("nextLink loses the filter: %s", body)
				}
				for _, f := range []string{"userType eq 'Robot'", "displayName eq 'x'", "userType ne 'Guest'"} {
					resp, body := e.call("GET", "/v1.0/users?$filter="+url.QueryEscape(f), e.admin, "")
					if resp.StatusCode != http.StatusBadRequest || !strings.Contains(graphMessage(body), "userType eq 'Guest'") {
						t.Errorf("$filter=%s: %d %s", f, resp.StatusCode, body)
					}
				}
			})

			t.Run("rename shows in Manage access", func(t *testing.T) {
				if resp, body := e.call("PATCH", "/v1.0/users/"+guest.ID, e.admin, `{"displayName":"Gail from Partner"}`); resp.StatusCode != http.StatusNoContent {
					t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
				}
				// Manage access is the owner's list of the item's permissions.
				_, body := e.do(e.member, "GET", "/v1.0/drives/"+e.link.DriveID+"/items/"+e.link.ItemID+"/permissions")
				var out struct{ Value []map[string]any }
				json.Unmarshal([]byte(body), &out)
				perms := out.Value
				found := false
				for _, p := range perms {
					for _, g := range p["grantedToIdentitiesV2"].([]any) {
						u := g.(map[string]any)["user"].(map[string]any)
						if u["email"] == e.guest {
							found = u["displayName"] == "Gail from Partner" && u["id"] == guest.ID
						}
					}
				}
				if !found {
					t.Errorf("Manage access does not show the new name: %v", perms)
				}
				r, _, err := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpUserUpdated, Limit: 1}, nil)
				if err != nil || len(r) != 1 || !strings.Contains(r[0].EventData, "Gail from Partner") || r[0].TargetUserOrGroupType != "Guest" {
					t.Errorf("UserUpdated %+v %v", r, err)
				}
				// Later sharing records name the guest by the new name.
				resp, body := e.call("POST", "/v1.0/drives/"+e.link.DriveID+"/items/"+e.link.ItemID+"/invite", e.member,
					`{"recipients":[{"email":"`+e.guest+`"}],"roles":["write"],"requireSignIn":true,"sendInvitation":false}`)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("invite: %d %s", resp.StatusCode, body)
				}
				r, _, err = e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpAddedToSecureLink, Limit: 1}, nil)
				if err != nil || len(r) != 1 || r[0].TargetUserOrGroupName != "Gail from Partner" || r[0].TargetUserOrGroupType != "Guest" ||
					!strings.Contains(r[0].EventData, e.guest) {
					t.Errorf("AddedToSecureLink after the rename %+v %v", r, err)
				}
			})

			t.Run("disable ends every session at once", func(t *testing.T) {
				if resp, _ := e.call("GET", "/v1.0/me", "", "", cookie); resp.StatusCode != http.StatusOK {
					t.Fatalf("session before: %d", resp.StatusCode)
				}
				if resp, body := e.call("PATCH", "/v1.0/users/"+guest.ID, e.admin, `{"accountEnabled":false}`); resp.StatusCode != http.StatusNoContent {
					t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
				}
				for _, p := range []string{"/v1.0/me", "/v1.0/me/drive/sharedWithMe", "/v1.0/drives/" + e.link.DriveID + "/items/" + e.link.ItemID} {
					if resp, _ := e.call("GET", p, tok, ""); resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("token after disable, %s: %d", p, resp.StatusCode)
					}
					if resp, _ := e.call("GET", p, "", "", cookie); resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("session after disable, %s: %d", p, resp.StatusCode)
					}
				}
				if _, err := e.s.UserBySession(ctx, session); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
					t.Errorf("UserBySession after disable: %v", err)
				}
			})

			t.Run("delete", func(t *testing.T) {
				if resp, body := e.call("DELETE", "/v1.0/users/"+guest.ID, e.admin, ""); resp.StatusCode != http.StatusNoContent {
					t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
				}
				r, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromSecureLink}, nil)
				// The guest is on the read link and, since the rename, a write link.
				if len(r) != 2 {
					t.Fatalf("%d RemovedFromSecureLink records, want 2", len(r))
				}
				for _, rec := range r {
					if rec.TargetUserOrGroupName != "Gail from Partner" || rec.TargetUserOrGroupType != "Guest" {
						t.Errorf("RemovedFromSecureLink %+v", rec)
					}
				}
				if r[1].UniqueSharingID != e.link.ShareID {
					t.Errorf("first removal on %s, want the read link %s", r[1].UniqueSharingID, e.link.ShareID)
				}
				if got := e.list("/v1.0/users?$filter=" + url.QueryEscape("userType eq 'Guest'")); len(got) != 0 {
					t.Errorf("guests after delete: %v", got)
				}
			})
		})
	}
}

func TestExtendGuestAccess(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			guest, tok, _ := e.signInGuest()
			bob, _ := e.s.UserByToken(ctx, e.member)
			if resp, body := e.call("PATCH", settingsPath, e.admin, `{"externalUserExpirationRequired":true,"externalUserExpireInDays":30}`); resp.StatusCode != http.StatusOK {
				t.Fatalf("settings: %d %s", resp.StatusCode, body)
			}
			e.clock.Advance(31 * 24 * time.Hour)
			resp, body := e.call("GET", "/v1.0/me/drive/sharedWithMe", tok, "")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(graphMessage(body), "guest access expired") {
				t.Fatalf("expired guest: %d %s", resp.StatusCode, body)
			}
			path := "/v1.0/users/" + guest.ID + "/extendGuestAccess"
			if resp, _ := e.call("POST", path, e.member, ""); resp.StatusCode != http.StatusForbidden {
				t.Errorf("member extends: %d", resp.StatusCode)
			}
			if resp, _ := e.call("POST", path, tok, ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("the expired guest extends: %d", resp.StatusCode)
			}
			if resp, body := e.call("POST", "/v1.0/users/"+bob.ID+"/extendGuestAccess", e.admin, ""); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("extending a member: %d %s", resp.StatusCode, body)
			}
			resp, body = e.call("POST", "/v1.0/users/"+e.guest+"/extendGuestAccess", e.admin, "")
			var u map[string]any
			json.Unmarshal([]byte(body), &u)
			if resp.StatusCode != http.StatusOK || u["id"] != guest.ID || u["userType"] != "Guest" {
				t.Fatalf("extend: %d %s", resp.StatusCode, body)
			}
			if resp, body := e.call("GET", "/v1.0/me/drive/sharedWithMe", tok, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("after the extension: %d %s", resp.StatusCode, body)
			}
			for _, op := range []string{gatehouse.OpGuestAccessExpired, gatehouse.OpGuestAccessExtended} {
				r, _, err := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: op}, nil)
				if err != nil || len(r) != 1 || r[0].ObjectID != e.guest {
					t.Errorf("%s records: %+v %v", op, r, err)
				}
			}
		})
	}
}
