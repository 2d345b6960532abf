package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/oidc"
)

// TestOIDCCallbackRefusals: a callback that is no sign-in of ours is a
// page saying why, a UserLoginFailed record with the reason, and no
// session; without partner sign-in set up the route is not found.
func TestOIDCCallbackRefusals(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	New(e.store, Config{BaseURL: "http://gatehouse.test", OIDC: oidc.New(e.store, oidc.Options{BaseURL: "http://gatehouse.test",
		Provider: PartnerProviders(e.store)})}).Register(mux)
	srv := httptest.NewServer(httpx.SecurityHeaders(mux))
	t.Cleanup(srv.Close)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, q := range []string{"?state=never-issued-state-0123456789&code=x", "?error=access_denied&state=another-unknown-state-01234567"} {
		resp, err := c.Get(srv.URL + oidc.CallbackPath + q)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 8192)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(b.String(), "Sign-in refused") {
			t.Errorf("%s: %d, want a refusal page: %s", q, resp.StatusCode, pageError(b.String()))
		}
		if sc := strings.Join(resp.Header.Values("Set-Cookie"), ";"); strings.Contains(sc, httpx.SessionCookie+"=") {
			t.Errorf("%s: a session cookie was set: %s", q, sc)
		}
	}
	recs, _, err := e.store.SearchAudit(context.Background(), gatehouse.AuditFilter{Operation: gatehouse.OpUserLoginFailed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !strings.Contains(recs[0].EventData, oidc.ReasonDenied) || !strings.Contains(recs[1].EventData, oidc.ReasonState) {
		t.Errorf("records: %d", len(recs))
		for _, r := range recs {
			t.Logf("%s %s", r.Operation, r.EventData)
		}
	}

	// The usual test server has no relying party.
	resp, err := c.Get(e.srv.URL + oidc.CallbackPath + "?state=x&code=y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("callback without partner sign-in: %d, want 404", resp.StatusCode)
	}
}
