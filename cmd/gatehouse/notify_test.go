package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// verifyRecipient walks rc through the code flow for email on the link
// webURL, reading the code from the mail the SMTP server received, and
// returns that mail.
func verifyRecipient(t *testing.T, rc *recipientClient, smtp *mailtest.Server, webURL, email string) mailtest.Mail {
	t.Helper()
	if st, _, body := rc.call("POST", webURL+"/passcode", map[string]string{"email": email}); st != 200 {
		t.Fatalf("passcode: %d %s", st, body)
	}
	m := smtp.WaitFor(t, email, 10*time.Second)
	if st, _, body := rc.call("POST", webURL+"/verify", map[string]string{"email": email, "code": mailtest.Code(t, m)}); st != 200 {
		t.Fatalf("verify: %d %s", st, body)
	}
	return m
}

// uploadAs posts one file through an edit link as rc, as the page's
// script does (CSRF header, JSON answer), and returns the status.
func uploadAs(t *testing.T, rc *recipientClient, webURL, name, content string) int {
	t.Helper()
	u, _ := url.Parse(webURL)
	csrf := ""
	for _, k := range rc.http.Jar.Cookies(u) {
		if k.Name == httpx.CSRFCookie {
			csrf = k.Value
		}
	}
	if csrf == "" {
		// A page, not JSON, sets the CSRF cookie.
		if resp, err := rc.http.Get(webURL); err == nil {
			resp.Body.Close()
		}
		for _, k := range rc.http.Jar.Cookies(u) {
			if k.Name == httpx.CSRFCookie {
				csrf = k.Value
			}
		}
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest("POST", webURL+"/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set(httpx.CSRFHeader, csrf)
	req.Header.Set("Accept", "application/json")
	resp, err := rc.http.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// notices returns the owner notices in the outbox, newest first.
func notices(t *testing.T, s *server) []store.OutboxMessage {
	t.Helper()
	all, err := s.Store.Outbox(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.OutboxMessage
	for _, m := range all {
		if m.Kind == "notice" {
			out = append(out, m)
		}
	}
	return out
}

// TestOwnerNotices: on both backends, the owner hears through the outbox,
// by real SMTP, when a recipient first opens a link (once, however often
// they open it) and when they upload or replace a file through it; with
// notifyOwner off (recorded) nothing is sent. The invitation comes from
// the sharer "via Gatehouse" with Reply-To the sharer and states the
// permission; the passcode mail names the item.
func TestOwnerNotices(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = smtp.URL(); c.MailFrom = "files@example.com" })
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", true)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			folder := o.json("POST", items+root+"/children", map[string]any{"name": "Drop box", "folder": map[string]any{}}, 201)
			o.json("PUT", items+folder["id"].(string)+":/notes.txt:/content", []byte("v1\n"), 201)

			const ext = "ext@partner.test"
			resp := o.json("POST", items+folder["id"].(string)+"/invite", map[string]any{
				"recipients": []any{map[string]any{"email": ext}}, "roles": []string{"write"},
				"requireSignIn": true, "sendInvitation": true, "message": "Put the scans here",
			}, 200)
			perm := resp["value"].([]any)[0].(map[string]any)
			if perm["notifyOwner"] != true {
				t.Errorf("a new link's notifyOwner = %v, want true", perm["notifyOwner"])
			}
			webURL := perm["link"].(map[string]any)["webUrl"].(string)

			// The invitation: from the sharer via Gatehouse, replies to the
			// sharer, and says what the link allows.
			inv := smtp.WaitFor(t, ext, 10*time.Second)
			raw := string(inv.Raw)
			for _, want := range []string{"\r\nFrom: \"Olivia Owner via Gatehouse\" <files@example.com>\r\n", "\r\nReply-To: <olivia@example.com>\r\n"} {
				if !strings.Contains(raw, want) {
					t.Errorf("invitation header lacks %q:\n%s", want, raw[:min(len(raw), 600)])
				}
			}
			if inv.From != "files@example.com" {
				t.Errorf("envelope sender = %q, want the configured address", inv.From)
			}
			if !strings.Contains(inv.Text, "upload and replace files") || !strings.Contains(inv.Text, "verification code") {
				t.Errorf("invitation does not state the permission and the code:\n%s", inv.Text)
			}

			// The passcode mail names the item; the first open tells the
			// owner, naming the item and the recipient.
			rc := newRecipient(t)
			code := verifyRecipient(t, rc, smtp, webURL, ext)
			if !strings.Contains(code.Text, `"Drop box"`) {
				t.Errorf("passcode mail does not name the item:\n%s", code.Text)
			}
			if st, _, body := rc.call("GET", webURL, nil); st != 200 {
				t.Fatalf("open: %d %s", st, body)
			}
			n := smtp.WaitFor(t, "olivia@example.com", 10*time.Second)
			if n.Subject != `ext@partner.test opened "Drop box"` || !strings.Contains(n.Text, "ext@partner.test opened \"Drop box\"") {
				t.Errorf("first-open notice: %q\n%s", n.Subject, n.Text)
			}
			if want := s.URL + "/items/" + folder["id"].(string) + "/access"; !strings.Contains(n.Text, want) {
				t.Errorf("the notice does not link the owner's Manage access page %s:\n%s", want, n.Text)
			}
			// Opening again, the link or an item in it, tells no one.
			rc.call("GET", webURL, nil)
			rc.call("GET", webURL+"/items/"+folder["id"].(string)+"/children", nil)
			if got := len(notices(t, s)); got != 1 {
				t.Errorf("after more opens: %d notices, want 1", got)
			}

			// An upload and a replacement through the link each tell the owner.
			if st := uploadAs(t, rc, webURL, "scan.pdf", "%PDF-1.4 scan"); st != 200 {
				t.Fatalf("upload: %d", st)
			}
			up := smtp.WaitFor(t, "olivia@example.com", 10*time.Second)
			if up.Subject != `ext@partner.test uploaded "scan.pdf" to "Drop box"` {
				t.Errorf("upload notice subject %q", up.Subject)
			}
			if st := uploadAs(t, rc, webURL, "notes.txt", "v2\n"); st != 200 {
				t.Fatalf("replace: %d", st)
			}
			rep := smtp.WaitFor(t, "olivia@example.com", 10*time.Second)
			if rep.Subject != `ext@partner.test replaced "notes.txt"` || !strings.Contains(rep.Text, "version history") {
				t.Errorf("replace notice: %q\n%s", rep.Subject, rep.Text)
			}

			// notifyOwner off, recorded; then an upload sends nothing.
			permPath := items + folder["id"].(string) + "/permissions/" + perm["id"].(string)
			if p := o.json("PATCH", permPath, map[string]any{"notifyOwner": false}, 200); p["notifyOwner"] != false {
				t.Fatalf("PATCH notifyOwner false: %v", p["notifyOwner"])
			}
			found := false
			for _, r := range auditOf(o, perm["shareId"].(string)) {
				if r["Operation"] == gatehouse.OpSecureLinkUpdated && strings.Contains(toJSON(r), `notifyOwner`) {
					found = true
				}
			}
			if !found {
				t.Errorf("turning notifyOwner off was not recorded")
			}
			before := len(notices(t, s))
			if st := uploadAs(t, rc, webURL, "quiet.txt", "shh"); st != 200 {
				t.Fatalf("upload with notices off: %d", st)
			}
			if got := len(notices(t, s)); got != before {
				t.Errorf("notifyOwner false: %d notices queued, want none", got-before)
			}
		})
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFirstOpenOnce: 16 parallel first opens of a link by its recipient,
// from 16 sessions, queue exactly one notice, on each backend (the
// conditional update on first_opened_at decides); a link created with
// notifyOwner false queues none.
func TestFirstOpenOnce(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			owner := s.addUser("olivia@example.com", "Olivia Owner", "correct horse battery", false)
			o := &apiClient{t: t, base: s.URL, token: s.token(owner)}
			drive := o.json("GET", "/v1.0/me/drive", nil, 200)
			d, root := drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
			items := "/v1.0/drives/" + d + "/items/"
			ctx := context.Background()
			open16 := func(file, email string, notify bool) int {
				f := o.json("PUT", items+root+":/"+file+":/content", []byte("x"), 201)
				p := o.json("POST", items+f["id"].(string)+"/createLink", map[string]any{"type": "view",
					"recipients": []any{map[string]any{"email": email}}, "notifyOwner": notify}, 201)
				if p["notifyOwner"] != notify {
					t.Fatalf("createLink notifyOwner = %v, want %v", p["notifyOwner"], notify)
				}
				l, err := s.Store.Link(ctx, d, f["id"].(string), p["id"].(string))
				if err != nil {
					t.Fatal(err)
				}
				before := len(notices(t, s))
				by := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal(email), Origin: gatehouse.Origin{ClientIP: "192.0.2.1"}}
				var wg sync.WaitGroup
				errs := make(chan error, 16)
				start := make(chan struct{})
				// 16 sessions of the recipient open the link at once, as
				// linkAccess records each session's first use.
				for i := range 16 {
					wg.Go(func() {
						<-start
						errs <- s.Store.RecordLinkUse(ctx, by, l, fmt.Sprintf("session-%s-%d", file, i))
					})
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Errorf("RecordLinkUse: %v", err)
					}
				}
				return len(notices(t, s)) - before
			}
			if n := open16("one.txt", "ext@partner.test", true); n != 1 {
				t.Errorf("16 parallel first opens queued %d notices, want 1", n)
			}
			if n := open16("two.txt", "ext@partner.test", false); n != 0 {
				t.Errorf("notifyOwner false: %d notices, want 0", n)
			}
		})
	}
}
