package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gatehouse"
	"gatehouse/internal/api"
	"gatehouse/internal/testenv"
)

func TestInvitationsAPI(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newAdminEnv(t, b)
			// The same store behind an API that knows the organization's domain.
			mux := http.NewServeMux()
			api.New(e.s, api.Config{BaseURL: "https://files.example.com", MaxUpload: 1 << 20, OrgDomains: []string{"example.com"}}).Register(mux)
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			e.url = srv.URL

			invite := func(token, body string) (int, map[string]any, string) {
				t.Helper()
				resp, raw := e.call("POST", "/v1.0/invitations", token, body)
				var m map[string]any
				json.Unmarshal([]byte(raw), &m)
				return resp.StatusCode, m, raw
			}

			code, m, raw := invite(e.member, `{"invitedUserEmailAddress":"Erin@Outside.example","invitedUserDisplayName":"Erin O",
				"inviteRedirectUrl":"https://files.example.com/shared","sendInvitationMessage":true,
				"invitedUserMessageInfo":{"customizedMessageBody":"Welcome, Erin"}}`)
			if code != http.StatusCreated {
				t.Fatalf("member invites: %d %s", code, raw)
			}
			user, _ := m["invitedUser"].(map[string]any)
			redeem, _ := m["inviteRedeemUrl"].(string)
			if m["id"] == "" || m["status"] != gatehouse.ExternalPendingAcceptance || m["invitedUserEmailAddress"] != "erin@outside.example" ||
				user == nil || user["id"] == "" || !strings.HasPrefix(redeem, "https://files.example.com/invite/") ||
				m["inviteRedirectUrl"] != "https://files.example.com/shared" {
				t.Fatalf("answer %s", raw)
			}
			u, err := e.s.User(ctx, user["id"].(string))
			if err != nil || u.UserType != gatehouse.UserTypeGuest || u.DisplayName != "Erin O" || u.ExternalUserState != gatehouse.ExternalPendingAcceptance {
				t.Fatalf("guest %+v, %v", u, err)
			}
			recs, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationCreated}, nil)
			if len(recs) != 1 || recs[0].UserID != "bob@example.com" || recs[0].TargetUserOrGroupName != "erin@outside.example" {
				t.Fatalf("records %+v", recs)
			}
			msgs, err := e.s.Outbox(ctx, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			mailed := 0
			for _, msg := range msgs {
				if msg.To == "erin@outside.example" && msg.Kind == "invite" {
					mailed++
				}
			}
			if mailed != 1 {
				t.Fatalf("%d invitation mails", mailed)
			}

			// Again as the administrator: a resend to the same guest.
			code, m2, raw := invite(e.admin, `{"invitedUserEmailAddress":"erin@outside.example","inviteRedirectUrl":"/"}`)
			user2, _ := m2["invitedUser"].(map[string]any)
			if code != http.StatusCreated || user2 == nil || user2["id"] != user["id"] || m2["inviteRedeemUrl"] == redeem {
				t.Fatalf("resend: %d %s", code, raw)
			}

			for _, tc := range []struct{ name, body string }{
				{"no address", `{"inviteRedirectUrl":"/"}`},
				{"bad address", `{"invitedUserEmailAddress":"not an address"}`},
				{"organization domain", `{"invitedUserEmailAddress":"carol@example.com"}`},
				{"existing member", `{"invitedUserEmailAddress":"bob@Example.com"}`},
				{"redirect elsewhere", `{"invitedUserEmailAddress":"x@outside.example","inviteRedirectUrl":"https://evil.example/"}`},
				{"protocol-relative redirect", `{"invitedUserEmailAddress":"x@outside.example","inviteRedirectUrl":"//evil.example/"}`},
				{"lookalike base", `{"invitedUserEmailAddress":"x@outside.example","inviteRedirectUrl":"https://files.example.com.evil.example/"}`},
				{"javascript redirect", `{"invitedUserEmailAddress":"x@outside.example","inviteRedirectUrl":"javascript:alert(1)"}`},
				{"wrong type", `{"invitedUserEmailAddress":"x@outside.example","sendInvitationMessage":"yes"}`},
				{"unknown field", `{"invitedUserEmailAddress":"x@outside.example","role":"admin"}`},
				{"message too long", `{"invitedUserEmailAddress":"x@outside.example","invitedUserMessageInfo":{"customizedMessageBody":"` + strings.Repeat("a", gatehouse.MaxShareMessage+1) + `"}}`},
			} {
				if code, _, raw := invite(e.admin, tc.body); code != http.StatusBadRequest {
					t.Errorf("%s: %d %s, want 400", tc.name, code, raw)
				}
			}
			if n, _, _ := e.s.SearchAudit(ctx, gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationCreated}, nil); len(n) != 2 {
				t.Errorf("%d SharingInvitationCreated records after the refusals, want 2", len(n))
			}

			// Neither a guest nor someone without a credential may invite.
			_, guestToken, err := e.s.CreateToken(ctx, u.ID, "guest")
			if err != nil {
				t.Fatal(err)
			}
			if code, _, raw := invite(guestToken, `{"invitedUserEmailAddress":"y@outside.example"}`); code != http.StatusForbidden {
				t.Errorf("guest: %d %s", code, raw)
			}
			if code, _, raw := invite("", `{"invitedUserEmailAddress":"y@outside.example"}`); code != http.StatusUnauthorized {
				t.Errorf("anonymous: %d %s", code, raw)
			}
		})
	}
}
