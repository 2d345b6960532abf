package api_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/blob"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// idpEnv is the API over a store with a key file's key, as production has,
// so secrets are sealed; example.com is the organization's domain.
type idpEnv struct {
	t             *testing.T
	s             *store.Store
	url           string
	admin, member string
	mu            sync.Mutex
	answers       strings.Builder // every answer's body, to search for the secret
}

func newIdPEnv(t *testing.T, b testenv.Backend) *idpEnv {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	const base = "https://files.example.com"
	s, err := store.Open(ctx, b.DSN(t, dir), blobs, store.Options{BaseURL: base, AuditKey: key})
	if err != nil {
		t.Fatalf("store.Open(%s): %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	mux := http.NewServeMux()
	api.New(s, api.Config{BaseURL: base, MaxUpload: 1 << 20, OrgDomains: []string{"example.com"}}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &idpEnv{t: t, s: s, url: srv.URL}
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
			e.member = tok
		}
	}
	return e
}

// send makes a request with a bearer token and a JSON body (any but nil is
// encoded) and returns the status, the Location header and the body.
func (e *idpEnv) send(token, method, path string, body any) (int, string, string) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	e.mu.Lock()
	e.answers.Write(b)
	e.mu.Unlock()
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

const (
	idpPath   = "/v1.0/identity/identityProviders"
	apiSecret = "fabrikam-CLIENT-secret-91b2e"
)

func fabrikamBody() map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.openIdConnectIdentityProvider", "displayName": "Fabrikam",
		"issuer": "https://login.fabrikam.example/", "clientId": "gatehouse", "clientSecret": apiSecret,
		"domains": []string{"Fabrikam.example"}, "scope": "openid email profile"}
}

// TestIdentityProvidersAPI: the round trip of a partner provider through
// the API, with its records; the secret is in no answer and no record.
func TestIdentityProvidersAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newIdPEnv(t, b)
			status, loc, body := e.send(e.admin, "POST", idpPath, fabrikamBody())
			if status != http.StatusCreated {
				t.Fatalf("POST: got %d, want 201: %s", status, body)
			}
			var p map[string]any
			json.Unmarshal([]byte(body), &p)
			id, _ := p["id"].(string)
			if id == "" || loc != "https://files.example.com"+idpPath+"/"+id {
				t.Fatalf("POST: id %q, Location %q", id, loc)
			}
			want := map[string]any{"@odata.type": "#microsoft.graph.openIdConnectIdentityProvider", "displayName": "Fabrikam",
				"issuer": "https://login.fabrikam.example/", "clientId": "gatehouse", "clientSecret": "****", "scope": "openid email profile",
				"metadataUrl": "https://login.fabrikam.example/.well-known/openid-configuration", "responseType": "code",
				"redirectUri": "https://files.example.com/auth/oidc/callback"}
			for k, v := range want {
				if p[k] != v {
					t.Errorf("POST answer %s: got %v, want %v", k, p[k], v)
				}
			}
			if d, _ := p["domains"].([]any); len(d) != 1 || d[0] != "fabrikam.example" {
				t.Errorf("POST answer domains: got %v, want [fabrikam.example]", p["domains"])
			}

			status, _, body = e.send(e.admin, "GET", idpPath, nil)
			var list struct{ Value []map[string]any }
			json.Unmarshal([]byte(body), &list)
			if status != http.StatusOK || len(list.Value) != 1 || list.Value[0]["id"] != id {
				t.Fatalf("GET list: got %d %s", status, body)
			}
			status, _, body = e.send(e.admin, "PATCH", idpPath+"/"+id, map[string]any{"displayName": "Fabrikam Ltd",
				"clientSecret": "rotated-" + apiSecret, "domains": []string{"fabrikam.example", "fabrikam.test"}})
			if status != http.StatusNoContent {
				t.Fatalf("PATCH: got %d, want 204: %s", status, body)
			}
			status, _, body = e.send(e.admin, "GET", idpPath+"/"+id, nil)
			json.Unmarshal([]byte(body), &p)
			if status != http.StatusOK || p["displayName"] != "Fabrikam Ltd" || fmt.Sprint(p["domains"]) != "[fabrikam.example fabrikam.test]" {
				t.Errorf("GET after PATCH: got %d %s", status, body)
			}
			if sec, err := e.s.IdentityProviderSecret(ctx, id); err != nil || sec != "rotated-"+apiSecret {
				t.Errorf("the secret after PATCH: got %q, %v", sec, err)
			}
			// A read sent back as it was changes nothing, and keeps the secret.
			delete(p, "createdDateTime")
			delete(p, "lastModifiedDateTime")
			delete(p, "redirectUri")
			if status, _, body = e.send(e.admin, "PATCH", idpPath+"/"+id, p); status != http.StatusNoContent {
				t.Errorf("PATCH of a read: got %d %s", status, body)
			}
			if sec, _ := e.s.IdentityProviderSecret(ctx, id); sec != "rotated-"+apiSecret {
				t.Errorf("the secret after a PATCH of ****: got %q", sec)
			}

			status, _, body = e.send(e.admin, "GET", "/v1.0/auditLog/records?$top=1000", nil)
			for _, op := range []string{gatehouse.OpIdentityProviderAdded, gatehouse.OpIdentityProviderUpdated} {
				if status != http.StatusOK || strings.Count(body, `"Operation":"`+op+`"`) != 1 {
					t.Errorf("audit log: want one %s record: %d %s", op, status, body)
				}
			}
			if !strings.Contains(body, `\"changed\":[\"displayName\",\"domains\",\"clientSecret\"]`) {
				t.Errorf("IdentityProviderUpdated does not say which fields changed: %s", body)
			}
			if status, _, body = e.send(e.admin, "DELETE", idpPath+"/"+id, nil); status != http.StatusNoContent {
				t.Errorf("DELETE: got %d %s", status, body)
			}
			if status, _, body = e.send(e.admin, "GET", idpPath+"/"+id, nil); status != http.StatusNotFound || !strings.Contains(graphMessage(body), "identity provider") {
				t.Errorf("GET after DELETE: got %d %s, want 404", status, body)
			}
			if status, _, body = e.send(e.admin, "DELETE", idpPath+"/"+id, nil); status != http.StatusNotFound {
				t.Errorf("DELETE twice: got %d %s, want 404", status, body)
			}
			if _, _, body = e.send(e.admin, "GET", "/v1.0/auditLog/records?operation="+gatehouse.OpIdentityProviderDeleted, nil); !strings.Contains(body, id) {
				t.Errorf("no IdentityProviderDeleted record of %s: %s", id, body)
			}
			recs, _, err := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Limit: 1000}, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(recs)
			for where, text := range map[string]string{"an answer": e.answers.String(), "a record": string(raw)} {
				if strings.Contains(text, apiSecret) {
					t.Errorf("the client secret is in %s", where)
				}
			}
		})
	}
}

// TestIdentityProvidersAPIRefuses: clear 400s naming the field, 409 for a
// domain another provider has (exactly one 201 of 16 at once), and 403 for
// members.
func TestIdentityProvidersAPIRefuses(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newIdPEnv(t, b)
			for _, tc := range []struct {
				field string
				value any // nil removes the field
				says  string
			}{
				{"issuer", "http://login.fabrikam.example/", "issuer must use https"},
				{"issuer", "not a url", "issuer"},
				{"issuer", nil, "issuer is required"},
				{"clientId", nil, "clientId is required"},
				{"clientSecret", nil, "clientSecret is required"},
				{"clientSecret", "", "clientSecret is required"},
				{"domains", []string{}, "domains must name at least one"},
				{"domains", []string{"not a domain"}, "domains:"},
				{"domains", []string{"fabrikam.example", "Example.COM"}, "example.com is one of the organization's own domains"},
				{"scope", "email profile", "scope must include openid"},
				{"displayName", " ", "displayName"},
				{"@odata.type", "#microsoft.graph.socialIdentityProvider", "@odata.type"},
				{"responseType", "id_token", "responseType"},
				{"tenantId", "x", "unknown field"},
			} {
				body := fabrikamBody()
				if tc.value == nil {
					delete(body, tc.field)
				} else {
					body[tc.field] = tc.value
				}
				status, _, answer := e.send(e.admin, "POST", idpPath, body)
				if status != http.StatusBadRequest || !strings.Contains(graphMessage(answer), tc.says) {
					t.Errorf("POST with %s=%v: got %d %s, want 400 saying %q", tc.field, tc.value, status, answer, tc.says)
				}
			}
			if list, _ := e.s.IdentityProviders(ctx); len(list) != 0 {
				t.Fatalf("refused creates stored %d providers", len(list))
			}

			// Sixteen at once claim fabrikam.example: one 201, fifteen 409.
			codes := make([]int, 16)
			answers := make([]string, 16)
			var wg sync.WaitGroup
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := fabrikamBody()
					body["displayName"] = fmt.Sprintf("Claimant %d", i)
					codes[i], _, answers[i] = e.send(e.admin, "POST", idpPath, body)
				}()
			}
			wg.Wait()
			created := 0
			var id string
			for i, c := range codes {
				switch {
				case c == http.StatusCreated:
					created++
					var p map[string]any
					json.Unmarshal([]byte(answers[i]), &p)
					id, _ = p["id"].(string)
				case c != http.StatusConflict || !strings.Contains(graphMessage(answers[i]), "fabrikam.example already belongs"):
					t.Errorf("create %d: got %d %s, want 409 about fabrikam.example", i, c, answers[i])
				}
			}
			if created != 1 {
				t.Fatalf("%d creates answered 201, want exactly 1", created)
			}

			other := fabrikamBody()
			other["displayName"], other["domains"] = "Contoso", []string{"contoso.example"}
			status, _, answer := e.send(e.admin, "POST", idpPath, other)
			var c map[string]any
			json.Unmarshal([]byte(answer), &c)
			cid, _ := c["id"].(string)
			if status != http.StatusCreated {
				t.Fatalf("POST contoso: %d %s", status, answer)
			}
			if status, _, answer = e.send(e.admin, "PATCH", idpPath+"/"+cid, map[string]any{"domains": []string{"fabrikam.example"}}); status != http.StatusConflict {
				t.Errorf("PATCH taking another's domain: got %d %s, want 409", status, answer)
			}
			if status, _, answer = e.send(e.admin, "PATCH", idpPath+"/"+cid, map[string]any{"domains": []string{"example.com"}}); status != http.StatusBadRequest ||
				!strings.Contains(graphMessage(answer), "organization's own") {
				t.Errorf("PATCH to an org domain: got %d %s, want 400", status, answer)
			}
			if status, _, answer = e.send(e.admin, "PATCH", idpPath+"/"+cid, map[string]any{"clientSecret": ""}); status != http.StatusBadRequest {
				t.Errorf("PATCH to an empty secret: got %d %s, want 400", status, answer)
			}
			if status, _, answer = e.send(e.admin, "PATCH", idpPath+"/missing", map[string]any{"displayName": "X"}); status != http.StatusNotFound {
				t.Errorf("PATCH of a missing provider: got %d %s, want 404", status, answer)
			}

			// Members are refused every route, before anything is read or changed; no token is 401.
			for _, r := range []struct {
				method, path string
				body         any
			}{
				{"GET", idpPath, nil}, {"POST", idpPath, fabrikamBody()}, {"GET", idpPath + "/" + id, nil},
				{"PATCH", idpPath + "/" + id, map[string]any{"displayName": "Mallory's"}}, {"DELETE", idpPath + "/" + id, nil},
			} {
				if status, _, answer := e.send(e.member, r.method, r.path, r.body); status != http.StatusForbidden || strings.Contains(answer, "Claimant") {
					t.Errorf("%s %s as a member: got %d %s, want 403", r.method, r.path, status, answer)
				}
				if status, _, _ := e.send("", r.method, r.path, r.body); status != http.StatusUnauthorized {
					t.Errorf("%s %s with no token: got %d, want 401", r.method, r.path, status)
				}
			}
			if p, err := e.s.IdentityProvider(ctx, id); err != nil || strings.HasPrefix(p.DisplayName, "Mallory") {
				t.Errorf("after the members' attempts: %v, %v", p, err)
			}
		})
	}
}
