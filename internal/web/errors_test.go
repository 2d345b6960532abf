package web

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/httpx"
)

// graphError reads a Graph error body: {"error": {"code", "message"}}. A
// body of any other shape, such as {"error": "..."}, fails the test.
func graphError(t *testing.T, what, body string) (code, message string) {
	t.Helper()
	var v struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Error.Code == "" {
		t.Errorf("%s: body is not a Graph error (%v): %s", what, err, body)
	}
	return v.Error.Code, v.Error.Message
}

// uploadJSON sends an upload as app.js does: the token in the header (when
// not ""), Accept: application/json.
func (c *client) uploadJSON(path, csrf string, files ...upFile) (*http.Response, string) {
	c.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		w, _ := mw.CreateFormFile("file", f.name)
		w.Write([]byte(f.content))
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	if csrf != "" {
		req.Header.Set(httpx.CSRFHeader, csrf)
	}
	return c.do(req)
}

// heading returns the <h1> of a page.
func heading(body string) string {
	_, rest, ok := strings.Cut(body, "<h1>")
	if !ok {
		return ""
	}
	h, _, _ := strings.Cut(rest, "</h1>")
	return html.UnescapeString(h)
}

// TestErrorsHaveOneShape: every error of the UI and the recipient pages is
// the Graph JSON error when the request wants JSON (app.js reads
// error.message), and a page with its heading otherwise.
func TestErrorsHaveOneShape(t *testing.T) {
	e := newShareEnv(t)
	e.addUser("mem@partner-org.test", "Mem", false)
	view := e.folder("", "View")
	vl := e.share(view, gatehouse.RoleRead, "ext@partner.test")
	d := e.drive(e.owner)
	owner := e.signIn("olive@example.com")
	tok := owner.csrf()

	jsonCases := []struct {
		name      string
		do        func() (*http.Response, string)
		status    int
		code, msg string
	}{
		{"owner upload of nothing", func() (*http.Response, string) {
			return owner.uploadJSON("/files/"+d.RootID+"/upload", tok)
		}, 400, "invalidRequest", "Choose one or more files to upload."},
		{"owner upload without its token", func() (*http.Response, string) {
			return owner.uploadJSON("/files/"+d.RootID+"/upload", "", upFile{"a.txt", "a"})
		}, 403, "accessDenied", "The page has expired. Reload it and try again."},
		{"owner upload into another drive's item", func() (*http.Response, string) {
			return owner.uploadJSON("/files/"+gatehouse.NewID()+"/upload", tok, upFile{"a.txt", "a"})
		}, 404, "itemNotFound", "The item was not found."},
		{"link content without a session", func() (*http.Response, string) {
			return e.client().getJSON("/s/" + vl.Token + "/content")
		}, 401, "unauthenticated", "Verify your email address to open this link."},
	}
	for _, tc := range jsonCases {
		resp, body := tc.do()
		code, msg := graphError(t, tc.name, body)
		if resp.StatusCode != tc.status || code != tc.code || msg != tc.msg {
			t.Errorf("%s: got %d %s %q, want %d %s %q", tc.name, resp.StatusCode, code, msg, tc.status, tc.code, tc.msg)
		}
	}

	// A recipient of a view link who uploads anyway.
	rc := e.client()
	e.verify(rc, vl, "ext@partner.test", false)
	resp, body := rc.uploadJSON("/s/"+vl.Token+"/upload", rc.csrf(), upFile{"a.txt", "a"})
	if code, msg := graphError(t, "view link upload", body); resp.StatusCode != 403 || code != "accessDenied" || msg != "This link lets you view and download only." {
		t.Errorf("view link upload: got %d %s %q", resp.StatusCode, code, msg)
	}

	// Pages: the heading tells what went wrong.
	mem := e.signIn("mem@partner-org.test")
	pages := []struct {
		name    string
		do      func() (*http.Response, string)
		status  int
		heading string
		says    string
	}{
		{"a member on an admin page", func() (*http.Response, string) { return mem.get("/admin/users") },
			403, "Administrators only", "This page is for administrators."},
		{"a form without its token", func() (*http.Response, string) {
			return owner.postForm("/files/"+d.RootID+"/folder", url.Values{"name": {"x"}, "csrf": {"nope"}})
		}, 403, "This form has expired", "reload the page"},
		{"another member's item", func() (*http.Response, string) { return mem.get("/files/" + view.ID) },
			404, "Not found", "The item was not found."},
		{"link content without a session", func() (*http.Response, string) { return e.client().get("/s/" + vl.Token + "/content") },
			401, "Verify your email address", `href="/s/` + vl.Token + `"`},
		{"a member not on the link", func() (*http.Response, string) { return mem.get("/s/" + vl.Token + "/content") },
			403, "You don't have access", "does not have access to this link"},
		{"an unknown link", func() (*http.Response, string) { return e.client().get("/s/" + gatehouse.NewSecret("") + "/content") },
			404, "Not found", "This link does not work."},
	}
	for _, p := range pages {
		resp, body := p.do()
		if resp.StatusCode != p.status || heading(body) != p.heading || !strings.Contains(body, p.says) {
			t.Errorf("%s: got %d %q, want %d %q saying %q\n%s", p.name, resp.StatusCode, heading(body), p.status, p.heading, p.says, body)
		}
	}
}

// TestSignedInLinkUseOncePerSession: a signed-in member on a link records
// one SecureLinkUsed per web session, however many pages it opens; a HEAD
// records none.
func TestSignedInLinkUseOncePerSession(t *testing.T) {
	e := newShareEnv(t)
	e.addUser("mem@partner-org.test", "Mem", false)
	f := e.putFile(e.owner, "", "plan.txt", "plan")
	l := e.share(f, gatehouse.RoleRead, "mem@partner-org.test")
	used := func() int {
		recs, _, err := e.store.SearchAudit(context.Background(), gatehouse.AuditFilter{
			Operation: gatehouse.OpSecureLinkUsed, UserID: "mem@partner-org.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	for i := range 2 {
		c := e.signIn("mem@partner-org.test")
		req, _ := http.NewRequest(http.MethodHead, e.srv.URL+"/s/"+l.Token, nil)
		if resp, _ := c.do(req); resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD by session %d: got %d", i+1, resp.StatusCode)
		}
		if n := used(); n != i {
			t.Errorf("after a HEAD by session %d: %d SecureLinkUsed, want %d", i+1, n, i)
		}
		for _, p := range []string{"/s/" + l.Token, "/s/" + l.Token + "/content", "/s/" + l.Token} {
			if resp, _ := c.get(p); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s by session %d: got %d", p, i+1, resp.StatusCode)
			}
		}
		if n := used(); n != i+1 {
			t.Errorf("after views by session %d: %d SecureLinkUsed, want %d", i+1, n, i+1)
		}
	}
}
