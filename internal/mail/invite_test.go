package mail_test

import (
	"strings"
	"testing"

	"gatehouse/internal/mail"
)

func TestRenderGuestInviteGolden(t *testing.T) {
	tests := []struct {
		name        string
		in          mail.GuestInvite
		wantSubject string
	}{
		{"invite", mail.GuestInvite{InviterName: "Alice Smith", InviterEmail: "alice@corp.example",
			Message: "Hi Dana,\r\nwelcome aboard.\n\n<b>Alice</b>", RedeemURL: "https://files.corp.example/invite/Qx7"},
			"Alice Smith invited you to Gatehouse"},
		{"invite-minimal", mail.GuestInvite{InviterEmail: "alice@corp.example", RedeemURL: "https://files.corp.example/invite/Zp4"},
			"alice@corp.example invited you to Gatehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, text, html, err := mail.RenderGuestInvite(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", subject, tt.wantSubject)
			}
			golden(t, tt.name+".txt", text)
			golden(t, tt.name+".html", html)
		})
	}
}

func TestRenderGuestInviteEscapesAndRefuses(t *testing.T) {
	_, _, html, err := mail.RenderGuestInvite(mail.GuestInvite{InviterName: "Eve\r\nBcc: x@y", Message: "<script>x</script>", RedeemURL: "https://h/invite/t"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "Eve\r\n") {
		t.Errorf("the HTML part carries unescaped input:\n%s", html)
	}
	if _, _, _, err := mail.RenderGuestInvite(mail.GuestInvite{InviterName: "A"}); err == nil {
		t.Error("an invitation without a redeem link rendered")
	}
}

// TestRenderGuestInviteToSite: an invitation that comes with a site names
// the site in the subject and both parts, escaped in HTML.
func TestRenderGuestInviteToSite(t *testing.T) {
	subject, text, html, err := mail.RenderGuestInvite(mail.GuestInvite{InviterName: "Olive Owner", InviterEmail: "olive@example.com",
		RedeemURL: "https://files.example.com/invite/abc", SiteName: "Falcon <R&D>", Message: "Our project files"})
	if err != nil {
		t.Fatal(err)
	}
	if subject != `Olive Owner shared the site "Falcon <R&D>" with you` {
		t.Errorf("subject %q", subject)
	}
	if !strings.Contains(text, `shared the site "Falcon <R&D>" with you`) || !strings.Contains(text, "Our project files") {
		t.Errorf("text part:\n%s", text)
	}
	if !strings.Contains(html, "Falcon &lt;R&amp;D&gt;") || strings.Contains(html, "Falcon <R&D>") || !strings.Contains(html, "Open the site") {
		t.Errorf("HTML part:\n%s", html)
	}
}
