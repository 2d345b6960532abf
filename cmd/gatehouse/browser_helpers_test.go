package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"

	"gatehouse/internal/testenv"
)

// viewports are the window sizes the browser tests run at.
var viewports = []struct {
	name string
	w, h int64
}{{"desktop", 1280, 900}, {"phone", 390, 844}}

// inEveryBrowserSize runs test on each backend, with one server and one
// browser per backend, once per viewport; name is "{backend}-{viewport}",
// for addresses and screenshots that must not collide.
func inEveryBrowserSize(t *testing.T, test func(t *testing.T, s *server, tab context.Context, name string, w, h int64)) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			tab := newBrowser(t, chromium)
			for _, vp := range viewports {
				t.Run(vp.name, func(t *testing.T) { test(t, s, tab, b.Name+"-"+vp.name, vp.w, vp.h) })
			}
		})
	}
}

// browserDo runs steps, saving a screenshot and failing the test on error.
type browserDo func(what string, steps ...chromedp.Action[chromedp.Void])

func browserHelpers(t *testing.T, ctx context.Context, name string) (browserDo, func(js string) string) {
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot(ctx, t, "failed-"+name+".png")
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	return do, eval
}

// axString reads an accessibility property's value as text: strings as
// they are, booleans as "true" or "false", anything else as its JSON.
func axString(v *accessibility.Value) string {
	if v == nil {
		return ""
	}
	var s any
	json.Unmarshal(v.Value, &s)
	switch x := s.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return string(v.Value)
}
