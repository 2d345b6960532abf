package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// TestCodePageBrowser: in Chromium, the code page survives a reload and a
// reopened verify address (no "Method Not Allowed"), keeps "Send a new
// code" off while it counts down, and shows a wrong code's message once.
func TestCodePageBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			file := o.json("PUT", items+root+":/plan.txt:/content", []byte("the plan\n"), 201)
			const ext = "ext@partner.test"
			resp := o.json("POST", items+file["id"].(string)+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": ext}}, "roles": []string{"read"},
				"requireSignIn": true, "sendInvitation": false,
			}, 200)
			link := resp["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)

			ctx, cancel := context.WithTimeout(newBrowser(t, chromium), 2*time.Minute)
			defer cancel()
			do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, steps...); err != nil {
					shot(ctx, t, "failed-code-page-"+b.Name+".png")
					t.Fatalf("%s: %v", what, err)
				}
			}
			text := func(sel string) string {
				t.Helper()
				s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("text of %s: %v", sel, err)
				}
				return s
			}
			do("ask for a code",
				chromedp.Navigate(link),
				chromedp.WaitVisible(chromedp.ID("email-form")),
				chromedp.SendKeys(chromedp.ID("email"), ext),
				chromedp.Click(chromedp.CSS("#email-form button[type=submit]")),
				chromedp.WaitVisible(chromedp.ID("code-form")),
			)
			if loc := location(ctx, t); loc != link+"/passcode" {
				t.Errorf("the code page is at %q, want %q", loc, link+"/passcode")
			}
			if w := text("#resend-after"); !strings.Contains(w, "You can ask for a new code in") {
				t.Errorf("the wait reads %q", w)
			}
			if off, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('resend').disabled`)); err != nil || !off {
				t.Errorf("Send a new code is enabled during the wait (%v)", err)
			}
			shot(ctx, t, "code-page-"+b.Name+".png")
			do("reload the code page", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("code-form")))
			do("reopen the verify address", chromedp.Navigate(link+"/verify"), chromedp.WaitVisible(chromedp.ID("code-form")))
			do("enter a wrong code",
				chromedp.SendKeys(chromedp.ID("code"), "00000000"),
				chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
				chromedp.WaitVisible(chromedp.ID("error")),
			)
			if msg := text("#error"); !strings.Contains(msg, "didn't work") {
				t.Errorf("after a wrong code the page says %q", msg)
			}
			do("reload after the wrong code", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("code-form")))
			if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#error').length`)); err != nil || n != 0 {
				t.Errorf("the error shows again on reload (%d, %v)", n, err)
			}
			code := readCode(t, smtp, ext)
			do("enter the code",
				chromedp.SendKeys(chromedp.ID("code"), code),
				chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
				chromedp.WaitNotPresent(chromedp.ID("code-form")),
			)
			if loc := location(ctx, t); loc != link {
				t.Errorf("after the code the browser is at %q, want the link", loc)
			}
			do("an unknown page", chromedp.Navigate(s.URL+"/no/such/page"), chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Page not found"]`)))
		})
	}
}
