package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// TestRecipientContextBrowser, in Chromium on a desktop (1280×900) and a
// phone (390×844), on both backends: before verification the link page
// names the sharer and the organization and nothing of the item; the code
// page survives a reload; after verification the page shows the message,
// the permission and the expiry, all without sideways scrolling; a Replace
// with another type of file asks first, and cancelling sends nothing. The
// guest invitation's code page survives a reload and a reopened verify
// address too.
func TestRecipientContextBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL(); c.OrgName = "Example Corp" })
			owner := s.addUser("ada@example.com", "Ada Lovelace", "correct horse battery", true)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			file := o.json("PUT", items+root+":/notes.txt:/content", []byte("the notes\n"), 201)
			exp := time.Now().UTC().AddDate(0, 0, 10).Truncate(24 * time.Hour)
			png := filepath.Join(t.TempDir(), "photo.png")
			if err := os.WriteFile(png, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
				t.Fatal(err)
			}

			for _, vp := range []struct {
				name string
				w, h int64
				ext  string
			}{{"desktop", 1280, 900, "desk@partner.test"}, {"phone", 390, 844, "phone@partner.test"}} {
				t.Run(vp.name, func(t *testing.T) {
					resp := o.json("POST", items+file["id"].(string)+"/invite", map[string]any{
						"recipients": []any{map[string]any{"email": vp.ext}}, "roles": []string{"write"},
						"requireSignIn": true, "sendInvitation": true, "message": "Please fix the typo in line 3.",
						"expirationDateTime": exp.Format(time.RFC3339),
					}, 200)
					link := resp["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)
					smtp.WaitFor(t, vp.ext, 10*time.Second) // the invitation

					ctx, cancel := context.WithTimeout(newBrowser(t, chromium), 2*time.Minute)
					defer cancel()
					name := "recipient-context-" + b.Name + "-" + vp.name
					do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
						t.Helper()
						if err := chromedp.Do(ctx, steps...); err != nil {
							shot(ctx, t, "failed-"+name+".png")
							t.Fatalf("%s: %v", what, err)
						}
					}
					text := func(sel string) string {
						t.Helper()
						s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
						if err != nil {
							t.Fatalf("text of %s: %v", sel, err)
						}
						return strings.Join(strings.Fields(s), " ")
					}
					fits := func(where string) {
						t.Helper()
						ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
						if err != nil || !ok {
							t.Errorf("%s scrolls sideways at %d px (%v)", where, vp.w, err)
						}
					}
					do("size the window", chromedp.EmulateViewport(vp.w, vp.h))

					// Before verification: the sharer and the organization.
					do("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("email-form")))
					if h := text("#shared-heading"); h != "Ada Lovelace at Example Corp shared something with you" {
						t.Errorf("landing heading %q", h)
					}
					if body := text("main"); strings.Contains(body, "notes") || strings.Contains(body, "typo") || strings.Contains(body, "can upload") {
						t.Errorf("landing reveals the item or the share: %q", body)
					}
					fits("the landing page")
					shot(ctx, t, name+"-landing.png")

					do("ask for a code",
						chromedp.SendKeys(chromedp.ID("email"), vp.ext),
						chromedp.Click(chromedp.CSS("#email-form button[type=submit]")),
						chromedp.WaitVisible(chromedp.ID("code-form")),
					)
					if c := text("#context-line"); c != "Ada Lovelace at Example Corp shared something with you." {
						t.Errorf("code page context %q", c)
					}
					do("reload the code page", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("code-form")))
					fits("the code page")
					code := readCode(t, smtp, vp.ext)
					do("enter the code",
						chromedp.SendKeys(chromedp.ID("code"), code),
						chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
						chromedp.WaitVisible(chromedp.ID("share-context")),
					)

					// After verification: message, permission, expiry.
					if p := text("#ctx-permission"); p != "can upload and replace" {
						t.Errorf("permission %q", p)
					}
					if m := text("#ctx-message"); m != "Please fix the typo in line 3." {
						t.Errorf("message %q", m)
					}
					if e := text("#ctx-expiry"); !strings.HasPrefix(e, "through "+exp.AddDate(0, 0, -1).Format("Jan 2")) {
						t.Errorf("expiry %q", e)
					}
					if who := text("#ctx-sharer"); who != "Ada Lovelace" {
						t.Errorf("sharer %q", who)
					}
					fits("the shared file's page")
					shot(ctx, t, name+"-verified.png")

					// Replacing notes.txt with a PNG asks first; cancelling
					// sends nothing.
					do("choose a PNG to replace the text file",
						chromedp.Evaluate[chromedp.Void](`window.__asked = []; window.confirm = function (m) { window.__asked.push(m); return false; }`),
						chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{png}),
						// The page scrolls smoothly; click once it has settled.
						chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.body.scrollHeight)`),
						chromedp.Sleep(200*time.Millisecond),
						chromedp.Click(chromedp.CSS("#upload-form button[type=submit]"), chromedp.NodeVisible),
					)
					shot(ctx, t, name+"-replace.png")
					asked, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__asked`))
					if err != nil || len(asked) != 1 || !strings.Contains(asked[0], "different type of file") || !strings.Contains(asked[0], "notes.txt") {
						t.Errorf("replace with a PNG asked %q (%v), want one question naming notes.txt", asked, err)
					}
					if st := text("#upload-status"); st != "" {
						t.Errorf("after cancelling, the status reads %q", st)
					}
					if got := o.json("GET", items+file["id"].(string), nil, 200)["size"]; got != float64(len("the notes\n")) {
						t.Errorf("the file changed after a cancelled replace: size %v", got)
					}
				})
			}

			// The guest invitation's code page, on both sizes.
			for _, vp := range viewports {
				t.Run("invite-"+vp.name, func(t *testing.T) {
					redeem := o.json("POST", "/v1.0/invitations", map[string]any{"invitedUserEmailAddress": "guest-" + vp.name + "@partner.test",
						"sendInvitationMessage": false}, 201)["inviteRedeemUrl"].(string)
					ctx, cancel := context.WithTimeout(newBrowser(t, chromium), 2*time.Minute)
					defer cancel()
					do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
						t.Helper()
						if err := chromedp.Do(ctx, steps...); err != nil {
							shot(ctx, t, "failed-invite-code-"+b.Name+"-"+vp.name+".png")
							t.Fatalf("%s: %v", what, err)
						}
					}
					do("open the invitation",
						chromedp.EmulateViewport(vp.w, vp.h),
						chromedp.Navigate(redeem),
						chromedp.WaitVisible(chromedp.ID("send-form")),
						chromedp.Click(chromedp.CSS("#send-form button[type=submit]")),
						chromedp.WaitVisible(chromedp.ID("code-form")),
					)
					if loc := location(ctx, t); loc != redeem+"/passcode" {
						t.Errorf("the invitation's code page is at %q, want %q", loc, redeem+"/passcode")
					}
					if off, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('resend').disabled`)); err != nil || !off {
						t.Errorf("Send a new code is enabled during the wait (%v)", err)
					}
					do("reload the code page", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("code-form")))
					do("reopen the verify address", chromedp.Navigate(redeem+"/verify"), chromedp.WaitVisible(chromedp.ID("code-form")))
					do("enter a wrong code",
						chromedp.SendKeys(chromedp.ID("code"), "00000000"),
						chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
						chromedp.WaitVisible(chromedp.ID("error")),
					)
					shot(ctx, t, "invite-code-"+b.Name+"-"+vp.name+".png")
					do("reload after the wrong code", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("code-form")))
					if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#error').length`)); err != nil || n != 0 {
						t.Errorf("the error shows again on reload (%d, %v)", n, err)
					}
				})
			}
		})
	}
}
