package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// TestGuestCodeBrowser: in headless Chromium, a guest without a partner
// (made by B2B integration from a verified link code) signs in at /login
// with the address, then the code from the mail.
func TestGuestCodeBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGuestEnv(t, b)
			const gus = "gus@contoso.example"
			e.admin.json("PATCH", "/v1.0/admin/sharepoint/settings", map[string]any{"isB2BIntegrationEnabled": true}, 200)
			resp := e.owner.json("POST", e.items+e.fileID+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": gus}}, "roles": []string{"read"}, "sendInvitation": false}, 200)
			gusURL := resp["value"].([]any)[0].(map[string]any)["link"].(map[string]any)["webUrl"].(string)
			rc := newRecipient(t)
			if st, _, body := rc.call("POST", gusURL+"/passcode", map[string]string{"email": gus}); st != 200 {
				t.Fatalf("passcode: %d %s", st, body)
			}
			if st, _, body := rc.call("POST", gusURL+"/verify", map[string]any{"email": gus, "code": readCode(t, e.smtp, gus)}); st != 200 {
				t.Fatalf("verify: %d %s", st, body)
			}

			ctx, cancel := context.WithTimeout(newBrowser(t, chromium), 2*time.Minute)
			defer cancel()
			if err := chromedp.Do(ctx,
				chromedp.Navigate(e.s.URL+"/login"),
				chromedp.WaitVisible(chromedp.ID("login-form")),
				chromedp.SendKeys(chromedp.ID("email"), gus),
				chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
				chromedp.WaitVisible(chromedp.ID("code-form")),
			); err != nil {
				shot(ctx, t, "failed-guest-login-"+b.Name+".png")
				t.Fatalf("ask for a code at /login: %v", err)
			}
			code := readCode(t, e.smtp, gus)
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("code"), code),
				chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
				chromedp.WaitNotPresent(chromedp.ID("code-form")),
			); err != nil {
				shot(ctx, t, "failed-guest-login-code-"+b.Name+".png")
				t.Fatalf("enter the code: %v", err)
			}
			// Signed in: the sign-in page now sends the browser on.
			if err := chromedp.Do(ctx, chromedp.Navigate(e.s.URL+"/login?next=%2Flogin-done")); err != nil {
				t.Fatal(err)
			}
			if loc := location(ctx, t); loc != e.s.URL+"/login-done" {
				t.Errorf("after the code the sign-in page stayed at %s, want it to send the signed-in guest on", loc)
			}
			recs, _, err := e.s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{UserID: gus, Operation: gatehouse.OpUserLoggedIn}, nil)
			if err != nil || len(recs) != 1 || recs[0].UserType != "Guest" {
				t.Errorf("UserLoggedIn records: %d, %v", len(recs), err)
			}
		})
	}
}
