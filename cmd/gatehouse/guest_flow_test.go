package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/httpx"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/oidc"
	"gatehouse/internal/oidctest"
	"gatehouse/internal/testenv"
)

// guestEnv is a server with a partner, fabrikam.example, whose provider is
// a real OpenID provider, and a file shared with two of its people.
type guestEnv struct {
	s              *server
	smtp           *mailtest.Server
	op             *oidctest.Provider
	owner, admin   *apiClient
	webURL, fileID string
	items          string
	content        []byte
}

func newGuestEnv(t *testing.T, b testenv.Backend) *guestEnv {
	t.Helper()
	e := &guestEnv{smtp: mailtest.Start(t)}
	e.s = startServer(t, b, func(c *Config) { c.SMTPURL = e.smtp.URL() })
	e.op = oidctest.Start(t, e.s.URL+oidc.CallbackPath)
	e.op.AddUser(oidctest.User{Subject: "sub-dana", Email: "Dana@Fabrikam.example", EmailVerified: true, Name: "Dana Scully"})
	e.op.AddUser(oidctest.User{Subject: "sub-eve", Email: "eve@fabrikam.example", EmailVerified: true, Name: "Eve Polastri"})
	owner := e.s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
	admin := e.s.addUser("ada@example.com", "Ada Admin", "correct horse battery", true)
	e.owner = &apiClient{t: t, base: e.s.URL, token: e.s.token(owner)}
	e.admin = &apiClient{t: t, base: e.s.URL, token: e.s.token(admin)}
	e.admin.json("POST", "/v1.0/identity/identityProviders", map[string]any{"displayName": "Fabrikam", "issuer": e.op.Issuer,
		"clientId": e.op.ClientID, "clientSecret": e.op.ClientSecret, "domains": []string{"fabrikam.example"}, "scope": "openid email profile"}, 201)
	drive := e.owner.json("GET", "/v1.0/me/drive", nil, 200)
	d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
	e.items = "/v1.0/drives/" + d + "/items/"
	e.content = []byte("partner plan\n")
	e.fileID = e.owner.json("PUT", e.items+root+":/plan.txt:/content", e.content, 201)["id"].(string)
	resp := e.owner.json("POST", e.items+e.fileID+"/invite", map[string]any{
		"recipients": []any{map[string]any{"email": "dana@fabrikam.example"}, map[string]any{"email": "eve@fabrikam.example"}},
		"roles":      []string{"read"}, "sendInvitation": false}, 200)
	e.webURL = resp["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)
	return e
}

// signInURL asks for a code for email and returns the answer's signInUrl.
func (e *guestEnv) signInURL(t *testing.T, rc *recipientClient, email string) (string, []byte) {
	t.Helper()
	status, _, body := rc.call("POST", e.webURL+"/passcode", map[string]string{"email": email})
	var out map[string]string
	if status != 200 || json.Unmarshal(body, &out) != nil || len(out) != 1 || out["signInUrl"] == "" {
		t.Fatalf("passcode for %s: %d %s, want 200 {\"signInUrl\"}", email, status, body)
	}
	return out["signInUrl"], body
}

// callback follows the provider's answer back to Gatehouse.
func callback(t *testing.T, rc *recipientClient, back *url.URL) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", back.String(), nil)
	resp, err := rc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, []byte(b.String())
}

// withoutState is a sign-in address without its per-request values.
func withoutState(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 22 {
			t.Errorf("sign-in address %s: %s missing or short", raw, k)
		}
		q.Del(k)
	}
	q.Set("_path", u.Scheme+"://"+u.Host+u.Path)
	return q
}

func (e *guestEnv) records(t *testing.T, op, user string) []map[string]any {
	page := e.admin.json("GET", "/v1.0/auditLog/records?$top=100&operation="+op+"&userId="+url.QueryEscape(user), nil, 200)
	var out []map[string]any
	for _, v := range page["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestGuestFlow(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGuestEnv(t, b)
			dana := "dana@fabrikam.example"

			// Flow 3: the code first, as today.
			rc := newRecipient(t)
			e.signInURL(t, rc, dana)
			code := mailtest.Code(t, e.smtp.WaitFor(t, dana, 10*time.Second))
			status, hdr, body := rc.call("POST", e.webURL+"/verify", map[string]any{"email": dana, "code": code})
			var v map[string]string
			if status != 200 || json.Unmarshal(body, &v) != nil || v["signInUrl"] == "" {
				t.Fatalf("verify: %d %s, want 200 {\"signInUrl\"}", status, body)
			}
			if sc := strings.Join(hdr.Values("Set-Cookie"), ";"); strings.Contains(sc, httpx.RecipientCookie+"=") {
				t.Errorf("verify set a recipient cookie: %s", sc)
			}
			if st, _, _ := rc.call("GET", e.webURL+"/content", nil); st == 200 {
				t.Fatal("the code alone opened the file of a partner's person")
			}
			if q := withoutState(t, v["signInUrl"]); q.Get("login_hint") != dana || q.Get("code_challenge_method") != "S256" {
				t.Errorf("sign-in address %s: want login_hint %s and S256", v["signInUrl"], dana)
			}

			// The partner signs Dana in; the callback creates the guest.
			back := e.op.SignIn(t, v["signInUrl"], "Dana@Fabrikam.example", false)
			status, hdr, body = callback(t, rc, back)
			if status != 303 || hdr.Get("Location") != strings.TrimPrefix(e.webURL, e.s.URL) {
				t.Fatalf("callback: %d to %q, want 303 to the link: %s", status, hdr.Get("Location"), body)
			}
			st, _, got := rc.call("GET", e.webURL+"/content", nil)
			if st != 200 || string(got) != string(e.content) {
				t.Fatalf("the guest's download: %d %q", st, got)
			}
			// A guest, who has no drive, starts at Shared with me, which
			// lists the file with its link.
			for _, path := range []string{"/", "/files"} {
				if st, hdr, _ := rc.call("GET", e.s.URL+path, nil); st != 303 || hdr.Get("Location") != "/shared" {
					t.Errorf("the guest's GET %s: %d to %q, want 303 to /shared", path, st, hdr.Get("Location"))
				}
			}
			if st, _, page := rc.call("GET", e.s.URL+"/shared", nil); st != 200 || !strings.Contains(string(page), strings.TrimPrefix(e.webURL, e.s.URL)) || strings.Contains(string(page), ">My files<") {
				t.Errorf("the guest's Shared with me: %d, want the link and no My files\n%s", st, page)
			}
			u := e.admin.json("GET", "/v1.0/users/"+dana, nil, 200)
			ids, _ := json.Marshal(u["identities"])
			wantIDs, _ := json.Marshal([]map[string]string{{"signInType": "federated", "issuer": e.op.Issuer, "issuerAssignedId": "sub-dana"}})
			if u["userType"] != "Guest" || u["displayName"] != "Dana Scully" || u["externalUserState"] != "Accepted" ||
				u["creationType"] != "Invitation" || u["externalUserStateChangeDateTime"] == nil || string(ids) != string(wantIDs) {
				t.Fatalf("guest: %v", u)
			}
			added := e.records(t, "GuestUserAdded", dana)
			logged := e.records(t, "UserLoggedIn", dana)
			if len(added) != 1 || added[0]["UserType"] != "Guest" || len(logged) != 1 || logged[0]["UserType"] != "Guest" ||
				!strings.Contains(logged[0]["EventData"].(string), e.op.Issuer) {
				t.Fatalf("records: GuestUserAdded %v, UserLoggedIn %v", added, logged)
			}
			dl := e.records(t, "FileDownloaded", dana)
			if len(dl) != 1 || dl[0]["UserType"] != "Guest" {
				t.Errorf("the guest's download record: %v", dl)
			}

			// Dana's place on the link is now the guest's.
			perms := e.owner.json("GET", e.items+e.fileID+"/permissions", nil, 200)["value"].([]any)
			found := false
			for _, g := range perms[0].(map[string]any)["grantedToIdentitiesV2"].([]any) {
				gu := g.(map[string]any)["user"].(map[string]any)
				if gu["email"] == dana {
					found = gu["id"] == u["id"] && gu["displayName"] == "Dana Scully"
				}
			}
			if !found {
				t.Errorf("grantedToIdentitiesV2 does not show the guest: %v", perms[0])
			}

			// Later: asking for a code answers alike for the guest and for
			// anyone of the domain, and mails the guest nothing.
			before := len(e.smtp.Messages())
			rc2 := newRecipient(t)
			known, _ := e.signInURL(t, rc2, dana)
			unknown, _ := e.signInURL(t, newRecipient(t), "nobody@fabrikam.example")
			kq, uq := withoutState(t, known), withoutState(t, unknown)
			kq.Del("login_hint")
			uq.Del("login_hint")
			if kq.Encode() != uq.Encode() {
				t.Errorf("the answers differ beyond the address:\n%s\n%s", known, unknown)
			}
			time.Sleep(300 * time.Millisecond)
			for _, m := range e.smtp.Messages()[before:] {
				if slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, dana) }) {
					t.Errorf("a code was mailed to a guest the partner signs in")
				}
			}

			// A second client signs in through the partner with no code.
			back = e.op.SignIn(t, known, "Dana@Fabrikam.example", false)
			if status, _, body := callback(t, rc2, back); status != 303 {
				t.Fatalf("second sign-in: %d %s", status, body)
			}
			if st, _, got := rc2.call("GET", e.webURL+"/content", nil); st != 200 || string(got) != string(e.content) {
				t.Fatalf("second client's download: %d", st)
			}
			if n := len(e.records(t, "GuestUserAdded", dana)); n != 1 {
				t.Errorf("%d GuestUserAdded after the second sign-in", n)
			}

			// The verified address and the token's must be one.
			rc3 := newRecipient(t)
			eveURL, _ := e.signInURL(t, rc3, "eve@fabrikam.example")
			back = e.op.SignIn(t, eveURL, "Dana@Fabrikam.example", false)
			status, hdr, body = callback(t, rc3, back)
			if status != 403 || !strings.Contains(string(body), "eve@fabrikam.example") || strings.Contains(strings.Join(hdr.Values("Set-Cookie"), ";"), httpx.SessionCookie+"=") {
				t.Errorf("mismatch: %d %v %s", status, hdr, body)
			}
			if st, _, _ := rc3.call("GET", e.webURL+"/content", nil); st == 200 {
				t.Error("a mismatched sign-in opened the file")
			}
			fails := e.records(t, "UserLoginFailed", dana)
			if len(fails) != 1 || !strings.Contains(fails[0]["EventData"].(string), "email_mismatch") {
				t.Errorf("mismatch records: %v", fails)
			}

			// Another subject at the partner for Dana's address is refused.
			e.op.ForgeIDToken(func(c map[string]any) string { c["sub"] = "sub-impostor"; return e.op.Sign(c) })
			rc4 := newRecipient(t)
			danaURL, _ := e.signInURL(t, rc4, dana)
			back = e.op.SignIn(t, danaURL, "Dana@Fabrikam.example", false)
			if status, _, body := callback(t, rc4, back); status != 403 {
				t.Errorf("another subject: %d %s", status, body)
			}
			e.op.ForgeIDToken(nil)
			if st, _, _ := rc4.call("GET", e.webURL+"/content", nil); st == 200 {
				t.Error("another subject opened the file")
			}
			fails = e.records(t, "UserLoginFailed", dana)
			if len(fails) != 2 || !strings.Contains(fails[0]["EventData"].(string), "subject_mismatch") {
				t.Errorf("subject records: %v", fails)
			}

			// A partner's refusal is a page and a record too.
			rc5 := newRecipient(t)
			eveURL, _ = e.signInURL(t, rc5, "eve@fabrikam.example")
			back = e.op.SignIn(t, eveURL, "eve@fabrikam.example", true)
			if status, _, _ := callback(t, rc5, back); status != 403 {
				t.Errorf("access_denied: %d", status)
			}
			fails = e.records(t, "UserLoginFailed", "eve@fabrikam.example")
			if len(fails) != 1 || !strings.Contains(fails[0]["EventData"].(string), oidc.ReasonDenied) {
				t.Errorf("denied records: %v", fails)
			}
		})
	}
}
