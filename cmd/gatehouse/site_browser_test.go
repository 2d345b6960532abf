package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// TestSiteBrowser walks through site sharing in headless Chromium: an
// owner creates a site and uploads a file, shares the site as Read with an
// outside address; the invited person redeems the mailed invitation with
// a code in a browser of their own, lands signed in on the site and sees
// the file; the owner removes them in the Members panel, and their next
// page is the not-found page.
func TestSiteBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			testSiteBrowser(t, s, smtp, chromium, b.Name)
		})
	}
}

func testSiteBrowser(t *testing.T, s *server, smtp *mailtest.Server, chromium, backend string) {
	const owner, admin, password, guest = "olive@example.com", "ada@example.com", "a long enough password", "gus@partner.test"
	s.addUser(owner, "Olive Owner", password, false)
	s.addUser(admin, "Ada Admin", password, true)
	suffix := ""
	if backend != "sqlite" {
		suffix = "-" + backend
	}
	ctx, cancel := context.WithTimeout(newBrowser(t, chromium), 3*time.Minute)
	defer cancel()
	do := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot(ctx, t, "failed-site"+suffix+".png")
			t.Fatalf("%s: %v", what, err)
		}
	}
	signIn := func(email string) {
		t.Helper()
		do(ctx, "sign in as "+email,
			chromedp.Navigate(s.URL+"/login"),
			chromedp.WaitVisible(chromedp.ID("login-form")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.ID("folder-form")),
		)
	}

	signIn(owner)
	do(ctx, "create a site",
		chromedp.Click(chromedp.Search(`//nav[contains(@class,"mainnav")]//a[normalize-space()="Sites"]`)),
		chromedp.WaitVisible(chromedp.ID("create-site-form")),
		chromedp.SendKeys(chromedp.ID("ns-name"), "Falcon"),
		chromedp.SendKeys(chromedp.ID("ns-description"), "Files of the falcon project"),
		chromedp.Click(chromedp.CSS("#create-site-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("members")),
		chromedp.WaitVisible(chromedp.ID("upload-form")),
	)
	siteURL := location(ctx, t)
	if !strings.HasPrefix(siteURL, s.URL+"/sites/") {
		t.Fatalf("after creating the site the browser is at %s", siteURL)
	}
	siteID := strings.TrimPrefix(siteURL, s.URL+"/sites/")
	path := filepath.Join(t.TempDir(), "flight-plan.txt")
	if err := os.WriteFile(path, []byte("north, then east"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileLink := chromedp.Search(`//a[contains(@class,"file") and normalize-space()="flight-plan.txt"]`)
	do(ctx, "upload a file",
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{path}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
		chromedp.WaitVisible(fileLink),
	)
	do(ctx, "share the site",
		chromedp.Click(chromedp.CSS("details.share-site summary")),
		chromedp.WaitVisible(chromedp.ID("share-site-form")),
		chromedp.SendKeys(chromedp.ID("site-email"), guest),
		chromedp.SetValue(chromedp.ID("site-role"), "read"),
		chromedp.SendKeys(chromedp.ID("site-message"), "Welcome aboard the falcon project."),
		chromedp.Click(chromedp.CSS("#share-site-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(@class,"notice") and starts-with(normalize-space(),"Invited")]`)),
	)
	if msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice.ok"))); err != nil || !strings.Contains(msg, guest) || !strings.Contains(msg, "as Read") {
		t.Errorf("after sharing the page says %q (%v), want the invitation as Read", msg, err)
	}

	// The invitation, as the guest reads it.
	m := smtp.WaitFor(t, guest, 10*time.Second)
	if !strings.Contains(m.Subject, "Falcon") || !strings.Contains(m.Text, "Welcome aboard the falcon project.") {
		t.Errorf("the invitation mail %q does not name the site or carry the message:\n%s", m.Subject, m.Text)
	}
	redeem := mailtest.ExtractLink(t, m, s.URL+"/invite/")

	gctx, gcancel := context.WithTimeout(newBrowser(t, chromium), 3*time.Minute)
	defer gcancel()
	do(gctx, "open the invitation",
		chromedp.Navigate(redeem),
		chromedp.WaitVisible(chromedp.ID("send-form")),
		chromedp.Click(chromedp.CSS("#send-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("code-form")),
	)
	code := readCode(t, smtp, guest)
	do(gctx, "enter the code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
		chromedp.WaitVisible(fileLink),
	)
	if loc := location(gctx, t); loc != siteURL {
		t.Errorf("after the code the guest is at %s, want the site %s", loc, siteURL)
	}
	if txt, err := chromedp.Run(gctx, chromedp.Text(chromedp.CSS(".topbar"))); err != nil || !strings.Contains(txt, "Sites") || strings.Contains(txt, "My files") {
		t.Errorf("the guest's header says %q (%v), want Sites and no My files", txt, err)
	}
	if n, err := chromedp.Run(gctx, chromedp.Evaluate[int](`document.querySelectorAll('#upload-form, #share-site-form, #delete-site').length`)); err != nil || n != 0 {
		t.Errorf("the visiting guest sees %d forms to change the site (%v), want none", n, err)
	}
	// The guest's Sites page lists the site, and offers no new one.
	do(gctx, "open the guest's Sites page",
		chromedp.Click(chromedp.Search(`//nav[contains(@class,"mainnav")]//a[normalize-space()="Sites"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table//a[normalize-space()="Falcon"]`)),
	)
	if n, err := chromedp.Run(gctx, chromedp.Evaluate[int](`document.querySelectorAll('#create-site-form').length`)); err != nil || n != 0 {
		t.Errorf("the guest is offered to create a site (%d, %v)", n, err)
	}
	do(gctx, "back to the site",
		chromedp.Click(chromedp.Search(`//table//a[normalize-space()="Falcon"]`)),
		chromedp.WaitVisible(fileLink),
	)

	// The owner sees the guest among the visitors, by name and badged.
	guestRow := `//div[contains(@class,"group")][h3[starts-with(normalize-space(),"Visitors")]]//tr[td[normalize-space()="` + guest + `"]]`
	do(ctx, "see the guest in the Members panel",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.Search(guestRow+`//span[contains(@class,"badge") and normalize-space()="Guest"]`)),
	)
	fullShot(ctx, t, "site-page"+suffix+".png")
	do(ctx, "remove the guest",
		chromedp.Evaluate[chromedp.Void](`window.confirm = function () { return true; }`),
		chromedp.Click(chromedp.Search(guestRow+`//button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(@class,"notice") and starts-with(normalize-space(),"Removed")]`)),
	)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#members tr').length`)); err != nil || n != 2 {
		t.Errorf("after the removal the Members panel has %d rows (%v), want the header and the owner", n, err)
	}
	do(gctx, "reload as the removed guest",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Not found"]`)),
	)
	if txt, err := chromedp.Run(gctx, chromedp.Text(chromedp.ID("main"))); err != nil || strings.Contains(txt, "flight-plan.txt") {
		t.Errorf("after removal the guest's page says %q (%v)", txt, err)
	}

	// Admin → Groups lists the site's three groups.
	do(ctx, "sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("login-form")))
	signIn(admin)
	do(ctx, "open Admin → Groups",
		chromedp.Click(chromedp.Search(`//nav//a[normalize-space()="Admin"]`)),
		chromedp.Click(chromedp.Search(`//nav[contains(@class,"tabs")]//a[normalize-space()="Groups"]`)),
		chromedp.WaitVisible(chromedp.ID("create-group-form")),
		chromedp.WaitVisible(chromedp.Search(`//table//a[normalize-space()="Falcon Visitors"]`)),
	)
	fullShot(ctx, t, "admin-groups"+suffix+".png")

	recs, _, err := s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{Limit: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range recs {
		switch r.Operation {
		case gatehouse.OpSiteCollectionCreated, gatehouse.OpSharingInvitationCreated, gatehouse.OpSharingInvitationAccepted:
			ops = append(ops, r.Operation)
		case gatehouse.OpAddedToGroup, gatehouse.OpRemovedFromGroup:
			if r.TargetUserOrGroupName == guest {
				ops = append(ops, r.Operation)
			}
		}
		if r.Operation == gatehouse.OpSharingInvitationCreated && r.ObjectID != siteURL {
			t.Errorf("SharingInvitationCreated names %q, want the site's webUrl %s", r.ObjectID, siteURL)
		}
	}
	got := strings.Join(ops, " ")
	for _, want := range []string{gatehouse.OpSiteCollectionCreated, gatehouse.OpSharingInvitationCreated, gatehouse.OpSharingInvitationAccepted,
		gatehouse.OpAddedToGroup, gatehouse.OpRemovedFromGroup} {
		if !strings.Contains(got, want) {
			t.Errorf("the audit log has no %s record (site %s): %s", want, siteID, got)
		}
	}
}

// fullShot is shot of the whole page, not only what the window shows.
func fullShot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
		}
	}
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
