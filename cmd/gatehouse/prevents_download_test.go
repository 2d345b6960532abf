package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// TestPreventsDownload walks every route that hands a recipient a file's
// bytes to keep, with a view-only link (preventsDownload), and expects 403
// with a sentence from each, while previews still work: through the link
// pages, and for a member on the link signed in to the API.
func TestPreventsDownload(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			bob := s.addUser("bob@example.com", "Bob Member", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			bc := &apiClient{t: t, base: s.URL, token: s.token(bob)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			put := func(parent, name string, body []byte) string {
				return o.json("PUT", items+parent+":/"+name+":/content", body, 201)["id"].(string)
			}
			folder := func(parent, name string) string {
				return o.json("POST", items+parent+"/children", map[string]any{"name": name, "folder": map[string]any{}}, 201)["id"].(string)
			}
			board := folder(root, "Board")
			pdfID := put(board, "minutes.pdf", pdfFile("Minutes"))
			binID := put(board, "budget.xlsx", []byte("PK\x03\x04 not really a spreadsheet"))
			q1 := folder(board, "Q1")
			txtID := put(q1, "q1.txt", []byte("first quarter\n"))
			soloID := put(root, "solo.png", pngFile(t))

			// A view-only link is a link of its own: the same role and
			// expiry without preventsDownload is another link, and asking
			// again for a view-only one finds it.
			ext := "ext@partner.test"
			viewOnly := map[string]any{"type": "view", "preventsDownload": true, "sendInvitation": false,
				"recipients": []any{map[string]any{"email": ext}, map[string]any{"email": bob.Email}}}
			perm := o.json("POST", items+board+"/createLink", viewOnly, 201)
			if perm["link"].(map[string]any)["preventsDownload"] != true {
				t.Fatalf("createLink: preventsDownload not set: %v", perm)
			}
			plain := o.json("POST", items+board+"/createLink", map[string]any{"type": "view", "sendInvitation": false,
				"recipients": []any{map[string]any{"email": "carol@partner.test"}}}, 201)
			if plain["id"] == perm["id"] || plain["link"].(map[string]any)["preventsDownload"] != false {
				t.Fatalf("a link without preventsDownload joined the view-only one: %v", plain)
			}
			if again := o.json("POST", items+board+"/createLink", viewOnly, 200); again["id"] != perm["id"] {
				t.Errorf("a second view-only createLink made another link")
			}
			inv := o.json("POST", items+soloID+"/invite", map[string]any{"roles": []string{"read"}, "preventsDownload": true,
				"sendInvitation": false, "recipients": []any{map[string]any{"email": ext}}}, 200)
			soloPerm := inv["value"].([]any)[0].(map[string]any)
			if soloPerm["link"].(map[string]any)["preventsDownload"] != true {
				t.Fatalf("invite: preventsDownload not set: %v", soloPerm)
			}
			folderURL := perm["link"].(map[string]any)["webUrl"].(string)
			soloURL := soloPerm["link"].(map[string]any)["webUrl"].(string)

			rc := verifiedRecipient(t, s, smtp, folderURL, ext)
			solo := verifiedRecipient(t, s, smtp, soloURL, ext)
			refused := func(c *recipientClient, what, url string) {
				t.Helper()
				st, _, body := c.call("GET", url, nil)
				var e struct {
					Error struct{ Code, Message string }
				}
				json.Unmarshal(body, &e)
				if st != 403 || e.Error.Code != "accessDenied" || !strings.Contains(e.Error.Message, "not download") {
					t.Errorf("%s through a view-only link: %d %.200s, want 403 with a sentence", what, st, body)
				}
			}
			// Every byte-returning recipient route.
			refused(rc, "GET /s/{token}/content (a folder link)", folderURL+"/content")
			refused(rc, "GET /s/{token}/items/{pdf}/content", folderURL+"/items/"+pdfID+"/content")
			refused(rc, "GET /s/{token}/items/{xlsx}/content", folderURL+"/items/"+binID+"/content")
			refused(rc, "GET /s/{token}/items/{nested txt}/content", folderURL+"/items/"+txtID+"/content")
			refused(rc, "GET /s/{token}/items/{folder}/archive", folderURL+"/items/"+board+"/archive")
			refused(rc, "GET /s/{token}/items/{subfolder}/archive", folderURL+"/items/"+q1+"/archive")
			refused(solo, "GET /s/{token}/content (a file link)", soloURL+"/content")
			refused(solo, "GET /s/{token}/items/{file}/content", soloURL+"/items/"+soloID+"/content")
			refused(solo, "GET /s/{token}/items/{file}/archive", soloURL+"/items/"+soloID+"/archive")
			// Previews are what the link is for.
			if st, hdr, _ := rc.call("GET", folderURL+"/items/"+pdfID+"/preview", nil); st != 200 || hdr.Get("Content-Type") != "application/pdf" {
				t.Errorf("preview of a pdf through a view-only link: %d", st)
			}
			if st, _, _ := rc.call("GET", folderURL+"/items/"+txtID+"/preview", nil); st != 200 {
				t.Errorf("preview of nested text through a view-only link: %d", st)
			}
			if st, hdr, _ := solo.call("GET", soloURL+"/items/"+soloID+"/preview", nil); st != 200 || hdr.Get("Content-Type") != "image/png" {
				t.Errorf("preview of the shared png through a view-only link: %d", st)
			}
			// The pages offer no download.
			page := func(c *recipientClient, url string) string {
				t.Helper()
				resp, err := c.http.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d", url, resp.StatusCode)
				}
				return string(b)
			}
			for what, html := range map[string]string{
				"folder page": page(rc, folderURL), "file page": page(rc, folderURL+"/items/"+pdfID), "file link page": page(solo, soloURL),
			} {
				if strings.Contains(html, `id="download"`) || strings.Contains(html, `id="download-all"`) || strings.Contains(html, "/content\"") ||
					strings.Contains(html, "/archive\"") || !strings.Contains(html, `id="view-only"`) {
					t.Errorf("%s of a view-only link offers a download or does not say why not:\n%s", what, html)
				}
			}
			if html := page(rc, folderURL+"/items/"+pdfID); !strings.Contains(html, `<iframe id="preview" src="/s/`) {
				t.Errorf("file page of a view-only link shows no preview:\n%s", html)
			}

			// A member on the link, signed in to the API, gets the same.
			for _, path := range []string{items + pdfID + "/content", items + board + "/archive", items + pdfID + "/versions/1.0/content"} {
				st, _, body := bc.do("GET", path, nil)
				if st != 403 || !bytes.Contains(body, []byte("not download")) {
					t.Errorf("member on a view-only link: GET %s: %d %.200s, want 403", path, st, body)
				}
			}
			if st, _, _ := bc.do("GET", items+pdfID+"/preview", nil); st != 200 {
				t.Errorf("member on a view-only link: preview %d, want 200", st)
			}

			// The downloadable link next to it still downloads.
			carol := verifiedRecipient(t, s, smtp, plain["link"].(map[string]any)["webUrl"].(string), "carol@partner.test")
			plainURL := plain["link"].(map[string]any)["webUrl"].(string)
			if st, _, _ := carol.call("GET", plainURL+"/items/"+pdfID+"/content", nil); st != http.StatusOK {
				t.Errorf("download through the plain link: %d", st)
			}
			if st, _, _ := carol.call("GET", plainURL+"/items/"+board+"/archive", nil); st != http.StatusOK {
				t.Errorf("archive through the plain link: %d", st)
			}
			// The owner is not limited by a link they made.
			if st, _, _ := o.do("GET", items+pdfID+"/content", nil); st != 200 {
				t.Errorf("owner download: %d", st)
			}

			// The share panel's "Block download (view only)" box makes a
			// view-only link, shown as such.
			web := signInWeb(t, s.URL, owner.Email, "correct horse battery")
			if _, _, html := web.page(s.URL, "/items/"+q1+"/share"); !strings.Contains(html, `name="preventsDownload"`) {
				t.Errorf("the share panel has no Block download box")
			}
			if st, loc, body := web.form(s.URL, "/items/"+q1+"/share", url.Values{"emails": {"dora@partner.test"}, "type": {"view"},
				"preventsDownload": {"1"}, "nomail": {"1"}}); st != 303 {
				t.Fatalf("share with Block download: %d %s %.300s", st, loc, body)
			}
			links := o.json("GET", items+q1+"/permissions", nil, 200)["value"].([]any)
			if len(links) != 1 || links[0].(map[string]any)["link"].(map[string]any)["preventsDownload"] != true {
				t.Errorf("the share panel's view-only link: %v", links)
			}
			if _, _, html := web.page(s.URL, "/items/"+q1+"/share"); !strings.Contains(html, "View only, no download") {
				t.Errorf("the share panel does not mark the view-only link")
			}
		})
	}
}
