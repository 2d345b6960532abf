package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// routeRecorder is an httpx.Mux that lists every pattern a surface registers.
// It forwards to a real ServeMux, so the test can ask which pattern a filled
// path reaches.
type routeRecorder struct {
	mux      *http.ServeMux
	patterns []string
}

func (rr *routeRecorder) Handle(pattern string, h http.Handler) {
	rr.patterns = append(rr.patterns, pattern)
	rr.mux.Handle(pattern, h)
}

// recordRoutes registers every route Main.Run serves on a recorder.
func recordRoutes(s *server) *routeRecorder {
	rr := &routeRecorder{mux: http.NewServeMux()}
	s.Main.routes(rr)
	return rr
}

// openRoute is a route that answers without a credential, or answers a
// member about their own things, by design.
type openRoute struct {
	reason string
	// own: only a live member may get a success, and only about their own
	// things; everyone else is refused as on any other route.
	own bool
	// ends the caller's own session, so it is sent after every other route.
	ends bool
}

// openRoutes are the routes that need not refuse a stranger. Every other
// registered route must answer 401, 403 or 404 to each intruder.
var openRoutes = map[string]openRoute{
	"GET /healthz":             {reason: "a load balancer's probe: says only whether the database answers"},
	"GET /{$}":                 {reason: "sends a browser to /files or to /login"},
	"GET /login":               {reason: "the sign-in page"},
	"POST /login":              {reason: "signing in is how a credential is got"},
	"POST /logout":             {reason: "ends the caller's own session only", ends: true},
	"GET /static/{name}":       {reason: "stylesheet and script, the same for everyone"},
	"/v1.0/":                   {reason: "the API's answer to a path that is no route (400)"},
	"/":                        {reason: "the UI's styled answer to a path or method no route takes (404, 405)"},
	"GET /s/{token}/passcode":  {reason: "the code page a code request redirects to: the same for anyone"},
	"GET /s/{token}/verify":    {reason: "a reloaded code form: sends the browser back to the code page"},
	"GET /s/{token}":           {reason: "a link's landing page: the email form until the caller may open it"},
	"POST /s/{token}/passcode": {reason: "asks for a code; answers alike whoever asks"},
	"POST /s/{token}/verify":   {reason: "checks a code: the way in for a recipient"},
	"POST /s/{token}/signout":  {reason: "ends the caller's own recipient session only", ends: true},
	"GET /auth/oidc/callback":  {reason: "a partner's sign-in returns here; only the pending sign-in its state names lets anyone in"},

	"GET /invite/{token}":           {reason: "an invitation's redemption page: the redeem token is the credential"},
	"GET /invite/{token}/passcode":  {reason: "the code page an invitation's code request redirects to; without this browser's request it sends to the invitation's page"},
	"GET /invite/{token}/verify":    {reason: "a reloaded code form: sends the browser on to the invitation's code page"},
	"POST /invite/{token}/passcode": {reason: "mails a code to the invited address only; answers alike whether one went out"},
	"POST /invite/{token}/verify":   {reason: "checks a code: the way in for an invited guest"},

	"GET /v1.0/me":                     {reason: "the caller's own user", own: true},
	"GET /v1.0/me/drive":               {reason: "the caller's own drive", own: true},
	"GET /v1.0/me/drive/root":          {reason: "the caller's own drive root", own: true},
	"GET /v1.0/me/drive/root/children": {reason: "the caller's own files", own: true},
	"GET /v1.0/me/drive/sharedWithMe":  {reason: "what links share with the caller's own address", own: true},
	"GET /files":                       {reason: "the caller's own files", own: true},
	"GET /shared":                      {reason: "what was shared with the caller's own address", own: true},
	"GET /shared/byme":                 {reason: "the links the caller made", own: true},
	"GET /v1.0/me/drive/sharedByMe":    {reason: "the links the caller made", own: true},
	"GET /recycle":                     {reason: "the caller's own recycle bin", own: true},
	"POST /recycle/empty":              {reason: "empties the caller's own recycle bin only", own: true},
	"POST /v1.0/invitations":           {reason: "any member may invite a guest; it touches nothing of anyone else's", own: true},

	"POST /v1.0/groups":     {reason: "any member may create a group, which they then own", own: true},
	"GET /v1.0/groups":      {reason: "members read groups' names, to share with one; not who is in them", own: true},
	"GET /v1.0/groups/{id}": {reason: "members read a group's name, to share with it; not who is in it", own: true},
	"POST /v1.0/sites":      {reason: "any member may create a site, which they then own", own: true},
	"GET /v1.0/sites":       {reason: "the sites the caller is in", own: true},
	"GET /sites":            {reason: "the sites the caller is in, and the form to create one", own: true},
	"POST /sites":           {reason: "any member may create a site, which they then own", own: true},
}

// routeCSRF is the CSRF cookie every intruder sends and repeats, so that no
// form is refused for its token before its access check.
const routeCSRF = "route-test-csrf-token-0123456789abcdef0123"

// routeVictim is the member whose things every intruder aims at.
type routeVictim struct {
	userID, email, name          string
	drive, root, folder, file    string
	folderName, fileName, secret string // secret: the file's content
	perm, shareID, token         string // the edit link on folder
	recipient                    string // an outsider on that link
	outboxID                     string
	idpID                        string // a partner's identity provider: administrators' only
	apiToken                     string // the victim's own, to check nothing changed
	base                         string // the server's address, for @odata.id bodies
	group                        string // a group the victim owns and is in
	site, siteDrive, siteFile    string // a site the victim owns, its drive, a file in it
	binned, siteBinned           string // a file the victim deleted, in their bin and the site's
}

// sharerShown are the patterns whose answer names the link's sharer before
// verification, by design: the invitation mail already did (issue 10,
// part 6). The item stays private there.
var sharerShown = map[string]bool{
	"GET /s/{token}": true, "GET /s/{token}/passcode": true, "POST /s/{token}/passcode": true, "POST /s/{token}/verify": true,
}

// values fills the wildcard {name} that follows the literal segment prev,
// or returns nil when the test does not know what it stands for.
func (v *routeVictim) values(prev, name string) []string {
	switch name {
	case "d":
		return []string{v.drive, v.siteDrive}
	case "i":
		return []string{v.folder, v.file, v.siteFile, v.binned, v.siteBinned}
	case "site":
		return []string{v.site}
	case "userId":
		return []string{v.userID}
	case "rest": // PUT …/items/{rest...}: by id, or by parent and name
		return []string{v.file + "/content", v.folder + ":/intruder.txt:/content"}
	case "p", "perm":
		return []string{v.perm}
	case "v": // a version of the file: 1.0 always exists
		return []string{"1.0"}
	case "shareId":
		return []string{v.shareID}
	case "token":
		return []string{v.token}
	case "email":
		return []string{v.recipient}
	case "name":
		if prev == "static" {
			return []string{"app.js"}
		}
	case "id":
		switch prev {
		case "files", "items":
			return []string{v.folder, v.file, v.siteFile}
		case "groups":
			return []string{v.group}
		case "recycle":
			return []string{v.binned, v.siteBinned}
		case "sites":
			return []string{v.site}
		case "users":
			return []string{v.userID, v.email}
		case "outbox":
			return []string{v.outboxID}
		case "identityProviders":
			return []string{v.idpID}
		case "guests": // the guests page refuses intruders before it looks at whom
			return []string{v.userID}
		}
	}
	return nil
}

// private is what no intruder may read in an answer, unless they sent it.
func (v *routeVictim) private() []string {
	// A group's id and name are not private: members read them to share.
	return []string{v.userID, v.email, v.name, v.drive, v.root, v.folder, v.file,
		v.folderName, v.fileName, v.secret, v.perm, v.shareID, v.token, v.apiToken,
		v.site, v.siteDrive, v.siteFile, "VictimSiteOpal", "victim site secret",
		v.binned, v.siteBinned, "VictimBinnedOnyx.txt", "victim binned secret"}
}

// parsePattern splits a ServeMux pattern "[METHOD ][HOST]/PATH".
func parsePattern(p string) (method, path string) {
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		method, p = p[:i], strings.TrimLeft(p[i:], " \t")
	}
	if i := strings.Index(p, "/"); i > 0 {
		p = p[i:] // no surface uses a host yet; the path is what matters
	}
	return method, p
}

// fill returns the pattern's path with each wildcard replaced by the
// victim's values, every combination. missing names a wildcard the test
// cannot fill.
func (v *routeVictim) fill(path string) (paths []string, missing string) {
	paths = []string{""}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, seg := range segs {
		vals := []string{seg}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.Trim(seg, "{}"), "...")
			prev := ""
			if i > 0 {
				prev = segs[i-1]
			}
			if name == "$" {
				vals = []string{""}
			} else if vals = v.values(prev, name); vals == nil {
				return nil, fmt.Sprintf("{%s} after /%s/", name, prev)
			}
		}
		var next []string
		for _, p := range paths {
			for _, val := range vals {
				next = append(next, p+"/"+val)
			}
		}
		paths = next
	}
	return paths, ""
}

// routeBody is a plausible body for a route, so that the request reaches
// the access check instead of failing on its body.
type routeBody struct {
	json      map[string]any
	form      url.Values // the CSRF field is added
	multipart bool       // the CSRF field, then one small file
	raw       string
}

func (v *routeVictim) bodies() map[string]routeBody {
	intruder := []any{map[string]any{"email": "intruder@partner.test"}}
	return map[string]routeBody{
		"POST /v1.0/drives/{d}/items/{i}/children":                     {json: map[string]any{"name": "Intruder", "folder": map[string]any{}}},
		"PUT /v1.0/drives/{d}/items/{rest...}":                         {raw: "intruder bytes"},
		"PATCH /v1.0/drives/{d}/items/{i}":                             {json: map[string]any{"name": "intruder.txt"}},
		"POST /v1.0/drives/{d}/items/{i}/invite":                       {json: map[string]any{"recipients": intruder, "roles": []string{"write"}, "requireSignIn": true, "sendInvitation": false}},
		"POST /v1.0/drives/{d}/items/{i}/createLink":                   {json: map[string]any{"type": "edit", "scope": "users", "recipients": intruder, "sendInvitation": false}},
		"PATCH /v1.0/drives/{d}/items/{i}/permissions/{p}":             {json: map[string]any{"roles": []string{"read"}}},
		"POST /v1.0/drives/{d}/items/{i}/permissions/{p}/revokeGrants": {json: map[string]any{"grantees": []any{map[string]any{"email": v.recipient}}}},
		"POST /v1.0/shares/{shareId}/permission/grant":                 {json: map[string]any{"recipients": intruder, "roles": []string{"write"}}},
		"POST /v1.0/users": {json: map[string]any{"displayName": "Intruder", "mail": "intruder@example.com", "accountEnabled": true,
			"passwordProfile": map[string]any{"password": "correct horse battery"}, "isAdmin": true}},
		"PATCH /v1.0/users/{id}": {json: map[string]any{"accountEnabled": false}},

		"PATCH /v1.0/admin/sharepoint/settings": {json: map[string]any{"isB2BIntegrationEnabled": true, "emailAttestationReAuthDays": 365}},

		"POST /login":                                        {form: url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}, "next": {"/files"}}},
		"POST /files/{id}/folder":                            {form: url.Values{"name": {"Intruder"}}},
		"POST /files/{id}/upload":                            {multipart: true},
		"POST /items/{id}/rename":                            {form: url.Values{"name": {"intruder.txt"}}},
		"POST /items/{id}/share":                             {form: url.Values{"emails": {"intruder@partner.test"}, "type": {"edit"}}},
		"POST /items/{id}/access/{perm}/remove":              {form: url.Values{"email": {v.recipient}}},
		"POST /items/{id}/access/{perm}/notify":              {form: url.Values{"notify": {"off"}}},
		"POST /items/{id}/access/{perm}/resend":              {form: url.Values{"email": {v.recipient}}},
		"POST /items/{id}/access/{perm}/update":              {form: url.Values{"type": {"view"}, "expires": {""}}},
		"POST /sites/{site}/items/{id}/access/{perm}/notify": {form: url.Values{"notify": {"off"}}},
		"POST /sites/{site}/items/{id}/access/{perm}/resend": {form: url.Values{"email": {v.recipient}}},
		"POST /sites/{site}/items/{id}/access/{perm}/update": {form: url.Values{"type": {"view"}, "expires": {""}}},
		"POST /s/{token}/passcode":                           {json: map[string]any{"email": "stranger@partner.test"}},
		"POST /s/{token}/verify":                             {json: map[string]any{"email": "stranger@partner.test", "code": "00000000"}},
		"POST /s/{token}/upload":                             {multipart: true},
		"POST /invite/{token}/verify":                        {form: url.Values{"code": {"00000000"}}},
		"POST /admin/users":                                  {form: url.Values{"email": {"intruder@example.com"}, "name": {"Intruder"}, "password": {"correct horse battery"}, "admin": {"on"}}},
		"POST /admin/outbox/{id}/retry":                      {form: url.Values{"state": {"failed"}}},
		"POST /admin/pauses/clear":                           {form: url.Values{"shareId": {v.shareID}, "email": {v.recipient}}},

		"POST /v1.0/identity/identityProviders": {json: map[string]any{"displayName": "Intruder", "issuer": "https://login.intruder.test/",
			"clientId": "intruder", "clientSecret": "intruder-secret", "domains": []string{"partner.test"}}},
		"PATCH /v1.0/identity/identityProviders/{id}": {json: map[string]any{"domains": []string{"partner.test"}, "clientSecret": "intruder-secret"}},
		"POST /v1.0/invitations":                      {json: map[string]any{"invitedUserEmailAddress": "invitee@partner.test", "sendInvitationMessage": false}},

		"POST /v1.0/groups":                    {json: map[string]any{"displayName": "Intruders", "mailNickname": "intruders", "securityEnabled": true}},
		"PATCH /v1.0/groups/{id}":              {json: map[string]any{"displayName": "Intruders"}},
		"POST /v1.0/groups/{id}/members/$ref":  {json: map[string]any{"@odata.id": v.base + "/v1.0/directoryObjects/mallory@example.com"}},
		"POST /v1.0/groups/{id}/owners/$ref":   {json: map[string]any{"@odata.id": v.base + "/v1.0/directoryObjects/mallory@example.com"}},
		"POST /v1.0/sites":                     {json: map[string]any{"displayName": "Intruder site"}},
		"POST /v1.0/sites/{id}/share":          {json: map[string]any{"recipients": intruder, "role": "owner", "message": "hi"}},
		"POST /sites":                          {form: url.Values{"name": {"Intruder site"}}},
		"POST /sites/{site}/share":             {form: url.Values{"email": {"intruder@partner.test"}, "role": {"owner"}}},
		"POST /sites/{site}/remove":            {form: url.Values{"group": {v.group}, "user": {v.userID}}},
		"POST /sites/{site}/files/{id}/folder": {form: url.Values{"name": {"Intruder"}}},
		"POST /sites/{site}/files/{id}/upload": {multipart: true},
		"POST /sites/{site}/items/{id}/rename": {form: url.Values{"name": {"intruder.txt"}}},
		"POST /sites/{site}/items/{id}/share":  {form: url.Values{"emails": {"intruder@partner.test"}, "type": {"edit"}}},
		"POST /admin/groups":                   {form: url.Values{"name": {"Intruders"}}},
		"POST /admin/groups/{id}/members":      {form: url.Values{"ref": {"mallory@example.com"}, "role": {"owner"}}},
		"POST /admin/groups/{id}/remove":       {form: url.Values{"user": {v.userID}, "role": {"owner"}}},
	}
}

// encode returns the body's bytes and Content-Type. A route without a known
// body gets an empty JSON object under /v1.0/ and a form with only its CSRF
// token elsewhere: if that fails on the body, the route needs an entry.
func (b routeBody) encode(path string) ([]byte, string) {
	switch {
	case b.json != nil:
		j, _ := json.Marshal(b.json)
		return j, "application/json"
	case b.multipart:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", routeCSRF)
		fw, _ := mw.CreateFormFile("file", "intruder.txt")
		fw.Write([]byte("intruder bytes"))
		mw.Close()
		return buf.Bytes(), mw.FormDataContentType()
	case b.raw != "":
		return []byte(b.raw), "application/octet-stream"
	case b.form == nil && strings.HasPrefix(path, "/v1.0/"):
		return []byte("{}"), "application/json"
	}
	f := url.Values{}
	for k, vs := range b.form {
		f[k] = vs
	}
	f.Set("csrf", routeCSRF)
	return []byte(f.Encode()), "application/x-www-form-urlencoded"
}

// routeIntruder is one kind of caller who has no business with the victim's
// things.
type routeIntruder struct {
	name                       string
	bearer, session, recipient string
	live                       bool // a live member: "own" routes may serve them
}

// send makes one request as in and returns the status, headers and body.
func (in routeIntruder) send(t *testing.T, base, method, path string, body []byte, ctype string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	cookies := []string{"gh_csrf=" + routeCSRF}
	if in.session != "" {
		cookies = append(cookies, "gh_session="+in.session)
	}
	if in.recipient != "" {
		cookies = append(cookies, "gh_rs="+in.recipient)
	}
	req.Header.Set("Cookie", strings.Join(cookies, "; "))
	req.Header.Set("X-CSRF-Token", routeCSRF)
	if in.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+in.bearer)
	}
	resp, err := routeClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s as %s: %v", method, path, in.name, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// snippet is an answer in one short line: a page's title, or the start of
// any other body.
func snippet(b []byte) string {
	s := string(b)
	if _, after, ok := strings.Cut(s, "<title>"); ok {
		title, _, _ := strings.Cut(after, "</title>")
		return "page «" + title + "»"
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

var routeClient = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// refused reports whether an answer refuses the caller: 401, 403 or 404, or,
// for a UI route and a caller without a live session, 303 to the sign-in page.
func refused(path string, in routeIntruder, status int, h http.Header) bool {
	switch status {
	case 401, 403, 404:
		return true
	case 303:
		loc := h.Get("Location")
		toLogin := loc == "/login" || strings.HasPrefix(loc, "/login?")
		return toLogin && !strings.HasPrefix(path, "/v1.0/") && !(in.live && in.session != "")
	}
	return false
}

// TestRoutesRefuseIntruders calls every registered route of every surface
// with the victim's ids as no one, as another member (token and session),
// with a recipient session of another link, and as a disabled administrator
// who was on the victim's link; each must be refused.
func TestRoutesRefuseIntruders(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			relay := mailtest.Start(t)
			s := startServer(t, b, func(c *Config) { c.SMTPURL = relay.URL() })
			v, intruders := routeSetup(t, s, relay)

			rr := recordRoutes(s)
			bodies := v.bodies()
			order := func(p string) int {
				o, open := openRoutes[p]
				method, path := parsePattern(p)
				// Reads first, then writes, then what would destroy the
				// victim's things if it let anyone through: a hole in one route
				// does not hide the others.
				switch {
				case o.ends:
					return 5
				case open:
					return 4
				case method == "DELETE" || slices.Contains([]string{"delete", "remove", "disable", "revokeGrants"}, path[strings.LastIndex(path, "/")+1:]):
					return 3
				case method != "GET" && method != "HEAD":
					return 2
				}
				return 1
			}
			patterns := slices.Clone(rr.patterns)
			sort.SliceStable(patterns, func(i, j int) bool { return order(patterns[i]) < order(patterns[j]) })
			for p := range openRoutes {
				if !slices.Contains(patterns, p) {
					t.Errorf("openRoutes lists %q, which no surface registers; remove it", p)
				}
			}
			if len(patterns) < 40 {
				t.Fatalf("only %d routes recorded: %q", len(patterns), patterns)
			}

			calls, seen := 0, map[string]map[int]int{} // intruder → status → count, for -v
			for _, pattern := range patterns {
				method, path := parsePattern(pattern)
				if method == "" {
					method = "GET"
				}
				paths, missing := v.fill(path)
				if pattern == "/" {
					paths = []string{"/no/such/page"} // "/" itself is GET /{$}
				}
				if missing != "" {
					t.Errorf("%s: the test has no victim value for %s; add one to routeVictim.values", pattern, missing)
					continue
				}
				open, isOpen := openRoutes[pattern]
				body, ctype := []byte(nil), ""
				if method == "POST" || method == "PUT" || method == "PATCH" {
					body, ctype = bodies[pattern].encode(path)
				}
				for _, p := range paths {
					if req, _ := http.NewRequest(method, s.URL+p, nil); req != nil {
						if _, got := rr.mux.Handler(req); got != pattern {
							t.Errorf("%s filled as %s reaches %q instead", pattern, p, got)
							continue
						}
					}
					// What the caller sent may come back; nothing else of the victim's may.
					var private []string
					for _, x := range v.private() {
						if sharerShown[pattern] && x == v.name {
							continue
						}
						if !strings.Contains(p, x) && !bytes.Contains(body, []byte(x)) {
							private = append(private, x)
						}
					}
					for _, in := range intruders {
						status, hdr, out := in.send(t, s.URL, method, p, body, ctype)
						calls++
						if seen[in.name] == nil {
							seen[in.name] = map[int]int{}
						}
						seen[in.name][status]++
						where := fmt.Sprintf("%s %s (%s) as %s", method, p, pattern, in.name)
						if status >= 500 {
							t.Errorf("%s: %d: %s", where, status, snippet(out))
							continue
						}
						var leaked []string
						for _, x := range private {
							if bytes.Contains(out, []byte(x)) {
								leaked = append(leaked, x)
							}
						}
						if leaked != nil {
							t.Errorf("%s: %d: the answer holds the victim's %q: %s", where, status, leaked, snippet(out))
							continue
						}
						if isOpen && (!open.own || in.live) {
							continue
						}
						if !refused(p, in, status, hdr) {
							t.Errorf("%s: %d (Location %q), want 401, 403 or 404: %s", where, status, hdr.Get("Location"), snippet(out))
						}
					}
				}
			}
			t.Logf("%d routes, %d calls", len(patterns), calls)
			for _, in := range intruders {
				t.Logf("  %s: statuses %v", in.name, seen[in.name])
			}

			// Nothing the intruders sent changed the victim's things.
			vc := &apiClient{t: t, base: s.URL, token: v.apiToken}
			items := "/v1.0/drives/" + v.drive + "/items/"
			if it := vc.json("GET", items+v.file, nil, 200); it["name"] != v.fileName {
				t.Errorf("the victim's file is now %v", it["name"])
			}
			if kids := vc.json("GET", items+v.folder+"/children", nil, 200)["value"].([]any); len(kids) != 1 {
				t.Errorf("the victim's folder holds %d items, want only the file", len(kids))
			}
			perm := vc.json("GET", items+v.folder+"/permissions/"+v.perm, nil, 200)
			if roles, _ := json.Marshal(perm["roles"]); !strings.Contains(string(roles), "write") || !strings.Contains(fmt.Sprint(perm), v.recipient) ||
				perm["notifyOwner"] != true || perm["dormant"] != false {
				t.Errorf("the victim's link changed: %v", perm)
			}
			// Both binned files are still in their bins: none restored, none purged.
			for _, d := range []string{v.drive, v.siteDrive} {
				bin := vc.json("GET", "/v1.0/drives/"+d+"/recycleBin/items", nil, 200)["value"].([]any)
				if len(bin) != 1 || (bin[0].(map[string]any)["id"] != v.binned && bin[0].(map[string]any)["id"] != v.siteBinned) {
					t.Errorf("the victim's recycle bin of drive %s after the intruders: %v", d, bin)
				}
			}
			if perms := vc.json("GET", items+v.folder+"/permissions", nil, 200)["value"].([]any); len(perms) != 1 {
				t.Errorf("the victim's folder has %d permissions, want only its link", len(perms))
			}
			for _, id := range []string{v.folder, v.file} {
				if _, _, out := vc.do("GET", items+id+"/permissions", nil); bytes.Contains(out, []byte("intruder")) {
					t.Errorf("an intruder got onto the victim's item: %s", out)
				}
			}
			if idps, err := s.Store.IdentityProviders(ctx); err != nil || len(idps) != 1 || idps[0].ID != v.idpID ||
				!slices.Equal(idps[0].Domains, []string{"fabrikam.example"}) {
				t.Errorf("the identity providers after the intruders: %+v, %v", idps, err)
			}
			if u, err := s.Store.User(ctx, v.userID); err != nil || u.Disabled {
				t.Errorf("the victim's account: %+v, %v", u, err)
			}
			// The victim's group and site: the same name, the same people.
			if g := vc.json("GET", "/v1.0/groups/"+v.group, nil, 200); g["displayName"] != "Victim team" {
				t.Errorf("the victim's group is now %v", g["displayName"])
			}
			for _, role := range []string{"members", "owners"} {
				if m := vc.json("GET", "/v1.0/groups/"+v.group+"/"+role, nil, 200)["value"].([]any); len(m) != 1 || m[0].(map[string]any)["id"] != v.userID {
					t.Errorf("the victim's group's %s after the intruders: %v", role, m)
				}
			}
			st := vc.json("GET", "/v1.0/sites/"+v.site, nil, 200)
			if st["displayName"] != "VictimSiteOpal" {
				t.Errorf("the victim's site: %v", st)
			}
			site, access, err := s.Store.SiteFacts(ctx, gatehouse.UserPrincipal(&gatehouse.User{ID: v.userID, Email: v.email}), v.site)
			if err != nil || access != gatehouse.AccessOwner {
				t.Errorf("the victim's access to their site: %v, %v", access, err)
			} else {
				for _, gid := range []string{site.OwnersGroupID, site.MembersGroupID, site.VisitorsGroupID} {
					want := 0
					if gid == site.OwnersGroupID {
						want = 1
					}
					if m, err := s.Store.GroupMembers(ctx, gid, gatehouse.GroupMember, "", 10); err != nil || len(m) != want {
						t.Errorf("the site's group %s has %d members after the intruders, want %d (%v)", gid, len(m), want, err)
					}
				}
			}
			if kids := vc.json("GET", "/v1.0/drives/"+v.siteDrive+"/items/"+vc.json("GET", "/v1.0/drives/"+v.siteDrive+"/root", nil, 200)["id"].(string)+"/children", nil, 200)["value"].([]any); len(kids) != 1 {
				t.Errorf("the victim's site holds %d items, want only its file", len(kids))
			}
		})
	}
}

// routeSetup creates the victim and the intruders, and proves each
// intruder's credential worked before it became useless.
func routeSetup(t *testing.T, s *server, relay *mailtest.Server) (*routeVictim, []routeIntruder) {
	ctx := context.Background()
	login := func(email string) string {
		_, secret, err := s.Store.Login(ctx, email, "correct horse battery", "192.0.2.7", "route-test")
		if err != nil {
			t.Fatalf("Login %s: %v", email, err)
		}
		return secret
	}

	victim := s.addUser("victor@example.com", "Victor Victim", "correct horse battery", false)
	v := &routeVictim{userID: victim.ID, email: victim.Email, name: victim.DisplayName, apiToken: s.token(victim),
		folderName: "VictimFolderQuartz", fileName: "VictimPlansZephyr.txt", secret: "victim secret content xyzzy",
		recipient: "vera@partner.test"}
	vc := &apiClient{t: t, base: s.URL, token: v.apiToken}
	drive := vc.json("GET", "/v1.0/me/drive", nil, 200)
	v.drive, v.root = drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
	items := "/v1.0/drives/" + v.drive + "/items/"
	v.folder = vc.json("POST", items+v.root+"/children", map[string]any{"name": v.folderName, "folder": map[string]any{}}, 201)["id"].(string)
	v.file = vc.json("PUT", items+v.folder+":/"+v.fileName+":/content", v.secret, 201)["id"].(string)

	// A disabled administrator who was on the victim's link.
	dan := s.addUser("dan@example.com", "Dan Disabled", "correct horse battery", true)
	danToken, danSession := s.token(dan), login(dan.Email)

	perm := vc.json("POST", items+v.folder+"/createLink", map[string]any{"type": "edit", "scope": "users",
		"recipients": []any{map[string]any{"email": v.recipient}, map[string]any{"email": dan.Email}}, "sendInvitation": true}, 201)
	v.perm, v.shareID = perm["id"].(string), perm["shareId"].(string)
	v.token = strings.TrimPrefix(perm["link"].(map[string]any)["webUrl"].(string), s.URL+"/s/")
	relay.WaitFor(t, v.recipient, 15*time.Second) // the invitation, so the outbox has a message
	msgs, err := s.Store.Outbox(ctx, "", 10)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("Outbox: %v %v", msgs, err)
	}
	v.outboxID = msgs[0].ID
	idp, err := s.Store.CreateIdentityProvider(ctx, gatehouse.SystemActor(), store.NewIdentityProvider{DisplayName: "Fabrikam",
		Issuer: "https://login.fabrikam.example/", ClientID: "gatehouse", ClientSecret: "fabrikam-secret", Domains: []string{"fabrikam.example"}})
	if err != nil {
		t.Fatalf("CreateIdentityProvider: %v", err)
	}
	v.idpID = idp.ID

	// A group and a site of the victim's, with a file in the site.
	v.base = s.URL
	v.group = vc.json("POST", "/v1.0/groups", map[string]any{"displayName": "Victim team", "mailNickname": "victimteam", "securityEnabled": true}, 201)["id"].(string)
	if st, _, out := vc.do("POST", "/v1.0/groups/"+v.group+"/members/$ref", map[string]any{"@odata.id": s.URL + "/v1.0/directoryObjects/" + victim.ID}); st != 204 {
		t.Fatalf("victim joins their group: %d %s", st, out)
	}
	site := vc.json("POST", "/v1.0/sites", map[string]any{"displayName": "VictimSiteOpal", "description": "the victim's"}, 201)
	v.site, v.siteDrive = site["id"].(string), site["drive"].(map[string]any)["id"].(string)
	siteRoot := vc.json("GET", "/v1.0/drives/"+v.siteDrive+"/root", nil, 200)["id"].(string)
	v.siteFile = vc.json("PUT", "/v1.0/drives/"+v.siteDrive+"/items/"+siteRoot+":/site-plan.txt:/content", "victim site secret", 201)["id"].(string)

	// A file in each of the victim's recycle bins.
	v.binned = vc.json("PUT", items+v.root+":/VictimBinnedOnyx.txt:/content", "victim binned secret", 201)["id"].(string)
	v.siteBinned = vc.json("PUT", "/v1.0/drives/"+v.siteDrive+"/items/"+siteRoot+":/VictimBinnedOnyx.txt:/content", "victim binned secret", 201)["id"].(string)
	for _, it := range []string{items + v.binned, "/v1.0/drives/" + v.siteDrive + "/items/" + v.siteBinned} {
		if st, _, out := vc.do("DELETE", it, nil); st != 204 {
			t.Fatalf("victim deletes %s: %d %s", it, st, out)
		}
	}

	// Another member, with a link of their own verified by an outsider.
	mallory := s.addUser("mallory@example.com", "Mallory Member", "correct horse battery", false)
	mal := &apiClient{t: t, base: s.URL, token: s.token(mallory)}
	md := mal.json("GET", "/v1.0/me/drive", nil, 200)
	mItems := "/v1.0/drives/" + md["id"].(string) + "/items/"
	mFile := mal.json("PUT", mItems+md["root"].(map[string]any)["id"].(string)+":/mallory.txt:/content", "mallory's", 201)["id"].(string)
	eve := "eve@partner.test"
	mLink := mal.json("POST", mItems+mFile+"/createLink", map[string]any{"type": "view", "scope": "users",
		"recipients": []any{map[string]any{"email": eve}}, "sendInvitation": false}, 201)["link"].(map[string]any)["webUrl"].(string)
	rc := newRecipient(t)
	if st, _, out := rc.call("POST", mLink+"/passcode", map[string]string{"email": eve}); st != 200 {
		t.Fatalf("passcode: %d %s", st, out)
	}
	code := ""
	for code == "" {
		if m := relay.WaitFor(t, eve, 15*time.Second); strings.Contains(m.Subject, "verification code") {
			code = mailtest.Code(t, m)
		}
	}
	st, hdr, out := rc.call("POST", mLink+"/verify", map[string]any{"email": eve, "code": code})
	if st != 200 {
		t.Fatalf("verify: %d %s", st, out)
	}
	eveSession := ""
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == "gh_rs" {
			eveSession = c.Value
		}
	}

	intruders := []routeIntruder{
		{name: "no credential"},
		{name: "another member's token", bearer: mal.token, live: true},
		{name: "another member's session", session: login(mallory.Email), live: true},
		{name: "a recipient session of another link", recipient: eveSession},
		{name: "a disabled administrator's token", bearer: danToken},
		{name: "a disabled administrator's session", session: danSession},
	}
	// Each credential opens what it should, so a refusal below is the
	// route's doing; the disabled administrator's worked until disabled.
	works := func(in routeIntruder, path string) {
		t.Helper()
		if st, h, out := in.send(t, s.URL, "GET", path, nil, ""); st != 200 {
			t.Fatalf("%s on GET %s: %d %s %.200s", in.name, path, st, h.Get("Location"), out)
		}
	}
	works(intruders[1], "/v1.0/me/drive/root/children")
	works(intruders[2], "/files")
	works(intruders[3], strings.TrimPrefix(mLink, s.URL)+"/content")
	works(intruders[4], "/v1.0/users")
	works(intruders[5], "/admin/users")
	works(intruders[5], "/s/"+v.token+"/items/"+v.file)
	yes := true
	if _, err := s.Store.UpdateUser(ctx, gatehouse.SystemActor(), dan.ID, store.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatalf("disable: %v", err)
	}
	return v, intruders
}
