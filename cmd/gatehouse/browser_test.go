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
	"gatehouse/internal/testenv"
)

// TestBrowser walks through the web UI in headless Chromium as a member
// would: sign in, create a folder, upload a file with the file picker,
// download it, sign out.
func TestBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			testBrowserFiles(t, s, newBrowser(t, chromium), b.Name)
		})
	}
}

// newBrowser starts Chromium with a fresh profile and returns the context
// of its first tab. The browser stops when the test ends.
func newBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	// The profile lives under t.TempDir; the cleanup below runs first
	// (cleanups run last in, first out), so the directory is empty by then.
	profile := filepath.Join(t.TempDir(), "profile")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit
		// Helper processes can still write to the profile for a moment.
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// Start the browser with a context that has no deadline: the first run
	// ties the browser's life to its context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

func testBrowserFiles(t *testing.T, s *server, tab context.Context, backend string) {
	const email, password = "mia@example.com", "a long enough password"
	s.addUser(email, "Mia Member", password, false)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot(tab, t, "failed-"+backend+".png")
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Asking for the files without a session lands on the sign-in page.
	do("open /files", chromedp.Navigate(s.URL+"/files"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if loc := location(ctx, t); !strings.HasPrefix(loc, s.URL+"/login?next=%2Ffiles") {
		t.Errorf("without a session /files went to %s, want the sign-in page", loc)
	}
	do("sign in",
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("folder-form")),
	)
	if who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".who"))); err != nil || who != "Mia Member" {
		t.Errorf("header shows %q (%v), want the display name", who, err)
	}

	do("create a folder",
		chromedp.SendKeys(chromedp.ID("new-folder"), "Quarterly reports"),
		chromedp.Click(chromedp.CSS("#folder-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(@class,"folder") and normalize-space()="Quarterly reports"]`)),
	)
	do("open the folder",
		chromedp.Click(chromedp.Search(`//a[contains(@class,"folder") and normalize-space()="Quarterly reports"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Quarterly reports"]`)),
	)

	// A file big enough that the upload takes more than one progress event.
	content := make([]byte, 3<<20)
	rand.Read(content)
	path := filepath.Join(t.TempDir(), "q3-figures.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	fileLink := chromedp.Search(`//a[contains(@class,"file") and normalize-space()="q3-figures.bin"]`)
	do("upload a file",
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{path}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
		chromedp.WaitVisible(fileLink),
	)
	if msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice.ok"))); err != nil || msg != "Uploaded “q3-figures.bin”." {
		t.Errorf("after the upload the page says %q (%v)", msg, err)
	}
	// app.js sent the form and then went to the folder: no redirect. The
	// form without JavaScript would have come through a 303.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0].redirectCount`)); err != nil || n != 0 {
		t.Errorf("the upload page came through %d redirects (%v): app.js did not upload", n, err)
	}
	if dir := os.Getenv("GATEHOUSE_SCREENSHOT_DIR"); dir != "" {
		name := "files.png"
		if backend != "sqlite" {
			name = "files-" + backend + ".png"
		}
		shot(ctx, t, name)
	}

	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("set the download directory: %v", err)
	}
	do("download the file", chromedp.Click(chromedp.CSS("a.download")))
	got := waitForFile(t, filepath.Join(downloads, "q3-figures.bin"), len(content))
	if !bytes.Equal(got, content) {
		t.Errorf("downloaded %d bytes that differ from the %d uploaded", len(got), len(content))
	}

	recs, _, err := s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{UserID: email}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Operation] = true
		if r.Operation == gatehouse.OpFileDownloaded && (r.SourceFileName != "q3-figures.bin" || r.SourceRelativeURL != "/Quarterly reports") {
			t.Errorf("FileDownloaded record names %q in %q", r.SourceFileName, r.SourceRelativeURL)
		}
	}
	for _, op := range []string{gatehouse.OpUserLoggedIn, gatehouse.OpFolderCreated, gatehouse.OpFileUploaded, gatehouse.OpFileDownloaded} {
		if !seen[op] {
			t.Errorf("the audit log has no %s record for %s", op, email)
		}
	}

	do("sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("login-form")))
	do("open /files again", chromedp.Navigate(s.URL+"/files"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if loc := location(ctx, t); !strings.HasPrefix(loc, s.URL+"/login?next=%2Ffiles") {
		t.Errorf("after signing out /files went to %s, want the sign-in page", loc)
	}

	// An administrator finds the download in the audit log.
	s.addUser("ada@example.com", "Ada Admin", password, true)
	do("sign in as an administrator",
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("folder-form")),
		chromedp.Click(chromedp.Search(`//nav//a[normalize-space()="Admin"]`)),
		chromedp.WaitVisible(chromedp.ID("add-user-form")),
	)
	shot(ctx, t, "users-"+backend+".png")
	do("search the audit log",
		chromedp.Click(chromedp.Search(`//nav//a[normalize-space()="Audit log"]`)),
		chromedp.WaitVisible(chromedp.ID("audit-filter")),
		chromedp.SendKeys(chromedp.ID("f-user"), email),
		chromedp.SetValue(chromedp.ID("f-op"), gatehouse.OpFileDownloaded),
		chromedp.Click(chromedp.CSS("#audit-filter button[type=submit]")),
		chromedp.WaitVisible(chromedp.Search(`//table//td[@title="FileDownloaded"]`)),
	)
	// The unfiltered page also lists the download: wait for the filtered
	// one to replace it.
	var n int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("table.audit tbody tr")))
		if n = len(rows); err == nil && n == 1 {
			break
		}
	}
	if n != 1 {
		t.Errorf("the audit search shows %d rows, want the one download", n)
	}
	shot(ctx, t, "audit-"+backend+".png")
}

func location(ctx context.Context, t *testing.T) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// waitForFile waits until Chromium has finished writing a download.
func waitForFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// Chromium writes to a .crdownload file and renames it when done.
		if b, err := os.ReadFile(path); err == nil && len(b) >= size {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("no download at %s after 30s; the directory holds %v", path, names)
	return nil
}

// shot saves a screenshot to GATEHOUSE_SCREENSHOT_DIR, for a person to look
// at; without the variable it does nothing.
func shot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
	if err != nil {
		t.Logf("save screenshot: %v", err)
	}
}
