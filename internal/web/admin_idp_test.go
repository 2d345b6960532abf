package web

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
)

// TestIdentityProvidersPage: an administrator adds, edits and removes a
// partner; the secret never reaches a page, a blank secret on edit keeps it,
// an organization domain is refused, and members are kept out.
func TestIdentityProvidersPage(t *testing.T) {
	e := newShareEnv(t)
	e.addUser("ada@example.com", "Ada Admin", true)
	c := e.signIn("ada@example.com")
	const secret = "s3cret-never-shown-XYZ"
	add := url.Values{"displayName": {"Fabrikam"}, "issuer": {"https://login.fabrikam.example/"},
		"clientId": {"gatehouse"}, "clientSecret": {secret}, "domains": {"Fabrikam.example, fabrikam.test"}}
	resp, body := c.postForm("/admin/identityProviders", add)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: got %d, want 303\n%s", resp.StatusCode, body)
	}
	resp, body = c.get("/admin/identityProviders")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Fabrikam") || !strings.Contains(body, "fabrikam.example, fabrikam.test") {
		t.Fatalf("list: got %d, want Fabrikam with its domains\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, secret) {
		t.Error("the page shows the client secret")
	}
	if !strings.Contains(body, "http://gatehouse.test/auth/oidc/callback") {
		t.Error("the page does not name the redirect URI to register")
	}
	ps, err := e.store.IdentityProviders(context.Background())
	if err != nil || len(ps) != 1 {
		t.Fatalf("providers: %v %v", ps, err)
	}
	id := ps[0].ID

	// Edit the name with the secret left blank: the secret stays.
	resp, body = c.postForm("/admin/identityProviders/"+id, url.Values{"displayName": {"Fabrikam Ltd"}, "clientSecret": {""}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: got %d\n%s", resp.StatusCode, body)
	}
	if got, err := e.store.IdentityProviderSecret(context.Background(), id); err != nil || got != secret {
		t.Errorf("secret after an edit with it blank: got %q %v, want it kept", got, err)
	}
	if p, _ := e.store.IdentityProvider(context.Background(), id); p == nil || p.DisplayName != "Fabrikam Ltd" {
		t.Errorf("name after edit: got %+v, want Fabrikam Ltd", p)
	}

	// The organization's own domain is refused, with the form kept.
	bad := url.Values{"displayName": {"Ours"}, "issuer": {"https://login.ours.example/"}, "clientId": {"g"},
		"clientSecret": {"x-secret-value"}, "domains": {"example.com"}}
	resp, body = c.postForm("/admin/identityProviders", bad)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "example.com") || !strings.Contains(body, "https://login.ours.example/") {
		t.Errorf("organization domain: got %d, want 400 naming it with the form kept\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "x-secret-value") {
		t.Error("the refused form echoes the secret")
	}

	// Members see nothing and change nothing.
	m := e.signIn("olive@example.com")
	if resp, body := m.get("/admin/identityProviders"); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "Fabrikam") {
		t.Errorf("member GET: got %d, want 403 without the provider", resp.StatusCode)
	}
	if resp, _ := m.postForm("/admin/identityProviders/"+id+"/delete", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("member delete: got %d, want 403", resp.StatusCode)
	}

	resp, body = c.postForm("/admin/identityProviders/"+id+"/delete", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: got %d\n%s", resp.StatusCode, body)
	}
	if ps, _ := e.store.IdentityProviders(context.Background()); len(ps) != 0 {
		t.Errorf("providers after delete: %d, want 0", len(ps))
	}
	ops := e.auditOps("ada@example.com")
	for _, op := range []string{"IdentityProviderAdded", "IdentityProviderUpdated", "IdentityProviderDeleted"} {
		if ops[op] != 1 {
			t.Errorf("records %s: got %d, want 1 (%v)", op, ops[op], ops)
		}
	}
}

// TestSharedWithMePage: a member sees what was shared with their address,
// with a link that opens it; an expired link's item drops out.
func TestSharedWithMePage(t *testing.T) {
	e := newShareEnv(t)
	e.addUser("bob@example.com", "Bob", false)
	live := e.share(e.putFile(e.owner, "", "plan.txt", "p"), "read", "bob@example.com")
	old := e.putFile(e.owner, "", "old.txt", "o")
	if _, _, err := e.store.Share(context.Background(), gatehouse.UserActor(e.owner, "127.0.0.1", "test"), store.ShareRequest{DriveID: old.DriveID,
		ItemID: old.ID, Role: "read", Emails: []string{"bob@example.com"}, ExpiresAt: e.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	c := e.signIn("bob@example.com")
	resp, body := c.get("/shared")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "plan.txt") || !strings.Contains(body, "/s/"+live.Token) || !strings.Contains(body, "Olive Owner") {
		t.Fatalf("Shared with me: got %d, want plan.txt by Olive Owner with its link\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "old.txt") {
		t.Error("an expired link's item is listed")
	}
	if resp, _ := e.client().get("/shared"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("without a session: got %d, want 303 to sign in", resp.StatusCode)
	}
}

// TestGuestsPage: an administrator sees a guest's state and manages them:
// rename, disable and enable, resend the invitation (one account), remove.
func TestGuestsPage(t *testing.T) {
	e := newShareEnv(t)
	ada := e.addUser("ada@example.com", "Ada Admin", true)
	const gus = "gus@partner.test"
	if _, err := e.store.CreateInvitation(context.Background(), gatehouse.UserActor(ada, "127.0.0.1", "test"),
		store.InviteRequest{Email: gus, DisplayName: "Gus"}); err != nil {
		t.Fatal(err)
	}
	g, err := e.store.UserByEmail(context.Background(), gus)
	if err != nil {
		t.Fatal(err)
	}
	c := e.signIn("ada@example.com")
	resp, body := c.get("/admin/guests")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, gus) || !strings.Contains(body, "Invited") || strings.Contains(body, "olive@example.com") {
		t.Fatalf("guests page: got %d, want the invited guest and no member\n%s", resp.StatusCode, body)
	}
	post := func(action string, v url.Values) {
		t.Helper()
		if resp, body := c.postForm("/admin/guests/"+g.ID+"/"+action, v); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: got %d, want 303\n%s", action, resp.StatusCode, body)
		}
	}
	post("rename", url.Values{"displayName": {"Gus Partner"}})
	post("disable", nil)
	if u, _ := e.store.User(context.Background(), g.ID); u == nil || u.DisplayName != "Gus Partner" || !u.Disabled {
		t.Errorf("after rename and disable: %+v", u)
	}
	post("enable", nil)
	post("resend", nil)
	if n := e.outboxCount(gus, "invite"); n != 1 {
		t.Errorf("invitation mails after resend: %d, want 1", n)
	}
	if guests, _ := e.store.ListUsersOfType(context.Background(), "Guest", "", 10); len(guests) != 1 {
		t.Errorf("guests after resend: %d, want still 1", len(guests))
	}
	// A member is not managed here.
	if resp, _ := c.postForm("/admin/guests/"+e.owner.ID+"/disable", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("disable a member on the guests page: got %d, want 400", resp.StatusCode)
	}
	m := e.signIn("olive@example.com")
	if resp, body := m.get("/admin/guests"); resp.StatusCode != http.StatusForbidden || strings.Contains(body, gus) {
		t.Errorf("member: got %d, want 403 without the guest", resp.StatusCode)
	}
	post("delete", nil)
	if _, err := e.store.User(context.Background(), g.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("guest after delete: %v, want not found", err)
	}
	ops := e.auditOps("ada@example.com")
	for _, op := range []string{"UserUpdated", "UserDeleted"} {
		if ops[op] == 0 {
			t.Errorf("no %s record (%v)", op, ops)
		}
	}
}

// outboxCount counts the mail of a kind to an address in the outbox.
func (e *shareEnv) outboxCount(email, kind string) int {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = ?`, email, kind).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
