package main

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// csrfValue matches a page's CSRF field, which differs per browser.
var csrfValue = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// granteeOf finds the identity of email in a permission's
// grantedToIdentitiesV2.
func granteeOf(perm map[string]any, email string) map[string]any {
	for _, g := range perm["grantedToIdentitiesV2"].([]any) {
		g := g.(map[string]any)
		if u, ok := g["user"].(map[string]any); ok && u["email"] == email {
			return g
		}
	}
	return nil
}

// TestOrgAddressWithoutAccount: on both backends, an address of an org
// domain with no account is in the organization everywhere: no
// isExternal, audit type Member, a noAccountYet warning, an invitation
// that tells them to ask for an account, and a link page that says the
// same (worded alike for every org address, so nothing says who has one).
func TestOrgAddressWithoutAccount(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL(); c.OrgName = "Example Corp" })
			owner := s.addUser("ada@example.com", "Ada Lovelace", "correct horse battery", true)
			s.addUser("bob@example.com", "Bob Member", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			file := o.json("PUT", items+root+":/plan.txt:/content", []byte("the plan\n"), 201)

			const newbie, member, ext = "newbie@example.com", "bob@example.com", "ext@partner.test"
			resp := o.json("POST", items+file["id"].(string)+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": newbie}, map[string]any{"email": member}, map[string]any{"email": ext}},
				"roles":      []string{"read"}, "requireSignIn": true, "sendInvitation": true,
			}, 200)
			warnings, _ := json.Marshal(resp["warnings"])
			if string(warnings) != `[{"code":"noAccountYet","email":"newbie@example.com"}]` {
				t.Errorf("warnings = %s, want noAccountYet for %s only", warnings, newbie)
			}
			perm := resp["value"].([]any)[0].(map[string]any)
			for email, want := range map[string]bool{newbie: false, member: false, ext: true} {
				if g := granteeOf(perm, email); g == nil || g["isExternal"] != want {
					t.Errorf("%s: grantee %v, want isExternal %v", email, g, want)
				}
			}
			types := map[string]string{}
			for _, r := range auditOf(o, perm["shareId"].(string)) {
				if r["Operation"] == gatehouse.OpAddedToSecureLink {
					types[r["TargetUserOrGroupName"].(string)] = r["TargetUserOrGroupType"].(string)
				}
			}
			if types[newbie] != "Member" || types["Bob Member"]+types[member] != "Member" || types[ext] != "External" {
				t.Errorf("audit target types = %v, want Member for both org addresses, External for %s", types, ext)
			}

			// The invitations: the org address without an account is told to
			// ask for one; the member signs in; the outsider gets a code.
			for email, want := range map[string]string{newbie: "You do not have an account\nyet: ask your administrator",
				member: "sign in with your Example Corp account", ext: "verification code"} {
				m := smtp.WaitFor(t, email, 10*time.Second)
				if !strings.Contains(m.Text, want) {
					t.Errorf("invitation to %s lacks %q:\n%s", email, want, m.Text)
				}
				if email != ext && strings.Contains(m.Text, "verification code") {
					t.Errorf("invitation to %s promises a code:\n%s", email, m.Text)
				}
			}

			// The link page: the org address is sent to sign in, with the
			// way to an account; the words are the same for the member.
			webURL := perm["link"].(map[string]any)["webUrl"].(string)
			link := strings.TrimPrefix(webURL, s.URL)
			pages := map[string]string{}
			for _, email := range []string{newbie, member} {
				rc := newRecipient(t)
				rc.page(s.URL, link)
				if st, loc, _ := rc.form(s.URL, link+"/passcode", url.Values{"email": {email}}); st != 303 || loc != link+"/passcode" {
					t.Fatalf("%s: passcode form: %d %q", email, st, loc)
				}
				st, _, page := rc.page(s.URL, link+"/passcode")
				if st != 200 || !strings.Contains(page, `id="sign-in"`) || !strings.Contains(page, "No account yet? Ask your administrator, or Ada Lovelace,") {
					t.Errorf("%s: sign-in page: %d\n%s", email, st, page)
				}
				pages[email] = strings.ReplaceAll(page, email, "ADDRESS")
			}
			if norm := func(p string) string { return csrfValue.ReplaceAllString(p, "") }; norm(pages[newbie]) != norm(pages[member]) {
				t.Errorf("the sign-in page differs between an address with an account and one without")
			}
		})
	}
}

// TestRecipientContext: on both backends, before verification the landing
// page names the sharer and the organization and nothing of the item;
// after it the page and the JSON carry the message, the permission and
// the expiry. Re-sharing with someone on the link says so and sends
// nothing, unless asked to resend: then once per interval, recorded.
func TestRecipientContext(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL(); c.OrgName = "Example Corp" })
			owner := s.addUser("ada@example.com", "Ada Lovelace", "correct horse battery", true)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			file := o.json("PUT", items+root+":/Merger plan.txt:/content", []byte("the plan\n"), 201)
			const ext = "ext@partner.test"
			exp := time.Now().UTC().AddDate(0, 0, 10).Truncate(24 * time.Hour)
			invite := func(extra map[string]any) map[string]any {
				body := map[string]any{"recipients": []any{map[string]any{"email": ext}}, "roles": []string{"read"},
					"requireSignIn": true, "sendInvitation": true, "message": "Read before Friday <please>",
					"expirationDateTime": exp.Format(time.RFC3339)}
				for k, v := range extra {
					body[k] = v
				}
				return o.json("POST", items+file["id"].(string)+"/invite", body, 200)
			}
			resp := invite(nil)
			if _, ok := resp["alreadyHadAccess"]; ok {
				t.Errorf("a first share reports alreadyHadAccess: %v", resp)
			}
			perm := resp["value"].([]any)[0].(map[string]any)
			webURL := perm["link"].(map[string]any)["webUrl"].(string)
			smtp.WaitFor(t, ext, 10*time.Second)

			rc := newRecipient(t)
			st, _, landing := rc.page(webURL, "")
			if st != 200 || !strings.Contains(landing, `<span class="shared-by">Ada Lovelace</span> at <span class="shared-org">Example Corp</span> shared something with you`) {
				t.Errorf("landing: %d, want the sharer and the organization named\n%s", st, landing)
			}
			for _, secret := range []string{"Merger", "plan.txt", "Read before", "file", "can view"} {
				if strings.Contains(landing, secret) {
					t.Errorf("landing before verification reveals %q", secret)
				}
			}

			verifyRecipient(t, rc, smtp, webURL, ext)
			st, _, raw := rc.call("GET", webURL, nil)
			var got struct {
				Share map[string]any `json:"share"`
			}
			if err := json.Unmarshal(raw, &got); st != 200 || err != nil {
				t.Fatalf("verified JSON: %d %s", st, raw)
			}
			if got.Share["sharedBy"] != "Ada Lovelace" || got.Share["permission"] != "can view" || got.Share["message"] != "Read before Friday <please>" ||
				got.Share["expirationDateTime"] != exp.Format(time.RFC3339) || got.Share["organization"] != "Example Corp" {
				t.Errorf("verified share context: %v", got.Share)
			}
			_, _, page := rc.page(webURL, "")
			for _, want := range []string{`id="ctx-permission">can view<`, "Read before Friday &lt;please&gt;",
				"Access lasts <span id=\"ctx-expiry\">through " + exp.AddDate(0, 0, -1).Format("Jan 2")} {
				if !strings.Contains(page, want) {
					t.Errorf("verified page lacks %q", want)
				}
			}

			// Sharing again with the same address: they already have access,
			// and no mail claims otherwise.
			count := func() int {
				all, _ := s.Store.Outbox(t.Context(), "", 1000)
				n := 0
				for _, m := range all {
					if m.Kind == "invitation" && m.To == ext {
						n++
					}
				}
				return n
			}
			before := count()
			again := invite(nil)
			if toJSON(again["alreadyHadAccess"]) != `["ext@partner.test"]` || toJSON(again["resent"]) != `[]` || count() != before {
				t.Errorf("re-share: alreadyHadAccess %v resent %v, %d new mails", again["alreadyHadAccess"], again["resent"], count()-before)
			}
			// Within the interval a resend is refused; the first was at the share.
			if r := invite(map[string]any{"resend": true}); toJSON(r["resent"]) != `[]` || count() != before {
				t.Errorf("resend within the interval: resent %v", r["resent"])
			}
			// Someone added without a mail may be sent the invitation on
			// request, once, and the resend is recorded.
			const quiet = "quiet@partner.test"
			o.json("POST", items+file["id"].(string)+"/invite", map[string]any{"recipients": []any{map[string]any{"email": quiet}},
				"roles": []string{"read"}, "requireSignIn": true, "sendInvitation": false, "expirationDateTime": exp.Format(time.RFC3339)}, 200)
			resend := func() map[string]any {
				return o.json("POST", items+file["id"].(string)+"/invite", map[string]any{"recipients": []any{map[string]any{"email": quiet}},
					"roles": []string{"read"}, "requireSignIn": true, "resend": true, "expirationDateTime": exp.Format(time.RFC3339)}, 200)
			}
			if r := resend(); toJSON(r["resent"]) != `["quiet@partner.test"]` {
				t.Errorf("resend: %v", r)
			}
			if m := smtp.WaitFor(t, quiet, 10*time.Second); !strings.Contains(m.Text, "Merger plan.txt") {
				t.Errorf("resent invitation:\n%s", m.Text)
			}
			if r := resend(); toJSON(r["resent"]) != `[]` {
				t.Errorf("a second resend at once: %v, want none", r["resent"])
			}
			n := 0
			for _, r := range auditOf(o, perm["shareId"].(string)) {
				if r["Operation"] == gatehouse.OpSharingInvitationCreated && r["TargetUserOrGroupName"] == quiet {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d resend records, want 1", n)
			}
		})
	}
}

// TestInviteCodePages: on both backends, a guest invitation's code forms
// redirect (303) to GET pages that show their result, so reloads and
// restored tabs work; JSON says when a new code may be asked for and tells
// a wrong code (invalidCode) from a dead one (codeNoLongerValid).
func TestInviteCodePages(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			admin := s.addUser("ada@example.com", "Ada Lovelace", "correct horse battery", true)
			a := &apiClient{t: t, base: s.URL, token: s.token(admin)}
			redeem := a.json("POST", "/v1.0/invitations", map[string]any{"invitedUserEmailAddress": "gina@partner.test",
				"sendInvitationMessage": true}, 201)["inviteRedeemUrl"].(string)
			// The guest's invitation comes from the inviter via Gatehouse and
			// replies go to them.
			mailRaw := string(smtp.WaitFor(t, "gina@partner.test", 10*time.Second).Raw)
			for _, want := range []string{"\r\nFrom: \"Ada Lovelace via Gatehouse\" <gatehouse@localhost>\r\n", "\r\nReply-To: <ada@example.com>\r\n"} {
				if !strings.Contains(mailRaw, want) {
					t.Errorf("guest invitation lacks %q:\n%s", want, mailRaw[:min(len(mailRaw), 600)])
				}
			}
			path := strings.TrimPrefix(redeem, s.URL)
			codePage := path + "/passcode"

			// No code asked for in this browser: the page to start from.
			rc := newRecipient(t)
			if st, hdr, _ := rc.page(s.URL, codePage); st != 303 || hdr.Get("Location") != path {
				t.Errorf("code page before a request: %d %q, want 303 to %s", st, hdr.Get("Location"), path)
			}
			rc.page(s.URL, path)
			if st, loc, _ := rc.form(s.URL, codePage, url.Values{}); st != 303 || loc != codePage {
				t.Fatalf("code request: %d %q, want 303 to %s", st, loc, codePage)
			}
			wait := regexp.MustCompile(`data-resend-after="(\d+)"`)
			for i := range 2 { // the page and its reload
				st, _, page := rc.page(s.URL, codePage)
				m := wait.FindStringSubmatch(page)
				if st != 200 || !strings.Contains(page, `id="code-form"`) || m == nil || m[1] == "0" {
					t.Errorf("code page (load %d): %d, want the form with a wait\n%s", i, st, page)
				}
			}
			if st, hdr, _ := rc.page(s.URL, path+"/verify"); st != 303 || hdr.Get("Location") != codePage {
				t.Errorf("GET verify: %d %q, want 303 to the code page", st, hdr.Get("Location"))
			}
			if st, loc, _ := rc.form(s.URL, path+"/verify", url.Values{"code": {"00000000"}}); st != 303 || loc != codePage {
				t.Fatalf("wrong code: %d %q", st, loc)
			}
			_, _, page := rc.page(s.URL, codePage)
			if !strings.Contains(page, "That code didn") {
				t.Errorf("the wrong code is not said:\n%s", page)
			}
			if _, _, page := rc.page(s.URL, codePage); strings.Contains(page, "That code didn") || !strings.Contains(page, `id="code-form"`) {
				t.Errorf("reloaded, the page repeats the error or lost the form")
			}

			// JSON: the wait, then invalidCode until the code has had its
			// five tries, then codeNoLongerValid.
			st, _, raw := rc.call("POST", redeem+"/passcode", map[string]any{})
			var sent struct {
				Sent  bool `json:"sent"`
				After int  `json:"resendAfterSeconds"`
			}
			if json.Unmarshal(raw, &sent); st != 200 || !sent.Sent || sent.After < 1 || sent.After > 30 {
				t.Errorf("JSON code request: %d %s", st, raw)
			}
			var codes []string
			for range 4 {
				st, _, raw := rc.call("POST", redeem+"/verify", map[string]any{"code": "00000000"})
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				json.Unmarshal(raw, &e)
				if st != 400 {
					t.Errorf("wrong code: %d %s", st, raw)
				}
				codes = append(codes, e.Error.Code)
			}
			if strings.Join(codes, ",") != "invalidCode,invalidCode,invalidCode,codeNoLongerValid" {
				t.Errorf("error codes of tries 2-5: %v", codes)
			}
		})
	}
}
