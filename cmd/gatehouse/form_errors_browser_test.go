package main

import (
	"context"
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

// TestFormErrorsBrowser, on a desktop (1280×900) and a phone (390×844)
// and both backends: a refusal of the sign-in form, of a site's Share
// site form and of the admin's Add a user form belongs to its field, as
// Chromium's accessibility tree reports it: the field is invalid, has the
// focus, and its description holds the error shown under it.
func TestFormErrorsBrowser(t *testing.T) {
	inEveryBrowserSize(t, testFormErrorsBrowser)
}

// axFieldState is what Chromium's accessibility tree says of one form
// field, found by its DOM id.
type axFieldState struct {
	Name, Description string
	Invalid, Focused  bool
}

// axFieldByID reads the accessibility node of the element with the DOM id.
func axFieldByID(t *testing.T, ctx context.Context, id string) axFieldState {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID(id)))
	if err != nil || len(nodes) != 1 {
		t.Fatalf("field #%s: %d nodes, %v", id, len(nodes), err)
	}
	tree, err := chromedp.Call(ctx, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{
		BackendNodeID: nodes[0].BackendNodeID})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range tree.Nodes {
		if n.BackendDOMNodeID != nodes[0].BackendNodeID {
			continue
		}
		st := axFieldState{Name: axString(n.Name), Description: axString(n.Description)}
		for _, p := range n.Properties {
			switch p.Name {
			case "invalid":
				st.Invalid = axString(p.Value) == "true"
			case "focused":
				st.Focused = axString(p.Value) == "true"
			}
		}
		return st
	}
	t.Fatalf("no accessibility node for #%s", id)
	return axFieldState{}
}

func testFormErrorsBrowser(t *testing.T, s *server, tab context.Context, name string, w, h int64) {
	bg := context.Background()
	const password = "a long enough password"
	adminEmail := "ada-" + name + "@example.com"
	admin := s.addUser(adminEmail, "Ada Admin", password, true)
	st, err := s.Store.CreateSite(bg, gatehouse.UserActor(admin, "192.0.2.1", "test"), store.NewSite{DisplayName: "Site " + name})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	do, eval := browserHelpers(t, ctx, "form-errors-"+name)
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	do("size the window", chromedp.EmulateViewport(w, h))

	// wantTied checks that the field #id carries the error shown under it,
	// and that the page's own notice says it too.
	wantTied := func(page, id, wantIn string) {
		t.Helper()
		errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id+"-error")))
		if err != nil || !strings.Contains(errText, wantIn) {
			shot(ctx, t, "form-errors-"+name+"-"+id+".png")
			t.Fatalf("%s: the error under #%s is %q (%v), want it to hold %q", page, id, errText, err, wantIn)
		}
		if got := eval(`document.activeElement.id`); got != id {
			t.Errorf("%s: the focus is on %q, want #%s", page, got, id)
		}
		ax := axFieldByID(t, ctx, id)
		if !ax.Invalid || !ax.Focused || !strings.Contains(ax.Description, strings.TrimSpace(errText)) {
			t.Errorf("%s: accessibility tree of #%s (%q): invalid %v, focused %v, description %q; want invalid, focused, described by %q",
				page, id, ax.Name, ax.Invalid, ax.Focused, ax.Description, errText)
		}
		if n := eval(`String(document.querySelectorAll('[aria-invalid="true"]').length)`); n != "1" {
			t.Errorf("%s: %s fields are marked invalid, want 1", page, n)
		}
		shot(ctx, t, "form-errors-"+name+"-"+id+".png")
	}

	// The sign-in form: an address the browser takes but the server does
	// not, then a wrong password.
	do("an address without a domain",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), "someone@localhost"),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("email-error")),
	)
	wantTied("sign-in with a bad address", "email", "is not a valid email address")
	if ax := axFieldByID(t, ctx, "password"); ax.Invalid || strings.Contains(ax.Description, "valid email") {
		t.Errorf("the password field took the address's error: %+v", ax)
	}
	do("a wrong password",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), adminEmail),
		chromedp.SendKeys(chromedp.ID("password"), "not the password at all"),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
	)
	wantTied("sign-in with a wrong password", "password", "password is incorrect")

	do("sign in",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), adminEmail),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("folder-form")),
	)

	// Share site: the Members panel's form keeps the address and ties the
	// refusal to it.
	do("share the site with an address without a domain",
		chromedp.Navigate(s.URL+"/sites/"+st.ID),
		chromedp.WaitVisible(chromedp.ID("members")),
		chromedp.Click(chromedp.CSS("details.share-site summary")),
		chromedp.WaitVisible(chromedp.ID("site-email")),
		chromedp.SendKeys(chromedp.ID("site-email"), "pat@localhost"),
		chromedp.Click(chromedp.CSS("#share-site-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("site-email-error")),
	)
	wantTied("Share site", "site-email", "is not a valid email address")
	if ax := axFieldByID(t, ctx, "site-email"); !strings.Contains(ax.Description, "invitation by email") {
		t.Errorf("Share site: the address field lost its hint: %q", ax.Description)
	}
	if v := eval(`document.getElementById('site-email').value`); v != "pat@localhost" {
		t.Errorf("Share site: the address field holds %q after the error, want what was typed", v)
	}

	// Admin → Users → Add a user: an address that has an account.
	do("add a user whose address is taken",
		chromedp.Navigate(s.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("add-user-form")),
		chromedp.SendKeys(chromedp.ID("nu-email"), adminEmail),
		chromedp.SendKeys(chromedp.ID("nu-name"), "Someone"),
		chromedp.SendKeys(chromedp.ID("nu-password"), password),
		chromedp.Click(chromedp.CSS("#add-user-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("nu-email-error")),
	)
	wantTied("Add a user", "nu-email", "already exists")
}
