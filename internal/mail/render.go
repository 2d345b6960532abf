package mail

import (
	"bytes"
	"embed"
	"errors"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

//go:embed templates
var templateFS embed.FS

// Text parts use text/template and HTML parts html/template, so that names
// and messages chosen by a sharer are escaped in the HTML.
var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/*.html"))
)

// maxSubjectItem caps how much of an item name goes into a subject line.
const maxSubjectItem = 80

// Invitation is what an invitation mail says about a share.
type Invitation struct {
	SharerName  string
	SharerEmail string
	ItemName    string
	Message     string // optional personal message from the sharer
	LinkURL     string
	IsFolder    bool
	ExpiresAt   *time.Time // nil when the link does not expire
	CanEdit     bool       // an edit link: they may upload and replace
	// Access says how the recipient gets in: "" by a mailed code,
	// AccessSignIn with their organization account, AccessNoAccount for
	// an organization address that has no account yet.
	Access  string
	OrgName string // the organization, for the sign-in wording
}

// How an invitation's recipient gets in.
const (
	AccessSignIn    = "signin"
	AccessNoAccount = "noaccount"
)

// invitationView is the data the invitation templates see.
type invitationView struct {
	Subject       string
	Sharer        string // the name, or the address when there is no name
	SharerEmail   string // set only when Sharer is a name
	Kind          string // "file" or "folder"
	ItemName      string
	Message       string
	QuotedMessage string
	LinkURL       string
	Expires       string
	Permission    string // "view it" or "view it, and upload and replace files"
	Access        string
	OrgName       string
}

// RenderInvitation renders the mail that tells a recipient something was
// shared with them.
func RenderInvitation(inv Invitation) (subject, text, html string, err error) {
	if inv.LinkURL == "" {
		return "", "", "", errors.New("mail: the invitation has no link")
	}
	if inv.ItemName == "" {
		return "", "", "", errors.New("mail: the invitation has no item name")
	}
	v := invitationView{
		Sharer:      oneLine(inv.SharerName),
		SharerEmail: oneLine(inv.SharerEmail),
		Kind:        "file",
		ItemName:    oneLine(inv.ItemName),
		Message:     multiLine(inv.Message),
		LinkURL:     oneLine(inv.LinkURL),
		Permission:  "view and download it",
		Access:      inv.Access,
		OrgName:     oneLine(inv.OrgName),
	}
	if inv.CanEdit {
		v.Permission = "view it, and upload and replace files"
		if !inv.IsFolder {
			v.Permission = "view it, and replace it with a new version"
		}
	}
	if v.OrgName == "" {
		v.OrgName = "the organization"
	}
	if v.Sharer == "" {
		v.Sharer, v.SharerEmail = v.SharerEmail, ""
	}
	if v.Sharer == "" {
		v.Sharer = "Someone"
	}
	if inv.IsFolder {
		v.Kind = "folder"
	}
	v.QuotedMessage = quote(v.Message)
	if inv.ExpiresAt != nil {
		v.Expires = inv.ExpiresAt.UTC().Format("Monday 2 January 2006 at 15:04 UTC")
	}
	v.Subject = v.Sharer + ` shared "` + truncate(v.ItemName, maxSubjectItem) + `" with you`
	text, html, err = render("invitation", v)
	return v.Subject, text, html, err
}

// Passcode is what a passcode mail says.
type Passcode struct {
	Code      string
	ItemName  string // optional; empty keeps the item secret until verified
	ExpiresAt time.Time
	ValidFor  time.Duration
}

// passcodeView is the data the passcode templates see.
type passcodeView struct {
	Subject  string
	Code     string
	ItemName string
	Minutes  string // "10 minutes"
	At       string // "14:32 UTC"
}

// passcodeSubject never carries the code: subjects show up in lock-screen
// notifications and mail server logs.
const passcodeSubject = "Your Gatehouse verification code"

// RenderPasscode renders the mail that carries a one-time verification code.
func RenderPasscode(p Passcode) (subject, text, html string, err error) {
	code := oneLine(p.Code)
	if code == "" {
		return "", "", "", errors.New("mail: the passcode mail has no code")
	}
	if p.ExpiresAt.IsZero() {
		return "", "", "", errors.New("mail: the passcode mail has no expiry time")
	}
	minutes := int(p.ValidFor.Round(time.Minute) / time.Minute)
	if minutes < 1 {
		minutes = 1
	}
	v := passcodeView{
		Subject:  passcodeSubject,
		Code:     code,
		ItemName: oneLine(p.ItemName),
		Minutes:  strconv.Itoa(minutes) + " minutes",
		At:       p.ExpiresAt.UTC().Format("15:04 UTC"),
	}
	if minutes == 1 {
		v.Minutes = "1 minute"
	}
	text, html, err = render("passcode", v)
	return v.Subject, text, html, err
}

// render executes the text and HTML templates called name.
func render(name string, data any) (text, html string, err error) {
	var t, h bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&t, name+".txt", data); err != nil {
		return "", "", err
	}
	if err := htmlTemplates.ExecuteTemplate(&h, name+".html", data); err != nil {
		return "", "", err
	}
	return t.String(), h.String(), nil
}

// oneLine makes s safe for a subject or a single line of text: control
// characters (line breaks included) and bidirectional overrides, which can
// disguise a file's extension, become spaces.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if isControl(r) || r == '\t' || isBidiControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// multiLine keeps line breaks (normalised to LF) and tabs but drops other
// control characters.
func multiLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r' || isControl(r) || isBidiControl(r):
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// quote prefixes each line with "> " the way mail clients quote.
func quote(s string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("> "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// truncate shortens s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// isBidiControl reports whether r is a Unicode bidirectional embedding,
// override or isolate character.
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f
}
