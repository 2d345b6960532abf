package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/httpx"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// loginForm posts the sign-in form with the client's CSRF token, asking
// for JSON when asJSON.
func loginForm(t *testing.T, rc *recipientClient, base string, v url.Values, asJSON bool) (int, http.Header, string) {
	t.Helper()
	u, _ := url.Parse(base)
	csrf := ""
	for range 2 {
		for _, c := range rc.http.Jar.Cookies(u) {
			if c.Name == httpx.CSRFCookie {
				csrf = c.Value
			}
		}
		if csrf != "" {
			break
		}
		resp, err := rc.http.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	v.Set("csrf", csrf)
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if asJSON {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := rc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// signedIn reports whether the client's session opens the sign-in page
// as a redirect, which it does only for someone signed in.
func signedIn(t *testing.T, rc *recipientClient, base string) bool {
	t.Helper()
	resp, err := rc.http.Get(base + "/login?next=%2Ffiles")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusSeeOther
}

// TestGuestCodeLogin: with B2B integration on, an outsider who verified a
// link code becomes a guest and later signs in at /login with an emailed
// code; the address is routed by its domain with answers that say nothing
// about who has an account; a partner's guest signs in through the
// partner at /login with no link.
func TestGuestCodeLogin(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGuestEnv(t, b)
			const gus, dana = "gus@contoso.example", "dana@fabrikam.example"
			e.s.addUser("mel@elsewhere.example", "Mel Member", "correct horse battery", false)
			e.admin.json("PATCH", "/v1.0/admin/sharepoint/settings", map[string]any{"isB2BIntegrationEnabled": true}, 200)
			resp := e.owner.json("POST", e.items+e.fileID+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": gus}}, "roles": []string{"read"}, "sendInvitation": false}, 200)
			gusURL := resp["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)

			// Gus verifies the link code and so becomes a guest.
			rc := newRecipient(t)
			if st, _, body := rc.call("POST", gusURL+"/passcode", map[string]string{"email": gus}); st != 200 {
				t.Fatalf("passcode: %d %s", st, body)
			}
			code := readCode(t, e.smtp, gus)
			if st, _, body := rc.call("POST", gusURL+"/verify", map[string]any{"email": gus, "code": code}); st != 200 {
				t.Fatalf("verify: %d %s", st, body)
			}
			u := e.admin.json("GET", "/v1.0/users/"+gus, nil, 200)
			ids, _ := json.Marshal(u["identities"])
			if u["userType"] != "Guest" || string(ids) != `[{"issuer":"mail","issuerAssignedId":"gus@contoso.example","signInType":"emailAddress"}]` {
				t.Fatalf("guest after the link code: %v %s", u, ids)
			}

			// Routing by domain, as JSON.
			route := func(email string) (int, string) {
				st, _, body := loginForm(t, newRecipient(t), e.s.URL, url.Values{"email": {email}, "next": {"/files"}}, true)
				return st, body
			}
			if st, body := route("olivia@example.com"); st != 200 || body != `{"next":"password"}`+"\n" && body != `{"next":"password"}` {
				t.Errorf("an organization address: %d %s, want the password", st, body)
			}
			st, body := route(dana)
			var partner map[string]string
			if st != 200 || json.Unmarshal([]byte(body), &partner) != nil || partner["signInUrl"] == "" {
				t.Errorf("a partner address: %d %s, want its signInUrl", st, body)
			} else if q := withoutState(t, partner["signInUrl"]); q.Get("login_hint") != dana {
				t.Errorf("partner sign-in %s: want login_hint %s", partner["signInUrl"], dana)
			}
			// The same answer for a guest, a stranger and a member outside
			// the organization's domains; only the guest gets mail.
			before := len(e.smtp.Messages())
			answers := map[string]string{}
			for _, a := range []string{gus, "stranger@contoso.example", "mel@elsewhere.example"} {
				st, body := route(a)
				answers[a] = body
				if st != 200 || !strings.Contains(body, `"next":"code"`) {
					t.Errorf("%s: %d %s, want the code step", a, st, body)
				}
			}
			if answers[gus] != answers["stranger@contoso.example"] || answers[gus] != answers["mel@elsewhere.example"] {
				t.Errorf("the answers differ: %v", answers)
			}
			code = readCode(t, e.smtp, gus)
			time.Sleep(300 * time.Millisecond)
			for _, m := range e.smtp.Messages()[before:] {
				if !slices.Contains(m.To, gus) {
					t.Errorf("mail to %v", m.To)
				}
			}

			// A wrong code: a page saying so, and UserLoginFailed.
			bc := newRecipient(t)
			wrong := "00000000"
			if code == wrong {
				wrong = "00000001"
			}
			st, _, page := loginForm(t, bc, e.s.URL, url.Values{"email": {gus}, "code": {wrong}, "next": {"/files"}}, false)
			if st != 400 || !strings.Contains(page, "That code didn&#39;t work") || !strings.Contains(page, `id="code-form"`) {
				t.Errorf("wrong code: %d, want 400 and the code form again", st)
			}
			if signedIn(t, bc, e.s.URL) {
				t.Fatal("a wrong code signed in")
			}
			if recs := e.records(t, "UserLoginFailed", gus); len(recs) != 1 || !strings.Contains(recs[0]["EventData"].(string), "wrong_code") {
				t.Errorf("UserLoginFailed records: %v", recs)
			}

			// The right code: a session for the guest and UserLoggedIn.
			st, hdr, _ := loginForm(t, bc, e.s.URL, url.Values{"email": {gus}, "code": {code}, "next": {"/files"}}, false)
			if st != 303 || hdr.Get("Location") != "/files" {
				t.Fatalf("code sign-in: %d to %q, want 303 to /files", st, hdr.Get("Location"))
			}
			if !signedIn(t, bc, e.s.URL) {
				t.Error("no session after the code")
			}
			if recs := e.records(t, "UserLoggedIn", gus); len(recs) != 1 || recs[0]["UserType"] != "Guest" ||
				!strings.Contains(recs[0]["EventData"].(string), `"auth":"passcode"`) {
				t.Errorf("UserLoggedIn records: %v", recs)
			}
			// Used once.
			if st, _, _ := loginForm(t, newRecipient(t), e.s.URL, url.Values{"email": {gus}, "code": {code}}, true); st != 400 {
				t.Errorf("the code again: %d, want 400", st)
			}

			// A partner's guest (flow 3 once, with B2B on) later signs in at
			// /login through the partner, with no link.
			rd := newRecipient(t)
			e.signInURL(t, rd, dana)
			code = mailtest.Code(t, e.smtp.WaitFor(t, dana, 10*time.Second))
			var v map[string]string
			if st, _, body := rd.call("POST", e.webURL+"/verify", map[string]any{"email": dana, "code": code}); st != 200 || json.Unmarshal(body, &v) != nil {
				t.Fatalf("verify: %d %s", st, body)
			}
			if st, hdr, body := callback(t, rd, e.op.SignIn(t, v["signInUrl"], "Dana@Fabrikam.example", false)); st != 303 {
				t.Fatalf("flow 3 callback: %d %v %s", st, hdr, body)
			}
			if u := e.admin.json("GET", "/v1.0/users/"+dana, nil, 200); !strings.Contains(func() string { b, _ := json.Marshal(u["identities"]); return string(b) }(), "federated") {
				t.Fatalf("dana: %v", u)
			}
			lc := newRecipient(t)
			st, _, body = loginForm(t, lc, e.s.URL, url.Values{"email": {dana}, "next": {"/files"}}, true)
			partner = nil
			if st != 200 || json.Unmarshal([]byte(body), &partner) != nil || partner["signInUrl"] == "" {
				t.Fatalf("/login for dana: %d %s", st, body)
			}
			st, hdr, cb := callback(t, lc, e.op.SignIn(t, partner["signInUrl"], "Dana@Fabrikam.example", false))
			if st != 303 || hdr.Get("Location") != "/files" {
				t.Fatalf("partner sign-in from /login: %d to %q: %s", st, hdr.Get("Location"), cb)
			}
			if !signedIn(t, lc, e.s.URL) {
				t.Error("no session after the partner sign-in from /login")
			}

			// A stranger of a partner domain gets no guest that way.
			ec := newRecipient(t)
			st, _, body = loginForm(t, ec, e.s.URL, url.Values{"email": {"eve@fabrikam.example"}}, true)
			partner = nil
			if st != 200 || json.Unmarshal([]byte(body), &partner) != nil {
				t.Fatalf("/login for eve: %d %s", st, body)
			}
			if st, _, _ := callback(t, ec, e.op.SignIn(t, partner["signInUrl"], "eve@fabrikam.example", false)); st < 400 {
				t.Errorf("eve without a verified link code became a guest: %d", st)
			}
		})
	}
}
