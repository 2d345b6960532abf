package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// pdfViewerURL is where Chromium's PDF viewer runs: a frame of it under
// the preview's frame means the PDF is being rendered.
const pdfViewerURL = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"

// TestPreviewBrowser, on a desktop (1280×900) and a phone (390×844): in My
// files an image, a PDF and a text file open a preview page that shows
// them (the image's natural width, the PDF viewer's frame, the text in its
// sandboxed frame); an HTML and an SVG file get no preview, and their
// script never runs; Download all saves a zip with the folder's files; a
// recipient's folder and file pages do the same through the link.
func TestPreviewBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			const email, password = "pia@example.com", "a long enough password"
			u := s.addUser(email, "Pia Previewer", password, false)
			o := &apiClient{t: t, base: s.URL, token: s.token(u)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			papers := o.json("POST", items+root+"/children", map[string]any{"name": "Papers", "folder": map[string]any{}}, 201)["id"].(string)
			inner := o.json("POST", items+papers+"/children", map[string]any{"name": "Inner", "folder": map[string]any{}}, 201)["id"].(string)
			ids := map[string]string{}
			files := map[string][]byte{
				"photo.png": pngFile(t), "paper.pdf": pdfFile("Hello preview"), "notes.txt": []byte("Plain words, <b>not bold</b>.\n"),
				"page.html": []byte(scriptFiles["page.html"]), "drawing.svg": []byte(scriptFiles["drawing.svg"]),
			}
			for name, body := range files {
				ids[name] = o.json("PUT", items+papers+":/"+name+":/content", body, 201)["id"].(string)
			}
			o.json("PUT", items+inner+":/inner.txt:/content", []byte("inside"), 201)
			perm := o.json("POST", items+papers+"/createLink", map[string]any{"type": "view", "sendInvitation": false,
				"recipients": []any{map[string]any{"email": "rex@partner.test"}}}, 201)
			webURL := perm["link"].(map[string]any)["webUrl"].(string)
			rc := verifiedRecipient(t, s, smtp, webURL, "rex@partner.test")

			tab := newBrowser(t, chromium)
			ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
			defer cancel()
			do, eval := browserHelpers(t, ctx, "preview-"+b.Name)
			bt := t
			do("sign in",
				chromedp.Navigate(s.URL+"/login"),
				chromedp.WaitVisible(chromedp.ID("login-form")),
				chromedp.SendKeys(chromedp.ID("email"), email),
				chromedp.SendKeys(chromedp.ID("password"), password),
				chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
				chromedp.WaitVisible(chromedp.ID("folder-form")),
			)
			for _, vp := range viewports {
				t.Run(vp.name, func(t *testing.T) {
					name := b.Name + "-" + vp.name
					do("size the window", chromedp.EmulateViewport(vp.w, vp.h))
					fileLink := func(n string) chromedp.Search {
						return chromedp.Search(`//a[contains(@class,"file") and normalize-space()="` + n + `"]`)
					}
					openFolder := chromedp.Navigate(s.URL + "/files/" + papers)

					// The image: a preview page with the picture, Download and Back.
					do("open the image", openFolder, chromedp.Click(fileLink("photo.png")), chromedp.WaitVisible(chromedp.ID("preview")))
					if loc := location(ctx, t); loc != s.URL+"/items/"+ids["photo.png"]+"/view" {
						t.Errorf("clicking the image went to %s, want its preview page", loc)
					}
					waitTrue(t, ctx, `document.getElementById('preview').complete && document.getElementById('preview').naturalWidth === 3`,
						"the image preview loads with its natural width")
					if got := eval(`document.getElementById('preview-name').textContent + '|' + !!document.getElementById('download')`); got != "photo.png|true" {
						t.Errorf("image preview page: %q, want its name and Download", got)
					}
					fitsWidth(t, ctx, "the image preview page", vp.w)
					shot(ctx, t, "preview-image-"+name+".png")
					do("go back", chromedp.Click(chromedp.ID("back")), chromedp.WaitVisible(chromedp.ID("download-all")))
					fitsWidth(t, ctx, "the folder page with Download all", vp.w)
					shot(ctx, t, "preview-folder-"+name+".png")

					// The PDF: Chromium's viewer renders it in the frame.
					do("open the PDF", chromedp.Click(fileLink("paper.pdf")), chromedp.WaitVisible(chromedp.ID("preview")))
					waitTarget(t, ctx, pdfViewerURL, "the PDF viewer")
					shot(ctx, t, "preview-pdf-"+name+".png")

					// The text: shown as text in its sandboxed frame, markup and all.
					do("open the text", openFolder, chromedp.Click(fileLink("notes.txt")), chromedp.WaitVisible(chromedp.ID("preview")))
					if sb := eval(`String(document.getElementById('preview').hasAttribute('sandbox'))`); sb != "true" {
						t.Errorf("the text frame is not sandboxed")
					}
					frame := waitTarget(t, ctx, s.URL+"/items/"+ids["notes.txt"]+"/preview", "the text frame")
					// Cancelling a context attached to a frame closes its
					// page: the page's own test ends it.
					fctx, fcancel := chromedp.NewContext(ctx, chromedp.WithTargetID(frame))
					bt.Cleanup(fcancel)
					text, err := chromedp.Run(fctx, chromedp.Text(chromedp.CSS("body")))
					if err != nil || !strings.Contains(text, "Plain words, <b>not bold</b>.") {
						t.Errorf("the text frame shows %q (%v), want the text as written", text, err)
					}
					shot(ctx, t, "preview-text-"+name+".png")

					// HTML and SVG are never rendered: the listing downloads
					// them, their preview page says so, and the preview
					// address refuses them without running their script.
					for _, n := range []string{"page.html", "drawing.svg"} {
						do("open the folder", openFolder, chromedp.WaitVisible(fileLink(n)))
						if href := eval(`document.evaluate('//a[contains(@class,"file") and normalize-space()="` + n + `"]', document, null, 9, null).singleNodeValue.getAttribute('href')`); href != "/items/"+ids[n]+"/download" {
							t.Errorf("the listing links %s to %s, want its download", n, href)
						}
						do("open the preview page of "+n, chromedp.Navigate(s.URL+"/items/"+ids[n]+"/view"), chromedp.WaitVisible(chromedp.ID("no-preview")))
						if got := eval(`String(document.getElementById('preview'))`); got != "null" {
							t.Errorf("%s has a preview element", n)
						}
						do("open the preview address of "+n, chromedp.Navigate(s.URL+"/items/"+ids[n]+"/preview"), chromedp.WaitReady(chromedp.CSS("h1")))
						if h := eval(`document.querySelector('h1').textContent + '|' + document.title`); !strings.HasPrefix(h, "No preview for this type|") || strings.Contains(h, "pwned") {
							t.Errorf("the preview address of %s shows %q", n, h)
						}
					}

					// Download all saves the folder as a zip.
					downloads := t.TempDir()
					if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
						Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
						t.Fatalf("set the download directory: %v", err)
					}
					do("download all", openFolder, chromedp.Click(chromedp.ID("download-all")))
					checkZip(t, waitForFile(t, filepath.Join(downloads, "Papers.zip"), 1), files, "Inner/inner.txt")
				})
			}

			// A recipient: the folder page links previews and offers
			// Download all; the file page shows the picture.
			jar := rc.http.Jar.Cookies(mustURL(t, webURL))
			for _, c := range jar {
				if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: s.URL}); err != nil {
					t.Fatal(err)
				}
			}
			do("sign out", chromedp.Navigate(s.URL+"/files"), chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("login-form")))
			for _, vp := range viewports {
				name := b.Name + "-recipient-" + vp.name
				do("size the window", chromedp.EmulateViewport(vp.w, vp.h))
				do("open the shared folder", chromedp.Navigate(webURL), chromedp.WaitVisible(chromedp.ID("download-all")))
				do("open the image", chromedp.Click(chromedp.Search(`//a[contains(@class,"file") and normalize-space()="photo.png"]`)),
					chromedp.WaitVisible(chromedp.ID("preview")))
				waitTrue(t, ctx, `document.getElementById('preview').complete && document.getElementById('preview').naturalWidth === 3`,
					"the recipient's image preview loads")
				if got := eval(`String(!!document.getElementById('download')) + '|' + String(!!document.getElementById('back'))`); got != "true|true" {
					t.Errorf("recipient file page: download|back = %s", got)
				}
				fitsWidth(t, ctx, "the recipient's preview page", vp.w)
				shot(ctx, t, "preview-"+name+".png")
				downloads := t.TempDir()
				if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
					Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
					t.Fatalf("set the download directory: %v", err)
				}
				do("download all", chromedp.Click(chromedp.ID("back")), chromedp.WaitVisible(chromedp.ID("download-all")), chromedp.Click(chromedp.ID("download-all")))
				checkZip(t, waitForFile(t, filepath.Join(downloads, "Papers.zip"), 1), files, "Inner/inner.txt")
			}
		})
	}
}

// checkZip asserts that a downloaded zip holds the files, and more.
func checkZip(t *testing.T, b []byte, want map[string][]byte, more ...string) {
	t.Helper()
	got, _ := zipEntries(t, b)
	for name, body := range want {
		if got[name] != string(body) {
			t.Errorf("the zip's %s: present %v, right content %v", name, got[name] != "", got[name] == string(body))
		}
	}
	for _, name := range more {
		if _, ok := got[name]; !ok {
			t.Errorf("the zip lacks %s: %v", name, keys(got))
		}
	}
}

// waitTrue waits for a script to be true.
func waitTrue(t *testing.T, ctx context.Context, js, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
	}
	shot(ctx, t, "failed-wait.png")
	t.Errorf("%s: not within 10 s", what)
}

// waitTarget waits for a frame at an address that starts with prefix to be
// a target of its own, as Chromium runs sandboxed and extension frames.
func waitTarget(t *testing.T, ctx context.Context, prefix, what string) target.ID {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		infos, _ := chromedp.Targets(ctx)
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, prefix) {
				return info.TargetID
			}
		}
	}
	t.Fatalf("%s: no frame at %s within 10 s", what, prefix)
	return ""
}

// fitsWidth checks that a page needs no sideways scrolling.
func fitsWidth(t *testing.T, ctx context.Context, page string, w int64) {
	t.Helper()
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); err != nil || !v {
		shot(ctx, t, "overflow-preview.png")
		t.Errorf("%s is wider than the %d px window", page, w)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
