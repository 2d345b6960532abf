package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// signInWeb signs a member in to the web UI with a password and returns
// the browser-like client that holds the session.
func signInWeb(t *testing.T, base, email, password string) *recipientClient {
	t.Helper()
	c := newRecipient(t)
	c.page(base, "/login") // sets the CSRF cookie
	st, loc, body := c.form(base, "/login", url.Values{"email": {email}, "password": {password}})
	if st != 303 {
		t.Fatalf("sign in %s: got %d to %q\n%s", email, st, loc, body)
	}
	return c
}

// rowOf returns the table row of a page that names name, or "".
func rowOf(body, name string) string {
	for _, tr := range strings.Split(body, "<tr")[1:] {
		tr, _, _ = strings.Cut(tr, "</tr>")
		if strings.Contains(tr, ">"+name+"<") {
			return tr
		}
	}
	return ""
}

// TestSharedViews, on both backends: My files marks shared items with the
// people and groups they reach and shows who modified them; Shared with me
// includes what a group the caller is in was given; Shared by me (page and
// API) lists link type, people, expiry and last opened; the share panel
// and the permissions API show when each person last opened the link; a
// link's role and expiry change in place and are recorded; Copy link
// without sending mail adds people and sends nothing; version history
// downloads and restores; form errors are tied to their fields.
func TestSharedViews(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL() })
			const pw = "correct horse battery"
			owner := s.addUser("olivia@example.com", "Olivia Owner", pw, false)
			bob := s.addUser("bob@example.com", "Bob Member", pw, false)
			carl := s.addUser("carl@example.com", "Carl Colleague", pw, false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			bc := &apiClient{t: t, base: s.URL, token: s.token(bob)}
			cc := &apiClient{t: t, base: s.URL, token: s.token(carl)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			notes := o.json("PUT", items+root+":/notes.txt:/content", "first version\n", 201)["id"].(string)
			other := o.json("PUT", items+root+":/other.txt:/content", "other\n", 201)["id"].(string)
			project := o.json("POST", items+root+"/children", map[string]any{"name": "Project", "folder": map[string]any{}}, 201)["id"].(string)

			// notes.txt to two people; Project to a group Carl is in.
			ext := "ext@partner.test"
			perm := o.json("POST", items+notes+"/invite", map[string]any{"recipients": []any{map[string]any{"email": ext}, map[string]any{"email": bob.Email}},
				"roles": []string{"read"}, "requireSignIn": true, "sendInvitation": true}, 200)["value"].([]any)[0].(map[string]any)
			permID, webURL := perm["id"].(string), perm["link"].(map[string]any)["webUrl"].(string)
			g := o.json("POST", "/v1.0/groups", map[string]any{"displayName": "Team", "mailNickname": "team", "securityEnabled": true}, 201)["id"].(string)
			if st, _, out := o.do("POST", "/v1.0/groups/"+g+"/members/$ref", map[string]any{"@odata.id": s.URL + "/v1.0/directoryObjects/" + carl.ID}); st != 204 {
				t.Fatalf("add Carl to the group: %d %s", st, out)
			}
			exp := s.Store.Now().UTC().AddDate(0, 0, 10).Truncate(24 * time.Hour)
			o.json("POST", items+project+"/invite", map[string]any{"recipients": []any{map[string]any{"objectId": g}}, "roles": []string{"write"},
				"requireSignIn": true, "sendInvitation": false, "expirationDateTime": exp.Format(time.RFC3339)}, 200)

			// My files marks the shared items, and only them.
			oc := signInWeb(t, s.URL, owner.Email, pw)
			_, _, page := oc.page(s.URL, "/files")
			if row := rowOf(page, "notes.txt"); !strings.Contains(row, `class="shared-mark"`) || !strings.Contains(row, "2 people") || !strings.Contains(row, "Olivia Owner") {
				t.Errorf("notes.txt row lacks the shared mark with 2 people, or Modified by:\n%s", row)
			}
			if row := rowOf(page, "Project"); !strings.Contains(row, `class="shared-mark"`) || !strings.Contains(row, "1 group") {
				t.Errorf("Project row lacks the shared mark with 1 group:\n%s", row)
			}
			if row := rowOf(page, "other.txt"); row == "" || strings.Contains(row, "shared-mark") {
				t.Errorf("other.txt is not shared, yet its row is %q", row)
			}

			// Shared with me: Carl through his group, Bob by address.
			names := func(c *apiClient) []string {
				var out []string
				for _, v := range c.json("GET", "/v1.0/me/drive/sharedWithMe", nil, 200)["value"].([]any) {
					out = append(out, v.(map[string]any)["name"].(string))
				}
				return out
			}
			if got := names(cc); len(got) != 1 || got[0] != "Project" {
				t.Errorf("Carl's sharedWithMe = %v, want [Project] through his group", got)
			}
			if got := names(bc); len(got) != 1 || got[0] != "notes.txt" {
				t.Errorf("Bob's sharedWithMe = %v, want [notes.txt]", got)
			}
			lastDay := exp.AddDate(0, 0, -1).Format("Jan 2")
			if exp.Year() != s.Store.Now().UTC().Year() {
				lastDay = exp.AddDate(0, 0, -1).Format("Jan 2, 2006")
			}
			// The link ends at midnight UTC: it works through the day before.
			if _, _, body := signInWeb(t, s.URL, carl.Email, pw).page(s.URL, "/shared"); !strings.Contains(rowOf(body, "Project"), "through "+lastDay+", end of day, UTC") ||
				!strings.Contains(body, "Shared by me") {
				t.Errorf("Carl's Shared with me page lacks Project through %s, or the Shared by me tab:\n%s", lastDay, body)
			}

			// The outsider opens the link and downloads the file.
			rc := newRecipient(t)
			rc.call("POST", webURL+"/passcode", map[string]string{"email": ext})
			if st, _, out := rc.call("POST", webURL+"/verify", map[string]string{"email": ext, "code": readCode(t, smtp, ext)}); st != 200 {
				t.Fatalf("verify: %d %s", st, out)
			}
			if st, _, out := rc.call("GET", webURL+"/content", nil); st != 200 || string(out) != "first version\n" {
				t.Fatalf("recipient download: %d %q", st, out)
			}
			openedAt := s.Store.Now()

			// Permissions: the outsider opened it just now, Bob never.
			for _, p := range []map[string]any{o.json("GET", items+notes+"/permissions", nil, 200)["value"].([]any)[0].(map[string]any),
				o.json("GET", items+notes+"/permissions/"+permID, nil, 200)} {
				seen := map[string]any{}
				for _, gr := range p["grantedToIdentitiesV2"].([]any) {
					gm := gr.(map[string]any)
					v, ok := gm["lastAccessedDateTime"]
					if !ok {
						t.Errorf("grantee %v has no lastAccessedDateTime", gm)
					}
					seen[gm["user"].(map[string]any)["email"].(string)] = v
				}
				if at, _ := time.Parse(time.RFC3339, stringOf(seen[ext])); at.IsZero() || openedAt.Sub(at) > time.Minute || at.After(openedAt.Add(time.Second)) {
					t.Errorf("outsider's lastAccessedDateTime = %v, want about %v", seen[ext], openedAt)
				}
				if v, ok := seen[bob.Email]; !ok || v != nil {
					t.Errorf("Bob's lastAccessedDateTime = %v, want null (never opened)", v)
				}
			}

			// The share panel lists who has access and when they last opened it.
			_, _, panel := oc.page(s.URL, "/items/"+notes+"/share")
			if row := rowOf(panel, "ext@partner.test"); !strings.Contains(row, "<time") {
				t.Errorf("share panel: the outsider's row shows no last-opened time:\n%s", row)
			}
			if row := rowOf(panel, bob.Email); !strings.Contains(row, "Not yet") {
				t.Errorf("share panel: Bob's row does not say Not yet:\n%s", row)
			}
			if !strings.Contains(panel, `id="share-form"`) || !strings.Contains(panel, `action="/items/`+notes+`/access/`+permID+`/update"`) {
				t.Errorf("share panel lacks the form or the in-place change of the link")
			}

			// Shared by me, in the API and on the page.
			byMe := map[string]map[string]any{}
			for _, v := range o.json("GET", "/v1.0/me/drive/sharedByMe", nil, 200)["value"].([]any) {
				vm := v.(map[string]any)
				byMe[vm["name"].(string)] = vm["permission"].(map[string]any)
			}
			if p := byMe["notes.txt"]; p == nil || p["peopleCount"] != 2.0 || p["lastAccessedDateTime"] == nil || p["link"].(map[string]any)["type"] != "view" {
				t.Errorf("sharedByMe notes.txt = %v, want 2 people, view, last accessed", p)
			}
			if p := byMe["Project"]; p == nil || p["groupCount"] != 1.0 || p["lastAccessedDateTime"] != nil || p["link"].(map[string]any)["type"] != "edit" ||
				p["expirationDateTime"] == nil {
				t.Errorf("sharedByMe Project = %v, want 1 group, edit, an expiry, never opened", p)
			}
			if len(byMe) != 2 {
				t.Errorf("sharedByMe has %d items, want 2", len(byMe))
			}
			if got := names(bc); len(bc.json("GET", "/v1.0/me/drive/sharedByMe", nil, 200)["value"].([]any)) != 0 || len(got) != 1 {
				t.Errorf("Bob, who shared nothing, has a Shared by me list")
			}
			_, _, byPage := oc.page(s.URL, "/shared/byme")
			if row := rowOf(byPage, "Project"); !strings.Contains(row, "1 group") || !strings.Contains(row, "Can edit") ||
				!strings.Contains(row, "through "+lastDay+", end of day, UTC") || !strings.Contains(row, "Not yet") {
				t.Errorf("Shared by me row of Project:\n%s", row)
			}
			if row := rowOf(byPage, "notes.txt"); !strings.Contains(row, "2 people") || !strings.Contains(row, "Can view") || !strings.Contains(row, "<time") {
				t.Errorf("Shared by me row of notes.txt:\n%s", row)
			}

			// Role and expiry change in place, recorded.
			newDay := s.Store.Now().UTC().AddDate(0, 0, 5).Format(time.DateOnly)
			if st, loc, body := oc.form(s.URL, "/items/"+notes+"/access/"+permID+"/update", url.Values{"type": {"edit"}, "expires": {newDay}}); st != 303 || loc != "/items/"+notes+"/access" {
				t.Fatalf("update the link: %d to %q\n%s", st, loc, body)
			}
			p := o.json("GET", items+notes+"/permissions/"+permID, nil, 200)
			wantExp, _ := time.Parse(time.DateOnly, newDay)
			if got, _ := time.Parse(time.RFC3339, stringOf(p["expirationDateTime"])); p["roles"].([]any)[0] != "write" || !got.Equal(wantExp.AddDate(0, 0, 1)) {
				t.Errorf("after the change: roles %v, expiry %v; want write, %v (the end of %s)", p["roles"], p["expirationDateTime"], wantExp.AddDate(0, 0, 1), newDay)
			}
			recs, _, err := s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: gatehouse.OpSecureLinkUpdated, Limit: 10}, nil)
			if err != nil || len(recs) != 1 || recs[0].UserID != owner.Email || !strings.Contains(recs[0].EventData, `"role":"write"`) {
				t.Errorf("SecureLinkUpdated records: %v %v", recs, err)
			}
			_, _, panel = oc.page(s.URL, "/items/"+notes+"/access")
			if !strings.Contains(panel, "Works through "+mustDay(newDay).Format("Jan 2")) {
				t.Errorf("the panel does not word the new expiry as 'through %s'", mustDay(newDay).Format("Jan 2"))
			}
			// A date in the past is refused on its own field.
			yesterday := s.Store.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
			st, _, body := oc.form(s.URL, "/items/"+notes+"/access/"+permID+"/update", url.Values{"type": {"edit"}, "expires": {yesterday}})
			field := "link-expires-" + permID
			if st != 400 || !fieldTied(body, field) {
				t.Errorf("past expiry: got %d; want 400 with the error tied to #%s\n%s", st, field, body)
			}
			// Another member can neither see nor change the link.
			bw := signInWeb(t, s.URL, bob.Email, pw)
			if st, _, _ := bw.form(s.URL, "/items/"+notes+"/access/"+permID+"/update", url.Values{"type": {"view"}}); st != 404 {
				t.Errorf("another member changes the link: %d, want 404", st)
			}

			// The share form ties its error to the field and focuses it.
			st, _, body = oc.form(s.URL, "/items/"+other+"/share", url.Values{"emails": {"not an address"}, "type": {"view"}})
			if st != 400 || !fieldTied(body, "share-emails") {
				t.Errorf("bad address: got %d; want 400 with the error tied to #share-emails\n%s", st, body)
			}

			// The folder's forms tie their errors to their fields too: a
			// rename to a taken name, an upload without files.
			st, _, body = oc.form(s.URL, "/items/"+other+"/rename", url.Values{"name": {"notes.txt"}})
			if st < 400 || !fieldTied(body, "rename-"+other) || !strings.Contains(body, `value="notes.txt" required maxlength="255" aria-invalid="true"`) {
				t.Errorf("rename to a taken name: got %d; want an error tied to #rename-%s with the name kept\n%s", st, other, body)
			}
			if st, body := uploadNoFiles(t, oc, s.URL, root); st != 400 || !fieldTied(body, "upload-file") {
				t.Errorf("upload without files: got %d; want 400 with the error tied to #upload-file\n%s", st, body)
			}

			// Copy link without sending mail: on the link, no mail.
			quiet := "quiet@partner.test"
			st, loc, _ := oc.form(s.URL, "/items/"+other+"/share", url.Values{"emails": {quiet}, "type": {"view"}, "nomail": {"1"}})
			if st != 303 || !strings.HasPrefix(loc, "/items/"+other+"/access?copy=") {
				t.Fatalf("share without mail: %d to %q", st, loc)
			}
			_, _, panel = oc.page(s.URL, loc)
			if !strings.Contains(panel, quiet) || !regexp.MustCompile(`class="link-url" type="text" readonly value="[^"]+" autofocus`).MatchString(panel) ||
				!strings.Contains(panel, "without sending mail") {
				t.Errorf("after Copy link without sending mail the panel lacks the person, the focused link or the notice")
			}
			time.Sleep(500 * time.Millisecond)
			for _, m := range smtp.Messages() {
				for _, to := range m.To {
					if strings.EqualFold(to, quiet) {
						t.Errorf("mail went to %s although the sharer chose not to send any", quiet)
					}
				}
			}

			// Versions: a second upload, the history, a download of the
			// first, and its restore.
			o.json("PUT", items+notes+"/content", "second version\n", 200)
			_, _, vp := oc.page(s.URL, "/items/"+notes+"/versions")
			if rowOf(vp, "1.0") == "" || !strings.Contains(rowOf(vp, "2.0 <span class=\"badge current\">Current</span>"), "Olivia Owner") {
				t.Errorf("version history lacks version 1.0, or the current 2.0 by Olivia:\n%s", vp)
			}
			if st, _, body := oc.page(s.URL, "/items/"+notes+"/versions/1/download"); st != 200 || body != "first version\n" {
				t.Errorf("download version 1: %d %q", st, body)
			}
			if st, _, _ := bw.page(s.URL, "/items/"+notes+"/versions"); st != 404 {
				t.Errorf("another member's version history: %d, want 404", st)
			}
			if st, loc, body := oc.form(s.URL, "/items/"+notes+"/versions/1/restore", url.Values{}); st != 303 || loc != "/items/"+notes+"/versions" {
				t.Fatalf("restore version 1: %d to %q\n%s", st, loc, body)
			}
			if _, _, out := o.do("GET", items+notes+"/content", nil); string(out) != "first version\n" {
				t.Errorf("after restoring version 1 the content is %q", out)
			}
			recs, _, _ = s.Store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: gatehouse.OpFileVersionRestored, Limit: 10}, nil)
			if len(recs) != 1 || recs[0].UserID != owner.Email {
				t.Errorf("FileVersionRestored records: %v", recs)
			}
			if st, _, _ := oc.form(s.URL, "/items/"+notes+"/versions/3/restore", url.Values{}); st != 400 {
				t.Errorf("restoring the current version: %d, want 400", st)
			}
		})
	}
}

// uploadNoFiles posts the upload form of folder as a browser without
// script does, with its token and no file.
func uploadNoFiles(t *testing.T, c *recipientClient, base, folder string) (int, string) {
	t.Helper()
	u, _ := url.Parse(base)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == httpx.CSRFCookie {
			mw.WriteField("csrf", k.Value)
		}
	}
	mw.CreateFormFile("file", "")
	mw.Close()
	resp, err := c.http.Post(base+"/files/"+folder+"/upload", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func stringOf(v any) string { s, _ := v.(string); return s }

func mustDay(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fieldTied reports whether a page marks the field invalid, describes it
// by its error, shows that error, and gives the field the focus.
func fieldTied(body, id string) bool {
	tag := regexp.MustCompile(`<(?:input|textarea|select)[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	return strings.Contains(tag, `aria-invalid="true"`) && strings.Contains(tag, "autofocus") &&
		regexp.MustCompile(`aria-describedby="[^"]*\b`+regexp.QuoteMeta(id)+`-error\b`).MatchString(tag) &&
		regexp.MustCompile(`id="`+regexp.QuoteMeta(id)+`-error">[^<]+<`).MatchString(body)
}
