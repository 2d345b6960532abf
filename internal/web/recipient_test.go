package web

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/blob"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// shareEnv is the UI and the API over a real SQLite store, with the
// organization's domain and a clock the test controls.
type shareEnv struct {
	*testEnv
	owner *gatehouse.User
}

const testReauthDays = 7

func newShareEnv(t *testing.T) *shareEnv {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "g.db")
	const base = "http://gatehouse.test"
	clk := testenv.NewClock(time.Now().UTC())
	s, err := store.Open(context.Background(), dbPath, blobs, store.Options{Now: clk.Now, BaseURL: base, ReauthDays: testReauthDays})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mux := http.NewServeMux()
	api.New(s, api.Config{BaseURL: base, MaxUpload: 1 << 20}).Register(mux)
	New(s, Config{BaseURL: base, MaxUpload: 1 << 20, OrgDomains: []string{"example.com"}}).Register(mux)
	srv := httptest.NewServer(httpx.SecurityHeaders(mux))
	t.Cleanup(srv.Close)
	e := &shareEnv{testEnv: &testEnv{t: t, store: s, clock: clk, srv: srv, dbPath: dbPath}}
	e.owner = e.addUser("olive@example.com", "Olive Owner", false)
	return e
}

func (e *shareEnv) folder(parentID, name string) *gatehouse.Item {
	e.t.Helper()
	d := e.drive(e.owner)
	if parentID == "" {
		parentID = d.RootID
	}
	it, err := e.store.CreateFolder(context.Background(), gatehouse.SystemActor(), d.ID, parentID, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// share secures emails to the owner's item and returns the link.
func (e *shareEnv) share(it *gatehouse.Item, role string, emails ...string) *gatehouse.Link {
	e.t.Helper()
	l, _, err := e.store.Share(context.Background(), gatehouse.UserActor(e.owner, "127.0.0.1", "test"),
		store.ShareRequest{DriveID: it.DriveID, ItemID: it.ID, Role: role, Emails: emails, SendInvitation: true})
	if err != nil {
		e.t.Fatalf("share %s: %v", it.Name, err)
	}
	return l
}

var codeRe = regexp.MustCompile(`\b(\d{8})\b`)

// readCode reads the newest passcode mail to email from the outbox, as the
// person would read it from their mailbox, through a connection of its own.
func (e *shareEnv) readCode(email string) string {
	e.t.Helper()
	body := e.lastMail(email, "passcode")
	m := codeRe.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no passcode mail to %s", email)
	}
	return m[1]
}

// lastMail returns the text of the newest mail of a kind to email, or "".
func (e *shareEnv) lastMail(email, kind string) string {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var body string
	err = db.QueryRow(`SELECT text_body FROM outbox WHERE to_addr = ? AND kind = ? ORDER BY created_at DESC LIMIT 1`, email, kind).Scan(&body)
	if err != nil && err != sql.ErrNoRows {
		e.t.Fatal(err)
	}
	return body
}

func (e *shareEnv) countMail(email string) int {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'passcode'`, email).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// postJSON sends a JSON body asking for JSON back.
func (c *client) postJSON(path string, v any) (*http.Response, string) {
	c.e.t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return c.do(req)
}

func (c *client) getJSON(path string) (*http.Response, string) {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	return c.do(req)
}

// verify walks a recipient through the passcode: send, read, redeem. It
// moves the clock past the resend interval first.
func (e *shareEnv) verify(c *client, l *gatehouse.Link, email string, remember bool) *http.Response {
	e.t.Helper()
	e.clock.Advance(gatehouse.SendMinInterval + time.Second)
	if resp, body := c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": email}); resp.StatusCode != http.StatusOK {
		e.t.Fatalf("passcode: got %d\n%s", resp.StatusCode, body)
	}
	code := e.readCode(email)
	resp, body := c.postJSON("/s/"+l.Token+"/verify", map[string]any{"email": email, "code": code, "remember": remember})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"verified":true`) {
		e.t.Fatalf("verify: got %d\n%s", resp.StatusCode, body)
	}
	return resp
}

func TestRecipientLandingRevealsNothing(t *testing.T) {
	e := newShareEnv(t)
	it := e.putFile(e.owner, "", "Merger plan.pdf", "top secret content")
	l := e.share(it, gatehouse.RoleRead, "ext@partner.test")

	c := e.client()
	resp, body := c.get("/s/" + l.Token)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="email-form"`) {
		t.Fatalf("landing: got %d, want 200 with the email form\n%s", resp.StatusCode, body)
	}
	// The sharer is named (the invitation did so), the item never is.
	for _, secret := range []string{"Merger", ".pdf", "olive@", "18 bytes", it.ID, l.ShareID, "file", "folder"} {
		if strings.Contains(body, secret) {
			t.Errorf("landing reveals %q", secret)
		}
	}
	if !strings.Contains(body, "Olive Owner</span> shared something with you") {
		t.Errorf("landing does not name the sharer:\n%s", body)
	}
	if resp, body := c.getJSON("/s/" + l.Token); resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"verified":false}` {
		t.Errorf("landing JSON: got %d %s, want 200 {\"verified\":false}", resp.StatusCode, body)
	}

	// Unknown and deleted links are 404, expired ones 410, all alike blank.
	if resp, body := c.get("/s/" + gatehouse.NewSecret("")); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Merger") {
		t.Errorf("unknown token: got %d, want 404", resp.StatusCode)
	}
	if resp, _ := c.get("/s/short"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("short token: got %d, want 404", resp.StatusCode)
	}
	exp := e.putFile(e.owner, "", "Expiring.txt", "x")
	el, _, err := e.store.Share(context.Background(), gatehouse.UserActor(e.owner, "", ""), store.ShareRequest{DriveID: exp.DriveID,
		ItemID: exp.ID, Role: gatehouse.RoleRead, Emails: []string{"ext@partner.test"}, ExpiresAt: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if resp, body := c.get("/s/" + el.Token); resp.StatusCode != http.StatusGone || strings.Contains(body, "Expiring") {
		t.Errorf("expired link: got %d, want 410 that names nothing\n%s", resp.StatusCode, body)
	}
	if err := e.store.DeleteLink(context.Background(), gatehouse.UserActor(e.owner, "", ""), it.DriveID, it.ID, l.ID); err != nil {
		t.Fatal(err)
	}
	if resp, body := c.get("/s/" + l.Token); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Merger") {
		t.Errorf("deleted link: got %d, want 404", resp.StatusCode)
	}
}

func TestPasscodeAnswersAlike(t *testing.T) {
	e := newShareEnv(t)
	it := e.putFile(e.owner, "", "report.txt", "r")
	l := e.share(it, gatehouse.RoleRead, "ext@partner.test", "paused@partner.test")
	other := e.share(e.putFile(e.owner, "", "other.txt", "o"), gatehouse.RoleRead, "elsewhere@partner.test")
	_ = other
	c := e.client()
	c.get("/s/" + l.Token) // the landing page sets the CSRF cookie

	testenv.PausePasscodes(t, e.store, e.clock, l.Token, "paused@partner.test")
	pausedMail := e.countMail("paused@partner.test")

	// An answer is the POST's and, for a form, the code page it is sent
	// on to; the address the caller typed may come back in either.
	type answer struct {
		status   int
		header   http.Header
		body     string
		location string
		page     string
	}
	send := func(email string, asJSON bool) answer {
		t.Helper()
		var resp *http.Response
		var body string
		if asJSON {
			resp, body = c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": email})
		} else {
			resp, body = c.postForm("/s/"+l.Token+"/passcode", url.Values{"email": {email}})
		}
		h := resp.Header.Clone()
		h.Del("Date")
		h.Del("Content-Length") // the address echoed back has its own length
		h.Del("Set-Cookie")     // the code page's state: the address typed
		a := answer{status: resp.StatusCode, header: h, body: strings.ReplaceAll(body, email, "EMAIL"), location: resp.Header.Get("Location")}
		if !asJSON {
			presp, page := c.get(a.location)
			a.page = fmt.Sprintf("%d %s", presp.StatusCode, strings.ReplaceAll(page, email, "EMAIL"))
		}
		return a
	}
	for _, asJSON := range []bool{false, true} {
		e.clock.Advance(time.Minute)
		want := send("ext@partner.test", asJSON)
		if wantStatus := map[bool]int{true: http.StatusOK, false: http.StatusSeeOther}[asJSON]; want.status != wantStatus {
			t.Fatalf("passcode (json %v): got %d, want %d\n%s", asJSON, want.status, wantStatus, want.body)
		}
		if asJSON && strings.TrimSpace(want.body) != `{"resendAfterSeconds":30}` {
			t.Errorf("passcode JSON: got %s", want.body)
		}
		if !asJSON && (want.location != "/s/"+l.Token+"/passcode" || !strings.HasPrefix(want.page, "200 ") ||
			!strings.Contains(want.page, "If <strong>EMAIL</strong> may open the link, a code is on its way to it.") ||
			!strings.Contains(want.page, "You can ask for a new code in 30 seconds.")) {
			t.Errorf("passcode form: got %d to %q, want 303 to the code page saying when to ask again:\n%s", want.status, want.location, want.page)
		}
		for _, who := range []string{
			"ext@partner.test",       // again within 30 s: refused, silently
			"stranger@partner.test",  // not on any link
			"elsewhere@partner.test", // on another link
			"paused@partner.test",    // paused
		} {
			got := send(who, asJSON)
			if got.status != want.status || got.body != want.body || fmt.Sprint(got.header) != fmt.Sprint(want.header) ||
				got.location != want.location || got.page != want.page {
				t.Errorf("passcode for %s (json %v) differs from a recipient's:\n got %d %v %q\n%s\n%s\nwant %d %v %q\n%s\n%s",
					who, asJSON, got.status, got.header, got.location, got.body, got.page, want.status, want.header, want.location, want.body, want.page)
			}
		}
	}
	// Ten seconds on, everyone is told the same shorter wait.
	e.clock.Advance(10 * time.Second)
	for _, who := range []string{"ext@partner.test", "stranger@partner.test"} {
		if resp, body := c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": who}); resp.StatusCode != http.StatusOK ||
			strings.TrimSpace(body) != `{"resendAfterSeconds":20}` {
			t.Errorf("passcode for %s 10 s later: got %d %s, want resendAfterSeconds 20", who, resp.StatusCode, body)
		}
	}
	if n := e.countMail("ext@partner.test"); n != 2 {
		t.Errorf("recipient got %d codes, want 2 (one per minute)", n)
	}
	for _, who := range []string{"stranger@partner.test", "elsewhere@partner.test"} {
		if n := e.countMail(who); n != 0 {
			t.Errorf("%s got %d codes, want none", who, n)
		}
	}
	if n := e.countMail("paused@partner.test"); n != pausedMail {
		t.Errorf("paused@partner.test got %d codes while paused, want none", n-pausedMail)
	}
	// A malformed address is the caller's own mistake and may say so, on
	// the landing page the form is sent back to.
	if resp, _ := c.postForm("/s/"+l.Token+"/passcode", url.Values{"email": {"not an address"}}); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/s/"+l.Token {
		t.Errorf("malformed address: got %d to %q, want 303 to the landing page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := c.get("/s/" + l.Token); resp.StatusCode != http.StatusOK || !strings.Contains(pageError(body), "is not a valid email address") ||
		!strings.Contains(body, `value="not an address"`) {
		t.Errorf("landing page after a malformed address: got %d %q", resp.StatusCode, pageError(body))
	}
	if _, body := c.get("/s/" + l.Token); pageError(body) != "" {
		t.Errorf("the error shows again on reload: %q", pageError(body))
	}
	if resp, body := c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": "not an address"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed address JSON: got %d %s, want 400", resp.StatusCode, body)
	}
	// A form without its CSRF token is refused; JSON needs none.
	if resp, _ := c.postForm("/s/"+l.Token+"/passcode", url.Values{"email": {"ext@partner.test"}, "csrf": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("passcode form without CSRF: got %d, want 403", resp.StatusCode)
	}
}

func TestOrgAddressIsToldToSignIn(t *testing.T) {
	e := newShareEnv(t)
	it := e.putFile(e.owner, "", "report.txt", "r")
	e.addUser("mem@example.com", "Mem Ber", false)
	l := e.share(it, gatehouse.RoleRead, "mem@example.com")
	c := e.client()
	c.get("/s/" + l.Token)
	resp, _ := c.postForm("/s/"+l.Token+"/passcode", url.Values{"email": {"Mem@Example.com"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+l.Token+"/passcode" {
		t.Errorf("org address: got %d to %q, want 303 to the code page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.get("/s/" + l.Token + "/passcode")
	next := "/login?next=" + url.QueryEscape("/s/"+l.Token)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="`+strings.ReplaceAll(next, "&", "&amp;")+`"`) {
		t.Errorf("org address: got %d, want 200 with a link to %s\n%s", resp.StatusCode, next, body)
	}
	if resp, body := c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": "nobody@example.com"}); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"sent":false`) {
		t.Errorf("org address JSON: got %d %s", resp.StatusCode, body)
	}
	if n := e.countMail("mem@example.com"); n != 0 {
		t.Errorf("org address got %d codes, want none", n)
	}

	// Signed in, the member opens the link without a code.
	m := e.signIn("mem@example.com")
	if resp, body := m.get("/s/" + l.Token); resp.StatusCode != http.StatusOK || !strings.Contains(body, "report.txt") {
		t.Errorf("signed-in recipient: got %d\n%s", resp.StatusCode, body)
	}
	// So does the owner; another member does not.
	if resp, _ := e.signIn("olive@example.com").get("/s/" + l.Token + "/content"); resp.StatusCode != http.StatusOK {
		t.Errorf("owner: got %d, want 200", resp.StatusCode)
	}
	e.addUser("nosy@example.com", "Nosy", false)
	if resp, _ := e.signIn("nosy@example.com").get("/s/" + l.Token + "/content"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another member: got %d, want 403", resp.StatusCode)
	}
}

func TestVerifySetsTheRecipientCookie(t *testing.T) {
	e := newShareEnv(t)
	it := e.putFile(e.owner, "", "report.txt", "r")
	l := e.share(it, gatehouse.RoleRead, "ext@partner.test")

	cookie := func(resp *http.Response) string {
		for _, v := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(v, RecipientCookie+"=") {
				return v
			}
		}
		return ""
	}
	for _, remember := range []bool{false, true} {
		c := e.client()
		sc := cookie(e.verify(c, l, "ext@partner.test", remember))
		for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(sc, attr) {
				t.Errorf("remember %v: cookie %q lacks %s", remember, sc, attr)
			}
		}
		wantAge := ""
		if remember {
			wantAge = fmt.Sprintf("Max-Age=%d", testReauthDays*24*3600)
		}
		if got := regexp.MustCompile(`Max-Age=\d+`).FindString(sc); got != wantAge {
			t.Errorf("remember %v: cookie %q has %q, want %q", remember, sc, got, wantAge)
		}
	}

	// Wrong codes get one 400, invalidCode, for a recipient and a stranger
	// who asked for a code alike; a form is sent on to the code page.
	c := e.client()
	c.get("/s/" + l.Token)
	e.clock.Advance(time.Minute)
	c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": "ext@partner.test"})
	c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": "stranger@partner.test"})
	code := e.readCode("ext@partner.test")
	wrong := fmt.Sprintf("%08d", (atoi(code)+1)%100_000_000)
	var msgs []string
	for _, in := range []map[string]string{
		{"email": "ext@partner.test", "code": wrong},
		{"email": "stranger@partner.test", "code": code},
		{"email": "ext@partner.test", "code": "abc"},
	} {
		resp, body := c.postJSON("/s/"+l.Token+"/verify", in)
		if resp.StatusCode != http.StatusBadRequest || cookie(resp) != "" {
			t.Errorf("verify %v: got %d, want 400 and no cookie", in, resp.StatusCode)
		}
		msgs = append(msgs, body)
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] || !strings.Contains(msgs[0], `"code":"invalidCode"`) {
		t.Errorf("failures differ, or are not invalidCode:\n%s", strings.Join(msgs, ""))
	}
	// An address nobody asked a code for has no code that could work.
	if resp, body := c.postJSON("/s/"+l.Token+"/verify", map[string]string{"email": "unasked@partner.test", "code": code}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, `"code":"codeNoLongerValid"`) {
		t.Errorf("verify for an address without a request: got %d %s, want codeNoLongerValid", resp.StatusCode, body)
	}
	resp, _ := c.postForm("/s/"+l.Token+"/verify", url.Values{"email": {"ext@partner.test"}, "code": {wrong}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+l.Token+"/passcode" || cookie(resp) != "" {
		t.Errorf("verify form: got %d to %q, want 303 to the code page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.get("/s/" + l.Token + "/passcode")
	if resp.StatusCode != http.StatusOK || !strings.Contains(pageError(body), "code didn't work") || !strings.Contains(body, `id="code-form"`) {
		t.Errorf("code page after a wrong code: got %d %q, want 200 with the message and the form", resp.StatusCode, pageError(body))
	}
	// Reopening the verify address, as a restored tab does, shows the code page.
	resp, _ = c.get("/s/" + l.Token + "/verify")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+l.Token+"/passcode" {
		t.Errorf("GET verify: got %d to %q, want 303 to the code page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := c.get("/s/" + l.Token + "/passcode"); resp.StatusCode != http.StatusOK || pageError(body) != "" || !strings.Contains(body, `id="code-form"`) {
		t.Errorf("code page reloaded: got %d %q, want the form without the error", resp.StatusCode, pageError(body))
	}
	// The form with the right code redirects to the link.
	resp, _ = c.postForm("/s/"+l.Token+"/verify", url.Values{"email": {"ext@partner.test"}, "code": {code}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+l.Token || cookie(resp) == "" {
		t.Errorf("verify form: got %d to %q, want 303 to the link with the cookie", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The fifth wrong try since the last request kills the code: it and
	// every try after it say so, for a recipient and a stranger alike.
	e.clock.Advance(time.Minute)
	for _, who := range []string{"ext@partner.test", "stranger@partner.test"} {
		c.postJSON("/s/"+l.Token+"/passcode", map[string]string{"email": who})
		var codes []string
		for range gatehouse.PasscodeMaxFailures + 1 {
			_, body := c.postJSON("/s/"+l.Token+"/verify", map[string]string{"email": who, "code": "00000000"})
			var v struct{ Error struct{ Code string } }
			json.Unmarshal([]byte(body), &v)
			codes = append(codes, v.Error.Code)
		}
		if want := "invalidCode invalidCode invalidCode invalidCode codeNoLongerValid codeNoLongerValid"; strings.Join(codes, " ") != want {
			t.Errorf("%s: wrong tries answered %v, want %s", who, codes, want)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestRecipientOpensAndDownloads(t *testing.T) {
	e := newShareEnv(t)
	it := e.putFile(e.owner, "", "report.txt", "the report")
	l := e.share(it, gatehouse.RoleRead, "ext@partner.test")
	other := e.share(e.putFile(e.owner, "", "other.txt", "o"), gatehouse.RoleRead, "someone@partner.test")

	anon := e.client()
	for _, p := range []string{"/s/" + l.Token + "/content", "/s/" + l.Token + "/items/" + it.ID} {
		if resp, _ := anon.get(p); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a session: got %d, want 401", p, resp.StatusCode)
		}
	}

	c := e.client()
	e.verify(c, l, "ext@partner.test", false)
	resp, body := c.getJSON("/s/" + l.Token)
	var got struct {
		Verified bool
		Item     sharedItem
	}
	json.Unmarshal([]byte(body), &got)
	if resp.StatusCode != http.StatusOK || !got.Verified || got.Item.Name != "report.txt" || got.Item.Size != 10 || got.Item.File == nil {
		t.Errorf("verified JSON: got %d %s", resp.StatusCode, body)
	}
	if resp, body := c.get("/s/" + l.Token); resp.StatusCode != http.StatusOK || !strings.Contains(body, "report.txt") ||
		!strings.Contains(body, `href="/s/`+l.Token+`/content"`) {
		t.Errorf("verified page: got %d\n%s", resp.StatusCode, body)
	}
	resp, body = c.get("/s/" + l.Token + "/content")
	if resp.StatusCode != http.StatusOK || body != "the report" {
		t.Errorf("content: got %d %q", resp.StatusCode, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("content disposition %q, want attachment", cd)
	}
	if v := resp.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", v)
	}
	ops := e.auditOps("ext@partner.test")
	for _, op := range []string{gatehouse.OpPasscodeSent, gatehouse.OpPasscodeVerified, gatehouse.OpSecureLinkUsed, gatehouse.OpFileAccessed, gatehouse.OpFileDownloaded} {
		if ops[op] == 0 {
			t.Errorf("no %s record for the recipient; ops %v", op, ops)
		}
	}
	recs, _, _ := e.store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: gatehouse.OpFileDownloaded, UserID: "ext@partner.test"}, nil)
	if len(recs) != 1 || recs[0].UserType != gatehouse.UserTypeAdHoc || recs[0].UniqueSharingID != l.ShareID {
		t.Errorf("FileDownloaded records %+v, want one by the AdHocRecipient with the link's UniqueSharingId", recs)
	}

	// The session opens this link only, and never the API.
	if resp, _ := c.get("/s/" + other.Token + "/content"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another link's content: got %d, want 403", resp.StatusCode)
	}
	if resp, body := c.get("/s/" + other.Token); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "other.txt") ||
		!strings.Contains(body, `id="email-form"`) {
		t.Errorf("another link's landing: got %d, want 403 with the email form", resp.StatusCode)
	}
	if resp, _ := c.get("/v1.0/me"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("recipient cookie on /v1.0/me: got %d, want 401", resp.StatusCode)
	}
	// A folder link has no /content of its own.
	f := e.folder("", "Docs")
	fl := e.share(f, gatehouse.RoleRead, "ext@partner.test")
	if resp, _ := c.get("/s/" + fl.Token + "/content"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("folder link content: got %d, want 400", resp.StatusCode)
	}

	// Sign out ends the session on the server.
	c.postForm("/s/"+l.Token+"/signout", nil)
	if resp, _ := c.get("/s/" + l.Token + "/content"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after sign-out: got %d, want 401", resp.StatusCode)
	}
}

func TestFolderLinkStaysInside(t *testing.T) {
	e := newShareEnv(t)
	share := e.folder("", "share")
	sub := e.folder(share.ID, "sub")
	inner := e.putFile(e.owner, sub.ID, "inner.txt", "inner")
	sibling := e.folder("", "share2")
	secret := e.putFile(e.owner, sibling.ID, "secret.txt", "secret")
	top := e.putFile(e.owner, "", "top.txt", "top")
	d := e.drive(e.owner)
	l := e.share(share, gatehouse.RoleRead, "ext@partner.test")
	c := e.client()
	e.verify(c, l, "ext@partner.test", false)
	base := "/s/" + l.Token

	resp, body := c.getJSON(base)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"sub"`) || !strings.Contains(body, `"children"`) {
		t.Errorf("folder JSON: got %d %s", resp.StatusCode, body)
	}
	resp, body = c.getJSON(base + "/items/" + sub.ID + "/children")
	var list struct{ Value []sharedItem }
	json.Unmarshal([]byte(body), &list)
	if resp.StatusCode != http.StatusOK || len(list.Value) != 1 || list.Value[0].Name != "inner.txt" {
		t.Errorf("children: got %d %s", resp.StatusCode, body)
	}
	resp, body = c.get(base + "/items/" + sub.ID)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/s/`+l.Token+`/items/`+inner.ID+`/content"`) ||
		!strings.Contains(body, `<a href="/s/`+l.Token+`">share</a>`) || strings.Contains(body, "My files") {
		t.Errorf("subfolder page: got %d\n%s", resp.StatusCode, body)
	}
	if resp, body := c.get(base + "/items/" + inner.ID + "/content"); resp.StatusCode != http.StatusOK || body != "inner" {
		t.Errorf("inner content: got %d %q", resp.StatusCode, body)
	}

	for _, p := range []string{
		"/items/" + sibling.ID,
		"/items/" + sibling.ID + "/children",
		"/items/" + secret.ID + "/content",
		"/items/" + top.ID + "/content",
		"/items/" + d.RootID,
		"/items/" + d.RootID + "/children",
		"/items/%2e%2e",
		"/items/%2e%2e/children",
		"/items/%2E%2E%2f" + sibling.ID,
		"/items/..%2f" + sibling.ID + "/children",
		"/items/" + sub.ID + "%2f..%2f..%2f" + sibling.ID,
		"/items/" + secret.ID + "%2f..%2f" + inner.ID + "/content",
	} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+base+p, nil)
		req.URL.Opaque = base + p // sent as written, not cleaned by the client
		req.Header.Set("Accept", "application/json")
		resp, body := c.do(req)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "secret") || strings.Contains(body, "top.txt") {
			t.Errorf("%s: got %d, want 404\n%s", p, resp.StatusCode, body)
		}
	}
}

func TestRevocationEndsAccessAtOnce(t *testing.T) {
	e := newShareEnv(t)
	it := e.putFile(e.owner, "", "report.txt", "r")
	l := e.share(it, gatehouse.RoleRead, "ext@partner.test")
	by := gatehouse.UserActor(e.owner, "", "")
	c := e.client()
	e.verify(c, l, "ext@partner.test", true)
	content := "/s/" + l.Token + "/content"
	if resp, _ := c.get(content); resp.StatusCode != http.StatusOK {
		t.Fatalf("before removal: got %d", resp.StatusCode)
	}
	if _, err := e.store.RevokeRecipients(context.Background(), by, it.DriveID, it.ID, l.ID, []string{"ext@partner.test"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get(content); resp.StatusCode != http.StatusForbidden {
		t.Errorf("after removal: got %d, want 403", resp.StatusCode)
	}
	if resp, body := c.get("/s/" + l.Token); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "report.txt") || !strings.Contains(body, `id="other-address"`) {
		t.Errorf("landing after removal: got %d, want 403 with the email form saying the address has no access\n%s", resp.StatusCode, body)
	}

	// Added again, then the link is deleted.
	e.share(it, gatehouse.RoleRead, "ext@partner.test")
	if resp, _ := c.get(content); resp.StatusCode != http.StatusOK {
		t.Errorf("added again: got %d, want 200 (the session is per address)", resp.StatusCode)
	}
	if err := e.store.DeleteLink(context.Background(), by, it.DriveID, it.ID, l.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get(content); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after deletion: got %d, want 404", resp.StatusCode)
	}

	// Expiry, by the store's clock.
	l2, _, err := e.store.Share(context.Background(), by, store.ShareRequest{DriveID: it.DriveID, ItemID: it.ID, Role: gatehouse.RoleRead,
		Emails: []string{"ext@partner.test"}, ExpiresAt: e.clock.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get("/s/" + l2.Token + "/content"); resp.StatusCode != http.StatusOK {
		t.Errorf("new link: got %d, want 200", resp.StatusCode)
	}
	e.clock.Advance(25 * time.Hour)
	for _, p := range []string{"", "/content", "/items/" + it.ID} {
		if resp, _ := c.get("/s/" + l2.Token + p); resp.StatusCode != http.StatusGone {
			t.Errorf("expired %s: got %d, want 410", p, resp.StatusCode)
		}
	}
}

func TestRecipientPagesEscapeNames(t *testing.T) {
	e := newShareEnv(t)
	f := e.folder("", "Folder")
	it := e.putFile(e.owner, f.ID, "x.txt", "x")
	// The store refuses < and > in names; put them in behind its back, so
	// the pages are tested on their own.
	db, err := sql.Open("sqlite", "file:"+e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for id, name := range map[string]string{f.ID: "<b>Folder</b>", it.ID: "<script>alert(1)</script>.txt"} {
		if _, err := db.Exec(`UPDATE items SET name = ? WHERE id = ?`, name, id); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	l := e.share(f, gatehouse.RoleWrite, "ext@partner.test")
	c := e.client()
	e.verify(c, l, "ext@partner.test", false)
	resp, body := c.get("/s/" + l.Token)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>Folder") ||
		!strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;.txt") {
		t.Errorf("names are not escaped (%d):\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "<style") {
		t.Error("recipient page has inline script or style")
	}
}

func TestRecipientUpload(t *testing.T) {
	e := newShareEnv(t)
	view := e.folder("", "View")
	edit := e.folder("", "Edit")
	sub := e.folder(edit.ID, "Sub")
	outside := e.folder("", "Outside")
	shared := e.putFile(e.owner, "", "draft.txt", "v1")
	vl := e.share(view, gatehouse.RoleRead, "ext@partner.test")
	el := e.share(edit, gatehouse.RoleWrite, "ext@partner.test")
	fl := e.share(shared, gatehouse.RoleWrite, "ext@partner.test")
	c := e.client()
	e.verify(c, vl, "ext@partner.test", false)
	tok := c.csrf()

	if resp, body := c.upload("/s/"+vl.Token+"/upload", &tok, upFile{"a.txt", "a"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("view link upload: got %d, want 403\n%s", resp.StatusCode, body)
	}
	if _, body := c.get("/s/" + vl.Token); strings.Contains(body, "upload-form") {
		t.Error("view link page shows an upload form")
	}
	forged := gatehouse.NewSecret("")
	for kind, tk := range map[string]*string{"missing": nil, "forged": &forged} {
		if resp, _ := c.upload("/s/"+el.Token+"/upload", tk, upFile{"evil.txt", "evil"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("upload with %s token: got %d, want 403", kind, resp.StatusCode)
		}
	}
	if _, body := c.get("/s/" + el.Token); !strings.Contains(body, `id="upload-form"`) {
		t.Error("edit link page has no upload form")
	}
	resp, body := c.upload("/s/"+el.Token+"/upload", &tok, upFile{"new.txt", "new content"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+el.Token {
		t.Fatalf("edit link upload: got %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	kids, _, _ := e.store.Children(context.Background(), edit.DriveID, edit.ID, nil, 10)
	if len(kids) != 2 || kids[0].Name != "new.txt" && kids[1].Name != "new.txt" {
		t.Errorf("Edit holds %d items, want Sub and new.txt", len(kids))
	}
	recs, _, _ := e.store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: gatehouse.OpFileUploaded, UserID: "ext@partner.test"}, nil)
	if len(recs) != 1 || recs[0].UserType != gatehouse.UserTypeAdHoc || recs[0].SourceFileName != "new.txt" || recs[0].UniqueSharingID == "" {
		t.Errorf("FileUploaded records %+v, want one by the AdHocRecipient", recs)
	}

	// Into a subfolder with the parent field; never outside the share.
	upParent := func(parent string) (*http.Response, string) {
		var buf bytes.Buffer
		mw := newMultipart(&buf, tok, parent, "sub.txt", "s")
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/s/"+el.Token+"/upload", &buf)
		req.Header.Set("Content-Type", mw)
		return c.do(req)
	}
	if resp, body := upParent(sub.ID); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/"+el.Token+"/items/"+sub.ID {
		t.Errorf("upload into Sub: got %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, _ := upParent(outside.ID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("upload outside the share: got %d, want 404", resp.StatusCode)
	}
	if kids, _, _ := e.store.Children(context.Background(), outside.DriveID, outside.ID, nil, 10); len(kids) != 0 {
		t.Errorf("Outside holds %d items after a refused upload", len(kids))
	}

	// A file link's upload replaces the file itself.
	if resp, body := c.upload("/s/"+fl.Token+"/upload", &tok, upFile{"whatever.bin", "v2"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("file link upload: got %d\n%s", resp.StatusCode, body)
	}
	if resp, body := c.get("/s/" + fl.Token + "/content"); resp.StatusCode != http.StatusOK || body != "v2" {
		t.Errorf("replaced file: got %d %q, want v2", resp.StatusCode, body)
	}
	recs, _, _ = e.store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: gatehouse.OpFileModified, UserID: "ext@partner.test"}, nil)
	if len(recs) != 1 || recs[0].SourceFileName != "draft.txt" {
		t.Errorf("FileModified records %+v, want one for draft.txt", recs)
	}
}

func TestShareDialogAndManageAccess(t *testing.T) {
	e := newShareEnv(t)
	f := e.folder("", "Project")
	c := e.signIn("olive@example.com")

	if resp, body := c.get("/files"); !strings.Contains(body, `href="/items/`+f.ID+`/share"`) {
		t.Errorf("files page has no Share action (%d)", resp.StatusCode)
	}
	if resp, body := c.get("/items/" + f.ID + "/share"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="share-form"`) {
		t.Fatalf("share dialog: got %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"emails": {"ext@partner.test,\nsecond@partner.test"}, "type": {"view"}, "message": {"Here you go"},
		"expires": {e.clock.Now().AddDate(0, 0, 3).Format(time.DateOnly)}}
	// Every form needs its token.
	bad := url.Values{"csrf": {"forged"}}
	for k, v := range form {
		bad[k] = v
	}
	if resp, _ := c.postForm("/items/"+f.ID+"/share", bad); resp.StatusCode != http.StatusForbidden {
		t.Errorf("share without CSRF: got %d, want 403", resp.StatusCode)
	}
	if links, _ := e.store.Links(context.Background(), f.DriveID, f.ID); len(links) != 0 {
		t.Fatalf("a forged share created %d links", len(links))
	}
	resp, body := c.postForm("/items/"+f.ID+"/share", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/items/"+f.ID+"/access" {
		t.Fatalf("share: got %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if !strings.Contains(e.lastMail("ext@partner.test", "invitation"), "Here you go") {
		t.Error("no invitation with the message")
	}
	links, _ := e.store.Links(context.Background(), f.DriveID, f.ID)
	if len(links) != 1 || len(links[0].Recipients) != 2 || links[0].ExpiresAt.IsZero() {
		t.Fatalf("links after sharing: %+v", links)
	}
	l := links[0]
	resp, body = c.get("/items/" + f.ID + "/access")
	for _, want := range []string{"ext@partner.test", "second@partner.test", "View link", l.ShareID, e.store.LinkURL(l), "External", "Shared “Project” with 2 people"} {
		if !strings.Contains(body, want) {
			t.Errorf("manage access lacks %q (%d)", want, resp.StatusCode)
		}
	}
	// Bad input comes back with the form filled in.
	resp, body = c.postForm("/items/"+f.ID+"/share", url.Values{"emails": {"not an address"}, "type": {"edit"}})
	if resp.StatusCode != http.StatusBadRequest || pageError(body) == "" || !strings.Contains(body, "not an address") {
		t.Errorf("bad share: got %d %q", resp.StatusCode, pageError(body))
	}

	perm := "/items/" + f.ID + "/access/" + l.ID
	if resp, _ := c.postForm(perm+"/remove", url.Values{"email": {"ext@partner.test"}, "csrf": {""}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("remove without CSRF: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.postForm(perm+"/delete", url.Values{"csrf": {"nope"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("delete without CSRF: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.postForm(perm+"/remove", url.Values{"email": {"ext@partner.test"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("remove: got %d, want 303", resp.StatusCode)
	}
	if ok, _ := e.store.IsRecipient(context.Background(), l.ID, "ext@partner.test"); ok {
		t.Error("still a recipient after Remove")
	}

	// Another member's items are not found.
	e.addUser("nosy@example.com", "Nosy", false)
	n := e.signIn("nosy@example.com")
	for _, p := range []string{"/items/" + f.ID + "/share", "/items/" + f.ID + "/access"} {
		if resp, _ := n.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another member GET %s: got %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, _ := n.postForm(perm+"/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another member deletes the link: got %d, want 404", resp.StatusCode)
	}
	if resp, _ := c.postForm(perm+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: got %d, want 303", resp.StatusCode)
	}
	if _, body := c.get("/items/" + f.ID + "/access"); !strings.Contains(body, `id="no-links"`) {
		t.Error("the deleted link is still listed")
	}
}

// newMultipart writes an upload form with the token, the parent folder and
// one file, in that order, and returns its content type.
func newMultipart(buf *bytes.Buffer, csrf, parent, name, content string) string {
	mw := multipart.NewWriter(buf)
	mw.WriteField("csrf", csrf)
	mw.WriteField("parent", parent)
	w, _ := mw.CreateFormFile("file", name)
	io.WriteString(w, content)
	mw.Close()
	return mw.FormDataContentType()
}
