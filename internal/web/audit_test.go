package web

import (
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/blob"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// newAuditEnv is the UI and the API over backend b, as main serves them, so
// the page's export links can be followed with the web session.
func newAuditEnv(t *testing.T, b testenv.Backend) *testEnv {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const base = "http://gatehouse.test"
	clock := &testenv.Clock{}
	s, err := store.Open(context.Background(), b.DSN(t, dir), blobs, store.Options{Now: clock.Now, BaseURL: base})
	if err != nil {
		t.Fatalf("store.Open(%s): %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	mux := http.NewServeMux()
	api.New(s, api.Config{BaseURL: base, MaxUpload: 1 << 20}).Register(mux)
	New(s, Config{BaseURL: base, MaxUpload: 1 << 20}).Register(mux)
	srv := httptest.NewServer(httpx.SecurityHeaders(mux))
	t.Cleanup(srv.Close)
	return &testEnv{t: t, store: s, clock: clock, srv: srv}
}

func TestAuditPage(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAuditEnv(t, b)
			e.addUser("ada@example.com", "Ada", true)
			bob := e.addUser("bob@example.com", "Bob", false)
			const guest = "guest@partner.example"
			by := gatehouse.UserActor(bob, "192.0.2.10", "test-agent/1.0")
			d := e.drive(bob)
			f, err := e.store.CreateFolder(context.Background(), by, d.ID, d.RootID, "Board papers")
			if err != nil {
				t.Fatal(err)
			}
			link, _, err := e.store.Share(context.Background(), by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID,
				Role: gatehouse.RoleRead, Emails: []string{guest}})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.RecordAccess(context.Background(), by, "SomeFutureOp", f); err != nil {
				t.Fatal(err)
			}
			admin, member := e.signIn("ada@example.com"), e.signIn("bob@example.com")

			// The target and the label of an AddedToSecureLink record.
			resp, body := admin.get("/admin/audit?op=AddedToSecureLink")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("audit page: got %d", resp.StatusCode)
			}
			rows := regexp.MustCompile(`(?s)<tr>\s*<td class="when">.*?</tr>`).FindAllString(body, -1)
			if len(rows) != 1 {
				t.Fatalf("AddedToSecureLink: got %d rows, want 1", len(rows))
			}
			row := rows[0]
			for _, want := range []string{
				`<td class="op" title="AddedToSecureLink">Added to secure link</td>`,
				`<td class="user" title="Member">bob@example.com</td>`,
				`<span class="target-name" title="` + guest + `">` + guest + `</span> <small class="muted">External</small>`,
				`value="/Board papers"`, `data-copy="p-`, // the item as a path, with copy
				`<details><summary>Details</summary>`, `<dd>192.0.2.10</dd>`, `<dd>test-agent/1.0</dd>`,
				`<dd class="id">` + link.ShareID + `</dd>`,
			} {
				if !strings.Contains(row, want) {
					t.Errorf("AddedToSecureLink row lacks %s:\n%s", want, row)
				}
			}

			// Partial, case-insensitive user: "BO" finds bob only; an
			// unknown operation is shown by its name.
			_, body = admin.get("/admin/audit?user=BO")
			if !strings.Contains(body, "bob@example.com</td>") || strings.Contains(body, "ada@example.com</td>") {
				t.Errorf("user BO: want bob's records and not ada's")
			}
			if !strings.Contains(body, `<td class="op" title="SomeFutureOp">SomeFutureOp</td>`) {
				t.Errorf("user BO: an unknown operation is not shown as is")
			}
			if _, body = admin.get("/admin/audit?user=ob"); strings.Contains(body, "bob@example.com</td>") {
				t.Errorf("user ob: matched the middle of an address; the search is by its start")
			}

			// The export links carry the filter and work with the session.
			_, body = admin.get("/admin/audit?user=BO&op=AddedToSecureLink")
			m := regexp.MustCompile(`href="([^"]+)" id="export-csv"`).FindStringSubmatch(body)
			j := regexp.MustCompile(`href="([^"]+)" id="export-jsonl"`).FindStringSubmatch(body)
			if m == nil || j == nil {
				t.Fatalf("no export links on the audit page")
			}
			csvURL := html.UnescapeString(m[1])
			if csvURL != "/v1.0/auditLog/records/export?format=csv&operation=AddedToSecureLink&userIdStartsWith=BO" {
				t.Errorf("CSV export link: got %s", csvURL)
			}
			resp, body = admin.get(csvURL)
			recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if resp.StatusCode != http.StatusOK || err != nil || len(recs) != 2 || recs[1][2] != "AddedToSecureLink" || recs[1][11] != guest {
				t.Errorf("CSV export with the session: got %d %v: %q", resp.StatusCode, err, body)
			}
			resp, body = admin.get(html.UnescapeString(j[1]))
			if resp.StatusCode != http.StatusOK || strings.Count(body, "\n") != 1 || !strings.Contains(body, `"TargetUserOrGroupName":"`+guest+`"`) {
				t.Errorf("JSONL export with the session: got %d %q", resp.StatusCode, body)
			}
			if resp, _ = member.get(csvURL); resp.StatusCode != http.StatusForbidden {
				t.Errorf("a member's export: got %d, want 403", resp.StatusCode)
			}
		})
	}
}
