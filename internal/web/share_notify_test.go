package web

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// newOrgShareEnv is newShareEnv with the store told the org domains, as
// serve does, so "in the organization" follows them.
func newOrgShareEnv(t *testing.T) *shareEnv {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "g.db")
	const base = "http://gatehouse.test"
	clk := testenv.NewClock(time.Now().UTC())
	s, err := store.Open(context.Background(), dbPath, blobs, store.Options{Now: clk.Now, BaseURL: base,
		OrgDomains: []string{"example.com"}, OrgName: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mux := http.NewServeMux()
	New(s, Config{BaseURL: base, MaxUpload: 1 << 20, OrgDomains: []string{"example.com"}}).Register(mux)
	srv := httptest.NewServer(httpx.SecurityHeaders(mux))
	t.Cleanup(srv.Close)
	e := &shareEnv{testEnv: &testEnv{t: t, store: s, clock: clk, srv: srv, dbPath: dbPath}}
	e.owner = e.addUser("olive@example.com", "Olive Owner", false)
	return e
}

// flashAfter follows a form's redirect and returns the page's notice.
func flashAfter(t *testing.T, c *client, resp *http.Response, body string) string {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form: got %d, want 303\n%s", resp.StatusCode, body)
	}
	_, page := c.get(resp.Header.Get("Location"))
	_, rest, ok := strings.Cut(page, `<p class="notice ok" role="status">`)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(rest, "</p>")
	return html.UnescapeString(msg)
}

// TestSharePanelHonesty: the share form warns of an org address without
// an account; sharing again with people already on the link says so and
// sends nothing; Resend invitation sends once per interval; the notify
// toggle turns the owner's notices off and on.
func TestSharePanelHonesty(t *testing.T) {
	e := newOrgShareEnv(t)
	it := e.putFile(e.owner, "", "plan.txt", "the plan")
	c := e.signIn("olive@example.com")
	share := func(emails string) string {
		resp, body := c.postForm("/items/"+it.ID+"/share", url.Values{"emails": {emails}, "type": {"view"}})
		return flashAfter(t, c, resp, body)
	}
	invitations := func(email string) int {
		msgs, err := e.store.Outbox(context.Background(), "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			if m.Kind == "invitation" && m.To == email {
				n++
			}
		}
		return n
	}

	got := share("ext@partner.test, newbie@example.com")
	if !strings.Contains(got, "They will get an email") || !strings.Contains(got, "newbie@example.com is in the organization but has no account yet") {
		t.Errorf("first share: %q", got)
	}
	got = share("ext@partner.test")
	if !strings.HasPrefix(got, "Nothing changed. ext@partner.test already had access, so no email was sent") || strings.Contains(got, "They will get") {
		t.Errorf("sharing again: %q", got)
	}
	if n := invitations("ext@partner.test"); n != 1 {
		t.Errorf("%d invitations to ext@partner.test, want 1", n)
	}

	links, err := e.store.Links(context.Background(), it.DriveID, it.ID)
	if err != nil || len(links) != 1 {
		t.Fatalf("links: %v %v", links, err)
	}
	l := links[0]
	_, page := c.get("/items/" + it.ID + "/access")
	if !strings.Contains(page, `aria-label="Resend the invitation to ext@partner.test"`) || !strings.Contains(page, "Stop notifying me") {
		t.Fatalf("the panel offers no Resend invitation or notify toggle")
	}
	resend := func() string {
		resp, body := c.postForm("/items/"+it.ID+"/access/"+l.ID+"/resend", url.Values{"email": {"ext@partner.test"}})
		return flashAfter(t, c, resp, body)
	}
	if got := resend(); !strings.Contains(got, "An invitation went to ext@partner.test in the last 5 minutes") {
		t.Errorf("resend at once: %q", got)
	}
	e.clock.Advance(store.ResendInterval + time.Second)
	if got := resend(); got != "Sent the invitation to ext@partner.test again." || invitations("ext@partner.test") != 2 {
		t.Errorf("resend after the interval: %q, %d invitations", got, invitations("ext@partner.test"))
	}
	if resp, _ := c.postForm("/items/"+it.ID+"/access/"+l.ID+"/resend", url.Values{"email": {"nobody@partner.test"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("resend to someone not on the link: %d, want 404", resp.StatusCode)
	}

	for _, tc := range []struct {
		notify string
		want   bool
	}{{"off", false}, {"on", true}} {
		resp, body := c.postForm("/items/"+it.ID+"/access/"+l.ID+"/notify", url.Values{"notify": {tc.notify}})
		flashAfter(t, c, resp, body)
		got, err := e.store.Link(context.Background(), it.DriveID, it.ID, l.ID)
		if err != nil || got.NotifyOwner != tc.want {
			t.Errorf("notify %s: NotifyOwner %v (%v)", tc.notify, got.NotifyOwner, err)
		}
	}
	if n := e.auditOps("olive@example.com")[gatehouse.OpSecureLinkUpdated]; n != 2 {
		t.Errorf("%d SecureLinkUpdated records for the toggles, want 2", n)
	}
}
