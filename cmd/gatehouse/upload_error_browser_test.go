package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// TestBrowserUploadError: when an upload made by app.js fails, the page
// shows the server's message, read from the Graph error the UI answers
// with. The folder is deleted after the page was loaded, so the server
// refuses the upload with 404.
func TestBrowserUploadError(t *testing.T) {
	chromium := testenv.Chromium(t)
	// What is tested runs in the browser; one backend is enough.
	s := startServer(t, testenv.Backends()[0])
	tab := newBrowser(t, chromium)
	const email, password = "ula@example.com", "a long enough password"
	u := s.addUser(email, "Ula", password, false)
	ctx := context.Background()
	d, err := s.Store.DriveByOwner(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := s.Store.CreateFolder(ctx, gatehouse.SystemActor(), d.ID, d.RootID, "Drop")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "late.txt")
	if err := os.WriteFile(path, []byte("late"), 0o600); err != nil {
		t.Fatal(err)
	}

	bctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			shot(tab, t, "failed-upload-error.png")
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("sign in",
		chromedp.Navigate(s.URL+"/login?next=%2Ffiles%2F"+folder.ID),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("upload-form")),
	)
	if err := s.Store.DeleteItem(ctx, gatehouse.SystemActor(), d.ID, folder.ID); err != nil {
		t.Fatal(err)
	}
	const want = "The item was not found."
	do("upload into the deleted folder",
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{path}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.Search(`//*[@id="upload-status" and contains(@class,"error") and normalize-space()="`+want+`"]`)),
	)
}
