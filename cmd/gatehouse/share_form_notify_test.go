package main

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// TestShareFormNotifyAndOrgNoAccount, on both backends: the share form
// offers "Notify me when they open it or change files", checked by
// default; unchecked, the new link does not notify its owner (recorded as
// created with notifyOwner false); adding people to that link with the box
// checked keeps the link's own setting and says so; a post without the box
// keeps the default. Manage access words an organization address without
// an account "In the organization · no account yet", apart from a member
// and an outsider.
func TestShareFormNotifyAndOrgNoAccount(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startServer(t, b)
			ctx := context.Background()
			const password = "correct horse battery"
			owner := s.addUser("olivia@example.com", "Olivia Owner", password, false)
			s.addUser("bob@example.com", "Bob Member", password, false)
			by := gatehouse.UserActor(owner, "192.0.2.1", "test")
			d, err := s.Store.DriveByOwner(ctx, owner.ID)
			if err != nil {
				t.Fatal(err)
			}
			file := func(name string) string {
				it, _, err := s.Store.PutFile(ctx, by, d.ID, d.RootID, name, strings.NewReader(name), 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				return it.ID
			}
			quiet, loud, plain := file("quiet.txt"), file("loud.txt"), file("plain.txt")
			c := signInWeb(t, s.URL, owner.Email, password)

			// The box is there, checked, and described.
			_, _, panel := c.page(s.URL, "/items/"+quiet+"/share")
			box := regexp.MustCompile(`<input type="checkbox" name="notifyOwner"[^>]*>`).FindString(panel)
			if !strings.Contains(box, ` checked`) || !strings.Contains(box, `aria-describedby="share-notify-owner-hint"`) ||
				!strings.Contains(panel, "Notify me when they open it or change files") || !strings.Contains(panel, `name="notifyAsked"`) {
				t.Fatalf("the share form's notify box: %q", box)
			}

			share := func(id string, v url.Values) string {
				t.Helper()
				v.Set("type", "view")
				st, loc, body := c.form(s.URL, "/items/"+id+"/share", v)
				if st != 303 {
					t.Fatalf("share %s: %d\n%s", id, st, body)
				}
				_, _, page := c.page(s.URL, loc)
				m := regexp.MustCompile(`<p class="notice ok" role="status">([^<]*)</p>`).FindStringSubmatch(page)
				if m == nil {
					t.Fatalf("share %s: no notice on %s", id, loc)
				}
				return html.UnescapeString(m[1])
			}
			notifies := func(id string) bool {
				t.Helper()
				ls, err := s.Store.Links(ctx, d.ID, id)
				if err != nil || len(ls) != 1 {
					t.Fatalf("links of %s: %d, %v", id, len(ls), err)
				}
				return ls[0].NotifyOwner
			}

			// Unchecked: the new link sends the owner nothing.
			share(quiet, url.Values{"emails": {"ext@partner.test"}, "notifyAsked": {"1"}})
			if notifies(quiet) {
				t.Error("a link shared with the box unchecked notifies its owner")
			}
			recs, _, err := s.Store.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSecureLinkCreated, Limit: 10}, nil)
			if err != nil || len(recs) == 0 || !strings.Contains(recs[0].EventData, `"notifyOwner":false`) {
				t.Errorf("SecureLinkCreated does not record notifyOwner false: %v %v", recs, err)
			}
			// Checked, on the same link: its setting stands, and the notice
			// says so rather than claiming otherwise.
			said := share(quiet, url.Values{"emails": {"other@partner.test"}, "notifyAsked": {"1"}, "notifyOwner": {"1"}})
			if notifies(quiet) {
				t.Error("adding people with the box checked turned the link's notices on again")
			}
			if !strings.Contains(said, "already existed and does not email you") {
				t.Errorf("the notice does not say the link kept its setting: %q", said)
			}
			// Checked on a new link, and a post without the box: notices on.
			if said := share(loud, url.Values{"emails": {"ext@partner.test"}, "notifyAsked": {"1"}, "notifyOwner": {"1"}}); strings.Contains(said, "already existed") {
				t.Errorf("a new link's notice: %q", said)
			}
			if !notifies(loud) {
				t.Error("a link shared with the box checked does not notify its owner")
			}
			share(plain, url.Values{"emails": {"ext@partner.test"}})
			if !notifies(plain) {
				t.Error("a share without the box does not keep the default (notify)")
			}

			// Manage access: an org address without an account, a member,
			// an outsider.
			share(plain, url.Values{"emails": {"newhire@example.com, bob@example.com"}})
			_, _, panel = c.page(s.URL, "/items/"+plain+"/access")
			for who, want := range map[string]string{
				"newhire@example.com": "In the organization · no account yet",
				"bob@example.com":     "In the organization",
				"ext@partner.test":    "External",
			} {
				row := rowOf(panel, who)
				kind := regexp.MustCompile(`</td>\s*<td>([^<]*)</td>`).FindStringSubmatch(row)
				if kind == nil || kind[1] != want {
					t.Errorf("Manage access words %s as %v, want %q\n%s", who, kind, want, row)
				}
			}
		})
	}
}
