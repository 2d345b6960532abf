package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/httpx"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// invitePage GETs a redemption page as a browser would and returns the
// status and the page.
func invitePage(t *testing.T, rc *recipientClient, u string) (int, string) {
	t.Helper()
	resp, err := rc.http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// invite has the owner invite email and returns the answer.
func (e *guestEnv) invite(t *testing.T, email string, send bool, redirect string) map[string]any {
	t.Helper()
	body := map[string]any{"invitedUserEmailAddress": email, "sendInvitationMessage": send}
	if redirect != "" {
		body["inviteRedirectUrl"] = redirect
	}
	return e.owner.json("POST", "/v1.0/invitations", body, 201)
}

func setsSession(hdr http.Header) bool {
	return strings.Contains(strings.Join(hdr.Values("Set-Cookie"), ";"), httpx.SessionCookie+"=")
}

func TestInvitationFlow(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGuestEnv(t, b)

			t.Run("redeem by code", func(t *testing.T) {
				erin := "erin@outside.example"
				first := e.invite(t, erin, true, "/files")
				m := e.smtp.WaitFor(t, erin, 10*time.Second)
				redeem := mailtest.ExtractLink(t, m, e.s.URL+"/invite/")
				if redeem != first["inviteRedeemUrl"] {
					t.Fatalf("the mail links %s, the answer %s", redeem, first["inviteRedeemUrl"])
				}
				// A resend: the same guest, a new link, the old one dead.
				again := e.invite(t, erin, true, "/files")
				if again["invitedUser"].(map[string]any)["id"] != first["invitedUser"].(map[string]any)["id"] || again["inviteRedeemUrl"] == redeem {
					t.Fatalf("resend: %v after %v", again, first)
				}
				redeem = mailtest.ExtractLink(t, e.smtp.WaitFor(t, erin, 10*time.Second), e.s.URL+"/invite/")
				rc := newRecipient(t)
				if st, page := invitePage(t, rc, first["inviteRedeemUrl"].(string)); st != 404 || !strings.Contains(page, "no longer valid") {
					t.Errorf("the replaced link: %d %s", st, page)
				}
				guests := e.admin.json("GET", "/v1.0/users?$filter="+strings.ReplaceAll("userType eq 'Guest'", " ", "%20"), nil, 200)["value"].([]any)
				n := 0
				for _, g := range guests {
					if g.(map[string]any)["mail"] == erin || g.(map[string]any)["userPrincipalName"] == erin {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d accounts for %s", n, erin)
				}

				if st, page := invitePage(t, rc, redeem); st != 200 || !strings.Contains(page, erin) || !strings.Contains(page, `action="/invite/`) {
					t.Fatalf("redemption page: %d %s", st, page)
				}
				if st, _, body := rc.call("POST", redeem+"/passcode", map[string]any{}); st != 200 {
					t.Fatalf("passcode: %d %s", st, body)
				}
				code := mailtest.Code(t, e.smtp.WaitFor(t, erin, 10*time.Second))
				wrong := "00000000"
				if code == wrong {
					wrong = "00000001"
				}
				if st, hdr, body := rc.call("POST", redeem+"/verify", map[string]any{"code": wrong}); st != 400 || setsSession(hdr) {
					t.Fatalf("a wrong code: %d %s", st, body)
				}
				st, hdr, body := rc.call("POST", redeem+"/verify", map[string]any{"code": code})
				var out map[string]string
				if st != 200 || json.Unmarshal(body, &out) != nil || out["redirectUrl"] != "/files" || !setsSession(hdr) {
					t.Fatalf("verify: %d %s %v", st, body, hdr.Values("Set-Cookie"))
				}
				st, _, body = rc.call("GET", e.s.URL+"/v1.0/me", nil)
				var me map[string]any
				if st != 200 || json.Unmarshal(body, &me) != nil || me["userType"] != "Guest" || me["id"] != first["invitedUser"].(map[string]any)["id"] {
					t.Fatalf("the session after redemption: %d %s", st, body)
				}
				u := e.admin.json("GET", "/v1.0/users/"+erin, nil, 200)
				if u["externalUserState"] != "Accepted" {
					t.Errorf("guest after redemption: %v", u)
				}
				if recs := e.records(t, "SharingInvitationAccepted", erin); len(recs) != 1 || recs[0]["UserType"] != "Guest" {
					t.Errorf("SharingInvitationAccepted records %v", recs)
				}
				if recs := e.records(t, "SharingInvitationCreated", "olivia@example.com"); len(recs) != 2 {
					t.Errorf("SharingInvitationCreated records %v", recs)
				}

				// A second redemption fails with a clear page.
				st, page := invitePage(t, newRecipient(t), redeem)
				if st != 410 || !strings.Contains(page, "already been accepted") {
					t.Errorf("second redemption: %d %s", st, page)
				}
			})

			t.Run("redeem through the partner", func(t *testing.T) {
				dana := "dana@fabrikam.example"
				inv := e.invite(t, dana, false, "/files")
				redeem := inv["inviteRedeemUrl"].(string)
				rc := newRecipient(t)
				st, _, body := rc.call("GET", redeem, nil)
				var v map[string]string
				if st != 200 || json.Unmarshal(body, &v) != nil || v["signInUrl"] == "" {
					t.Fatalf("redemption page for a partner's address: %d %s", st, body)
				}

				// Someone else at the partner cannot redeem Dana's invitation.
				back := e.op.SignIn(t, v["signInUrl"], "eve@fabrikam.example", false)
				st, hdr, page := callback(t, rc, back)
				if st != 403 || setsSession(hdr) {
					t.Fatalf("redeemed as another person: %d %s", st, page)
				}
				if u := e.admin.json("GET", "/v1.0/users/"+dana, nil, 200); u["externalUserState"] != "PendingAcceptance" {
					t.Fatalf("after a refused redemption: %v", u)
				}

				_, _, body = rc.call("GET", redeem, nil)
				json.Unmarshal(body, &v)
				back = e.op.SignIn(t, v["signInUrl"], "Dana@Fabrikam.example", false)
				st, hdr, page = callback(t, rc, back)
				if st != 303 || hdr.Get("Location") != "/files" || !setsSession(hdr) {
					t.Fatalf("callback: %d to %q: %s", st, hdr.Get("Location"), page)
				}
				u := e.admin.json("GET", "/v1.0/users/"+dana, nil, 200)
				ids, _ := json.Marshal(u["identities"])
				if u["externalUserState"] != "Accepted" || !strings.Contains(string(ids), "sub-dana") || u["id"] != inv["invitedUser"].(map[string]any)["id"] {
					t.Fatalf("guest after redemption: %v", u)
				}
				if recs := e.records(t, "SharingInvitationAccepted", dana); len(recs) != 1 {
					t.Errorf("SharingInvitationAccepted records %v", recs)
				}
				if st, page := invitePage(t, newRecipient(t), redeem); st != 410 {
					t.Errorf("second redemption: %d %s", st, page)
				}
			})

			t.Run("redeem by code with the page's forms", func(t *testing.T) {
				inv := e.invite(t, "gail@outside.example", false, "")
				redeem := inv["inviteRedeemUrl"].(string)
				rc := newRecipient(t)
				post := func(path string, form url.Values) (int, http.Header, string) {
					t.Helper()
					_, page := invitePage(t, rc, redeem)
					m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
					if m == nil {
						t.Fatalf("no CSRF field on %s", page)
					}
					form.Set("csrf", m[1])
					resp, err := rc.http.PostForm(redeem+path, form)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return resp.StatusCode, resp.Header, string(b)
				}
				// The form is sent on (303) to the code page, a GET.
				if st, hdr, page := post("/passcode", url.Values{}); st != 303 || !strings.HasSuffix(hdr.Get("Location"), "/passcode") {
					t.Fatalf("passcode form: %d to %q: %s", st, hdr.Get("Location"), page)
				}
				if _, page := invitePage(t, rc, redeem+"/passcode"); !strings.Contains(page, `id="code-form"`) {
					t.Fatalf("code page: %s", page)
				}
				code := mailtest.Code(t, e.smtp.WaitFor(t, "gail@outside.example", 10*time.Second))
				st, hdr, page := post("/verify", url.Values{"code": {code}})
				if st != 303 || hdr.Get("Location") != "/shared" || !setsSession(hdr) {
					t.Fatalf("verify form: %d to %q: %s", st, hdr.Get("Location"), page)
				}
				if resp, err := rc.http.PostForm(redeem+"/passcode", url.Values{}); err != nil || resp.StatusCode != 403 {
					t.Errorf("a form without its CSRF token: %v %v", resp.StatusCode, err)
				}
			})

			t.Run("revoked", func(t *testing.T) {
				inv := e.invite(t, "frank@outside.example", false, "")
				if st, _, body := e.admin.do("DELETE", "/v1.0/users/"+inv["invitedUser"].(map[string]any)["id"].(string), nil); st != 204 {
					t.Fatalf("delete the pending guest: %d %s", st, body)
				}
				rc := newRecipient(t)
				if st, page := invitePage(t, rc, inv["inviteRedeemUrl"].(string)); st != 404 || !strings.Contains(page, "no longer valid") {
					t.Errorf("revoked invitation: %d %s", st, page)
				}
				if st, _, _ := rc.call("POST", inv["inviteRedeemUrl"].(string)+"/verify", map[string]any{"code": "12345678"}); st != 404 {
					t.Errorf("verify on a revoked invitation: %d", st)
				}
			})
		})
	}
}
