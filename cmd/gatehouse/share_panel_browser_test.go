package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"gatehouse"
	"gatehouse/internal/store"
)

// TestSharePanelBrowser, on a desktop (1280×900) and a phone (390×844)
// and both backends: the share panel refuses a bad address on its field
// (invalid, described by the error and focused, as Chromium's
// accessibility tree reports it); sharing lists the person with the expiry
// worded "through …, end of day, UTC"; the link's role and expiry change
// in place; Copy link without sending mail leaves the focus on the link;
// Shared with me and Shared by me list what they should; every control's
// edge has at least 3:1 contrast.
func TestSharePanelBrowser(t *testing.T) {
	inEveryBrowserSize(t, testSharePanelBrowser)
}

// contrastJS measures, for every visible control of the page, the
// contrast of its edge (its border or its fill, whichever stands out more)
// against what is around it; it returns how many it checked and those
// under 3:1, as JSON.
const contrastJS = `(() => {
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => { const a = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2]; };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const opaque = c => c.length < 4 || c[3] > 0;
  const around = el => { for (let e = el.parentElement; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (opaque(c)) return c; } return [255, 255, 255]; };
  const low = [];
  let n = 0;
  document.querySelectorAll('input:not([type=hidden]):not([type=file]), select, textarea, button, a.button, details.rename summary, a.folder .icon, a.file .icon').forEach(el => {
    const cs = getComputedStyle(el);
    if (el.offsetParent === null || cs.visibility === 'hidden') return;
    const border = rgb(cs.borderTopColor), fill = rgb(cs.backgroundColor), out = around(el);
    const hasBorder = parseFloat(cs.borderTopWidth) > 0 && opaque(border);
    if (!hasBorder && !opaque(fill)) return; // a text-only button: its text is its edge
    n++;
    // Either the border or the fill must set the control off from what
    // is around it.
    const r = Math.max(hasBorder ? ratio(border, out) : 0, opaque(fill) ? ratio(fill, out) : 0);
    if (r < 3) low.push((el.id || el.className || el.tagName) + ' ' + r.toFixed(2));
  });
  // The file picker's button is a part of its input.
  document.querySelectorAll('input[type=file]').forEach(el => {
    if (el.offsetParent === null) return;
    const cs = getComputedStyle(el, '::file-selector-button');
    n++;
    const r = ratio(rgb(cs.borderTopColor), rgb(cs.backgroundColor).length ? rgb(cs.backgroundColor) : around(el));
    const edge = Math.max(r, ratio(rgb(cs.borderTopColor), around(el)));
    if (parseFloat(cs.borderTopWidth) === 0 || edge < 3) low.push((el.id || 'file input') + ' button ' + edge.toFixed(2));
  });
  return JSON.stringify({checked: n, low: low});
})()`

// checkContrast fails the test for any control of the page under 3:1.
func checkContrast(t *testing.T, eval func(string) string, page string) {
	t.Helper()
	var res struct {
		Checked int
		Low     []string
	}
	if err := json.Unmarshal([]byte(eval(contrastJS)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Checked == 0 {
		t.Errorf("%s: no controls found to check", page)
	}
	if len(res.Low) > 0 {
		t.Errorf("%s: controls under 3:1 contrast: %v", page, res.Low)
	}
}

// axField finds the accessibility node of the form field named name.
func axField(t *testing.T, ctx context.Context, name string) (invalid, focused bool, description string) {
	t.Helper()
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range tree.Nodes {
		if n.Ignored || axString(n.Name) != name {
			continue
		}
		for _, p := range n.Properties {
			switch p.Name {
			case "invalid":
				invalid = axString(p.Value) == "true"
			case "focused":
				focused = axString(p.Value) == "true"
			}
		}
		return invalid, focused, axString(n.Description)
	}
	t.Fatalf("no accessibility node named %q", name)
	return
}

func testSharePanelBrowser(t *testing.T, s *server, tab context.Context, name string, w, h int64) {
	bg := context.Background()
	email := "sam-" + name + "@example.com"
	const password = "a long enough password"
	u := s.addUser(email, "Sam Sharer", password, false)
	by := gatehouse.UserActor(u, "192.0.2.1", "test")
	d, err := s.Store.DriveByOwner(bg, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	notes, _, err := s.Store.PutFile(bg, by, d.ID, d.RootID, "notes.txt", strings.NewReader("notes"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else shares a file with Sam, for Shared with me.
	una := s.addUser("una-"+name+"@example.com", "Una Other", password, false)
	ud, err := s.Store.DriveByOwner(bg, una.ID)
	if err != nil {
		t.Fatal(err)
	}
	unaFile, _, err := s.Store.PutFile(bg, gatehouse.UserActor(una, "192.0.2.2", "test"), ud.ID, ud.RootID, "from-una.txt", strings.NewReader("hi"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Store.Share(bg, gatehouse.UserActor(una, "192.0.2.2", "test"), store.ShareRequest{DriveID: ud.ID, ItemID: unaFile.ID,
		Role: gatehouse.RoleRead, Emails: []string{email}}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	do, eval := browserHelpers(t, ctx, "share-panel-"+name)
	fitsWidth := func(page string) {
		t.Helper()
		if v := eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); v != "true" {
			shot(ctx, t, "overflow-share-panel-"+name+".png")
			// Which element widens the page: hiding it makes the page fit.
			wide := eval(`'scrollWidth ' + document.documentElement.scrollWidth + ', culprit ' + (() => { const out = []; const walk = el => { for (const c of el.children) { const d = c.style.display; c.style.display = 'none'; const ok = document.documentElement.scrollWidth <= window.innerWidth; c.style.display = d; if (ok) { out.push(c.tagName + '.' + c.className + '#' + c.id); walk(c); return; } } }; walk(document.body); return out.join(' > '); })()`)
			t.Errorf("%s is wider than the %d px window: %s", page, w, wide)
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
	// The UTC day n days from the store's today, and how the page words
	// the link that works through it.
	day := func(n int) (string, string) {
		dt := s.Store.Now().UTC().AddDate(0, 0, n)
		layout := "Jan 2"
		if dt.Year() != s.Store.Now().UTC().Year() {
			layout = "Jan 2, 2006"
		}
		return dt.Format(time.DateOnly), "through " + dt.Format(layout) + ", end of day, UTC"
	}

	// A fresh session, whatever an earlier run left in the browser.
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	// markStale marks the page, so that a wait for the mark to go waits
	// for the next page.
	markStale := chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = '1'`)
	do("size the window", chromedp.EmulateViewport(w, h))
	do("sign in",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("folder-form")),
	)
	checkContrast(t, eval, "My files")

	// A bad address: the error belongs to the field, which has the focus.
	do("open the share panel",
		chromedp.Click(chromedp.CSS(`a.share[aria-label="Share notes.txt"]`)),
		chromedp.WaitVisible(chromedp.ID("share-form")),
		chromedp.SendKeys(chromedp.ID("share-emails"), "not an address"),
		chromedp.Click(chromedp.CSS("#share-form button.primary")),
		chromedp.WaitVisible(chromedp.ID("share-emails-error")),
	)
	errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("share-emails-error")))
	if err != nil || errText == "" {
		t.Fatalf("field error: %q %v", errText, err)
	}
	if id := eval(`document.activeElement.id`); id != "share-emails" {
		t.Errorf("after the error the focus is on %q, want the address field", id)
	}
	invalid, focused, desc := axField(t, ctx, "People to share with")
	if !invalid || !focused || !strings.Contains(desc, strings.TrimSpace(strings.TrimPrefix(errText, "⚠"))) {
		t.Errorf("accessibility tree of the address field: invalid %v, focused %v, description %q; want invalid, focused, described by %q", invalid, focused, desc, errText)
	}
	checkContrast(t, eval, "the share panel with an error")
	shot(ctx, t, "share-panel-error-"+name+".png")

	// Share for edit through a day; the panel words the expiry.
	exp1, words1 := day(7)
	do("share",
		chromedp.SetValue(chromedp.ID("share-emails"), "ext@partner.test"),
		chromedp.SetValue(chromedp.ID("share-type"), "edit"),
		chromedp.SetValue(chromedp.ID("share-expires"), exp1),
		chromedp.Click(chromedp.CSS("#share-form button.primary")),
		chromedp.WaitVisible(chromedp.CSS("section.card.link")),
	)
	if got := notice(); !strings.Contains(got, "They will get an email") {
		t.Errorf("after sharing: %q", got)
	}
	if got := eval(`document.querySelector('section.card.link .expiry').textContent`); got != "Works "+words1 {
		t.Errorf("the link's expiry reads %q, want %q", got, "Works "+words1)
	}
	perm := strings.TrimPrefix(eval(`document.querySelector('section.card.link').id`), "perm-")

	// Change the role and the expiry in place.
	exp2, words2 := day(3)
	do("change the link",
		chromedp.Click(chromedp.CSS("#perm-"+perm+" details.change-link summary")),
		chromedp.WaitVisible(chromedp.ID("link-type-"+perm)),
		chromedp.SetValue(chromedp.ID("link-type-"+perm), "view"),
		chromedp.SetValue(chromedp.ID("link-expires-"+perm), exp2),
		markStale,
		chromedp.Click(chromedp.CSS("#perm-"+perm+" .change-link-form button[type=submit]")),
		chromedp.WaitNotPresent(chromedp.CSS("body[data-stale]")),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")),
	)
	if got, want := notice(), "Updated the link: the people on it can view, and it works "+words2+"."; got != want {
		t.Errorf("after the change: %q, want %q", got, want)
	}
	l, err := s.Store.Link(bg, d.ID, notes.ID, perm)
	if wantExp, _ := time.Parse(time.DateOnly, exp2); err != nil || l.Role != gatehouse.RoleRead || !l.ExpiresAt.Equal(wantExp.AddDate(0, 0, 1)) {
		t.Errorf("the link after the change: %+v %v", l, err)
	}
	if got := eval(`document.querySelector('#perm-` + perm + ` .expiry').textContent`); got != "Works "+words2 {
		t.Errorf("the changed expiry reads %q", got)
	}

	// Copy link without sending mail: the link takes the focus.
	do("share without mail",
		chromedp.SendKeys(chromedp.ID("share-emails"), "quiet@partner.test"),
		markStale,
		chromedp.Click(chromedp.ID("share-nomail")),
		chromedp.WaitNotPresent(chromedp.CSS("body[data-stale]")),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")),
	)
	if got := notice(); !strings.Contains(got, "without sending mail") {
		t.Errorf("after Copy link without sending mail: %q", got)
	}
	focusedLink := eval(`document.activeElement.classList.contains('link-url') ? document.activeElement.value : 'focus on ' + document.activeElement.id`)
	if !strings.HasPrefix(focusedLink, s.URL+"/s/") {
		t.Errorf("after Copy link without sending mail the focus is not on the link: %q", focusedLink)
	}
	do("copy it",
		chromedp.Evaluate[chromedp.Void](`document.activeElement.parentElement.querySelector('button.copy').click()`),
		chromedp.Poll[chromedp.Void](`document.activeElement.parentElement.querySelector('.status').textContent !== ''`, chromedp.WithPollingTimeout(5*time.Second)),
	)
	if n := eval(`String(document.querySelectorAll('section.card.link').length)`); n != "2" {
		t.Errorf("the panel lists %s links, want 2 (the edited one and the one without mail)", n)
	}
	checkContrast(t, eval, "the share panel")
	fitsWidth("the share panel")
	shot(ctx, t, "share-panel-"+name+".png")

	// Shared with me, then Shared by me.
	do("open Shared with me",
		chromedp.Navigate(s.URL+"/shared"),
		chromedp.WaitVisible(chromedp.ID("shared-with-me")),
	)
	if txt, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("shared-with-me"))); err != nil || !strings.Contains(txt, "from-una.txt") || !strings.Contains(txt, "Una Other") {
		t.Errorf("Shared with me: %q %v", txt, err)
	}
	fitsWidth("Shared with me")
	shot(ctx, t, "shared-with-me-"+name+".png")
	do("open Shared by me",
		chromedp.Click(chromedp.ID("tab-byme")),
		chromedp.WaitVisible(chromedp.ID("shared-by-me")),
	)
	rows := eval(`Array.from(document.querySelectorAll('#shared-by-me tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent.trim()).join(" | ")).join("\n")`)
	for _, want := range []string{"notes.txt | 1 person | Can view | " + words2 + " | Not yet", "notes.txt | 1 person | Can view | Never | Not yet"} {
		if !strings.Contains(rows, want) {
			t.Errorf("Shared by me lacks the row %q:\n%s", want, rows)
		}
	}
	if strings.Contains(rows, "from-una.txt") {
		t.Errorf("Shared by me lists what others shared:\n%s", rows)
	}
	if cur := eval(`document.querySelector('nav.tabs a[aria-current="page"]').textContent`); cur != "Shared by me" {
		t.Errorf("the current tab is %q", cur)
	}
	fitsWidth("Shared by me")
	shot(ctx, t, "shared-by-me-"+name+".png")
	do("sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("login-form")))
}
