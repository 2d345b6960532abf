package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/blob"
	"gatehouse/internal/mailtest"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

var ctx = context.Background()

// adminEnv is the API over a fresh store, with an administrator, a member
// and a link on the member's folder secured to an external address.
type adminEnv struct {
	t             *testing.T
	s             *store.Store
	clock         *testenv.Clock
	url           string
	admin, member string // bearer tokens
	link          *gatehouse.Link
	guest         string
}

func newAdminEnv(t *testing.T, b testenv.Backend) *adminEnv {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://files.example.com"
	clock := &testenv.Clock{}
	s, err := store.Open(ctx, b.DSN(t, dir), blobs, store.Options{Now: clock.Now, BaseURL: base})
	if err != nil {
		t.Fatalf("store.Open(%s): %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	mux := http.NewServeMux()
	api.New(s, api.Config{BaseURL: base, MaxUpload: 1 << 20}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	e := &adminEnv{t: t, s: s, clock: clock, url: srv.URL, guest: "guest@partner.example"}
	var member *gatehouse.User
	for _, nu := range []store.NewUser{
		{Email: "ada@example.com", DisplayName: "Ada Admin", Password: "correct horse battery", IsAdmin: true},
		{Email: "bob@example.com", DisplayName: "Bob Member", Password: "correct horse battery"},
	} {
		u, err := s.CreateUser(ctx, gatehouse.SystemActor(), nu)
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		_, tok, err := s.CreateToken(ctx, u.ID, "test")
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if u.IsAdmin {
			e.admin = tok
		} else {
			e.member, member = tok, u
		}
	}
	by := gatehouse.UserActor(member, "192.0.2.10", "test-agent/1.0")
	d, err := s.DriveByOwner(ctx, member.ID)
	if err != nil {
		t.Fatalf("DriveByOwner: %v", err)
	}
	f, err := s.CreateFolder(ctx, by, d.ID, d.RootID, "Board papers")
	if err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	e.link, _, err = s.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: f.ID, Role: gatehouse.RoleRead, Emails: []string{e.guest}, SendInvitation: true})
	if err != nil {
		t.Fatalf("Share: %v", err)
	}
	return e
}

// do sends a request with a bearer token and returns the status and body.
func (e *adminEnv) do(token, method, path string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// list GETs a {"value": […]} collection as the administrator.
func (e *adminEnv) list(path string) []map[string]any {
	e.t.Helper()
	status, body := e.do(e.admin, "GET", path)
	if status != http.StatusOK {
		e.t.Fatalf("GET %s: got %d, want 200: %s", path, status, body)
	}
	var out struct{ Value []map[string]any }
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Value == nil {
		e.t.Fatalf("GET %s: not a collection: %s", path, body)
	}
	return out.Value
}

func (e *adminEnv) wantStatus(token, method, path string, want int) {
	e.t.Helper()
	if got, body := e.do(token, method, path); got != want {
		e.t.Errorf("%s %s: got %d, want %d: %s", method, path, got, want, body)
	}
}

func TestAdminOutbox(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			if err := e.s.SendPasscode(ctx, e.link.Token, e.guest, "198.51.100.7", "test-agent/1.0"); err != nil {
				t.Fatalf("SendPasscode: %v", err)
			}
			// Take the mail as a worker would, to learn the code and the
			// bodies the listing must never show.
			claimed, err := e.s.ClaimMail(ctx, 10, time.Minute)
			if err != nil || len(claimed) != 2 {
				t.Fatalf("ClaimMail: got %d, %v; want 2", len(claimed), err)
			}
			var pc, inv store.OutboxMessage
			for _, m := range claimed {
				if m.Kind == "passcode" {
					pc = m
				} else {
					inv = m
				}
			}
			code := mailtest.Code(t, mailtest.Mail{Text: pc.Text})

			for _, path := range []string{"/v1.0/admin/outbox", "/v1.0/admin/outbox/" + pc.ID + "/retry", "/v1.0/admin/passcodePauses"} {
				method := "GET"
				if strings.HasSuffix(path, "/retry") {
					method = "POST"
				}
				e.wantStatus(e.member, method, path, http.StatusForbidden)
			}

			status, body := e.do(e.admin, "GET", "/v1.0/admin/outbox")
			if status != http.StatusOK {
				t.Fatalf("GET outbox: got %d: %s", status, body)
			}
			if strings.Contains(body, code) || strings.Contains(body, e.link.Token) {
				t.Errorf("the outbox listing shows a mail body (the code or the link): %s", body)
			}
			list := e.list("/v1.0/admin/outbox?state=pending")
			if len(list) != 2 {
				t.Fatalf("pending: got %d messages, want 2: %v", len(list), list)
			}
			got := list[0]
			for k, want := range map[string]any{"id": pc.ID, "to": e.guest, "kind": "passcode", "subject": pc.Subject,
				"state": "pending", "attempts": 1.0, "lastError": "", "sentDateTime": nil} {
				if got[k] != want {
					t.Errorf("passcode entry %s: got %v, want %v", k, got[k], want)
				}
			}
			for _, k := range []string{"createdDateTime", "nextAttemptDateTime"} {
				if _, err := time.Parse(time.RFC3339Nano, fmtString(got[k])); err != nil {
					t.Errorf("passcode entry %s: got %v, want a time", k, got[k])
				}
			}
			if len(got) != 10 {
				t.Errorf("passcode entry has %d fields, want exactly the 10 documented: %v", len(got), got)
			}
			if n := len(e.list("/v1.0/admin/outbox?state=failed")); n != 0 {
				t.Errorf("failed: got %d, want 0", n)
			}
			e.wantStatus(e.admin, "GET", "/v1.0/admin/outbox?state=bogus", http.StatusBadRequest)

			// Retry: only failed mail, and it becomes pending again.
			e.wantStatus(e.admin, "POST", "/v1.0/admin/outbox/"+inv.ID+"/retry", http.StatusConflict)
			e.wantStatus(e.admin, "POST", "/v1.0/admin/outbox/nope/retry", http.StatusNotFound)
			if err := e.s.MailFailed(ctx, inv.ID, "550 no such user", time.Time{}, true); err != nil {
				t.Fatalf("MailFailed: %v", err)
			}
			failed := e.list("/v1.0/admin/outbox?state=failed")
			if len(failed) != 1 || failed[0]["id"] != inv.ID || failed[0]["lastError"] != "550 no such user" {
				t.Errorf("failed: got %v, want the invitation with its error", failed)
			}
			e.wantStatus(e.admin, "POST", "/v1.0/admin/outbox/"+inv.ID+"/retry", http.StatusNoContent)
			if n := len(e.list("/v1.0/admin/outbox?state=failed")); n != 0 {
				t.Errorf("failed after retry: got %d, want 0", n)
			}
			again, err := e.s.ClaimMail(ctx, 10, time.Minute)
			if err != nil || len(again) != 1 || again[0].ID != inv.ID {
				t.Errorf("claim after retry: got %+v, %v; want the invitation", again, err)
			}
		})
	}
}

func fmtString(v any) string {
	s, _ := v.(string)
	return s
}

func TestAdminPasscodePauses(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			if n := len(e.list("/v1.0/admin/passcodePauses")); n != 0 {
				t.Fatalf("pauses before any failure: got %d, want 0", n)
			}
			testenv.PausePasscodes(t, e.s, e.clock, e.link.Token, e.guest)

			list := e.list("/v1.0/admin/passcodePauses")
			if len(list) != 1 {
				t.Fatalf("pauses: got %d, want 1: %v", len(list), list)
			}
			p := list[0]
			for k, want := range map[string]any{"shareId": e.link.ShareID, "email": e.guest, "itemName": "Board papers"} {
				if p[k] != want {
					t.Errorf("pause %s: got %v, want %v", k, p[k], want)
				}
			}
			from, err1 := time.Parse(time.RFC3339Nano, fmtString(p["pausedDateTime"]))
			until, err2 := time.Parse(time.RFC3339Nano, fmtString(p["pausedUntilDateTime"]))
			if err1 != nil || err2 != nil || until.Sub(from) != gatehouse.PauseDuration {
				t.Errorf("pause times: got %v … %v, want %v apart", p["pausedDateTime"], p["pausedUntilDateTime"], gatehouse.PauseDuration)
			}

			path := "/v1.0/admin/passcodePauses/" + e.link.ShareID + "/" + url.PathEscape(e.guest)
			e.wantStatus(e.member, "DELETE", path, http.StatusForbidden)
			if n := len(e.list("/v1.0/admin/passcodePauses")); n != 1 {
				t.Errorf("pauses after a member's DELETE: got %d, want 1", n)
			}
			e.wantStatus(e.admin, "DELETE", path, http.StatusNoContent)
			if n := len(e.list("/v1.0/admin/passcodePauses")); n != 0 {
				t.Errorf("pauses after clearing: got %d, want 0", n)
			}
			e.wantStatus(e.admin, "DELETE", path, http.StatusNotFound)
			e.wantStatus(e.admin, "DELETE", "/v1.0/admin/passcodePauses/00000000-0000-0000-0000-000000000000/"+url.PathEscape(e.guest), http.StatusNotFound)

			// The clearing is audited under the administrator.
			recs, _, err := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpPasscodeVerificationPaused, Limit: 1}, nil)
			if err != nil || len(recs) != 1 || recs[0].UserID != "ada@example.com" || !strings.Contains(recs[0].EventData, "cleared") {
				t.Errorf("audit of the clearing: got %+v, %v", recs, err)
			}
		})
	}
}
