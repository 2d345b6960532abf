package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/mail"
)

func validMessage() mail.Message {
	return mail.Message{
		From:    "Gatehouse <noreply@gatehouse.example>",
		To:      "bob@example.org",
		Subject: "Hello",
		Text:    "Hi Bob\n",
		HTML:    "<p>Hi Bob</p>\n",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*mail.Message)
		wantErr string // substring; empty means valid
	}{
		{"valid", func(m *mail.Message) {}, ""},
		{"bare from", func(m *mail.Message) { m.From = "noreply@gatehouse.example" }, ""},
		{"unicode name and subject", func(m *mail.Message) {
			m.From = "Zoë Ödegaard <zoe@example.org>"
			m.Subject = "Grüße"
		}, ""},
		{"tab in subject", func(m *mail.Message) { m.Subject = "a\tb" }, ""},
		{"CR in subject", func(m *mail.Message) { m.Subject = "Hi\rBcc: x@evil.example" }, "subject contains a line break"},
		{"LF in subject", func(m *mail.Message) { m.Subject = "Hi\nBcc: x@evil.example" }, "subject contains a line break"},
		{"CRLF in to", func(m *mail.Message) { m.To = "bob@example.org\r\nBcc: x@evil.example" }, "recipient address contains a line break"},
		{"LF in from", func(m *mail.Message) { m.From = "Eve\n <eve@example.org>" }, "sender address contains a line break"},
		{"NUL in subject", func(m *mail.Message) { m.Subject = "a\x00b" }, "subject contains a control character"},
		{"empty to", func(m *mail.Message) { m.To = "" }, "no recipient address"},
		{"empty from", func(m *mail.Message) { m.From = "" }, "no sender address"},
		{"to without domain", func(m *mail.Message) { m.To = "bob" }, "recipient address \"bob\" is not valid"},
		{"to is a list", func(m *mail.Message) { m.To = "a@example.org, b@example.org" }, "recipient address"},
		{"to with unclosed bracket", func(m *mail.Message) { m.To = "Bob <bob@example.org" }, "recipient address"},
		{"from garbage", func(m *mail.Message) { m.From = "@@" }, "sender address"},
		{"invalid utf-8 subject", func(m *mail.Message) { m.Subject = "\xff" }, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			tt.edit(&m)
			err := m.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestBytesRefusesInvalid(t *testing.T) {
	m := validMessage()
	m.Subject = "x\r\nBcc: eve@evil.example"
	if _, err := m.Bytes(time.Now(), "id@example"); err == nil {
		t.Fatal("Bytes with a CRLF subject succeeded, want an error")
	}
	if _, err := validMessage().Bytes(time.Now(), "a b@example"); err == nil {
		t.Fatal("Bytes with a message ID containing a space succeeded, want an error")
	}
}

func TestBytes(t *testing.T) {
	m := validMessage()
	m.From = "Zoë Ödegaard <zoe@gatehouse.example>"
	m.Subject = `Zoë shared "Überweisung.pdf" with you and this subject is long enough to need folding`
	m.Text = "Line one\nLine two with ümlaut and a long line " + strings.Repeat("x", 100) + "\n"
	m.HTML = "<p>Grüße</p>"
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	raw, err := m.Bytes(now, "abc123@gatehouse.example")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) ||
		bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\r")) {
		t.Errorf("message has a bare CR or LF:\n%q", raw)
	}
	if !strings.Contains(string(raw), "\r\n =?utf-8?q?") {
		t.Errorf("long subject is not folded:\n%s", raw)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d characters long: %q", i+1, len(line), line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Errorf("line %d has a non-ASCII byte: %q", i+1, line)
				break
			}
		}
	}

	got := readMessage(t, raw)
	checks := []struct{ name, got, want string }{
		{"Date", got.header.Get("Date"), "Wed, 04 Mar 2026 05:06:07 +0000"},
		{"Message-ID", got.header.Get("Message-ID"), "<abc123@gatehouse.example>"},
		{"MIME-Version", got.header.Get("MIME-Version"), "1.0"},
		{"Subject", got.subject, m.Subject},
		{"From", got.from, m.From},
		{"To", got.to, "<bob@example.org>"},
		{"text", got.text, strings.ReplaceAll(m.Text, "\n", "\r\n")},
		{"html", got.html, m.HTML},
		{"order", strings.Join(got.order, ","), "text/plain,text/html"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestBytesTextOnly(t *testing.T) {
	m := validMessage()
	m.HTML = ""
	raw, err := m.Bytes(time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	got := readMessage(t, raw)
	if got.header.Get("Message-ID") != "" {
		t.Errorf("Message-ID = %q, want none", got.header.Get("Message-ID"))
	}
	if got.text != "Hi Bob\r\n" || got.html != "" {
		t.Errorf("text, html = %q, %q; want %q, %q", got.text, got.html, "Hi Bob\r\n", "")
	}
}

// parsedMessage is a message as a mail client sees it.
type parsedMessage struct {
	header            netmail.Header
	subject, from, to string
	text, html        string
	order             []string // media types of the parts, in order
}

// readMessage parses raw with net/mail, mime/multipart and quotedprintable,
// the way a mail client would, independently of mailtest.
func readMessage(t *testing.T, raw []byte) parsedMessage {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	var p parsedMessage
	p.header = msg.Header
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("subject: %v", err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From %q: %v", msg.Header.Get("From"), err)
	}
	p.from = from[0].Name + " <" + from[0].Address + ">"
	p.to = msg.Header.Get("To")

	read := func(ctype, cte string, r io.Reader) string {
		t.Helper()
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("content type %q: %v", ctype, err)
		}
		if params["charset"] != "utf-8" {
			t.Errorf("%s charset = %q, want utf-8", mt, params["charset"])
		}
		if cte != "quoted-printable" {
			t.Errorf("%s transfer encoding = %q, want quoted-printable", mt, cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		p.order = append(p.order, mt)
		return string(b)
	}

	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	if mt != "multipart/alternative" {
		p.text = read(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		body := read(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
		switch p.order[len(p.order)-1] {
		case "text/plain":
			p.text = body
		case "text/html":
			p.html = body
		}
	}
	return p
}

// A Reply-To is one address on one header line, whatever the caller put in.
func TestReplyTo(t *testing.T) {
	m := mail.Message{From: mail.OnBehalf("Ada Lovelace", "Files <files@corp.example>"), To: "bob@partner.example",
		ReplyTo: "Ada Lovelace <ada@corp.example>", Subject: "hi", Text: "body"}
	raw, err := m.Bytes(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\r\nFrom: \"Ada Lovelace via Files\" <files@corp.example>\r\n", "\r\nReply-To: \"Ada Lovelace\" <ada@corp.example>\r\n"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("message lacks %q:\n%s", want, raw)
		}
	}
	for _, bad := range []string{"ada@corp.example\r\nBcc: eve@evil.example", "ada@corp.example\nBcc: x@y", "not an address", "a@b\x00"} {
		m.ReplyTo = bad
		if err := m.Validate(); err == nil {
			t.Errorf("Validate accepted Reply-To %q", bad)
		}
	}
}

func TestOnBehalf(t *testing.T) {
	for _, tt := range []struct{ name, sender, want string }{
		{"Ada Lovelace", "gatehouse@corp.example", `"Ada Lovelace via Gatehouse" <gatehouse@corp.example>`},
		{"Ada Lovelace", "Corp Files <files@corp.example>", `"Ada Lovelace via Corp Files" <files@corp.example>`},
		{"Ada\r\nBcc: eve@evil.example", "gatehouse@corp.example", `"Ada  Bcc: eve@evil.example via Gatehouse" <gatehouse@corp.example>`},
		{"", "Gatehouse <gatehouse@corp.example>", "Gatehouse <gatehouse@corp.example>"},
	} {
		got := mail.OnBehalf(tt.name, tt.sender)
		if got != tt.want {
			t.Errorf("OnBehalf(%q, %q) = %q, want %q", tt.name, tt.sender, got, tt.want)
		}
		if err := (mail.Message{From: got, To: "b@x.example", Subject: "s"}).Validate(); err != nil {
			t.Errorf("OnBehalf(%q) does not validate: %v", tt.name, err)
		}
	}
}
