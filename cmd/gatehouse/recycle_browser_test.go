package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/store"
)

// TestRecycleBinBrowser, on a desktop (1280×900) and a phone (390×844):
// deleting a shared folder warns how many people lose access; the folder
// shows in the Recycle bin with where it was, who deleted it and when;
// Restore puts it back with its link off, and Share turns it on again;
// Delete permanently and Empty recycle bin remove the rest.
func TestRecycleBinBrowser(t *testing.T) {
	inEveryBrowserSize(t, testRecycleBrowser)
}

func testRecycleBrowser(t *testing.T, s *server, tab context.Context, name string, w, h int64) {
	bg := context.Background()
	email := "rita-" + name + "@example.com"
	const password = "a long enough password"
	u := s.addUser(email, "Rita Recycler", password, false)
	by := gatehouse.UserActor(u, "192.0.2.1", "test")
	d, err := s.Store.DriveByOwner(bg, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	plans, err := s.Store.CreateFolder(bg, by, d.ID, d.RootID, "Plans")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"route.txt", "budget.txt"} {
		if _, _, err := s.Store.PutFile(bg, by, d.ID, plans.ID, f, strings.NewReader("content of "+f), 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	notes, _, err := s.Store.PutFile(bg, by, d.ID, d.RootID, "notes.txt", strings.NewReader("notes"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := s.Store.Share(bg, by, store.ShareRequest{DriveID: d.ID, ItemID: plans.ID, Role: gatehouse.RoleRead,
		Emails: []string{"ext1@partner.test", "ext2@partner.test"}})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	do, eval := browserHelpers(t, ctx, "recycle-"+name)
	// The page's confirm says yes; the test reads what it would ask from
	// the form's data-confirm, which is the text the dialog shows.
	accept := chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`)
	fitsWidth := func(page string) {
		t.Helper()
		if v := eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); v != "true" {
			shot(ctx, t, "overflow-recycle-"+name+".png")
			t.Errorf("%s is wider than the %d px window", page, w)
		}
	}
	notice := func() string {
		t.Helper()
		msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice.ok")))
		if err != nil {
			t.Fatalf("no notice: %v", err)
		}
		return msg
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
	del := `form[action="/items/` + plans.ID + `/delete"]`
	if msg := eval(`document.querySelector('` + del + `').dataset.confirm`); msg != "Delete “Plans” and everything in it? It goes to the recycle bin, and 2 people lose access to it at once." {
		t.Errorf("delete confirm of the shared folder: %q", msg)
	}
	if msg := eval(`document.querySelector('form[action="/items/` + notes.ID + `/delete"]').dataset.confirm`); msg != "Delete “notes.txt”? It goes to the recycle bin." {
		t.Errorf("delete confirm of an unshared file: %q", msg)
	}
	do("delete the folder",
		accept,
		chromedp.Click(chromedp.CSS(del+` button`)),
		chromedp.WaitNotPresent(chromedp.CSS(del)),
	)
	if got := notice(); got != "Moved “Plans” to the recycle bin. Links on it no longer open." {
		t.Errorf("after the delete: %q", got)
	}
	do("delete the file",
		accept,
		chromedp.Click(chromedp.CSS(`form[action="/items/`+notes.ID+`/delete"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action="/items/`+notes.ID+`/delete"]`)),
	)
	if _, err := s.Store.LinkByToken(bg, l.Token); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("the link of the deleted folder: %v, want not found", err)
	}

	do("open the recycle bin",
		chromedp.Click(chromedp.ID("nav-recycle")),
		chromedp.WaitVisible(chromedp.ID("recycle-bin")),
	)
	row := `#recycle-bin tr[data-id="` + plans.ID + `"]`
	// What the row shows (innerText leaves out what is hidden at this width).
	cells := eval(`document.querySelector('` + row + `').innerText.replace(/\s+/g, " ").trim()`)
	want := []string{"Plans", "My files", "Rita Recycler", "41 bytes", "Restore", "Delete permanently"}
	if w < 640 {
		want = append(want, "From My files · by Rita Recycler ·")
	} else {
		want = append(want, "(2 items)")
	}
	for _, part := range want {
		if !strings.Contains(cells, part) {
			t.Errorf("bin row of Plans at %d px: %q lacks %q", w, cells, part)
		}
	}
	if n := eval(`String(document.querySelectorAll('#recycle-bin tbody tr').length)`); n != "2" {
		t.Errorf("bin rows: %s, want 2", n)
	}
	if v := eval(`String(getComputedStyle(document.querySelector('` + row + ` button.restore')).display !== 'none')`); v != "true" {
		t.Errorf("Restore is hidden at %d px", w)
	}
	fitsWidth("the recycle bin")
	shot(ctx, t, "recycle-"+name+".png")

	do("restore the folder",
		chromedp.Click(chromedp.CSS(row+` button.restore`)),
		chromedp.WaitNotPresent(chromedp.CSS(row)),
	)
	if got := notice(); got != "Restored “Plans” to My files. Its sharing links stay off until you turn them on again under Share." {
		t.Errorf("after restore: %q", got)
	}
	do("see it back in My files",
		chromedp.Navigate(s.URL+"/files"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(@class,"folder") and normalize-space()="Plans"]`)),
	)
	do("turn its link on again",
		chromedp.Navigate(s.URL+"/items/"+plans.ID+"/share"),
		chromedp.WaitVisible(chromedp.ID("enable-"+l.ID)),
		chromedp.Click(chromedp.ID("enable-"+l.ID)),
		chromedp.WaitNotPresent(chromedp.ID("enable-"+l.ID)),
	)
	if n := eval(`String(document.querySelectorAll('#enable-` + l.ID + `, .badge.dormant').length)`); n != "0" {
		t.Errorf("the share page still shows the link as off (%s elements)", n)
	}
	if _, err := s.Store.LinkByToken(bg, l.Token); err != nil {
		t.Errorf("the link after Turn on again: %v", err)
	}

	do("back to the bin; delete the file permanently",
		chromedp.Navigate(s.URL+"/recycle"),
		chromedp.WaitVisible(chromedp.ID("recycle-bin")),
		accept,
		chromedp.Click(chromedp.CSS(`#recycle-bin tr[data-id="`+notes.ID+`"] button.danger`)),
		chromedp.WaitVisible(chromedp.ID("bin-empty")),
	)
	if got := notice(); got != "Deleted “notes.txt” permanently." {
		t.Errorf("after purge: %q", got)
	}
	// Empty: delete Plans again, then empty the bin from its button.
	if err := s.Store.DeleteItem(bg, by, d.ID, plans.ID); err != nil {
		t.Fatal(err)
	}
	if msg := func() string {
		do("reload the bin", chromedp.Navigate(s.URL+"/recycle"), chromedp.WaitVisible(chromedp.ID("empty-bin")))
		return eval(`document.getElementById('empty-form').dataset.confirm`)
	}(); !strings.Contains(msg, "permanently") {
		t.Errorf("empty confirm: %q", msg)
	}
	do("empty the bin",
		accept,
		chromedp.Click(chromedp.ID("empty-bin")),
		chromedp.WaitVisible(chromedp.ID("bin-empty")),
	)
	if got := notice(); got != "Emptied the recycle bin: 1 item deleted permanently." {
		t.Errorf("after emptying: %q", got)
	}
	fitsWidth("the empty recycle bin")
	recs, _, err := s.Store.SearchAudit(bg, gatehouse.AuditFilter{UserID: email}, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range recs {
		count[r.Operation]++
	}
	if count[gatehouse.OpFolderDeleted] != 2 || count[gatehouse.OpFileDeleted] != 1 || count[gatehouse.OpFolderRestored] != 1 ||
		count[gatehouse.OpFileDeletedFirstStageRecycleBin] != 2 || count[gatehouse.OpSecureLinkUpdated] != 1 {
		t.Errorf("records: %v", count)
	}
	do("sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("login-form")))
}
