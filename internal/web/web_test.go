package web

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

const testPassword = "correct horse battery staple"

// testEnv is the UI over a real SQLite store, behind the security headers
// as main serves it.
type testEnv struct {
	t      *testing.T
	store  *store.Store
	clock  *testenv.Clock // the store's
	srv    *httptest.Server
	dbPath string
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "g.db")
	const base = "http://gatehouse.test"
	clock := &testenv.Clock{}
	s, err := store.Open(context.Background(), dbPath, blobs, store.Options{Now: clock.Now, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mux := http.NewServeMux()
	New(s, Config{BaseURL: base, MaxUpload: 1 << 20}).Register(mux)
	srv := httptest.NewServer(httpx.SecurityHeaders(mux))
	t.Cleanup(srv.Close)
	return &testEnv{t: t, store: s, clock: clock, srv: srv, dbPath: dbPath}
}

func (e *testEnv) addUser(email, name string, admin bool) *gatehouse.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), gatehouse.SystemActor(),
		store.NewUser{Email: email, DisplayName: name, Password: testPassword, IsAdmin: admin})
	if err != nil {
		e.t.Fatalf("add user: %v", err)
	}
	return u
}

// drive returns the user's drive.
func (e *testEnv) drive(u *gatehouse.User) *gatehouse.Drive {
	e.t.Helper()
	d, err := e.store.DriveByOwner(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *testEnv) putFile(u *gatehouse.User, parentID, name, content string) *gatehouse.Item {
	e.t.Helper()
	d := e.drive(u)
	if parentID == "" {
		parentID = d.RootID
	}
	it, _, err := e.store.PutFile(context.Background(), gatehouse.SystemActor(), d.ID, parentID, name, strings.NewReader(content), 1<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// client is a browser without JavaScript: a cookie jar that does not follow
// redirects, so tests see them.
type client struct {
	e *testEnv
	c *http.Client
}

func (e *testEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signIn signs in through the form and returns the signed-in client.
func (e *testEnv) signIn(email string) *client {
	e.t.Helper()
	c := e.client()
	resp, body := c.postForm("/login", url.Values{"email": {email}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/files" {
		e.t.Fatalf("sign in %s: got %d %q, want 303 to /files\n%s", email, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return c
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.e.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	return c.do(req)
}

// csrf returns the token of the CSRF cookie, visiting the sign-in page
// first when there is none yet.
func (c *client) csrf() string {
	c.e.t.Helper()
	u, _ := url.Parse(c.e.srv.URL)
	for range 2 {
		for _, k := range c.c.Jar.Cookies(u) {
			if k.Name == httpx.CSRFCookie {
				return k.Value
			}
		}
		c.get("/login")
	}
	c.e.t.Fatal("no CSRF cookie")
	return ""
}

// postForm sends a form with the right CSRF token unless v sets one.
func (c *client) postForm(path string, v url.Values) (*http.Response, string) {
	c.e.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	if _, ok := v["csrf"]; !ok {
		v.Set("csrf", c.csrf())
	}
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

type upFile struct{ name, content string }

// upload sends a multipart form: the token part first when csrf is not nil,
// then the files.
func (c *client) upload(path string, csrf *string, files ...upFile) (*http.Response, string) {
	c.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrf != nil {
		mw.WriteField("csrf", *csrf)
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile("file", f.name)
		io.WriteString(w, f.content)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

var errorRe = regexp.MustCompile(`<p class="notice error" role="alert" id="error">([^<]*)</p>`)

// pageError returns the error message a page shows.
func pageError(body string) string {
	m := errorRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func (e *testEnv) auditOps(email string) map[string]int {
	e.t.Helper()
	recs, _, err := e.store.SearchAudit(context.Background(), gatehouse.AuditFilter{UserID: email, Limit: 1000}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	ops := map[string]int{}
	for _, r := range recs {
		ops[r.Operation]++
	}
	return ops
}

func TestPostsRequireCSRF(t *testing.T) {
	e := newEnv(t)
	admin := e.addUser("admin@example.com", "Ada Admin", true)
	other := e.addUser("bob@example.com", "Bob", false)
	d := e.drive(admin)
	file := e.putFile(admin, "", "keep.txt", "keep")
	c := e.signIn("admin@example.com")

	forms := []struct{ name, path string }{
		{"folder", "/files/" + d.RootID + "/folder"},
		{"rename", "/items/" + file.ID + "/rename"},
		{"delete", "/items/" + file.ID + "/delete"},
		{"logout", "/logout"},
		{"add user", "/admin/users"},
		{"disable user", "/admin/users/" + other.ID + "/disable"},
	}
	fields := url.Values{"name": {"changed"}, "email": {"eve@example.com"}, "password": {testPassword}}
	tokens := map[string][]string{"missing": nil, "empty": {""}, "forged": {gatehouse.NewSecret("")}}
	for _, f := range forms {
		for kind, tok := range tokens {
			v := url.Values{}
			for k, x := range fields {
				v[k] = x
			}
			v["csrf"] = tok
			if tok == nil {
				v["csrf"] = []string{}
			}
			resp, _ := c.postForm(f.path, v)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s with %s token: got %d, want 403", f.name, kind, resp.StatusCode)
			}
		}
		// The token in a header is as good as in the form, but only the
		// right one.
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+f.path, strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		forged := []byte(c.csrf())
		forged[0] ^= 1 // one byte off the cookie
		req.Header.Set(httpx.CSRFHeader, string(forged))
		if resp, _ := c.do(req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s with forged header: got %d, want 403", f.name, resp.StatusCode)
		}
	}
	root := "/files/" + d.RootID + "/upload"
	forged := gatehouse.NewSecret("")
	for kind, tok := range map[string]*string{"missing": nil, "forged": &forged} {
		if resp, _ := c.upload(root, tok, upFile{"evil.txt", "evil"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("upload with %s token: got %d, want 403", kind, resp.StatusCode)
		}
	}

	// Nothing happened.
	items, _, err := e.store.Children(context.Background(), d.ID, d.RootID, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Name != "keep.txt" {
		t.Errorf("root after forged forms: got %d items (first %q), want only keep.txt", len(items), items[0].Name)
	}
	if _, err := e.store.UserByEmail(context.Background(), "eve@example.com"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("user added by a forged form: err = %v", err)
	}
	if u, _ := e.store.User(context.Background(), other.ID); u.Disabled {
		t.Error("user disabled by a forged form")
	}
	if resp, _ := c.get("/files"); resp.StatusCode != http.StatusOK {
		t.Errorf("session after a forged logout: GET /files got %d, want 200", resp.StatusCode)
	}

	// And the real token works.
	if resp, body := c.postForm("/files/"+d.RootID+"/folder", url.Values{"name": {"Real"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("folder with the right token: got %d, want 303\n%s", resp.StatusCode, body)
	}
	tok := c.csrf()
	if resp, body := c.upload(root, &tok, upFile{"real.txt", "real"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("upload with the right token: got %d, want 303\n%s", resp.StatusCode, body)
	}
}

func TestLoginFailureIsTheSameForEveryAccount(t *testing.T) {
	e := newEnv(t)
	e.addUser("ann@example.com", "Ann", false)
	c := e.client()
	type result struct {
		status int
		msg    string
	}
	try := func(email string) result {
		resp, body := c.postForm("/login", url.Values{"email": {email}, "password": {"wrong password!"}})
		for _, k := range resp.Cookies() {
			if k.Name == httpx.SessionCookie && k.MaxAge >= 0 {
				t.Errorf("failed sign-in of %s set a session cookie", email)
			}
		}
		return result{resp.StatusCode, pageError(body)}
	}
	existing, missing := try("ann@example.com"), try("nobody@example.com")
	want := result{http.StatusUnauthorized, "The email address or password is incorrect."}
	if existing != want || missing != want {
		t.Errorf("existing account: %+v; nonexistent account: %+v; want both %+v", existing, missing, want)
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newEnv(t)
	e.addUser("ann@example.com", "Ann", false)
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	e.clock.Set(now)
	c := e.client()
	var resp *http.Response
	var body string
	for range 6 {
		resp, body = c.postForm("/login", url.Values{"email": {"ann@example.com"}, "password": {"wrong password!"}})
	}
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(pageError(body), "Too many failed sign-ins") {
		t.Errorf("sixth failure: got %d %q, want 429 with the store's message", resp.StatusCode, pageError(body))
	}
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	e.addUser("ann@example.com", "Ann", false)
	c := e.client()
	resp, _ := c.postForm("/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}, "next": {"/files/abc?x=1"}})
	if got := resp.Header.Get("Location"); got != "/files/abc?x=1" {
		t.Errorf("redirect after sign-in: got %q, want the next parameter", got)
	}
	var session *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == httpx.SessionCookie {
			session = k
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.MaxAge != 0 || !session.Expires.IsZero() || session.Path != "/" {
		t.Errorf("session cookie: got %s, want HttpOnly, SameSite=Lax, Path=/ and no expiry", session)
	}

	// Signed in, the sign-in page sends people on.
	resp, _ = c.get("/login?next=//evil.example/")
	if got := resp.Header.Get("Location"); got != "/files" {
		t.Errorf("GET /login?next=//evil.example/ signed in: redirect to %q, want /files", got)
	}
	// Signing out ends the session on the server too.
	resp, _ = c.postForm("/logout", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("logout: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.store.UserBySession(context.Background(), session.Value); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		t.Errorf("session after logout: err = %v, want EUNAUTHORIZED", err)
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/files"},
		{"/files/abc?x=1", "/files/abc?x=1"},
		{"/admin/audit", "/admin/audit"},
		{"//evil.example", "/files"},
		{"/\\evil.example", "/files"},
		{"https://evil.example/", "/files"},
		{"javascript:alert(1)", "/files"},
		{"/files\r\nX: y", "/files"},
		{"files", "/files"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSignInRequired(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for path, want := range map[string]string{
		"/":                       "/login",
		"/files":                  "/login?next=%2Ffiles",
		"/files/abc?after=x":      "/login?next=%2Ffiles%2Fabc%3Fafter%3Dx",
		"/items/abc/download":     "/login?next=%2Fitems%2Fabc%2Fdownload",
		"/admin/users":            "/login?next=%2Fadmin%2Fusers",
		"/admin/audit?op=x&user=": "/login?next=%2Fadmin%2Faudit%3Fop%3Dx%26user%3D",
	} {
		resp, _ := c.get(path)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: got %d to %q, want 303 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	resp, _ := c.postForm("/files/abc/folder", url.Values{"name": {"x"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("POST without a session: got %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A session cookie that the store does not know is no session.
	u, _ := url.Parse(e.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.SessionCookie, Value: gatehouse.NewSecret("")}})
	if resp, _ := c.get("/files"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /files with an unknown session: got %d, want 303", resp.StatusCode)
	}
}

func TestAdminPagesRefuseMembers(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada", true)
	bob := e.addUser("bob@example.com", "Bob", false)
	c := e.signIn("bob@example.com")
	for _, path := range []string{"/admin/users", "/admin/audit"} {
		if resp, _ := c.get(path); resp.StatusCode != http.StatusForbidden {
			t.Errorf("member GET %s: got %d, want 403", path, resp.StatusCode)
		}
	}
	resp, _ := c.postForm("/admin/users", url.Values{"email": {"eve@example.com"}, "name": {"Eve"}, "password": {testPassword}, "admin": {"1"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("member POST /admin/users: got %d, want 403", resp.StatusCode)
	}
	if _, err := e.store.UserByEmail(context.Background(), "eve@example.com"); err == nil {
		t.Error("a member added a user")
	}
	if _, body := c.get("/files"); strings.Contains(body, `href="/admin/users"`) {
		t.Error("the nav of a member links to the admin pages")
	}
	_ = bob
}

func TestOtherMembersItemsAreNotFound(t *testing.T) {
	e := newEnv(t)
	ann := e.addUser("ann@example.com", "Ann", false)
	e.addUser("bob@example.com", "Bob", false)
	d := e.drive(ann)
	folder, err := e.store.CreateFolder(context.Background(), gatehouse.SystemActor(), d.ID, d.RootID, "Private")
	if err != nil {
		t.Fatal(err)
	}
	file := e.putFile(ann, folder.ID, "secret.txt", "secret")
	bob := e.signIn("bob@example.com")
	for _, path := range []string{"/files/" + folder.ID, "/files/" + d.RootID, "/items/" + file.ID + "/download"} {
		resp, body := bob.get(path)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "secret") {
			t.Errorf("GET %s of another member: got %d, want 404 without the content", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/items/" + file.ID + "/rename", "/items/" + file.ID + "/delete", "/files/" + folder.ID + "/folder"} {
		if resp, _ := bob.postForm(path, url.Values{"name": {"mine"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s of another member: got %d, want 404", path, resp.StatusCode)
		}
	}
	tok := bob.csrf()
	if resp, _ := bob.upload("/files/"+folder.ID+"/upload", &tok, upFile{"x.txt", "x"}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("upload into another member's folder: got %d, want 404", resp.StatusCode)
	}
	if it, err := e.store.Item(context.Background(), d.ID, file.ID); err != nil || it.Name != "secret.txt" {
		t.Errorf("ann's file after bob's attempts: %v, %v", it, err)
	}
	if n := e.auditOps("bob@example.com")[gatehouse.OpFileDownloaded]; n != 0 {
		t.Errorf("bob has %d FileDownloaded records, want 0", n)
	}
}

func TestNamesAreEscaped(t *testing.T) {
	e := newEnv(t)
	ann := e.addUser("ann@example.com", "Ann <script>alert('name')</script>", false)
	it := e.putFile(ann, "", "report.txt", "x")
	// ValidateName refuses < and >, so put the name in the database the way
	// an older version or another client might have.
	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE items SET name = ? WHERE id = ?`, `<script>alert(1)</script>".txt`, it.ID); err != nil {
		t.Fatal(err)
	}
	c := e.signIn("ann@example.com")
	resp, body := c.get("/files")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /files: %d", resp.StatusCode)
	}
	for _, bad := range []string{"<script>alert(1)", "<script>alert('name')"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;.txt") {
		t.Error("the escaped file name is not in the listing")
	}
	if !strings.Contains(body, "Ann &lt;script&gt;") {
		t.Error("the escaped display name is not in the header")
	}
}

// inlineRe finds what the CSP forbids in our own markup: inline scripts,
// style attributes and elements, and event handler attributes.
var (
	scriptTagRe = regexp.MustCompile(`<script[^>]*>`)
	inlineRe    = regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`)
)

func TestSecurityHeadersAndNoInlineCode(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada", true)
	anon := e.client()
	_, _ = anon.get("/login")
	c := e.signIn("admin@example.com")
	pages := map[string]*client{"/login": anon, "/files": c, "/admin/users": c, "/admin/audit": c, "/files/nope": c}
	for path, cl := range pages {
		resp, body := cl.get(path)
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: security headers missing: %v", path, h)
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", path, h.Get("Cache-Control"))
		}
		if h.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type = %q", path, h.Get("Content-Type"))
		}
		for _, tag := range scriptTagRe.FindAllString(body, -1) {
			if !strings.Contains(tag, " src=") {
				t.Errorf("GET %s: inline script %s", path, tag)
			}
		}
		if m := inlineRe.FindString(body); m != "" {
			t.Errorf("GET %s: inline code or style: %q", path, m)
		}
	}
}

func TestFilesFlow(t *testing.T) {
	e := newEnv(t)
	ann := e.addUser("ann@example.com", "Ann", false)
	d := e.drive(ann)
	c := e.signIn("ann@example.com")

	resp, _ := c.postForm("/files/"+d.RootID+"/folder", url.Values{"name": {"Reports"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/files" {
		t.Fatalf("create folder: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := c.get("/files")
	if !strings.Contains(body, "Created the folder “Reports”.") || !strings.Contains(body, ">Reports</a>") {
		t.Fatalf("the root does not show the new folder and its message:\n%s", body)
	}
	if _, body = c.get("/files"); strings.Contains(body, "Created the folder") {
		t.Error("the message shows a second time")
	}
	items, _, _ := e.store.Children(context.Background(), d.ID, d.RootID, nil, 10)
	folder := items[0]

	// The same name again is a conflict, shown on the folder page.
	resp, body = c.postForm("/files/"+d.RootID+"/folder", url.Values{"name": {"reports"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(pageError(body), "already exists") {
		t.Errorf("duplicate folder: got %d %q, want 409 with the store's message", resp.StatusCode, pageError(body))
	}

	tok := c.csrf()
	up := "/files/" + folder.ID + "/upload"
	resp, body = c.upload(up, &tok, upFile{"Résumé 2025.txt", "hello, world\n"}, upFile{"b.csv", "a,b\n1,2\n"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/files/"+folder.ID {
		t.Fatalf("upload: got %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, body = c.get("/files/" + folder.ID)
	for _, want := range []string{"Uploaded 2 files.", "Résumé 2025.txt", "b.csv", "13 bytes", `<span aria-current="page">Reports</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("folder page lacks %q", want)
		}
	}
	items, _, _ = e.store.Children(context.Background(), d.ID, folder.ID, nil, 10)
	var file *gatehouse.Item
	for _, it := range items {
		if it.Name == "Résumé 2025.txt" {
			file = it
		}
	}

	resp, body = c.get("/items/" + file.ID + "/download")
	if resp.StatusCode != http.StatusOK || body != "hello, world\n" {
		t.Fatalf("download: got %d %q", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Disposition":    `attachment; filename="R_sum_ 2025.txt"; filename*=UTF-8''R%C3%A9sum%C3%A9%202025.txt`,
		"X-Content-Type-Options": "nosniff",
		"ETag":                   file.ETag(),
		"Content-Type":           "text/plain; charset=utf-8",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("download %s: got %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download CSP: got %q, want a sandbox", resp.Header.Get("Content-Security-Policy"))
	}

	// Upload with JavaScript: the token in the header, JSON back.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", tok)
	w, _ := mw.CreateFormFile("file", "c.txt")
	io.WriteString(w, "c")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+up, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set(httpx.CSRFHeader, tok)
	resp, body = c.do(req)
	var got struct{ Location string }
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusOK || got.Location != "/files/"+folder.ID {
		t.Errorf("upload with JavaScript: got %d %s", resp.StatusCode, body)
	}

	// Too large, and no file at all.
	resp, body = c.upload(up, &tok, upFile{"big.bin", strings.Repeat("x", 1<<20+1)})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || pageError(body) == "" {
		t.Errorf("upload over the limit: got %d %q, want 413 with a message", resp.StatusCode, pageError(body))
	}
	resp, body = c.upload(up, &tok)
	if resp.StatusCode != http.StatusBadRequest || pageError(body) != "Choose one or more files to upload." {
		t.Errorf("upload of nothing: got %d %q", resp.StatusCode, pageError(body))
	}

	// Rename, with a conflict first.
	resp, body = c.postForm("/items/"+file.ID+"/rename", url.Values{"name": {"B.CSV"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(pageError(body), "already exists") {
		t.Errorf("rename onto another file: got %d %q, want 409", resp.StatusCode, pageError(body))
	}
	resp, _ = c.postForm("/items/"+file.ID+"/rename", url.Values{"name": {"CV.txt"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/files/"+folder.ID {
		t.Errorf("rename: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body = c.get("/files/" + folder.ID); !strings.Contains(body, "CV.txt") {
		t.Error("the renamed file is not listed")
	}
	resp, _ = c.postForm("/items/"+file.ID+"/delete", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: got %d", resp.StatusCode)
	}
	if resp, _ = c.get("/items/" + file.ID + "/download"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("download after delete: got %d, want 404", resp.StatusCode)
	}
	if resp, _ = c.get("/items/" + folder.ID + "/download"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("download of a folder: got %d, want 400", resp.StatusCode)
	}

	ops := e.auditOps("ann@example.com")
	for _, op := range []string{gatehouse.OpFolderCreated, gatehouse.OpFileUploaded, gatehouse.OpFileDownloaded,
		gatehouse.OpFileRenamed, gatehouse.OpFileDeleted} {
		if ops[op] == 0 {
			t.Errorf("no %s record for ann; got %v", op, ops)
		}
	}
}

func TestAdminUsersAndAudit(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada", true)
	c := e.signIn("admin@example.com")

	resp, body := c.postForm("/admin/users", url.Values{"email": {"carl@example.com"}, "name": {"Carl"}, "password": {"short"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(pageError(body), "at least 10") || !strings.Contains(body, `value="carl@example.com"`) {
		t.Errorf("add user with a short password: got %d %q, want 400, the message and the form kept", resp.StatusCode, pageError(body))
	}
	resp, _ = c.postForm("/admin/users", url.Values{"email": {"carl@example.com"}, "name": {"Carl"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add user: got %d", resp.StatusCode)
	}
	if _, body = c.get("/admin/users"); !strings.Contains(body, "Added Carl (carl@example.com).") {
		t.Error("the users page does not confirm the new user")
	}
	carl, err := e.store.UserByEmail(context.Background(), "carl@example.com")
	if err != nil || carl.IsAdmin {
		t.Fatalf("carl: %v %v", carl, err)
	}
	cc := e.signIn("carl@example.com")
	if resp, _ = c.postForm("/admin/users/"+carl.ID+"/disable", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("disable: got %d", resp.StatusCode)
	}
	if resp, _ = cc.get("/files"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled user's session: GET /files got %d, want 303 to sign in", resp.StatusCode)
	}
	if resp, _ = c.postForm("/admin/users/"+carl.ID+"/enable", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("enable: got %d", resp.StatusCode)
	}
	if resp, _ = c.postForm("/admin/users/nope/enable", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("enable an unknown user: got %d, want 404", resp.StatusCode)
	}

	resp, body = c.get("/admin/audit?op=UserAdded&user=admin@example.com")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "carl@example.com") || strings.Contains(body, `title="UserLoggedIn"`) {
		t.Errorf("audit filtered by operation: got %d, want carl's UserAdded only", resp.StatusCode)
	}
	resp, body = c.get("/admin/audit?since=yesterday")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(pageError(body), "not a date") {
		t.Errorf("audit with a bad time: got %d %q", resp.StatusCode, pageError(body))
	}
	resp, body = c.get("/admin/audit?since=2000-01-01T00:00&until=2000-01-02T00:00:00Z")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "No records match") {
		t.Errorf("audit of an empty range: got %d", resp.StatusCode)
	}

	// Paging: 150 more records make two pages.
	seed := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindMember, Email: "seed@example.com"}}
	for range 150 {
		if err := e.store.RecordAccess(context.Background(), seed, gatehouse.OpFileAccessed, &gatehouse.Item{ID: "i", DriveID: "d", Name: "seed.txt"}); err != nil {
			t.Fatal(err)
		}
	}
	_, body = c.get("/admin/audit?user=seed@example.com")
	next := regexp.MustCompile(`href="([^"]+)" id="next-page"`).FindStringSubmatch(body)
	if next == nil || strings.Count(body, "seed@example.com</td>") != auditPageSize {
		t.Fatalf("first audit page: want %d rows and a next link", auditPageSize)
	}
	resp, body = c.get(html.UnescapeString(next[1]))
	if n := strings.Count(body, "seed@example.com</td>"); resp.StatusCode != http.StatusOK || n != 50 || strings.Contains(body, `id="next-page"`) {
		t.Errorf("second audit page: got %d with %d rows, want 200 with 50 and no next link", resp.StatusCode, n)
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	h := New(e.store, Config{})
	resp, body := c.get(h.assetURL("app.css"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, ":root") {
		t.Errorf("GET app.css: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := c.get("/static/app.js"); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("GET app.js: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := c.get("/static/nope.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a missing static file: %d", resp.StatusCode)
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a.txt", `attachment; filename="a.txt"; filename*=UTF-8''a.txt`},
		{`we "quote" \ it%.txt`, `attachment; filename="we _quote_ _ it_.txt"; filename*=UTF-8''we%20%22quote%22%20%5C%20it%25.txt`},
		{"日本.pdf", `attachment; filename="__.pdf"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf`},
	} {
		if got := httpx.ContentDisposition(tc.in); got != tc.want {
			t.Errorf("ContentDisposition(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{{0, "0 bytes"}, {1, "1 byte"}, {1023, "1023 bytes"}, {1024, "1.0 KB"}, {1536, "1.5 KB"}, {20 << 20, "20 MB"}, {5 << 30, "5.0 GB"}} {
		if got := humanSize(tc.in); got != tc.want {
			t.Errorf("humanSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
