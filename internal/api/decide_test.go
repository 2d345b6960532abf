package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// call sends a request with a bearer token (if any) and cookies, and
// returns the response with its body read.
func (e *adminEnv) call(method, path, token, body string, cookies ...*http.Cookie) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func graphMessage(body string) string {
	var out struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal([]byte(body), &out)
	return out.Error.Message
}

// TestAPIDecides: every drive, item and sharing route of a member's drive
// answers another member 404 with today's wording, and an anonymous caller
// 401 with a challenge; the download path decides the same for tokens and
// session cookies; a session cookie needs the CSRF header to change state;
// directory reads are the decision's.
func TestAPIDecides(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			bob, err := e.s.UserByToken(ctx, e.member)
			if err != nil {
				t.Fatal(err)
			}
			mallory, err := e.s.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: "mallory@example.com", DisplayName: "Mallory", Password: "correct horse battery"})
			if err != nil {
				t.Fatal(err)
			}
			_, mal, err := e.s.CreateToken(ctx, mallory.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			by := gatehouse.UserActor(bob, "192.0.2.10", "test-agent/1.0")
			file, _, err := e.s.PutFile(ctx, by, e.link.DriveID, e.link.ItemID, "plan.txt", strings.NewReader("the plan"), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			d, f, l := "/v1.0/drives/"+e.link.DriveID, e.link.ItemID, e.link.ID
			items := d + "/items/"
			drive := "The drive was not found."
			item := "The item was not found."
			// Item routes decide on the item, since a share can open one
			// item of a drive that is otherwise closed.
			for _, c := range []struct{ method, path, want string }{
				{"GET", d, drive},
				{"GET", d + "/root", drive},
				{"GET", items + f + "/children", item},
				{"POST", items + f + "/children", item},
				{"PUT", items + f + ":/x.txt:/content", item},
				{"PUT", items + file.ID + "/content", item},
				{"PATCH", items + file.ID, item},
				{"DELETE", items + file.ID, item},
				{"GET", items + file.ID, item},
				{"GET", items + file.ID + "/content", item},
				{"POST", items + f + "/invite", item},
				{"POST", items + f + "/createLink", item},
				{"GET", items + f + "/permissions", item},
				{"GET", items + f + "/permissions/" + l, item},
				{"PATCH", items + f + "/permissions/" + l, item},
				{"DELETE", items + f + "/permissions/" + l, item},
				{"POST", items + f + "/permissions/" + l + "/revokeGrants", item},
				{"POST", "/v1.0/shares/" + e.link.ShareID + "/permission/grant", "The sharing link was not found."},
			} {
				resp, body := e.call(c.method, c.path, mal, "{}")
				if resp.StatusCode != http.StatusNotFound || graphMessage(body) != c.want {
					t.Errorf("another member: %s %s: got %d %s, want 404 %q", c.method, c.path, resp.StatusCode, body, c.want)
				}
				resp, body = e.call(c.method, c.path, "", "{}")
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("anonymous: %s %s: got %d %s, want 401 with a challenge", c.method, c.path, resp.StatusCode, body)
				}
			}
			if resp, body := e.call("GET", items+"nope/content", "", ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous download of no item: got %d %s, want 401", resp.StatusCode, body)
			}
			if resp, body := e.call("GET", items+file.ID+"/content", "gh_forged", ""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("forged token download: got %d %s, want 401 with a challenge", resp.StatusCode, body)
			}
			if resp, body := e.call("GET", items+file.ID+"/content", e.member, ""); resp.StatusCode != http.StatusOK || body != "the plan" {
				t.Errorf("owner's token download: got %d %q", resp.StatusCode, body)
			}

			// The same decision for session cookies.
			session := func(email string) *http.Cookie {
				_, sec, err := e.s.Login(ctx, email, "correct horse battery", "192.0.2.20", "test-agent/1.0")
				if err != nil {
					t.Fatalf("Login %s: %v", email, err)
				}
				return &http.Cookie{Name: httpx.SessionCookie, Value: sec}
			}
			bobS, malS := session("bob@example.com"), session("mallory@example.com")
			if resp, body := e.call("GET", items+file.ID+"/content", "", "", bobS); resp.StatusCode != http.StatusOK || body != "the plan" {
				t.Errorf("owner's session download: got %d %q", resp.StatusCode, body)
			}
			if resp, body := e.call("GET", items+file.ID+"/content", "", "", malS); resp.StatusCode != http.StatusNotFound {
				t.Errorf("another member's session download: got %d %s, want 404", resp.StatusCode, body)
			}
			folder := `{"name": "New", "folder": {}}`
			if resp, body := e.call("POST", items+f+"/children", "", folder, bobS); resp.StatusCode != http.StatusForbidden {
				t.Errorf("session without CSRF header: got %d %s, want 403", resp.StatusCode, body)
			}
			csrf := strings.Repeat("c", 32)
			req, _ := http.NewRequest("POST", e.url+items+f+"/children", strings.NewReader(folder))
			req.AddCookie(bobS)
			req.AddCookie(&http.Cookie{Name: httpx.CSRFCookie, Value: csrf})
			req.Header.Set(httpx.CSRFHeader, csrf)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
				t.Errorf("session with CSRF header: got %v %v, want 201", resp, err)
			} else {
				resp.Body.Close()
			}

			// The drive as data, owner shown.
			resp, body := e.call("GET", d, e.member, "")
			var dj struct {
				DriveType string
				Owner     struct{ User struct{ Email string } }
			}
			if json.Unmarshal([]byte(body), &dj); resp.StatusCode != 200 || dj.DriveType != gatehouse.DriveTypePersonal || dj.Owner.User.Email != "bob@example.com" {
				t.Errorf("drive: got %d %s", resp.StatusCode, body)
			}

			// Directory reads.
			if resp, body := e.call("GET", "/v1.0/users/"+bob.ID, mal, ""); resp.StatusCode != http.StatusForbidden ||
				graphMessage(body) != "Only administrators can read other users." {
				t.Errorf("member reads another user: got %d %s", resp.StatusCode, body)
			}
			if resp, body := e.call("GET", "/v1.0/users/nobody@example.com", mal, ""); resp.StatusCode != http.StatusForbidden {
				t.Errorf("member reads an unknown user: got %d %s, want 403 like a known one", resp.StatusCode, body)
			}
			if resp, body := e.call("GET", "/v1.0/users/MALLORY@example.com", mal, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("member reads themselves by address: got %d %s", resp.StatusCode, body)
			}
			if resp, body := e.call("DELETE", "/v1.0/users/"+bob.ID, mal, ""); resp.StatusCode != http.StatusForbidden ||
				graphMessage(body) != "Only administrators can do this." {
				t.Errorf("member deletes a user: got %d %s", resp.StatusCode, body)
			}
		})
	}
}
