package main

import (
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// TestGrantOwnershipFirst: another member's shareId answers 404 whether the
// link is live or expired, so its state is never revealed; the owner is
// told that their own expired link has expired.
func TestGrantOwnershipFirst(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			other := r.s.addUser("mallory@example.com", "Mallory", "correct horse battery", false)
			otherTok := r.s.token(other)
			file := r.file(r.root, "plan.txt", "plan")
			exp := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
			p := r.must(r.token, "POST", r.items()+file+"/invite", map[string]any{
				"recipients": []any{map[string]string{"email": "sam@partner.test"}}, "roles": []string{"read"},
				"expirationDateTime": exp, "sendInvitation": false}, 200)
			shareID := p["value"].([]any)[0].(map[string]any)["shareId"].(string)
			grant := func(token string) int {
				return r.do(token, "POST", "/v1.0/shares/"+shareID+"/permission/grant", map[string]any{
					"recipients": []any{map[string]string{"email": "kim@partner.test"}}}).status
			}
			if got := grant(otherTok); got != 404 {
				t.Fatalf("another member's live link: got %d, want 404", got)
			}
			unknown := r.do(otherTok, "POST", "/v1.0/shares/00000000-0000-4000-8000-000000000000/permission/grant", map[string]any{
				"recipients": []any{map[string]string{"email": "kim@partner.test"}}}).status
			if unknown != 404 {
				t.Fatalf("unknown shareId: got %d, want 404", unknown)
			}
			r.query(`UPDATE links SET expires_at = ? WHERE share_id = ?`, time.Now().Add(-time.Minute).UnixMicro(), shareID)
			if got := grant(otherTok); got != 404 {
				t.Errorf("another member's expired link: got %d, want 404 like an unknown one", got)
			}
			if got := grant(r.token); got != 410 {
				t.Errorf("the owner's expired link: got %d, want 410", got)
			}
		})
	}
}
