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
