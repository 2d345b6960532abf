package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/testenv"
)

// Who a malformed request is sent as.
const (
	asBearer    = "bearer"    // the API with an administrator's token
	asMember    = "member"    // the UI with an administrator's session and CSRF token
	asRecipient = "recipient" // the recipient pages with a verified session and CSRF token
	asAnyone    = "anyone"    // no session, but a CSRF token
)

// Body kinds a route reads.
const (
	bodyNone      = "none"
	bodyJSON      = "json"
	bodyForm      = "form"
	bodyMultipart = "multipart"
	bodyRaw       = "raw" // any bytes: file content
	bodyInput     = "input"
)

// route is one route of the server with real path values, the body it
// reads and a well-formed body whose fields the test spoils one by one.
type route struct {
	method, path string
	as           string
	body         string
	good         map[string]any // JSON fields, or form fields as strings
}

// malformed is one bad request body.
type malformed struct {
	name, contentType string
	body              []byte
}

const csrfToken = "malformed-test-csrf-token-0123456789abcdef"

// bodies returns the malformed bodies to send to rt.
func (rt route) bodies(maxUpload int64) []malformed {
	huge := func(n int) []byte { return bytes.Repeat([]byte("a"), n) }
	out := []malformed{
		{"empty", "", nil},
		{"empty JSON", "application/json", nil},
		{"invalid JSON", "application/json", []byte(`{"name": }`)},
		{"truncated JSON", "application/json", []byte(`{"name": "a`)},
		{"JSON array", "application/json", []byte(`[1, 2, 3]`)},
		{"JSON string", "application/json", []byte(`"name"`)},
		{"JSON null", "application/json", []byte(`null`)},
		{"JSON with trailing data", "application/json", []byte(`{} {}`)},
		{"deeply nested JSON", "application/json", []byte(strings.Repeat("[", 20000) + strings.Repeat("]", 20000))},
		{"huge number", "application/json", []byte(`{"name": 1e999999}`)},
		{"oversized JSON", "application/json", append(append([]byte(`{"name":"`), huge(2<<20)...), `"}`...)},
		{"text", "text/plain", []byte("just some text")},
		{"binary", "application/octet-stream", []byte{0, 0xff, 0xfe, 1, 2, 3}},
		{"form", "application/x-www-form-urlencoded", []byte("name=a&email=b%40c&csrf=" + csrfToken)},
		{"broken form", "application/x-www-form-urlencoded", []byte("%zz=%&&=;;name=%")},
		{"form with NUL and bad UTF-8", "application/x-www-form-urlencoded", []byte("name=a%00b&email=x%FF%40y&code=%00&csrf=" + csrfToken)},
		{"oversized form", "application/x-www-form-urlencoded", append([]byte("csrf="+csrfToken+"&name="), huge(200<<10)...)},
		{"multipart without boundary", "multipart/form-data", []byte("--x\r\n")},
		{"truncated multipart", "multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc")},
		{"multipart garbage", "multipart/form-data; boundary=xyz", []byte("not a multipart body at all")},
		{"wrong content type with JSON", "text/plain", mustJSON(rt.good)},
	}
	if rt.body == bodyJSON || rt.body == bodyInput {
		out = append(out, spoilJSON(rt.good)...)
		out = append(out, spoilNested(rt.good)...)
	}
	if rt.body == bodyForm || rt.body == bodyInput {
		out = append(out, spoilForm(rt.good)...)
	}
	if rt.body == bodyMultipart {
		out = append(out, spoilMultipart(maxUpload)...)
	}
	if rt.body == bodyRaw {
		out = append(out, malformed{"oversized content", "application/octet-stream", huge(int(maxUpload) + 1)})
	}
	return out
}

func mustJSON(v any) []byte {
	if v == nil {
		return []byte(`{}`)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// spoilJSON returns the good body with each field in turn given the wrong
// type, a NUL, a bidirectional override, or a huge value.
func spoilJSON(good map[string]any) []malformed {
	var out []malformed
	for _, k := range sortedKeys(good) {
		for _, bad := range []struct {
			name string
			v    any
		}{
			{"a number", 12345}, {"an object", map[string]any{"x": 1}}, {"a list", []any{"a", 1}},
			{"null", nil}, {"a NUL", "a\x00b"}, {"an override", "e\u202Egnp.exe"}, {"a huge string", strings.Repeat("x", 300<<10)},
		} {
			b := map[string]any{}
			for k2, v2 := range good {
				b[k2] = v2
			}
			b[k] = bad.v
			out = append(out, malformed{fmt.Sprintf("JSON %s as %s", k, bad.name), "application/json", mustJSON(b)})
		}
	}
	return out
}

// spoilNested returns the good body with each value inside a field's
// object or list in turn given a NUL, a huge string or the wrong type: the generic checks
// see only the top level.
func spoilNested(good map[string]any) []malformed {
	var out []malformed
	var walk func(path string, v any, set func(any) bool)
	walk = func(path string, v any, set func(any) bool) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				walk(path+"."+k, x[k], func(nv any) bool { x[k] = nv; return true })
			}
			return
		case []any:
			for i := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), x[i], func(nv any) bool { x[i] = nv; return true })
			}
			return
		case []string:
			for i := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), x[i], func(nv any) bool {
					s, ok := nv.(string) // a []string takes no number
					if ok {
						x[i] = s
					}
					return ok
				})
			}
			return
		}
		if !strings.ContainsAny(path, ".[") {
			return // spoilJSON's
		}
		for _, bad := range []struct {
			name string
			v    any
		}{{"a NUL", "a\x00b"}, {"a huge string", strings.Repeat("x", 300<<10)}, {"a number", 12345}} {
			if _, ok := v.(string); !ok && bad.name != "a number" {
				continue
			}
			if set(bad.v) {
				out = append(out, malformed{fmt.Sprintf("JSON %s as %s", path, bad.name), "application/json", mustJSON(good)})
			}
			set(v)
		}
	}
	for _, k := range sortedKeys(good) {
		walk(k, good[k], func(nv any) bool { good[k] = nv; return true })
	}
	return out
}

// spoilForm returns the good form with each field in turn given a NUL,
// invalid UTF-8, an override, or a long value.
func spoilForm(good map[string]any) []malformed {
	var out []malformed
	for _, k := range sortedKeys(good) {
		for _, bad := range []struct{ name, v string }{
			{"a NUL", "a\x00b"}, {"bad UTF-8", "a\xff\xfeb"}, {"an override", "e\u202Egnp.exe"},
			{"a long value", strings.Repeat("y", 20<<10)}, {"empty", ""},
		} {
			f := url.Values{"csrf": {csrfToken}}
			for k2, v2 := range good {
				f.Set(k2, fmt.Sprint(v2))
			}
			f.Set(k, bad.v)
			out = append(out, malformed{fmt.Sprintf("form %s as %s", k, bad.name), "application/x-www-form-urlencoded", []byte(f.Encode())})
		}
	}
	return out
}

// spoilMultipart returns uploads with bad names, parts and sizes.
func spoilMultipart(maxUpload int64) []malformed {
	build := func(parts func(*multipart.Writer)) malformed {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", csrfToken)
		parts(mw)
		mw.Close()
		return malformed{"", mw.FormDataContentType(), buf.Bytes()}
	}
	file := func(name string, size int) func(*multipart.Writer) {
		return func(mw *multipart.Writer) {
			w, _ := mw.CreateFormFile("file", name)
			w.Write(bytes.Repeat([]byte("z"), size))
		}
	}
	cases := []struct {
		name  string
		parts func(*multipart.Writer)
	}{
		{"no parts but the token", func(*multipart.Writer) {}},
		{"a file named with a NUL", file("a\x00b.txt", 10)},
		{"a file named with bad UTF-8", file("a\xffb.txt", 10)},
		{"a file named with an override", file("e\u202Egnp.exe", 10)},
		{"a file named ..", file("..", 10)},
		{"a file named with a path", file("../../etc/passwd", 10)},
		{"a file with a long name", file(strings.Repeat("n", 5000), 10)},
		{"an oversized file", file("big.bin", int(maxUpload)+uploadSlack)},
		{"a garbage parent", func(mw *multipart.Writer) {
			mw.WriteField("parent", "\x00\xff../x")
			file("a.txt", 3)(mw)
		}},
		{"a huge parent", func(mw *multipart.Writer) {
			mw.WriteField("parent", strings.Repeat("p", 100<<10))
			file("a.txt", 3)(mw)
		}},
	}
	var out []malformed
	for _, c := range cases {
		m := build(c.parts)
		m.name = "multipart with " + c.name
		out = append(out, m)
	}
	return out
}

// uploadSlack matches the web UI's allowance for form fields around files.
const uploadSlack = 1 << 20

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// fixture is the state every route is exercised against.
type fixture struct {
	s                     *server
	token                 string // the administrator's API token
	session               string // the administrator's UI session
	recipient             string // the recipient's session
	d, root, folder, file string
	perm, shareID, link   string // the edit link on folder, to ext
	throwFile, throwFile2 string // items routes may delete
	throwPerm             string // a link on throwFile2 routes may delete
	throwUser             string
	outboxID              string
	idp                   string // a partner's identity provider, which routes may change and delete
	invite                string // an invitation's redeem token
	guest                 string // the invited guest, whom routes may delete
	idp2                  string // a second provider, which the UI's delete may remove

	group, throwGroup, throwGroup2  string // a group with throwUser as member and owner; groups routes may delete
	groupPerm, groupPerm2           string // links on folder granted to group, for the API and the UI
	site, throwSite, throwSite2     string // a site; sites routes may delete
	siteDrive, siteRoot, siteFolder string
	siteFile, siteMembers, sitePerm string   // sitePerm: a link on siteFile to an address and group; siteMembers: the site's Members group, with throwUser
	siteThrowFile, siteThrowFile2   string   // site items routes may delete
	siteThrowPerm                   string   // a link on siteThrowFile2 routes may delete
	bin, siteBin                    []string // files in the recycle bins, which routes may restore and purge
}

const ext = "ext@partner.test"

func newFixture(t *testing.T, b testenv.Backend) *fixture {
	ctx := context.Background()
	relay := mailtest.Start(t)
	s := startServer(t, b, func(c *Config) { c.SMTPURL = relay.URL(); c.MaxUpload = 64 << 10 })
	admin := s.addUser("ada@example.com", "Ada Admin", "correct horse battery", true)
	f := &fixture{s: s, token: s.token(admin)}
	_, secret, err := s.Store.Login(ctx, "ada@example.com", "correct horse battery", "192.0.2.1", "malformed-test")
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	f.session = secret
	f.throwUser = s.addUser("throw@example.com", "Throwaway", "correct horse battery", false).ID

	a := &apiClient{t: t, base: s.URL, token: f.token}
	drive := a.json("GET", "/v1.0/me/drive", nil, 200)
	f.d, f.root = drive["id"].(string), drive["root"].(map[string]any)["id"].(string)
	items := "/v1.0/drives/" + f.d + "/items/"
	f.folder = a.json("POST", items+f.root+"/children", map[string]any{"name": "Shared", "folder": map[string]any{}}, 201)["id"].(string)
	f.file = a.json("PUT", items+f.folder+":/notes.txt:/content", "some notes", 201)["id"].(string)
	f.throwFile = a.json("PUT", items+f.root+":/throw.txt:/content", "x", 201)["id"].(string)
	f.throwFile2 = a.json("PUT", items+f.root+":/throw2.txt:/content", "x", 201)["id"].(string)
	perm := a.json("POST", items+f.folder+"/createLink", map[string]any{"type": "edit", "scope": "users",
		"recipients": []any{map[string]any{"email": ext}}, "sendInvitation": true}, 201)
	f.perm, f.shareID = perm["id"].(string), perm["shareId"].(string)
	f.link = perm["link"].(map[string]any)["webUrl"].(string)
	f.throwPerm = a.json("POST", items+f.throwFile2+"/createLink", map[string]any{"type": "view", "scope": "users",
		"recipients": []any{map[string]any{"email": "other@partner.test"}}}, 201)["id"].(string)

	// A verified recipient, the way a browser gets there.
	jar, _ := cookiejar.New(nil)
	rc := &recipientClient{t: t, http: &http.Client{Jar: jar}}
	if st, _, body := rc.call("POST", f.link+"/passcode", map[string]string{"email": ext}); st != 200 {
		t.Fatalf("passcode: %d %s", st, body)
	}
	var code string
	for code == "" {
		m := relay.WaitFor(t, ext, 15*time.Second)
		if strings.Contains(m.Subject, "verification code") {
			code = mailtest.Code(t, m)
		}
	}
	if st, _, body := rc.call("POST", f.link+"/verify", map[string]any{"email": ext, "code": code}); st != 200 {
		t.Fatalf("verify: %d %s", st, body)
	}
	u, _ := url.Parse(s.URL)
	for _, c := range jar.Cookies(u) {
		if c.Name == "gh_rs" {
			f.recipient = c.Value
		}
	}
	if f.recipient == "" {
		t.Fatal("no recipient session cookie after verification")
	}
	msgs, err := s.Store.Outbox(ctx, "", 1)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("Outbox: %v", err)
	}
	f.outboxID = msgs[0].ID
	f.idp = a.json("POST", "/v1.0/identity/identityProviders", map[string]any{"displayName": "Fabrikam", "issuer": "https://login.fabrikam.example/",
		"clientId": "gatehouse", "clientSecret": "fabrikam-secret", "domains": []string{"fabrikam.example"}}, 201)["id"].(string)
	inv := a.json("POST", "/v1.0/invitations", map[string]any{"invitedUserEmailAddress": "guest@elsewhere.example"}, 201)
	f.invite = strings.TrimPrefix(inv["inviteRedeemUrl"].(string), s.URL+"/invite/")
	f.guest = inv["invitedUser"].(map[string]any)["id"].(string)
	f.idp2 = a.json("POST", "/v1.0/identity/identityProviders", map[string]any{"displayName": "Northwind", "issuer": "https://login.northwind.example/",
		"clientId": "gatehouse", "clientSecret": "northwind-secret", "domains": []string{"northwind.example"}}, 201)["id"].(string)
	f.addGroupsAndSites(t, a, admin)
	return f
}

// addGroupsAndSites makes the groups and sites the group and site routes
// are sent to.
func (f *fixture) addGroupsAndSites(t *testing.T, a *apiClient, admin *gatehouse.User) {
	ctx := context.Background()
	s := f.s
	addRef := func(g, role, user string) {
		if st, _, out := a.do("POST", "/v1.0/groups/"+g+"/"+role+"/$ref", map[string]any{"@odata.id": s.URL + "/v1.0/directoryObjects/" + user}); st != 204 {
			t.Fatalf("add %s to %s as %s: %d %s", user, g, role, st, out)
		}
	}
	newGroup := func(name string) string {
		return a.json("POST", "/v1.0/groups", map[string]any{"displayName": name, "description": "for malformed requests",
			"mailNickname": strings.ToLower(strings.ReplaceAll(name, " ", "")), "securityEnabled": true}, 201)["id"].(string)
	}
	f.group, f.throwGroup, f.throwGroup2 = newGroup("Malformed team"), newGroup("Throw team"), newGroup("Throw team two")
	addRef(f.group, "members", f.throwUser)
	addRef(f.group, "owners", f.throwUser)
	addRef(f.throwGroup, "members", f.throwUser)
	items := "/v1.0/drives/" + f.d + "/items/"
	groupLink := func(role string) string {
		return a.json("POST", items+f.folder+"/invite", map[string]any{"recipients": []any{map[string]any{"objectId": f.group}},
			"roles": []string{role}, "requireSignIn": true, "sendInvitation": false}, 200)["value"].([]any)[0].(map[string]any)["id"].(string)
	}
	f.groupPerm, f.groupPerm2 = groupLink("read"), groupLink("write")

	newSite := func(name string) map[string]any {
		return a.json("POST", "/v1.0/sites", map[string]any{"displayName": name, "description": "for malformed requests"}, 201)
	}
	site := newSite("Malformed site")
	f.site, f.siteDrive = site["id"].(string), site["drive"].(map[string]any)["id"].(string)
	f.throwSite, f.throwSite2 = newSite("Throw site")["id"].(string), newSite("Throw site two")["id"].(string)
	st, _, err := s.Store.SiteFacts(ctx, gatehouse.UserPrincipal(admin), f.site)
	if err != nil {
		t.Fatalf("SiteFacts: %v", err)
	}
	f.siteMembers = st.MembersGroupID
	addRef(f.siteMembers, "members", f.throwUser)
	f.siteRoot = a.json("GET", "/v1.0/drives/"+f.siteDrive+"/root", nil, 200)["id"].(string)
	sitems := "/v1.0/drives/" + f.siteDrive + "/items/"
	f.siteFolder = a.json("POST", sitems+f.siteRoot+"/children", map[string]any{"name": "Plans", "folder": map[string]any{}}, 201)["id"].(string)
	f.siteFile = a.json("PUT", sitems+f.siteFolder+":/plan.txt:/content", "site notes", 201)["id"].(string)
	f.siteThrowFile = a.json("PUT", sitems+f.siteRoot+":/throw.txt:/content", "x", 201)["id"].(string)
	f.siteThrowFile2 = a.json("PUT", sitems+f.siteRoot+":/throw2.txt:/content", "x", 201)["id"].(string)
	f.sitePerm = a.json("POST", sitems+f.siteFile+"/createLink", map[string]any{"type": "view", "scope": "users",
		"recipients": []any{map[string]any{"email": "sitefriend@partner.test"}, map[string]any{"objectId": f.group}}}, 201)["id"].(string)
	f.siteThrowPerm = a.json("POST", sitems+f.siteThrowFile2+"/createLink", map[string]any{"type": "view", "scope": "users",
		"recipients": []any{map[string]any{"email": "other@partner.test"}}}, 201)["id"].(string)

	binned := func(drive, parent string, n int) (ids []string) {
		for i := range n {
			id := a.json("PUT", "/v1.0/drives/"+drive+"/items/"+parent+":/"+fmt.Sprintf("binned%d.txt", i)+":/content", "x", 201)["id"].(string)
			if st, _, out := a.do("DELETE", "/v1.0/drives/"+drive+"/items/"+id, nil); st != 204 {
				t.Fatalf("delete %s to the bin: %d %s", id, st, out)
			}
			ids = append(ids, id)
		}
		return ids
	}
	f.bin, f.siteBin = binned(f.d, f.root, 4), binned(f.siteDrive, f.siteRoot, 3)
}

// routes lists every route of the server (internal/api/api.go and
// internal/web/web.go), with state-destroying ones last and on throwaway
// objects.
func (f *fixture) routes() []route {
	it := "/v1.0/drives/" + f.d + "/items/"
	tok := strings.TrimPrefix(f.link, f.s.URL+"/s/")
	recipients := []any{map[string]any{"email": "new@partner.test"}}
	return []route{
		{"GET", "/v1.0/me", asBearer, bodyNone, nil},
		{"GET", "/v1.0/me/drive", asBearer, bodyNone, nil},
		{"GET", "/v1.0/me/drive/root", asBearer, bodyNone, nil},
		{"GET", "/v1.0/me/drive/root/children", asBearer, bodyNone, nil},
		{"GET", "/v1.0/drives/" + f.d, asBearer, bodyNone, nil},
		{"GET", "/v1.0/drives/" + f.d + "/root", asBearer, bodyNone, nil},
		{"GET", it + f.file, asBearer, bodyNone, nil},
		{"GET", it + f.folder + "/children", asBearer, bodyNone, nil},
		{"POST", it + f.folder + "/children", asBearer, bodyJSON, map[string]any{"name": "New folder", "folder": map[string]any{}, "@microsoft.graph.conflictBehavior": "fail"}},
		{"GET", it + f.file + "/content", asBearer, bodyNone, nil},
		{"PUT", it + f.folder + ":/upload.txt:/content", asBearer, bodyRaw, nil},
		{"PUT", it + f.file + "/content", asBearer, bodyRaw, nil},
		{"GET", it + f.file + "/versions", asBearer, bodyNone, nil},
		{"GET", it + f.file + "/versions/1.0/content", asBearer, bodyNone, nil},
		{"POST", it + f.file + "/versions/1.0/restoreVersion", asBearer, bodyNone, nil},
		{"PATCH", it + f.file, asBearer, bodyJSON, map[string]any{"name": "notes.txt", "parentReference": map[string]any{"id": f.folder, "driveId": f.d}}},
		{"POST", it + f.file + "/invite", asBearer, bodyJSON, map[string]any{"recipients": recipients, "roles": []string{"read"},
			"requireSignIn": true, "sendInvitation": false, "message": "hi", "expirationDateTime": "2099-01-01T00:00:00Z",
			"notifyOwner": false, "resend": true, "preventsDownload": false}},
		{"POST", it + f.file + "/createLink", asBearer, bodyJSON, map[string]any{"type": "view", "scope": "users", "recipients": recipients,
			"expirationDateTime": "2098-01-01T00:00:00Z", "message": "hi", "sendInvitation": false, "notifyOwner": true, "preventsDownload": true}},
		{"GET", it + f.file + "/preview", asBearer, bodyNone, nil},
		{"GET", it + f.folder + "/archive", asBearer, bodyNone, nil},
		{"GET", "/v1.0/me/drive/sharedByMe", asBearer, bodyNone, nil},
		{"GET", "/v1.0/me/drive/sharedWithMe", asBearer, bodyNone, nil},
		{"GET", "/v1.0/admin/sharepoint/settings", asBearer, bodyNone, nil},
		{"PATCH", "/v1.0/admin/sharepoint/settings", asBearer, bodyJSON, map[string]any{"recycleBinRetentionDays": 93}},
		{"GET", "/healthz", asAnyone, bodyNone, nil},
		{"GET", "/v1.0/drives/" + f.d + "/recycleBin/items", asBearer, bodyNone, nil},
		{"POST", it + f.bin[0] + "/restore", asBearer, bodyNone, nil},
		{"GET", it + f.folder + "/permissions", asBearer, bodyNone, nil},
		{"GET", it + f.folder + "/permissions/" + f.perm, asBearer, bodyNone, nil},
		{"PATCH", it + f.throwFile2 + "/permissions/" + f.throwPerm, asBearer, bodyJSON, map[string]any{"roles": []string{"read"}, "expirationDateTime": "2097-01-01T00:00:00Z",
			"dormant": false, "notifyOwner": false}},
		{"POST", it + f.throwFile2 + "/permissions/" + f.throwPerm + "/revokeGrants", asBearer, bodyJSON, map[string]any{"grantees": []any{map[string]any{"email": "nobody@partner.test"}}}},
		{"POST", "/v1.0/shares/" + f.shareID + "/permission/grant", asBearer, bodyJSON, map[string]any{"recipients": recipients, "roles": []string{"write"}}},
		{"GET", "/v1.0/users", asBearer, bodyNone, nil},
		{"POST", "/v1.0/users", asBearer, bodyJSON, map[string]any{"displayName": "New", "mail": "new@example.com", "accountEnabled": true,
			"passwordProfile": map[string]any{"password": "correct horse battery"}, "isAdmin": false}},
		{"GET", "/v1.0/users/" + f.throwUser, asBearer, bodyNone, nil},
		{"PATCH", "/v1.0/users/" + f.throwUser, asBearer, bodyJSON, map[string]any{"displayName": "Still thrown", "accountEnabled": true}},
		{"POST", "/v1.0/users/" + f.throwUser + "/extendGuestAccess", asBearer, bodyNone, nil},
		{"GET", "/v1.0/auditLog/records", asBearer, bodyNone, nil},
		{"GET", "/v1.0/auditLog/records/export?format=csv", asBearer, bodyNone, nil},
		{"GET", "/v1.0/admin/outbox", asBearer, bodyNone, nil},
		{"POST", "/v1.0/admin/outbox/" + f.outboxID + "/retry", asBearer, bodyNone, nil},
		{"GET", "/v1.0/admin/passcodePauses", asBearer, bodyNone, nil},
		{"DELETE", "/v1.0/admin/passcodePauses/" + f.shareID + "/" + ext, asBearer, bodyNone, nil},
		{"GET", "/v1.0/identity/identityProviders", asBearer, bodyNone, nil},
		{"POST", "/v1.0/identity/identityProviders", asBearer, bodyJSON, map[string]any{"@odata.type": "#microsoft.graph.openIdConnectIdentityProvider",
			"displayName": "Contoso", "issuer": "https://login.contoso.example/", "clientId": "gatehouse", "clientSecret": "contoso-secret",
			"domains": []string{"contoso.example"}, "scope": "openid email"}},
		{"GET", "/v1.0/identity/identityProviders/" + f.idp, asBearer, bodyNone, nil},
		{"PATCH", "/v1.0/identity/identityProviders/" + f.idp, asBearer, bodyJSON, map[string]any{"displayName": "Fabrikam Ltd",
			"issuer": "https://login.fabrikam.example/", "clientSecret": "rotated-secret", "domains": []string{"fabrikam.example", "fabrikam.test"}}},
		{"POST", "/v1.0/invitations", asBearer, bodyJSON, map[string]any{"invitedUserEmailAddress": "invitee@partner.test", "invitedUserDisplayName": "Invitee",
			"inviteRedirectUrl": "/", "sendInvitationMessage": true, "invitedUserMessageInfo": map[string]any{"customizedMessageBody": "hi"}}},
		{"POST", it + f.file + "/invite", asBearer, bodyJSON, map[string]any{"recipients": []any{map[string]any{"objectId": f.group}}, "roles": []string{"read"},
			"requireSignIn": true, "sendInvitation": false}},
		{"POST", it + f.folder + "/permissions/" + f.groupPerm + "/revokeGrants", asBearer, bodyJSON, map[string]any{"grantees": []any{map[string]any{"objectId": f.group}}}},
		{"POST", "/v1.0/groups", asBearer, bodyJSON, map[string]any{"displayName": "New team", "description": "d", "mailNickname": "newteam", "securityEnabled": true}},
		{"GET", "/v1.0/groups", asBearer, bodyNone, nil},
		{"GET", "/v1.0/groups/" + f.group, asBearer, bodyNone, nil},
		{"PATCH", "/v1.0/groups/" + f.group, asBearer, bodyJSON, map[string]any{"displayName": "Malformed team", "description": "still", "mailNickname": "malformedteam", "securityEnabled": true}},
		{"GET", "/v1.0/groups/" + f.group + "/members", asBearer, bodyNone, nil},
		{"GET", "/v1.0/groups/" + f.group + "/owners", asBearer, bodyNone, nil},
		{"POST", "/v1.0/groups/" + f.group + "/members/$ref", asBearer, bodyJSON, map[string]any{"@odata.id": f.s.URL + "/v1.0/directoryObjects/" + f.throwUser}},
		{"POST", "/v1.0/groups/" + f.group + "/owners/$ref", asBearer, bodyJSON, map[string]any{"@odata.id": f.s.URL + "/v1.0/directoryObjects/" + f.throwUser}},
		{"POST", "/v1.0/sites", asBearer, bodyJSON, map[string]any{"displayName": "New site", "description": "d"}},
		{"GET", "/v1.0/sites", asBearer, bodyNone, nil},
		{"GET", "/v1.0/sites/" + f.site, asBearer, bodyNone, nil},
		{"GET", "/v1.0/sites/" + f.site + "/drive", asBearer, bodyNone, nil},
		{"POST", "/v1.0/sites/" + f.site + "/share", asBearer, bodyJSON, map[string]any{"recipients": recipients, "role": "read", "message": "hi"}},
		{"POST", "/v1.0/nothing/here", asBearer, bodyNone, nil},

		{"GET", "/", asMember, bodyNone, nil},
		{"GET", "/login", asAnyone, bodyNone, nil},
		{"POST", "/login", asAnyone, bodyForm, map[string]any{"email": "ada@example.com", "password": "wrong password", "next": "/files"}},
		{"GET", "/files", asMember, bodyNone, nil},
		{"GET", "/files/" + f.folder, asMember, bodyNone, nil},
		{"POST", "/files/" + f.folder + "/folder", asMember, bodyForm, map[string]any{"name": "Form folder"}},
		{"POST", "/files/" + f.folder + "/upload", asMember, bodyMultipart, nil},
		{"POST", "/items/" + f.file + "/rename", asMember, bodyForm, map[string]any{"name": "notes.txt"}},
		{"GET", "/items/" + f.file + "/download", asMember, bodyNone, nil},
		{"GET", "/items/" + f.file + "/share", asMember, bodyNone, nil},
		{"POST", "/items/" + f.file + "/share", asMember, bodyForm, map[string]any{"emails": "form@partner.test", "type": "view", "message": "hi", "expires": "2096-01-01"}},
		{"GET", "/items/" + f.folder + "/access", asMember, bodyNone, nil},
		{"POST", "/items/" + f.throwFile2 + "/access/" + f.throwPerm + "/remove", asMember, bodyForm, map[string]any{"email": "nobody@partner.test"}},
		{"POST", "/items/" + f.folder + "/access/" + f.groupPerm2 + "/groups/remove", asMember, bodyForm, map[string]any{"group": f.group}},
		{"POST", "/items/" + f.folder + "/access/" + f.perm + "/update", asMember, bodyForm, map[string]any{"type": "edit", "expires": "2095-01-01"}},
		{"POST", "/items/" + f.throwFile2 + "/access/" + f.throwPerm + "/notify", asMember, bodyForm, map[string]any{"notify": "off"}},
		{"POST", "/items/" + f.throwFile2 + "/access/" + f.throwPerm + "/resend", asMember, bodyForm, map[string]any{"email": "other@partner.test"}},
		{"POST", "/items/" + f.throwFile2 + "/access/" + f.throwPerm + "/enable", asMember, bodyForm, nil},
		{"GET", "/items/" + f.file + "/versions", asMember, bodyNone, nil},
		{"GET", "/items/" + f.file + "/versions/1/download", asMember, bodyNone, nil},
		{"POST", "/items/" + f.file + "/versions/1/restore", asMember, bodyForm, nil},
		{"GET", "/items/" + f.file + "/view", asMember, bodyNone, nil},
		{"GET", "/items/" + f.file + "/preview", asMember, bodyNone, nil},
		{"GET", "/items/" + f.folder + "/archive", asMember, bodyNone, nil},
		{"GET", "/shared/byme", asMember, bodyNone, nil},
		{"GET", "/shared", asMember, bodyNone, nil},
		{"GET", "/recycle", asMember, bodyNone, nil},
		{"POST", "/recycle/" + f.bin[1] + "/restore", asMember, bodyForm, nil},

		{"GET", "/sites", asMember, bodyNone, nil},
		{"POST", "/sites", asMember, bodyForm, map[string]any{"name": "Form site", "description": "d"}},
		{"GET", "/sites/" + f.site, asMember, bodyNone, nil},
		{"POST", "/sites/" + f.site + "/share", asMember, bodyForm, map[string]any{"email": "form@partner.test", "role": "read", "message": "hi"}},
		{"POST", "/sites/" + f.site + "/remove", asMember, bodyForm, map[string]any{"group": f.siteMembers, "user": f.throwUser}},
		{"GET", "/sites/" + f.site + "/files/" + f.siteRoot, asMember, bodyNone, nil},
		{"GET", "/sites/" + f.site + "/files/" + f.siteFolder, asMember, bodyNone, nil},
		{"POST", "/sites/" + f.site + "/files/" + f.siteFolder + "/folder", asMember, bodyForm, map[string]any{"name": "Form folder"}},
		{"POST", "/sites/" + f.site + "/files/" + f.siteFolder + "/upload", asMember, bodyMultipart, nil},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/rename", asMember, bodyForm, map[string]any{"name": "plan.txt"}},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFile + "/download", asMember, bodyNone, nil},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFile + "/share", asMember, bodyNone, nil},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/share", asMember, bodyForm, map[string]any{"emails": "form@partner.test", "type": "view", "message": "hi", "group": f.group}},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFile + "/access", asMember, bodyNone, nil},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/access/" + f.sitePerm + "/remove", asMember, bodyForm, map[string]any{"email": "sitefriend@partner.test"}},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/access/" + f.sitePerm + "/groups/remove", asMember, bodyForm, map[string]any{"group": f.group}},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/access/" + f.sitePerm + "/update", asMember, bodyForm, map[string]any{"type": "view", "expires": "2095-01-01"}},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/access/" + f.sitePerm + "/notify", asMember, bodyForm, map[string]any{"notify": "on"}},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/access/" + f.sitePerm + "/resend", asMember, bodyForm, map[string]any{"email": "sitefriend@partner.test"}},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/access/" + f.sitePerm + "/enable", asMember, bodyForm, nil},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFile + "/versions", asMember, bodyNone, nil},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFile + "/versions/1/download", asMember, bodyNone, nil},
		{"POST", "/sites/" + f.site + "/items/" + f.siteFile + "/versions/1/restore", asMember, bodyForm, nil},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFile + "/view", asMember, bodyNone, nil},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFile + "/preview", asMember, bodyNone, nil},
		{"GET", "/sites/" + f.site + "/items/" + f.siteFolder + "/archive", asMember, bodyNone, nil},
		{"GET", "/sites/" + f.site + "/recycle", asMember, bodyNone, nil},
		{"POST", "/sites/" + f.site + "/recycle/" + f.siteBin[0] + "/restore", asMember, bodyForm, nil},

		{"GET", "/s/" + tok, asRecipient, bodyNone, nil},
		{"POST", "/s/" + tok + "/passcode", asAnyone, bodyInput, map[string]any{"email": "stranger@partner.test"}},
		{"GET", "/s/" + tok + "/passcode", asAnyone, bodyNone, nil},
		{"GET", "/s/" + tok + "/verify", asAnyone, bodyNone, nil},
		{"GET", "/no/such/page", asMember, bodyNone, nil},
		{"POST", "/s/" + tok + "/verify", asAnyone, bodyInput, map[string]any{"email": "stranger@partner.test", "code": "12345678"}},
		{"GET", "/s/" + tok + "/content", asRecipient, bodyNone, nil},
		{"GET", "/s/" + tok + "/items/" + f.file, asRecipient, bodyNone, nil},
		{"GET", "/s/" + tok + "/items/" + f.folder + "/children", asRecipient, bodyNone, nil},
		{"GET", "/s/" + tok + "/items/" + f.file + "/content", asRecipient, bodyNone, nil},
		{"POST", "/s/" + tok + "/upload?parent=" + f.folder, asRecipient, bodyMultipart, nil},
		{"GET", "/s/" + tok + "/items/" + f.file + "/preview", asRecipient, bodyNone, nil},
		{"GET", "/s/" + tok + "/items/" + f.folder + "/archive", asRecipient, bodyNone, nil},

		{"GET", "/admin/users", asMember, bodyNone, nil},
		{"POST", "/admin/users", asMember, bodyForm, map[string]any{"email": "formuser@example.com", "name": "Form User", "password": "correct horse battery"}},
		{"POST", "/admin/users/" + f.throwUser + "/disable", asMember, bodyForm, nil},
		{"POST", "/admin/users/" + f.throwUser + "/enable", asMember, bodyForm, nil},
		{"GET", "/admin/audit", asMember, bodyNone, nil},
		{"GET", "/admin/outbox", asMember, bodyNone, nil},
		{"POST", "/admin/outbox/" + f.outboxID + "/retry", asMember, bodyForm, map[string]any{"state": "failed"}},
		{"GET", "/admin/pauses", asMember, bodyNone, nil},
		{"POST", "/admin/pauses/clear", asMember, bodyForm, map[string]any{"shareId": f.shareID, "email": ext}},
		{"GET", "/admin/groups", asMember, bodyNone, nil},
		{"POST", "/admin/groups", asMember, bodyForm, map[string]any{"name": "Form team", "description": "d", "mailNickname": "formteam"}},
		{"GET", "/admin/groups/" + f.group, asMember, bodyNone, nil},
		{"POST", "/admin/groups/" + f.group + "/members", asMember, bodyForm, map[string]any{"ref": "throw@example.com", "role": "member"}},
		{"GET", "/static/app.js", asAnyone, bodyNone, nil},
		{"GET", "/admin/guests", asMember, bodyNone, nil},
		{"POST", "/admin/guests/" + f.guest + "/rename", asMember, bodyForm, map[string]any{"displayName": "Renamed guest"}},
		{"POST", "/admin/guests/" + f.guest + "/disable", asMember, bodyForm, nil},
		{"POST", "/admin/guests/" + f.guest + "/enable", asMember, bodyForm, nil},
		{"POST", "/admin/guests/" + f.guest + "/resend", asMember, bodyForm, nil},
		{"POST", "/admin/guests/" + f.guest + "/extend", asMember, bodyForm, nil},
		{"GET", "/admin/identityProviders", asMember, bodyNone, nil},
		{"POST", "/admin/identityProviders", asMember, bodyForm, map[string]any{"displayName": "Contoso", "issuer": "https://login.contoso.example/",
			"clientId": "gatehouse", "clientSecret": "contoso-secret", "domains": "contoso.example", "scope": "openid email"}},
		{"POST", "/admin/identityProviders/" + f.idp2, asMember, bodyForm, map[string]any{"displayName": "Northwind Ltd", "domains": "northwind.example"}},
		{"GET", "/auth/oidc/callback?state=nosuchstate&code=nosuchcode", asAnyone, bodyNone, nil},
		{"GET", "/invite/" + f.invite, asAnyone, bodyNone, nil},
		{"POST", "/invite/" + f.invite + "/passcode", asAnyone, bodyInput, map[string]any{}},
		{"POST", "/invite/" + f.invite + "/verify", asAnyone, bodyInput, map[string]any{"code": "12345678"}},
		{"GET", "/invite/" + f.invite + "/passcode", asAnyone, bodyNone, nil},
		{"GET", "/invite/" + f.invite + "/verify", asAnyone, bodyNone, nil},

		// These end what they name; they come last.
		{"POST", "/admin/groups/" + f.throwGroup + "/remove", asMember, bodyForm, map[string]any{"user": f.throwUser, "role": "member"}},
		{"DELETE", "/v1.0/groups/" + f.group + "/members/" + f.throwUser + "/$ref", asBearer, bodyNone, nil},
		{"DELETE", "/v1.0/groups/" + f.group + "/owners/" + f.throwUser + "/$ref", asBearer, bodyNone, nil},
		{"POST", "/admin/groups/" + f.throwGroup + "/delete", asMember, bodyForm, nil},
		{"DELETE", "/v1.0/groups/" + f.throwGroup2, asBearer, bodyNone, nil},
		{"POST", "/sites/" + f.site + "/items/" + f.siteThrowFile + "/delete", asMember, bodyForm, nil},
		{"POST", "/sites/" + f.site + "/items/" + f.siteThrowFile2 + "/access/" + f.siteThrowPerm + "/delete", asMember, bodyForm, nil},
		{"POST", "/sites/" + f.throwSite + "/delete", asMember, bodyForm, nil},
		{"DELETE", "/v1.0/sites/" + f.throwSite2, asBearer, bodyNone, nil},
		{"POST", "/items/" + f.throwFile + "/delete", asMember, bodyForm, nil},
		{"POST", "/items/" + f.throwFile2 + "/access/" + f.throwPerm + "/delete", asMember, bodyForm, nil},
		{"DELETE", it + f.throwFile2 + "/permissions/" + f.throwPerm, asBearer, bodyNone, nil},
		{"DELETE", it + f.throwFile2, asBearer, bodyNone, nil},
		{"DELETE", "/v1.0/drives/" + f.d + "/recycleBin/items/" + f.bin[2], asBearer, bodyNone, nil},
		{"POST", "/recycle/" + f.bin[3] + "/delete", asMember, bodyForm, nil},
		{"POST", "/sites/" + f.site + "/recycle/" + f.siteBin[1] + "/delete", asMember, bodyForm, nil},
		{"POST", "/sites/" + f.site + "/recycle/empty", asMember, bodyForm, nil},
		{"POST", "/recycle/empty", asMember, bodyForm, nil},
		{"POST", "/v1.0/drives/" + f.d + "/recycleBin/empty", asBearer, bodyNone, nil},
		{"DELETE", "/v1.0/users/" + f.throwUser, asBearer, bodyNone, nil},
		{"DELETE", "/v1.0/identity/identityProviders/" + f.idp, asBearer, bodyNone, nil},
		{"POST", "/admin/identityProviders/" + f.idp2 + "/delete", asMember, bodyForm, nil},
		{"POST", "/admin/guests/" + f.guest + "/delete", asMember, bodyForm, nil},
		{"POST", "/s/" + tok + "/signout", asRecipient, bodyForm, nil},
		{"POST", "/logout", asMember, bodyForm, nil},
	}
}

// badPaths returns path with each of the fixture's values in it replaced by
// a NUL, bytes that are not UTF-8, an override, a long value and, when
// others (reads only: elsewhere the other object could change or go), ids
// of other kinds of object (a site's file in a personal drive's place, a
// group's id for a site's, ...), and with such a query string.
func (f *fixture) badPaths(path string, others bool) []string {
	tok := strings.TrimPrefix(f.link, f.s.URL+"/s/")
	values := []string{f.d, f.root, f.folder, f.file, f.perm, f.shareID, tok, f.throwFile, f.throwFile2,
		f.throwPerm, f.throwUser, f.outboxID, f.idp, ext, "app.js",
		f.group, f.throwGroup, f.throwGroup2, f.groupPerm, f.groupPerm2, f.site, f.throwSite, f.throwSite2, f.siteDrive, f.siteRoot, f.siteFolder,
		f.siteFile, f.siteMembers, f.sitePerm, f.siteThrowFile, f.siteThrowFile2, f.siteThrowPerm}
	var out []string
	for _, v := range values {
		if !strings.Contains(path, v) {
			continue
		}
		bads := []string{"%00", "%FF%FE", "%E2%80%AE", strings.Repeat("v", 3000)}
		if others {
			bads = append(bads, f.file, f.siteFile, f.folder, f.siteFolder, f.group, f.siteMembers, f.site, f.sitePerm, f.perm)
		}
		for _, bad := range bads {
			if bad != v {
				out = append(out, strings.ReplaceAll(path, v, bad))
			}
		}
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for _, q := range []string{"$top=%FF&$skiptoken=%00&state=%FF&after=%00", "operation=%00&userId=%FF&objectId=%FF&start=%00&next=%FF",
		"parent=%00&uniqueSharingId=%FF", "$skiptoken=%FF%FE&after=%FF%FE&$top=%00", "$top=-1&$skiptoken=" + strings.Repeat("A", 3000) + "&after=!!&start=yesterday"} {
		out = append(out, path+sep+q)
	}
	return out
}

// send makes one request as rt.as, with the CSRF header when csrfHeader,
// and any other headers given as name, value pairs.
func (f *fixture) send(t *testing.T, rt route, m malformed, csrfHeader bool, hdrs ...string) (int, http.Header, []byte) {
	req, err := http.NewRequest(rt.method, f.s.URL+rt.path, bytes.NewReader(m.body))
	if err != nil {
		t.Fatal(err)
	}
	if m.contentType != "" {
		req.Header.Set("Content-Type", m.contentType)
	}
	cookies := []string{"gh_csrf=" + csrfToken}
	switch rt.as {
	case asBearer:
		req.Header.Set("Authorization", "Bearer "+f.token)
	case asMember:
		cookies = append(cookies, "gh_session="+f.session)
	case asRecipient:
		cookies = append(cookies, "gh_rs="+f.recipient)
	}
	req.Header.Set("Cookie", strings.Join(cookies, "; "))
	if csrfHeader {
		req.Header.Set("X-CSRF-Token", csrfToken)
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header.Set(hdrs[i], hdrs[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s (%s): %v", rt.method, rt.path, m.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestMalformedRequests sends every route malformed, mistyped, truncated,
// wrongly typed and oversized bodies, and asserts that none gets a 5xx,
// and that API errors are Graph error objects.
func TestMalformedRequests(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			// A body that is not multipart, with a valid CSRF header, is a
			// 400 that says what was expected, on both upload routes.
			tok := strings.TrimPrefix(f.link, f.s.URL+"/s/")
			for _, rt := range []route{
				{"POST", "/files/" + f.folder + "/upload", asMember, bodyMultipart, nil},
				{"POST", "/s/" + tok + "/upload", asRecipient, bodyMultipart, nil},
			} {
				status, _, body := f.send(t, rt, malformed{"JSON", "application/json", []byte(`{"file":"x"}`)}, true, "Accept", "application/json")
				if status != 400 || !strings.Contains(string(body), "multipart/form-data") {
					t.Errorf("%s %s with JSON: %d %s; want 400 asking for multipart/form-data", rt.method, rt.path, status, body)
				}
			}

			// Every route the server registers is sent here.
			rr := recordRoutes(f.s)
			covered := map[string]bool{}
			for _, rt := range f.routes() {
				if req, err := http.NewRequest(rt.method, f.s.URL+rt.path, nil); err == nil {
					_, pattern := rr.mux.Handler(req)
					covered[pattern] = true
				}
			}
			for _, p := range rr.patterns {
				if !covered[p] {
					t.Errorf("routes() sends nothing to %q; add it", p)
				}
			}

			for _, rt := range f.routes() {
				type attempt struct {
					rt   route
					m    malformed
					hdrs []string
				}
				var tries []attempt
				for _, m := range rt.bodies(f.s.Config.MaxUpload) {
					tries = append(tries, attempt{rt, m, nil})
				}
				for _, p := range f.badPaths(rt.path, rt.method == "GET") {
					bad := rt
					bad.path = p
					tries = append(tries, attempt{bad, malformed{"a bad address", "", nil}, nil})
				}
				for _, ua := range []string{"\xff\xfe bad UTF-8 agent", strings.Repeat("agent ", 5000), "e\u202Egnp.exe\tagent"} {
					tries = append(tries, attempt{rt, malformed{"an odd User-Agent", "", nil}, []string{"User-Agent", ua}})
				}
				for _, try := range tries {
					rt, m := try.rt, try.m
					for _, hdr := range []bool{true, false} {
						status, h, body := f.send(t, rt, m, hdr, try.hdrs...)
						where := fmt.Sprintf("%s %.200s with %s (CSRF header %v)", rt.method, rt.path, m.name, hdr)
						if status >= 500 {
							t.Errorf("%s: status %d: %.300s", where, status, body)
							continue
						}
						if strings.HasPrefix(rt.path, "/v1.0/") && status >= 400 {
							var e struct {
								Error struct{ Code, Message string }
							}
							if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil ||
								e.Error.Code == "" || e.Error.Message == "" {
								t.Errorf("%s: status %d without a Graph error: %.300s", where, status, body)
							}
						}
					}
				}
			}
			// The fixture's administrator can still work: nothing above broke the store.
			a := &apiClient{t: t, base: f.s.URL, token: f.token}
			a.json("GET", "/v1.0/me/drive/root/children", nil, 200)
			if _, brk, err := f.s.Store.VerifyAudit(context.Background()); err != nil || brk != nil {
				t.Errorf("audit verify after the malformed requests: %v %+v", err, brk)
			}
		})
	}
}
