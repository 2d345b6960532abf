package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/testenv"
)

const settingsPath = "/v1.0/admin/sharepoint/settings"

func TestSharingSettingsAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			settings := func(body string) map[string]any {
				t.Helper()
				var m map[string]any
				if err := json.Unmarshal([]byte(body), &m); err != nil {
					t.Fatalf("not JSON: %s", body)
				}
				return m
			}
			want := func(got map[string]any, b2b, required bool, expire, reauth float64) {
				t.Helper()
				if len(got) != 5 || got["recycleBinRetentionDays"] != 93.0 || got["isB2BIntegrationEnabled"] != b2b || got["externalUserExpirationRequired"] != required ||
					got["externalUserExpireInDays"] != expire || got["emailAttestationReAuthDays"] != reauth {
					t.Errorf("settings = %v, want %v %v %v %v", got, b2b, required, expire, reauth)
				}
			}
			resp, body := e.call("GET", settingsPath, e.admin, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET: %d %s", resp.StatusCode, body)
			}
			want(settings(body), false, false, 60, 30)

			// PATCH changes only the fields given and answers the resource.
			resp, body = e.call("PATCH", settingsPath, e.admin, `{"isB2BIntegrationEnabled":true,"emailAttestationReAuthDays":14}`)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
			}
			want(settings(body), true, false, 60, 14)
			_, body = e.call("GET", settingsPath, e.admin, "")
			want(settings(body), true, false, 60, 14)

			recs, _, err := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSharingPolicyChanged}, nil)
			if err != nil || len(recs) != 1 {
				t.Fatalf("SharingPolicyChanged records: %d, %v", len(recs), err)
			}
			r := recs[0]
			if r.UserID != "ada@example.com" || !strings.Contains(r.EventData, `{"name":"isB2BIntegrationEnabled","oldValue":false,"newValue":true}`) ||
				!strings.Contains(r.EventData, `{"name":"emailAttestationReAuthDays","oldValue":30,"newValue":14}`) || strings.Contains(r.EventData, "externalUser") {
				t.Errorf("record %s by %s: EventData %s", r.Operation, r.UserID, r.EventData)
			}

			// A PATCH that changes nothing records nothing.
			resp, body = e.call("PATCH", settingsPath, e.admin, `{"externalUserExpireInDays":60}`)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("no-op PATCH: %d %s", resp.StatusCode, body)
			}
			if recs, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSharingPolicyChanged}, nil); len(recs) != 1 {
				t.Errorf("a no-op PATCH was recorded: %d records", len(recs))
			}

			// Members and anonymous callers neither read nor change them.
			for _, m := range []string{"GET", "PATCH"} {
				if resp, body := e.call(m, settingsPath, e.member, `{"isB2BIntegrationEnabled":false}`); resp.StatusCode != http.StatusForbidden {
					t.Errorf("member %s: %d %s, want 403", m, resp.StatusCode, body)
				}
				if resp, _ := e.call(m, settingsPath, "", `{"isB2BIntegrationEnabled":false}`); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("anonymous %s: %d, want 401", m, resp.StatusCode)
				}
			}
			_, body = e.call("GET", settingsPath, e.admin, "")
			want(settings(body), true, false, 60, 14)
		})
	}
}

func TestSharingSettingsValidation(t *testing.T) {
	e := newAdminEnv(t, testenv.Backends()[0])
	tests := []struct {
		body, field string // field: what the message must name
	}{
		{`{"externalUserExpireInDays":29}`, "externalUserExpireInDays"},
		{`{"externalUserExpireInDays":731}`, "externalUserExpireInDays"},
		{`{"externalUserExpireInDays":60.5}`, "externalUserExpireInDays"},
		{`{"externalUserExpireInDays":"60"}`, "externalUserExpireInDays"},
		{`{"externalUserExpireInDays":null}`, "externalUserExpireInDays"},
		{`{"emailAttestationReAuthDays":0}`, "emailAttestationReAuthDays"},
		{`{"emailAttestationReAuthDays":366}`, "emailAttestationReAuthDays"},
		{`{"isB2BIntegrationEnabled":"yes"}`, "isB2BIntegrationEnabled"},
		{`{"isB2BIntegrationEnabled":null}`, "isB2BIntegrationEnabled"},
		{`{"externalUserExpirationRequired":1}`, "externalUserExpirationRequired"},
		{`{"isB2BIntegrationEnabled":true,"emailAttestationReAuthDays":400}`, "emailAttestationReAuthDays"},
		{`{"sharingCapability":"disabled"}`, "sharingCapability"},
		{`[]`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		resp, body := e.call("PATCH", settingsPath, e.admin, tt.body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(graphMessage(body), tt.field) {
			t.Errorf("PATCH %s: %d %s, want 400 naming %q", tt.body, resp.StatusCode, body, tt.field)
		}
	}
	// Nothing above changed anything or was recorded.
	if st, err := e.s.SharingSettings(ctx); err != nil || st != gatehouse.DefaultSharingSettings(0) {
		t.Errorf("settings after refused patches: %+v, %v", st, err)
	}
	if recs, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSharingPolicyChanged}, nil); len(recs) != 0 {
		t.Errorf("refused patches recorded %d records", len(recs))
	}
}
