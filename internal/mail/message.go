// Package mail builds, renders and delivers Gatehouse's outgoing mail:
// invitations to external recipients and their passcode mails.
//
// A Sender delivers one Message. NewSMTP talks to a relay; NewMaildir writes
// into a local Maildir, which suits development and single-host setups.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one mail to a single recipient, with a plain-text body and an
// optional HTML alternative.
type Message struct {
	From    string // "Name <addr>" or a bare address
	To      string // exactly one address
	ReplyTo string // optional: where replies go, such as the sharer's address
	Subject string
	Text    string
	HTML    string // may be empty; the mail is then text/plain only
}

// Validate reports whether m is safe to put on the wire: no header value may
// contain a line break (that would let a caller inject headers) and both
// addresses must parse.
func (m Message) Validate() error {
	fields := []struct{ name, value string }{
		{"sender address", m.From},
		{"recipient address", m.To},
		{"subject", m.Subject},
		{"reply-to address", m.ReplyTo},
	}
	for _, f := range fields {
		if strings.ContainsAny(f.value, "\r\n") {
			return fmt.Errorf("mail: the %s contains a line break", f.name)
		}
		if strings.ContainsFunc(f.value, isControl) {
			return fmt.Errorf("mail: the %s contains a control character", f.name)
		}
		if !utf8.ValidString(f.value) {
			return fmt.Errorf("mail: the %s is not valid UTF-8", f.name)
		}
	}
	if m.From == "" {
		return errors.New("mail: the message has no sender address")
	}
	if m.To == "" {
		return errors.New("mail: the message has no recipient address")
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return fmt.Errorf("mail: the sender address %q is not valid: %w", m.From, err)
	}
	if _, err := mail.ParseAddress(m.To); err != nil {
		return fmt.Errorf("mail: the recipient address %q is not valid: %w", m.To, err)
	}
	if m.ReplyTo != "" {
		if _, err := mail.ParseAddress(m.ReplyTo); err != nil {
			return fmt.Errorf("mail: the reply-to address %q is not valid: %w", m.ReplyTo, err)
		}
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return errors.New("mail: the body is not valid UTF-8")
	}
	return nil
}

// Bytes renders m as an RFC 5322 message with CRLF line endings, dated now
// and carrying messageID (with or without angle brackets; empty omits the
// header).
func (m Message) Bytes(now time.Time, messageID string) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	messageID = strings.TrimSuffix(strings.TrimPrefix(messageID, "<"), ">")
	if strings.ContainsFunc(messageID, notInMessageID) {
		return nil, fmt.Errorf("mail: the message ID %q is not valid", messageID)
	}
	from, _ := mail.ParseAddress(m.From)
	to, _ := mail.ParseAddress(m.To)

	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("Date", now.Format(time.RFC1123Z))
	// Address.String RFC 2047-encodes non-ASCII display names.
	header("From", from.String())
	header("To", to.String())
	if m.ReplyTo != "" {
		// Re-rendered from the parsed address, so nothing but an address
		// reaches the header.
		rt, _ := mail.ParseAddress(m.ReplyTo)
		header("Reply-To", rt.String())
	}
	header("Subject", encodeSubject(m.Subject))
	if messageID != "" {
		header("Message-ID", "<"+messageID+">")
	}
	header("MIME-Version", "1.0")

	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		// End the last line so that a Maildir file is a proper text file;
		// SMTP's DATA terminator would add it anyway.
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		return b.Bytes(), nil
	}

	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative",
		map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	// Clients show the last alternative they understand, so the richer HTML
	// part goes after the plain text (RFC 2046 section 5.1.4).
	for _, part := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeQP writes body quoted-printable encoded; the encoder also turns bare
// LF line breaks into CRLF, as SMTP requires.
func writeQP(w io.Writer, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(body)); err != nil {
		return err
	}
	return qp.Close()
}

// encodeSubject returns the Subject header value, RFC 2047-encoded when it
// is not plain ASCII and folded so no header line runs past 78 characters.
func encodeSubject(s string) string {
	needsEncoding := strings.Contains(s, "=?")
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			needsEncoding = true
			break
		}
	}
	if needsEncoding {
		s = mime.QEncoding.Encode("utf-8", s)
	}
	return fold(s, len("Subject: "))
}

// fold breaks a header value at spaces into continuation lines. Unfolding
// only removes the CRLF, so the value reads back unchanged; the spaces that
// separate encoded words are ignored by decoders anyway.
func fold(s string, used int) string {
	const limit = 78
	if used+len(s) <= limit {
		return s
	}
	var b strings.Builder
	line := used
	for i, word := range strings.Split(s, " ") {
		if i > 0 {
			if line+1+len(word) > limit && line > 1 {
				b.WriteString("\r\n")
				line = 0
			}
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}

// newMessageID returns a fresh Message-ID (without brackets) in the sender's
// domain, so replies and bounces can be traced back to us.
func newMessageID(from string) string {
	domain := "gatehouse.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 && at < len(a.Address)-1 {
			domain = a.Address[at+1:]
		}
	}
	return randomHex(16) + "@" + domain
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	buf := make([]byte, n)
	// crypto/rand.Read never returns an error since Go 1.24.
	rand.Read(buf)
	return hex.EncodeToString(buf)
}

// envelopeAddress returns the bare address of a header address for the
// SMTP envelope.
func envelopeAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s
	}
	return a.Address
}

// notInMessageID reports whether r cannot appear inside a Message-ID's
// angle brackets.
func notInMessageID(r rune) bool {
	return r <= ' ' || r >= 0x7f || r == '<' || r == '>'
}

// isControl reports whether r is a C0/C1 control character or DEL; a tab is
// allowed, as RFC 5322 allows it in header values.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// OnBehalf returns the From of a mail sent for a person: "{name} via
// {sender's display name, or Gatehouse}" at the configured sender address,
// so the reader sees who it is from and that Gatehouse sent it. An empty
// name, or a sender that does not parse, leaves sender as is.
func OnBehalf(name, sender string) string {
	a, err := mail.ParseAddress(sender)
	name = oneLine(name)
	if err != nil || name == "" {
		return sender
	}
	via := a.Name
	if via == "" {
		via = "Gatehouse"
	}
	return (&mail.Address{Name: truncate(name, maxSubjectItem) + " via " + via, Address: a.Address}).String()
}
