package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/oidctest"
	"gatehouse/internal/testenv"
)

// TestGuestBrowser runs flow 3 in headless Chromium: a partner's person
// verifies the link code, signs in at the partner (a real OpenID
// provider), becomes a guest and sees the file; a second browser then
// signs in through the partner with no code.
func TestGuestBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGuestEnv(t, b)
			const dana = "dana@fabrikam.example"
			partnerLogin := func(ctx context.Context, what string) {
				t.Helper()
				if err := chromedp.Do(ctx,
					chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
					chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "Dana@Fabrikam.example"),
					chromedp.SendKeys(chromedp.CSS(`input[name=password]`), oidctest.Password),
					chromedp.Click(chromedp.CSS(`form button:not([name])`)),
					chromedp.WaitVisible(chromedp.ID("shared-name")),
				); err != nil {
					shot(ctx, t, "failed-guest-"+b.Name+".png")
					t.Fatalf("%s: %v", what, err)
				}
				if name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("shared-name"))); err != nil || !strings.Contains(name, "plan.txt") {
					t.Errorf("%s: the shared file is called %q (%v)", what, name, err)
				}
				if loc := location(ctx, t); loc != e.webURL {
					t.Errorf("%s: the browser ended at %s, want the link %s", what, loc, e.webURL)
				}
			}
			askCode := func(ctx context.Context) {
				t.Helper()
				if err := chromedp.Do(ctx,
					chromedp.Navigate(e.webURL),
					chromedp.WaitVisible(chromedp.ID("email-form")),
					chromedp.SendKeys(chromedp.ID("email"), dana),
					chromedp.Click(chromedp.CSS("#email-form button[type=submit]")),
					chromedp.WaitVisible(chromedp.ID("code-form")),
					chromedp.WaitVisible(chromedp.ID("partner-sign-in")),
				); err != nil {
					shot(ctx, t, "failed-guest-code-"+b.Name+".png")
					t.Fatalf("ask for a code: %v", err)
				}
			}

			first := newBrowser(t, chromium)
			ctx, cancel := context.WithTimeout(first, 2*time.Minute)
			defer cancel()
			askCode(ctx)
			code := readCode(t, e.smtp, dana)
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("code"), code),
				chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
				// The code page has a partner link too: wait for the page
				// after the code, or the click races the verification.
				chromedp.WaitNotPresent(chromedp.ID("code-form")),
				chromedp.WaitVisible(chromedp.ID("partner-sign-in")),
				chromedp.Click(chromedp.ID("partner-sign-in")),
			); err != nil {
				t.Fatalf("enter the code: %v", err)
			}
			partnerLogin(ctx, "first sign-in")
			u, err := e.s.Store.UserByEmail(context.Background(), dana)
			if err != nil || u.UserType != gatehouse.UserTypeGuest || u.DisplayName != "Dana Scully" || !u.PartnerLinked() {
				t.Fatalf("the guest: %+v, %v", u, err)
			}
			mails := len(e.smtp.Messages())

			// A second browser: no code, the partner signs Dana in.
			second := newBrowser(t, chromium)
			ctx2, cancel2 := context.WithTimeout(second, 2*time.Minute)
			defer cancel2()
			askCode(ctx2)
			if err := chromedp.Do(ctx2, chromedp.Click(chromedp.ID("partner-sign-in"))); err != nil {
				t.Fatalf("follow the partner sign-in: %v", err)
			}
			partnerLogin(ctx2, "second sign-in")
			time.Sleep(300 * time.Millisecond)
			if n := len(e.smtp.Messages()); n != mails {
				t.Errorf("%d mails were sent for the second sign-in, want none", n-mails)
			}
			recs, _, err := e.s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{UserID: dana, Operation: gatehouse.OpUserLoggedIn}, nil)
			if err != nil || len(recs) != 2 {
				t.Errorf("UserLoggedIn records: %d, %v", len(recs), err)
			}
		})
	}
}
