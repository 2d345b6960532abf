package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// TestShareBrowser walks through secure sharing in headless Chromium: the
// owner shares a folder, an outsider verifies with an emailed code in a
// browser of their own and downloads a file, the owner removes them and
// their next page is refused.
func TestShareBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			testShareBrowser(t, s, smtp, chromium, b.Name)
		})
	}
}

// readCode waits for the passcode mail to email on the SMTP server and
// reads the code out of it, as the recipient would; invitations that
// arrive first are skipped.
func readCode(t *testing.T, smtp *mailtest.Server, email string) string {
	t.Helper()
	for {
		m := smtp.WaitFor(t, email, 10*time.Second)
		if strings.Contains(m.Subject, "verification code") {
			return mailtest.Code(t, m)
		}
	}
}

func testShareBrowser(t *testing.T, s *server, smtp *mailtest.Server, chromium, backend string) {
	const owner, password, guest = "olive@example.com", "a long enough password", "ext@partner.test"
	s.addUser(owner, "Olive Owner", password, false)
	suffix := ""
	if backend != "sqlite" {
		suffix = "-" + backend
	}
	ownerTab := newBrowser(t, chromium)
	ctx, cancel := context.WithTimeout(ownerTab, 2*time.Minute)
	defer cancel()
	do := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot(ctx, t, "failed-share"+suffix+".png")
			t.Fatalf("%s: %v", what, err)
		}
	}

	do(ctx, "sign in",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), owner),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("folder-form")),
	)
	do(ctx, "create and open the folder",
		chromedp.SendKeys(chromedp.ID("new-folder"), "Project"),
		chromedp.Click(chromedp.CSS("#folder-form button[type=submit]")),
		chromedp.Click(chromedp.Search(`//a[contains(@class,"folder") and normalize-space()="Project"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Project"]`)),
	)
	content := make([]byte, 256<<10)
	rand.Read(content)
	path := filepath.Join(t.TempDir(), "plan.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	do(ctx, "upload a file",
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{path}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(@class,"file") and normalize-space()="plan.bin"]`)),
	)
	do(ctx, "open the share dialog",
		chromedp.Click(chromedp.Search(`//nav[contains(@class,"crumbs")]//a`)),
		chromedp.WaitVisible(chromedp.CSS(`a.share[aria-label="Share Project"]`)),
		chromedp.Click(chromedp.CSS(`a.share[aria-label="Share Project"]`)),
		chromedp.WaitVisible(chromedp.ID("share-form")),
		chromedp.SendKeys(chromedp.ID("share-emails"), guest),
		chromedp.SetValue(chromedp.ID("share-type"), "view"),
		chromedp.SendKeys(chromedp.ID("share-message"), "The project files, as promised."),
	)
	shot(ctx, t, "share"+suffix+".png")
	do(ctx, "share",
		chromedp.Click(chromedp.CSS("#share-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("section.link")),
	)
	if txt, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("section.link table"))); err != nil || !strings.Contains(txt, guest) {
		t.Errorf("manage access shows %q (%v), want %s", txt, err, guest)
	}
	shot(ctx, t, "access"+suffix+".png")
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input.link-url').value`))
	if err != nil || !strings.HasPrefix(link, s.URL+"/s/") {
		t.Fatalf("the copy-link field holds %q (%v)", link, err)
	}

	// The recipient, in a browser of their own.
	guestTab := newBrowser(t, chromium)
	gctx, gcancel := context.WithTimeout(guestTab, 2*time.Minute)
	defer gcancel()
	do(gctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("email-form")))
	if txt, err := chromedp.Run(gctx, chromedp.Text(chromedp.ID("main"))); err != nil || strings.Contains(txt, "Project") || strings.Contains(txt, "plan.bin") {
		t.Errorf("the landing page says %q (%v): it must not name the item", txt, err)
	}
	shot(gctx, t, "recipient-landing"+suffix+".png")
	do(gctx, "ask for a code",
		chromedp.SendKeys(chromedp.ID("email"), guest),
		chromedp.Click(chromedp.CSS("#email-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("code-form")),
	)
	code := readCode(t, smtp, guest)
	do(gctx, "enter the code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.CSS("#code-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("shared-items")),
	)
	if name, err := chromedp.Run(gctx, chromedp.Text(chromedp.ID("shared-name"))); err != nil || name != "Project" {
		t.Errorf("the shared folder is called %q (%v)", name, err)
	}
	shot(gctx, t, "recipient-folder"+suffix+".png")
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(gctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("set the download directory: %v", err)
	}
	do(gctx, "download the file", chromedp.Click(chromedp.CSS("a.download")))
	if got := waitForFile(t, filepath.Join(downloads, "plan.bin"), len(content)); !bytes.Equal(got, content) {
		t.Errorf("downloaded %d bytes that differ from the %d uploaded", len(got), len(content))
	}

	// The owner removes the recipient; their next page is refused.
	do(ctx, "remove the recipient",
		chromedp.Evaluate[chromedp.Void](`window.confirm = function () { return true; }`),
		chromedp.Click(chromedp.CSS(`button[aria-label="Remove `+guest+`"]`)),
		// The page already shows the flash of the share; wait for this one.
		chromedp.WaitVisible(chromedp.Search(`//p[contains(@class,"notice") and starts-with(normalize-space(),"Removed")]`)),
	)
	do(gctx, "reload as the removed recipient", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("other-address")))
	if txt, err := chromedp.Run(gctx, chromedp.Text(chromedp.ID("main"))); err != nil || strings.Contains(txt, "plan.bin") {
		t.Errorf("after removal the page says %q (%v)", txt, err)
	}
	shot(gctx, t, "denied"+suffix+".png")

	recs, _, err := s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{UserID: guest}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Operation] = true
	}
	for _, op := range []string{gatehouse.OpPasscodeVerified, gatehouse.OpSecureLinkUsed, gatehouse.OpFileDownloaded} {
		if !seen[op] {
			t.Errorf("the audit log has no %s record for %s", op, guest)
		}
	}
}
