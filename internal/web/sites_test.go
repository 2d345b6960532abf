package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
)

// groupLinkRe finds a group's page in the groups list.
var groupLinkRe = regexp.MustCompile(`href="/admin/groups/([^"/]+)">([^<]*)</a>`)

func TestAdminGroupsPage(t *testing.T) {
	e := newShareEnv(t)
	ctx := context.Background()
	ada := e.addUser("ada@example.com", "Ada Admin", true)
	const gus = "gus@partner.test"
	if _, err := e.store.CreateInvitation(ctx, gatehouse.UserActor(ada, "127.0.0.1", "test"),
		store.InviteRequest{Email: gus, DisplayName: "Gus Partner"}); err != nil {
		t.Fatal(err)
	}
	c := e.signIn("ada@example.com")
	if resp, body := c.get("/admin/groups"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/admin/groups" aria-current="page"`) {
		t.Fatalf("groups page: got %d, want 200 with its tab current\n%s", resp.StatusCode, body)
	}
	resp, body := c.postForm("/admin/groups", url.Values{"name": {"Project Falcon"}, "description": {"The falcon team"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/groups/") {
		t.Fatalf("create: got %d to %q, want 303 to the group\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	groupPath := resp.Header.Get("Location")
	_, body = c.get("/admin/groups")
	m := groupLinkRe.FindStringSubmatch(body)
	if m == nil || "/admin/groups/"+m[1] != groupPath || m[2] != "Project Falcon" {
		t.Fatalf("the list does not link the new group at %s: %v\n%s", groupPath, m, body)
	}
	id := m[1]
	g, err := e.store.Group(ctx, id)
	if err != nil || g.MailNickname != "ProjectFalcon" || g.Description != "The falcon team" {
		t.Fatalf("group: %+v %v", g, err)
	}
	// An empty name is refused with the form kept.
	if resp, body := c.postForm("/admin/groups", url.Values{"name": {""}, "description": {"kept"}}); resp.StatusCode != http.StatusBadRequest ||
		pageError(body) == "" || !strings.Contains(body, `value="kept"`) {
		t.Errorf("create without a name: got %d %q, want 400 with the message and the form kept", resp.StatusCode, pageError(body))
	}

	add := func(ref, role string) (*http.Response, string) {
		t.Helper()
		return c.postForm(groupPath+"/members", url.Values{"ref": {ref}, "role": {role}})
	}
	if resp, body := add("olive@example.com", "member"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add a member: got %d\n%s", resp.StatusCode, body)
	}
	if resp, body := add(gus, "member"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add a guest: got %d\n%s", resp.StatusCode, body)
	}
	resp, body = add("stranger@elsewhere.test", "member")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(pageError(body), "invite them as a guest first") ||
		!strings.Contains(body, `value="stranger@elsewhere.test"`) {
		t.Errorf("add an address outside the directory: got %d %q, want 400 saying to invite them first, the form kept", resp.StatusCode, pageError(body))
	}
	if resp, body := add(id, "member"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(pageError(body), "cannot be a member of another group") {
		t.Errorf("add a group: got %d %q, want 400", resp.StatusCode, pageError(body))
	}
	_, body = c.get(groupPath)
	members, owners, _ := strings.Cut(body, `id="owners-heading"`)
	if !strings.Contains(members, "Gus Partner") || !strings.Contains(members, `<span class="badge guest">Guest</span>`) ||
		!strings.Contains(members, "Olive Owner") || !strings.Contains(owners, "Ada Admin") || strings.Contains(owners, "Olive Owner") {
		t.Fatalf("group page: want Olive and Gus (Guest) as members and Ada as owner\n%s", body)
	}
	if ms, _ := e.store.GroupMembers(ctx, id, gatehouse.GroupMember, "", 10); len(ms) != 2 {
		t.Errorf("members in the store: %d, want 2", len(ms))
	}

	// A member of the organization may not use these pages.
	o := e.signIn("olive@example.com")
	for _, p := range []string{"/admin/groups", groupPath} {
		if resp, body := o.get(p); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "Gus Partner") {
			t.Errorf("member GET %s: got %d, want 403 without the group's people", p, resp.StatusCode)
		}
	}
	if resp, _ := o.postForm(groupPath+"/remove", url.Values{"user": {ada.ID}, "role": {"owner"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("member removes the owner: got %d, want 403", resp.StatusCode)
	}

	if resp, body := c.postForm(groupPath+"/remove", url.Values{"user": {e.owner.ID}, "role": {"member"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: got %d\n%s", resp.StatusCode, body)
	}
	if resp, body := c.postForm(groupPath+"/remove", url.Values{"user": {e.owner.ID}, "role": {"member"}}); resp.StatusCode != http.StatusNotFound ||
		!strings.Contains(pageError(body), "is not a member") {
		t.Errorf("remove again: got %d %q, want 404 with the message", resp.StatusCode, pageError(body))
	}
	if ms, _ := e.store.GroupMembers(ctx, id, gatehouse.GroupMember, "", 10); len(ms) != 1 || ms[0].User.Email != gus {
		t.Errorf("members after removing Olive: %+v, want Gus only", ms)
	}
	if resp, body := c.postForm(groupPath+"/delete", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/groups" {
		t.Fatalf("delete: got %d\n%s", resp.StatusCode, body)
	}
	if _, err := e.store.Group(ctx, id); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("group after delete: %v, want not found", err)
	}
	if resp, _ := c.get(groupPath); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted group's page: got %d, want 404", resp.StatusCode)
	}
	ops := e.auditOps("ada@example.com")
	for op, n := range map[string]int{"GroupAdded": 1, "AddedToGroup": 3, "RemovedFromGroup": 1, "GroupRemoved": 1} {
		if ops[op] != n {
			t.Errorf("%s records: %d, want %d (%v)", op, ops[op], n, ops)
		}
	}
}

// siteRoot returns a site's drive's root folder id.
func (e *testEnv) siteRoot(siteID string) (*gatehouse.Site, string) {
	e.t.Helper()
	st, err := e.store.Site(context.Background(), siteID)
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := e.store.Drive(context.Background(), st.DriveID)
	if err != nil {
		e.t.Fatal(err)
	}
	return st, d.RootID
}

func TestSitePages(t *testing.T) {
	e := newShareEnv(t)
	ctx := context.Background()
	for _, u := range []struct{ email, name string }{{"vera@example.com", "Vera Visitor"}, {"max@example.com", "Max Member"}, {"otto@example.com", "Otto Outsider"}} {
		e.addUser(u.email, u.name, false)
	}
	owner := e.signIn("olive@example.com")
	resp, body := owner.postForm("/sites", url.Values{"name": {"Falcon"}, "description": {"Team falcon's files"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/sites/") {
		t.Fatalf("create site: got %d to %q\n%s", resp.StatusCode, loc, body)
	}
	st, root := e.siteRoot(strings.TrimPrefix(loc, "/sites/"))
	if resp, body := owner.postForm("/sites", url.Values{"name": {""}}); resp.StatusCode != http.StatusBadRequest || pageError(body) == "" {
		t.Errorf("create without a name: got %d %q, want 400 with a message", resp.StatusCode, pageError(body))
	}
	csrf := owner.csrf()
	if resp, body := owner.upload(loc+"/files/"+root+"/upload", &csrf, upFile{"plan.txt", "the plan"}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != loc {
		t.Fatalf("upload to the site: got %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, body := owner.postForm(loc+"/files/"+root+"/folder", url.Values{"name": {"Drafts"}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != loc {
		t.Fatalf("new folder in the site: got %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	items, _, err := e.store.Children(ctx, st.DriveID, root, nil, 10)
	if err != nil || len(items) != 2 {
		t.Fatalf("site items: %v %v, want the file and the folder", items, err)
	}
	var file, folder *gatehouse.Item
	for _, it := range items {
		if it.IsFolder {
			folder = it
		} else {
			file = it
		}
	}
	// In this order: the page says what the last share did.
	for _, x := range []struct{ role, email string }{{"read", "vera@example.com"}, {"write", "max@example.com"}} {
		role, email := x.role, x.email
		resp, body := owner.postForm(loc+"/share", url.Values{"email": {email}, "role": {role}, "message": {"Welcome"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("share the site with %s: got %d\n%s", email, resp.StatusCode, body)
		}
	}
	_, body = owner.get(loc)
	if !strings.Contains(body, "Added max@example.com as Edit.") {
		t.Errorf("the site page does not say who was added\n%s", body)
	}
	resp, body = owner.postForm(loc+"/share", url.Values{"email": {"gus@partner.test"}, "role": {"read"}, "message": {"Hello Gus"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("share the site with an outside address: got %d\n%s", resp.StatusCode, body)
	}
	if _, body = owner.get(loc); !strings.Contains(body, "Invited gus@partner.test as Read") {
		t.Errorf("the site page does not say the address was invited\n%s", body)
	}
	// Until gus accepts, the Members panel lists him as invited, under Visitors.
	if _, body = owner.get(loc); !strings.Contains(body, "Invited, not yet accepted: gus@partner.test") {
		t.Errorf("the Members panel does not list the pending invitation\n%s", body)
	}
	if n := e.outboxCount("gus@partner.test", "invite"); n != 1 {
		t.Errorf("invitation mails to gus: %d, want 1", n)
	}
	if resp, body := owner.postForm(loc+"/share", url.Values{"email": {"nobody"}, "role": {"read"}, "message": {"kept message"}}); resp.StatusCode != http.StatusBadRequest ||
		pageError(body) == "" || !strings.Contains(body, "kept message") {
		t.Errorf("share with a bad address: got %d %q, want 400 with the form kept", resp.StatusCode, pageError(body))
	}

	// The owner's page: the file, the forms, the three groups.
	members := func(body string) string { _, m, _ := strings.Cut(body, `id="members-heading"`); return m }
	_, body = owner.get(loc)
	for _, want := range []string{"plan.txt", `id="upload-form"`, `id="share-site-form"`, `id="delete-site"`, "Olive Owner", "Vera Visitor", "Max Member",
		`href="` + loc + `/items/` + file.ID + `/share"`, `href="` + loc + `/files/` + folder.ID + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("owner's site page lacks %q", want)
		}
	}
	// Olive, the only owner, has no remove button of her own.
	if n := strings.Count(members(body), `action="`+loc+`/remove"`); n != 2 {
		t.Errorf("owner's page: %d remove buttons, want 2 (Vera, Max)", n)
	}
	if resp, body := owner.get(loc + "/files/" + folder.ID); resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="`+loc+`">Falcon</a>`) {
		t.Errorf("site folder: got %d, want 200 with the site as its first crumb\n%s", resp.StatusCode, body)
	}

	// A member edits but does not manage; a visitor reads.
	mx := e.signIn("max@example.com")
	_, body = mx.get(loc)
	if !strings.Contains(body, "plan.txt") || !strings.Contains(body, `id="upload-form"`) || strings.Contains(body, `id="share-site-form"`) ||
		strings.Contains(members(body), `action="`+loc+`/remove"`) || strings.Contains(body, `id="delete-site"`) {
		t.Errorf("member's site page: want the file and the upload form, no share, remove or delete\n%s", body)
	}
	vera := e.signIn("vera@example.com")
	_, body = vera.get(loc)
	if !strings.Contains(body, "plan.txt") || strings.Contains(body, `id="upload-form"`) || strings.Contains(body, `/rename"`) ||
		strings.Contains(body, `id="share-site-form"`) || !strings.Contains(body, `id="read-only"`) {
		t.Errorf("visitor's site page: want the file, read only\n%s", body)
	}
	if resp, body := vera.get(loc + "/items/" + file.ID + "/download"); resp.StatusCode != http.StatusOK || body != "the plan" {
		t.Errorf("visitor download: got %d %q", resp.StatusCode, body)
	}
	vcsrf := vera.csrf()
	if resp, _ := vera.upload(loc+"/files/"+root+"/upload", &vcsrf, upFile{"vera.txt", "x"}); resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusOK {
		t.Errorf("visitor upload: got %d, want a refusal", resp.StatusCode)
	}
	if resp, _ := vera.postForm(loc+"/remove", url.Values{"group": {st.MembersGroupID}, "user": {e.owner.ID}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("visitor removes someone: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := vera.postForm(loc+"/delete", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("visitor deletes the site: got %d, want 403", resp.StatusCode)
	}
	if _, body := vera.get("/sites"); !strings.Contains(body, `href="`+loc+`"`) {
		t.Errorf("visitor's sites list lacks the site")
	}

	// An outsider sees nothing of it.
	otto := e.signIn("otto@example.com")
	for _, p := range []string{loc, loc + "/files/" + folder.ID, loc + "/items/" + file.ID + "/download", loc + "/items/" + file.ID + "/share"} {
		if resp, body := otto.get(p); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "plan.txt") {
			t.Errorf("outsider GET %s: got %d, want 404 without the file", p, resp.StatusCode)
		}
	}
	if _, body := otto.get("/sites"); strings.Contains(body, "Falcon") {
		t.Errorf("outsider's sites list shows the site")
	}
	// A site item's id is not found on the personal pages.
	if resp, _ := owner.get("/files/" + folder.ID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("site folder at /files: got %d, want 404", resp.StatusCode)
	}

	// The owner removes the visitor: her next page is the 404 page.
	veraU, _ := e.store.UserByEmail(ctx, "vera@example.com")
	if resp, body := owner.postForm(loc+"/remove", url.Values{"group": {st.VisitorsGroupID}, "user": {veraU.ID}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove the visitor: got %d\n%s", resp.StatusCode, body)
	}
	if resp, body := vera.get(loc); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "plan.txt") {
		t.Errorf("removed visitor: got %d, want 404 without the file", resp.StatusCode)
	}
	if resp, body := owner.postForm(loc+"/delete", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sites" {
		t.Fatalf("delete the site: got %d\n%s", resp.StatusCode, body)
	}
	for _, p := range []string{loc, loc + "/items/" + file.ID + "/download"} {
		if resp, _ := owner.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("after deletion GET %s: got %d, want 404", p, resp.StatusCode)
		}
	}
	ops := e.auditOps("olive@example.com")
	for _, op := range []string{"SiteCollectionCreated", "FileUploaded", "AddedToGroup", "RemovedFromGroup", "SharingInvitationCreated", "SiteDeleted"} {
		if ops[op] == 0 {
			t.Errorf("no %s record by the owner (%v)", op, ops)
		}
	}
}

func TestShareDialogGroups(t *testing.T) {
	e := newShareEnv(t)
	ctx := context.Background()
	bob := e.addUser("bob@example.com", "Bob Builder", false)
	by := gatehouse.UserActor(e.owner, "127.0.0.1", "test")
	g, err := e.store.CreateGroup(ctx, by, store.NewGroup{DisplayName: "Builders", MailNickname: "builders"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AddGroupMember(ctx, by, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateInvitation(ctx, by, store.InviteRequest{Email: "gus@partner.test", DisplayName: "Gus Partner"}); err != nil {
		t.Fatal(err)
	}
	it := e.putFile(e.owner, "", "report.txt", "numbers")
	c := e.signIn("olive@example.com")
	_, body := c.get("/items/" + it.ID + "/share")
	if !strings.Contains(body, `<option value="`+g.ID+`">Builders</option>`) {
		t.Fatalf("the share dialog does not offer the group\n%s", body)
	}
	resp, body := c.postForm("/items/"+it.ID+"/share", url.Values{"emails": {"gus@partner.test"}, "group": {g.ID}, "type": {"view"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("share with the group: got %d\n%s", resp.StatusCode, body)
	}
	_, body = c.get(resp.Header.Get("Location"))
	if !strings.Contains(body, `Shared “report.txt” with 1 person and the group “Builders”`) || !strings.Contains(body, "Gus Partner") ||
		!strings.Contains(body, `<span class="badge guest">Guest</span>`) || !strings.Contains(body, "/groups/remove") {
		t.Fatalf("manage access: want the flash, the guest by name with the badge, the group with its remove form\n%s", body)
	}
	links, err := e.store.Links(ctx, e.drive(e.owner).ID, it.ID)
	if err != nil || len(links) != 1 || len(links[0].Groups) != 1 {
		t.Fatalf("links: %+v %v, want one with the group", links, err)
	}
	if resp, body := c.postForm("/items/"+it.ID+"/access/"+links[0].ID+"/groups/remove", url.Values{"group": {g.ID}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove the group: got %d\n%s", resp.StatusCode, body)
	}
	if l, _ := e.store.Link(ctx, e.drive(e.owner).ID, it.ID, links[0].ID); l == nil || len(l.Groups) != 0 {
		t.Errorf("after removal the link still has groups: %+v", l)
	}
	if resp, _ := c.postForm("/items/"+it.ID+"/access/"+links[0].ID+"/groups/remove", url.Values{"group": {g.ID}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("remove it again: got %d, want 404", resp.StatusCode)
	}
	if ops := e.auditOps("olive@example.com"); ops["AddedToSecureLink"] != 2 || ops["RemovedFromSecureLink"] != 1 {
		t.Errorf("records: %v, want 2 AddedToSecureLink (guest, group) and 1 RemovedFromSecureLink", ops)
	}
}

// TestSitePageForAdministrators: an administrator in none of a site's
// groups sees it listed and its page with the Members panel, not its files,
// and may delete it.
func TestSitePageForAdministrators(t *testing.T) {
	e := newShareEnv(t)
	ctx := context.Background()
	e.addUser("ada@example.com", "Ada Admin", true)
	st, err := e.store.CreateSite(ctx, gatehouse.UserActor(e.owner, "127.0.0.1", "test"), store.NewSite{DisplayName: "Heron"})
	if err != nil {
		t.Fatal(err)
	}
	_, root := e.siteRoot(st.ID)
	d, _ := e.store.Drive(ctx, st.DriveID)
	it, _, err := e.store.PutFile(ctx, gatehouse.SystemActor(), d.ID, root, "secret.txt", strings.NewReader("heron secrets"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c := e.signIn("ada@example.com")
	if _, body := c.get("/sites"); !strings.Contains(body, `href="/sites/`+st.ID+`"`) {
		t.Errorf("the administrator's sites list lacks the site")
	}
	resp, body := c.get("/sites/" + st.ID)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "secret.txt") || !strings.Contains(body, `id="outside"`) ||
		!strings.Contains(body, "Olive Owner") || !strings.Contains(body, `id="delete-site"`) || strings.Contains(body, `id="upload-form"`) {
		t.Fatalf("administrator's site page: got %d, want the Members panel and delete, no files or upload\n%s", resp.StatusCode, body)
	}
	for _, p := range []string{"/sites/" + st.ID + "/items/" + it.ID + "/download", "/sites/" + st.ID + "/files/" + root} {
		if resp, body := c.get(p); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "heron secrets") {
			t.Errorf("administrator GET %s: got %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, body := c.postForm("/sites/"+st.ID+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("administrator deletes the site: got %d\n%s", resp.StatusCode, body)
	}
	if _, err := e.store.Site(ctx, st.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("site after deletion: %v", err)
	}
}

// TestSiteItemSharing: a site's member shares one of its files from the
// site's pages; the dialog and Manage access stay under the site, and a
// visitor may not share.
func TestSiteItemSharing(t *testing.T) {
	e := newShareEnv(t)
	ctx := context.Background()
	by := gatehouse.UserActor(e.owner, "127.0.0.1", "test")
	e.addUser("max@example.com", "Max Member", false)
	e.addUser("vera@example.com", "Vera Visitor", false)
	st, err := e.store.CreateSite(ctx, by, store.NewSite{DisplayName: "Heron"})
	if err != nil {
		t.Fatal(err)
	}
	for email, role := range map[string]string{"max@example.com": "write", "vera@example.com": "read"} {
		if _, err := e.store.ShareSite(ctx, by, st.ID, store.SiteShare{Recipients: []store.SiteRecipient{{Email: email}}, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	_, root := e.siteRoot(st.ID)
	it, _, err := e.store.PutFile(ctx, gatehouse.SystemActor(), st.DriveID, root, "notes.txt", strings.NewReader("n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	base := "/sites/" + st.ID + "/items/" + it.ID
	mx := e.signIn("max@example.com")
	resp, body := mx.get(base + "/share")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+base+`/share"`) || !strings.Contains(body, `href="/sites/`+st.ID+`">Back to the folder`) {
		t.Fatalf("member's share dialog for a site file: got %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `id="manage-access"`) {
		t.Errorf("a site member, who cannot manage access, is offered Manage access")
	}
	// A member shares and goes back to the folder; managing access is for
	// the site's owners.
	resp, body = mx.postForm(base+"/share", url.Values{"emails": {"ext@partner.test"}, "type": {"view"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sites/"+st.ID {
		t.Fatalf("member shares a site file: got %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	links, err := e.store.Links(ctx, st.DriveID, it.ID)
	if err != nil || len(links) != 1 || len(links[0].Recipients) != 1 {
		t.Fatalf("links on the site file: %+v %v", links, err)
	}
	if resp, _ := mx.get(base + "/access"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("member's Manage access: got %d, want 403", resp.StatusCode)
	}
	owner := e.signIn("olive@example.com")
	if resp, body := owner.get(base + "/access"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+base+`/access/`+links[0].ID+`/remove"`) {
		t.Fatalf("owner's Manage access for a site file: got %d\n%s", resp.StatusCode, body)
	}
	if resp, body := owner.postForm(base+"/access/"+links[0].ID+"/remove", url.Values{"email": {"ext@partner.test"}}); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != base+"/access" {
		t.Fatalf("owner removes the recipient: got %d\n%s", resp.StatusCode, body)
	}
	vera := e.signIn("vera@example.com")
	if _, body := vera.get("/sites/" + st.ID); strings.Contains(body, `href="`+base+`/share"`) {
		t.Errorf("the visitor is offered Share")
	}
	if resp, _ := vera.postForm(base+"/share", url.Values{"emails": {"other@partner.test"}, "type": {"view"}}); resp.StatusCode == http.StatusSeeOther {
		t.Errorf("the visitor shared a site file")
	}
	if l, _ := e.store.Links(ctx, st.DriveID, it.ID); len(l) != 1 || len(l[0].Recipients) != 0 {
		t.Errorf("links after the visitor's try: %+v, want the one link with nobody on it", l)
	}
}
