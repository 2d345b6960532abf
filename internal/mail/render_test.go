package mail_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/mail"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	expires := time.Date(2026, 5, 1, 17, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		name        string
		render      func() (string, string, string, error)
		wantSubject string
	}{
		{"invitation", func() (string, string, string, error) {
			return mail.RenderInvitation(mail.Invitation{
				SharerName:  "Alice Smith",
				SharerEmail: "alice@corp.example",
				ItemName:    "Budget.xlsx",
				Message:     "Hi Bob,\r\nhere are the numbers for Q3.\n\nAlice",
				LinkURL:     "https://files.corp.example/s/7Kq2mVx9",
				ExpiresAt:   &expires,
			})
		}, `Alice Smith shared "Budget.xlsx" with you`},
		{"invitation-minimal", func() (string, string, string, error) {
			return mail.RenderInvitation(mail.Invitation{
				SharerEmail: "alice@corp.example",
				ItemName:    "Reports 2026",
				LinkURL:     "https://files.corp.example/s/Zp4",
				IsFolder:    true,
			})
		}, `alice@corp.example shared "Reports 2026" with you`},
		{"invitation-edit-noaccount", func() (string, string, string, error) {
			return mail.RenderInvitation(mail.Invitation{
				SharerName:  "Alice Smith",
				SharerEmail: "alice@corp.example",
				ItemName:    "Inbox",
				LinkURL:     "https://files.corp.example/s/Ed1t",
				IsFolder:    true,
				CanEdit:     true,
				Access:      mail.AccessNoAccount,
				OrgName:     "Corp",
			})
		}, `Alice Smith shared "Inbox" with you`},
		{"invitation-edit-signin", func() (string, string, string, error) {
			return mail.RenderInvitation(mail.Invitation{
				SharerName:  "Alice Smith",
				SharerEmail: "alice@corp.example",
				ItemName:    "notes.txt",
				LinkURL:     "https://files.corp.example/s/S1gn",
				CanEdit:     true,
				Access:      mail.AccessSignIn,
				OrgName:     "Corp",
			})
		}, `Alice Smith shared "notes.txt" with you`},
		{"notice-opened", func() (string, string, string, error) {
			return mail.RenderNotice(mail.Notice{Action: mail.NoticeOpened, Recipient: "bob@partner.example",
				ItemName: "Budget.xlsx", ItemURL: "https://files.corp.example/files/abc", At: expires})
		}, `bob@partner.example opened "Budget.xlsx"`},
		{"notice-uploaded", func() (string, string, string, error) {
			return mail.RenderNotice(mail.Notice{Action: mail.NoticeUploaded, Recipient: "bob@partner.example",
				ItemName: "Inbox", FileName: "scan.pdf", At: expires})
		}, `bob@partner.example uploaded "scan.pdf" to "Inbox"`},
		{"notice-replaced", func() (string, string, string, error) {
			return mail.RenderNotice(mail.Notice{Action: mail.NoticeReplaced, Recipient: "bob@partner.example",
				ItemName: "notes.txt", FileName: "notes.txt", At: expires})
		}, `bob@partner.example replaced "notes.txt"`},
		{"passcode", func() (string, string, string, error) {
			return mail.RenderPasscode(mail.Passcode{
				Code:      "04718265",
				ExpiresAt: expires,
				ValidFor:  10 * time.Minute,
			})
		}, "Your Gatehouse verification code"},
		{"passcode-item", func() (string, string, string, error) {
			return mail.RenderPasscode(mail.Passcode{
				Code:      "99001122",
				ItemName:  "Budget.xlsx",
				ExpiresAt: expires,
				ValidFor:  time.Minute,
			})
		}, "Your Gatehouse verification code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, text, html, err := tt.render()
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

func TestRenderEscapesHTML(t *testing.T) {
	const evil = `<script>alert(1)</script>&"x"`
	_, text, html, err := mail.RenderInvitation(mail.Invitation{
		SharerName:  `Mallory <b>`,
		SharerEmail: "mallory@evil.example",
		ItemName:    evil,
		Message:     "see " + evil + "\n<img src=x onerror=alert(2)>",
		LinkURL:     "https://files.example/s/abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<img", "<b>", `&"x"`} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML part contains %q unescaped:\n%s", bad, html)
		}
	}
	// The item name, the personal message and the sharer's name, escaped.
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#34;x&#34;",
		"see &lt;script&gt;",
		"&lt;img src=x onerror=alert(2)&gt;",
		"Mallory &lt;b&gt;",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
	// The text part is plain text: it shows the name as it is.
	if !strings.Contains(text, `"`+evil+`"`) {
		t.Errorf("text part lacks the literal item name:\n%s", text)
	}
}

func TestRenderInvitationLinkScheme(t *testing.T) {
	_, _, html, err := mail.RenderInvitation(mail.Invitation{
		SharerName: "Eve", ItemName: "a", LinkURL: "javascript:alert(1)",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, `href="javascript:`) {
		t.Errorf("HTML part links to a javascript: URL:\n%s", html)
	}
}

func TestRenderSubjectHasNoLineBreaks(t *testing.T) {
	subject, text, _, err := mail.RenderInvitation(mail.Invitation{
		SharerName: "Eve\r\nBcc: victim@example.org",
		ItemName:   "report\n.pdf\x00\u202Eexe.txt",
		LinkURL:    "https://files.example/s/abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `Eve  Bcc: victim@example.org shared "report .pdf  exe.txt" with you`
	if subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
	if strings.Contains(text, "\nBcc:") {
		t.Errorf("sharer name broke a line in the text part:\n%s", text)
	}
	m := mail.Message{From: "a@example.org", To: "b@example.org", Subject: subject, Text: text}
	if err := m.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestRenderSubjectTruncatesLongNames(t *testing.T) {
	subject, _, _, err := mail.RenderInvitation(mail.Invitation{
		SharerName: "Alice", ItemName: strings.Repeat("a", 300), LinkURL: "https://x.example/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len([]rune(subject)), len(`Alice shared "" with you`)+80; got != want {
		t.Errorf("subject has %d runes, want %d: %q", got, want, subject)
	}
	if !strings.Contains(subject, "…") {
		t.Errorf("subject %q does not mark the cut", subject)
	}
}

func TestRenderPasscode(t *testing.T) {
	at := time.Date(2026, 1, 2, 9, 5, 0, 0, time.UTC)
	subject, text, html, err := mail.RenderPasscode(mail.Passcode{Code: "12345678", ExpiresAt: at, ValidFor: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(subject, "12345678") {
		t.Errorf("subject %q reveals the code", subject)
	}
	for _, want := range []string{"12345678", "expires in 15 minutes, at 09:05 UTC", "did not ask"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}

	if _, _, _, err := mail.RenderPasscode(mail.Passcode{ExpiresAt: at}); err == nil {
		t.Error("RenderPasscode without a code succeeded, want an error")
	}
	if _, _, _, err := mail.RenderPasscode(mail.Passcode{Code: "12345678"}); err == nil {
		t.Error("RenderPasscode without an expiry succeeded, want an error")
	}
}

func TestRenderInvitationNeedsLinkAndItem(t *testing.T) {
	if _, _, _, err := mail.RenderInvitation(mail.Invitation{ItemName: "a"}); err == nil {
		t.Error("RenderInvitation without a link succeeded, want an error")
	}
	if _, _, _, err := mail.RenderInvitation(mail.Invitation{LinkURL: "https://x.example/"}); err == nil {
		t.Error("RenderInvitation without an item name succeeded, want an error")
	}
}
