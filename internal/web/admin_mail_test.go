package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// invite shares a new file of owner with guest, queuing an invitation, and
// returns the link.
func (e *testEnv) invite(owner *gatehouse.User, name, guest string) *gatehouse.Link {
	e.t.Helper()
	it := e.putFile(owner, "", name, "contents of "+name)
	l, _, err := e.store.Share(context.Background(), gatehouse.UserActor(owner, "127.0.0.1", "test"),
		store.ShareRequest{DriveID: it.DriveID, ItemID: it.ID, Role: gatehouse.RoleRead, Emails: []string{guest}, SendInvitation: true})
	if err != nil {
		e.t.Fatalf("share %s: %v", name, err)
	}
	return l
}

// failMail claims the pending mail and gives it up for good, as the worker
// does after its last try, and returns the message to to.
func (e *testEnv) failMail(to string) store.OutboxMessage {
	e.t.Helper()
	ctx := context.Background()
	msgs, err := e.store.ClaimMail(ctx, 100, time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	var found *store.OutboxMessage
	for _, m := range msgs {
		if err := e.store.MailFailed(ctx, m.ID, "boom", time.Now(), true); err != nil {
			e.t.Fatal(err)
		}
		if m.To == to {
			found = &m
		}
	}
	if found == nil {
		e.t.Fatalf("no pending mail to %s", to)
	}
	return *found
}

func (e *testEnv) mailState(id string) string {
	e.t.Helper()
	msgs, err := e.store.Outbox(context.Background(), "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m.State
		}
	}
	e.t.Fatalf("mail %s is not in the outbox", id)
	return ""
}

func TestAdminMailPagesForAdminsOnly(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada Admin", true)
	member := e.addUser("bob@example.com", "Bob", false)
	l := e.invite(member, "plan.txt", "guest@partner.test")
	msg := e.failMail("guest@partner.test")
	c := e.signIn("bob@example.com")

	for _, path := range []string{"/admin/outbox", "/admin/pauses"} {
		resp, body := c.get(path)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a member: got %d, want 403", path, resp.StatusCode)
		}
		if strings.Contains(body, "guest@partner.test") {
			t.Errorf("GET %s as a member shows the guest's address", path)
		}
	}
	posts := []struct {
		path string
		v    url.Values
	}{
		{"/admin/outbox/" + msg.ID + "/retry", nil},
		{"/admin/pauses/clear", url.Values{"shareId": {l.ShareID}, "email": {"guest@partner.test"}}},
	}
	for _, p := range posts {
		resp, _ := c.postForm(p.path, p.v)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as a member: got %d, want 403", p.path, resp.StatusCode)
		}
	}
	if got := e.mailState(msg.ID); got != store.OutboxFailed {
		t.Errorf("mail after a member's retry: got %s, want failed", got)
	}
}

func TestAdminMailPostsRequireCSRF(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada Admin", true)
	member := e.addUser("bob@example.com", "Bob", false)
	l := e.invite(member, "plan.txt", "guest@partner.test")
	msg := e.failMail("guest@partner.test")
	c := e.signIn("admin@example.com")

	forms := []struct {
		name, path string
		fields     url.Values
	}{
		{"retry", "/admin/outbox/" + msg.ID + "/retry", url.Values{}},
		{"clear pause", "/admin/pauses/clear", url.Values{"shareId": {l.ShareID}, "email": {"guest@partner.test"}}},
	}
	tokens := map[string][]string{"missing": {}, "empty": {""}, "forged": {gatehouse.NewSecret("")}}
	for _, f := range forms {
		for kind, tok := range tokens {
			v := url.Values{}
			for k, x := range f.fields {
				v[k] = x
			}
			v["csrf"] = tok
			resp, _ := c.postForm(f.path, v)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s with %s token: got %d, want 403", f.name, kind, resp.StatusCode)
			}
		}
	}
	if got := e.mailState(msg.ID); got != store.OutboxFailed {
		t.Errorf("mail after forged retries: got %s, want failed", got)
	}
}

func TestAdminOutboxPage(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada Admin", true)
	member := e.addUser("bob@example.com", "Bob", false)
	l := e.invite(member, "plan.txt", "guest@partner.test")
	c := e.signIn("admin@example.com")

	resp, body := c.get("/admin/outbox")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("outbox: got %d, want 200\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", got)
	}
	for _, want := range []string{"guest@partner.test", "invitation", "pending", `href="/admin/outbox" aria-current="page"`} {
		if !strings.Contains(body, want) {
			t.Errorf("outbox page does not show %q", want)
		}
	}
	if strings.Contains(body, l.Token) {
		t.Error("outbox page shows the link's token")
	}
	if strings.Contains(body, ">Retry<") {
		t.Error("outbox page offers to retry a pending mail")
	}

	// The filter shows only mail in its state, and says so when none is.
	for state, want := range map[string]bool{"": true, "pending": true, "sent": false, "failed": false} {
		resp, body := c.get("/admin/outbox?state=" + state)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("state %q: got %d, want 200", state, resp.StatusCode)
		}
		if got := strings.Contains(body, "guest@partner.test"); got != want {
			t.Errorf("state %q lists the invitation: got %v, want %v", state, got, want)
		}
	}
	resp, body = c.get("/admin/outbox?state=lost")
	if resp.StatusCode != http.StatusBadRequest || pageError(body) == "" {
		t.Errorf("unknown state: got %d %q, want 400 with a message", resp.StatusCode, pageError(body))
	}
}

func TestAdminOutboxRetry(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada Admin", true)
	member := e.addUser("bob@example.com", "Bob", false)
	l := e.invite(member, "plan.txt", "guest@partner.test")
	msg := e.failMail("guest@partner.test")
	c := e.signIn("admin@example.com")

	resp, body := c.get("/admin/outbox?state=failed")
	if !strings.Contains(body, `action="/admin/outbox/`+msg.ID+`/retry"`) {
		t.Fatalf("failed mail has no Retry form\n%s", body)
	}
	if strings.Contains(body, l.Token) {
		t.Error("outbox page shows the link's token")
	}

	resp, _ = c.postForm("/admin/outbox/"+msg.ID+"/retry", url.Values{"state": {"failed"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/outbox?state=failed" {
		t.Fatalf("retry: got %d %q, want 303 to /admin/outbox?state=failed", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := e.mailState(msg.ID); got != store.OutboxPending {
		t.Errorf("mail after retry: got %s, want pending", got)
	}
	_, body = c.get("/admin/outbox")
	if !strings.Contains(body, `<p class="notice ok" role="status">`) {
		t.Error("no flash after the retry")
	}

	// Retrying again conflicts: the mail is pending now.
	resp, body = c.postForm("/admin/outbox/"+msg.ID+"/retry", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(pageError(body), "pending") {
		t.Errorf("retry of pending mail: got %d %q, want 409 saying it is pending", resp.StatusCode, pageError(body))
	}
	if !strings.Contains(body, "guest@partner.test") {
		t.Error("the outbox is not shown with the error")
	}
	resp, body = c.postForm("/admin/outbox/"+gatehouse.NewID()+"/retry", nil)
	if resp.StatusCode != http.StatusNotFound || pageError(body) == "" {
		t.Errorf("retry of unknown mail: got %d %q, want 404 with a message", resp.StatusCode, pageError(body))
	}
	// The form's state never sends the browser anywhere else.
	msg2 := e.failMail("guest@partner.test")
	resp, _ = c.postForm("/admin/outbox/"+msg2.ID+"/retry", url.Values{"state": {"//evil.test"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/outbox" {
		t.Errorf("retry with a bad state: got %d %q, want 303 to /admin/outbox", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAdminPausesPage(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin@example.com", "Ada Admin", true)
	member := e.addUser("bob@example.com", "Bob", false)
	const guest = "paused@partner.test"
	l := e.invite(member, "plan.txt", guest)
	testenv.PausePasscodes(t, e.store, e.clock, l.Token, guest)
	c := e.signIn("admin@example.com")

	resp, body := c.get("/admin/pauses")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pauses: got %d, want 200\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", got)
	}
	for _, want := range []string{guest, "plan.txt", l.ShareID, `name="shareId" value="` + l.ShareID + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("pauses page does not show %q", want)
		}
	}
	if strings.Contains(body, l.Token) {
		t.Error("pauses page shows the link's token")
	}

	resp, _ = c.postForm("/admin/pauses/clear", url.Values{"shareId": {l.ShareID}, "email": {guest}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/pauses" {
		t.Fatalf("clear: got %d %q, want 303 to /admin/pauses", resp.StatusCode, resp.Header.Get("Location"))
	}
	ps, err := e.store.Pauses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 0 {
		t.Errorf("pauses after clearing: got %d, want 0", len(ps))
	}
	_, body = c.get("/admin/pauses")
	if !strings.Contains(body, `<p class="notice ok" role="status">`) || strings.Contains(body, `value="`+guest+`"`) {
		t.Errorf("pauses page after clearing: want a flash and no pause\n%s", body)
	}

	recs, _, err := e.store.SearchAudit(context.Background(),
		gatehouse.AuditFilter{Operation: gatehouse.OpPasscodeVerificationPaused, UserID: "admin@example.com", Limit: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cleared := false
	for _, r := range recs {
		if strings.Contains(r.EventData, "cleared") && r.TargetUserOrGroupName == guest {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("no %s record with \"cleared\" by the admin: got %d records", gatehouse.OpPasscodeVerificationPaused, len(recs))
	}

	// Clearing again finds nothing to clear.
	resp, body = c.postForm("/admin/pauses/clear", url.Values{"shareId": {l.ShareID}, "email": {guest}})
	if resp.StatusCode != http.StatusNotFound || pageError(body) == "" {
		t.Errorf("clear twice: got %d %q, want 404 with a message", resp.StatusCode, pageError(body))
	}
}
