package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/store"
)

// TestVersionsBrowser, on a desktop (1280×900) and a phone (390×844) and
// both backends: My files shows who modified each file (a recipient by
// address) and marks the shared one; the version history lists who, when
// and size; Restore makes the old content current again, as a new
// version, and the history shows it.
func TestVersionsBrowser(t *testing.T) {
	inEveryBrowserSize(t, testVersionsBrowser)
}

func testVersionsBrowser(t *testing.T, s *server, tab context.Context, name string, w, h int64) {
	bg := context.Background()
	email := "vera-" + name + "@example.com"
	const password = "a long enough password"
	u := s.addUser(email, "Vera Versions", password, false)
	by := gatehouse.UserActor(u, "192.0.2.1", "test")
	d, err := s.Store.DriveByOwner(bg, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Store.PutFile(bg, by, d.ID, d.RootID, "report.txt", strings.NewReader("first draft"), 1<<20); err != nil {
		t.Fatal(err)
	}
	report, _, err := s.Store.PutFile(bg, by, d.ID, d.RootID, "report.txt", strings.NewReader("second, longer draft"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// An outsider on an edit link replaces another file: Modified by shows
	// their address.
	drop, err := s.Store.CreateFolder(bg, by, d.ID, d.RootID, "Drop")
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Store.Share(bg, by, store.ShareRequest{DriveID: d.ID, ItemID: drop.ID, Role: gatehouse.RoleWrite, Emails: []string{"ext@partner.test"}})
	if err != nil {
		t.Fatal(err)
	}
	ext := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("ext@partner.test"), Origin: gatehouse.Origin{ClientIP: "192.0.2.9", UserAgent: "test"}}
	ext.ShareID = l.ShareID
	if _, _, err := s.Store.PutFileThroughLink(bg, ext, l, drop.ID, "answer.txt", strings.NewReader("from outside"), 1<<20); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	do, eval := browserHelpers(t, ctx, "versions-"+name)
	markStale := chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = '1'`)
	cells := func(sel string) string {
		t.Helper()
		return eval(`Array.from(document.querySelectorAll('` + sel + `')).map(tr => Array.from(tr.cells).filter(td => getComputedStyle(td).display !== 'none').map(td => td.textContent.replace(/\s+/g, ' ').trim()).join(" | ")).join("\n")`)
	}
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	do("size the window", chromedp.EmulateViewport(w, h))
	do("sign in",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("folder-form")),
	)
	rows := cells("table.items tbody tr")
	shot(ctx, t, "files-"+name+".png")
	if w >= 1280 {
		if !strings.Contains(rows, "report.txt | 20 bytes |") || !strings.Contains(rows, "| Vera Versions |") {
			t.Errorf("My files does not show report.txt modified by Vera:\n%s", rows)
		}
		if !strings.Contains(rows, "Drop Shared with 1 person | 1 item |") {
			t.Errorf("My files does not mark Drop as shared with 1 person:\n%s", rows)
		}
	} else if strings.Contains(rows, "Vera Versions") {
		t.Errorf("on a phone the Modified by column should give way:\n%s", rows)
	}
	do("open Drop", chromedp.Click(chromedp.CSS(`a.folder[href="/files/`+drop.ID+`"]`)), chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Drop"]`)))
	if rows := cells("table.items tbody tr"); w >= 1280 && !strings.Contains(rows, "| ext@partner.test |") {
		t.Errorf("Drop does not show answer.txt modified by the outsider's address:\n%s", rows)
	}
	do("back to My files", chromedp.Navigate(s.URL+"/files"), chromedp.WaitVisible(chromedp.ID("folder-form")))

	do("open the version history",
		chromedp.Click(chromedp.CSS(`a.versions[aria-label="Version history of report.txt"]`)),
		chromedp.WaitVisible(chromedp.ID("versions")),
	)
	// On a phone who modified a version shows under when.
	byCell := "| Vera Versions | 20 bytes |"
	if w < 1280 {
		byCell = " by Vera Versions | 20 bytes |"
	}
	got := cells("#versions tbody tr")
	if lines := strings.Split(got, "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "2.0 Current |") || !strings.Contains(lines[0], byCell) ||
		!strings.HasPrefix(lines[1], "1.0 |") || !strings.Contains(lines[1], "| 11 bytes | Download Restore") {
		t.Errorf("version history:\n%s", got)
	}
	checkContrast(t, eval, "the version history")
	if v := eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); v != "true" {
		t.Errorf("the version history is wider than the %d px window", w)
	}
	// Nothing of the history hides behind a scroll: the Restore button is
	// inside the window.
	if v := eval(`String(document.querySelector('tr[data-version="1"] button.restore').getBoundingClientRect().right <= document.querySelector('.table-wrap').getBoundingClientRect().right)`); v != "true" {
		t.Errorf("at %d px the Restore button is scrolled out of the table's frame", w)
	}
	shot(ctx, t, "versions-"+name+".png")

	do("restore version 1",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		markStale,
		chromedp.Click(chromedp.CSS(`tr[data-version="1"] button.restore`)),
		chromedp.WaitNotPresent(chromedp.CSS("body[data-stale]")),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")),
	)
	if msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice.ok"))); err != nil || !strings.HasPrefix(msg, "Restored version 1 of “report.txt”.") {
		t.Errorf("after restore: %q %v", msg, err)
	}
	got = cells("#versions tbody tr")
	if lines := strings.Split(got, "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "3.0 Current |") || !strings.Contains(lines[0], "| 11 bytes |") {
		t.Errorf("history after restore:\n%s", got)
	}
	it, err := s.Store.Item(bg, d.ID, report.ID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Store.OpenContent(it)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "first draft" {
		t.Errorf("after restoring version 1 the file holds %q", b)
	}
	shot(ctx, t, "versions-restored-"+name+".png")
	do("sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("login-form")))
}
