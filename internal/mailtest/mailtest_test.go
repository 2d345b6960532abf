package mailtest_test

import (
	"fmt"
	"net/smtp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/mailtest"
)

// send delivers raw (LF line endings, turned into CRLF) with net/smtp.
func send(t *testing.T, srv *mailtest.Server, to, raw string) {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	if err := smtp.SendMail(srv.Addr(), nil, "sender@example.org", []string{to}, []byte(raw)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
}

const alternative = `From: sender@example.org
To: bob@example.org
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= and more
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=XYZ

--XYZ
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Your code is 12345678. A very long line that the encoder had to break =
here. Gr=C3=BC=C3=9Fe
Open https://files.example/s/abc.
--XYZ
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+MTIzNDU2Nzg8L3A+
--XYZ--
`

func TestParse(t *testing.T) {
	srv := mailtest.Start(t)
	send(t, srv, "bob@example.org", alternative)
	m := srv.WaitFor(t, "bob@example.org", 5*time.Second)

	checks := []struct{ name, got, want string }{
		{"From", m.From, "sender@example.org"},
		{"To", strings.Join(m.To, ","), "bob@example.org"},
		{"Subject", m.Subject, "Grüße and more"},
		{"Text", m.Text, "Your code is 12345678. A very long line that the encoder had to break here. Grüße\nOpen https://files.example/s/abc."},
		{"HTML", m.HTML, "<p>12345678</p>"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(string(m.Raw), "\r\nContent-Transfer-Encoding: base64\r\n") {
		t.Errorf("Raw does not keep the message as sent:\n%q", m.Raw)
	}
	if got, want := mailtest.Code(t, m), "12345678"; got != want {
		t.Errorf("Code() = %q, want %q", got, want)
	}
	if got, want := mailtest.ExtractLink(t, m, "https://files.example/s/"), "https://files.example/s/abc"; got != want {
		t.Errorf("ExtractLink() = %q, want %q", got, want)
	}
}

func TestParseNestedAndPlain(t *testing.T) {
	srv := mailtest.Start(t)
	send(t, srv, "a@example.org", `Subject: plain
Content-Type: text/plain

just text 87654321
`)
	send(t, srv, "b@example.org", `Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=us-ascii

inner text
--inner--
--outer
Content-Type: application/pdf
Content-Transfer-Encoding: base64

JVBERi0=
--outer--
`)
	if got := srv.WaitFor(t, "a@example.org", 5*time.Second).Text; got != "just text 87654321\n" {
		t.Errorf("plain Text = %q, want %q", got, "just text 87654321\n")
	}
	if got := srv.WaitFor(t, "b@example.org", 5*time.Second).Text; got != "inner text" {
		t.Errorf("nested Text = %q, want %q", got, "inner text")
	}
}

func TestUnparseableMessageIsRefused(t *testing.T) {
	srv := mailtest.Start(t)
	raw := "Subject: x\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\nhi\r\n"
	err := smtp.SendMail(srv.Addr(), nil, "s@example.org", []string{"bob@example.org"}, []byte(raw))
	if err == nil || !strings.Contains(err.Error(), "charset") {
		t.Fatalf("SendMail() = %v, want a refusal naming the charset", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("Messages() has %d entries, want 0", n)
	}
}

func TestWaitForReturnsEachMessageOnce(t *testing.T) {
	srv := mailtest.Start(t)
	send(t, srv, "bob@example.org", "Subject: first\n\n11111111\n")
	send(t, srv, "carol@example.org", "Subject: other\n\n22222222\n")
	send(t, srv, "bob@example.org", "Subject: second\n\n33333333\n")

	for _, want := range []string{"first", "second"} {
		if got := srv.WaitFor(t, "BOB@example.org", time.Second).Subject; got != want {
			t.Errorf("WaitFor subject = %q, want %q", got, want)
		}
	}
	if got := srv.WaitFor(t, "carol@example.org", time.Second).Subject; got != "other" {
		t.Errorf("WaitFor subject = %q, want %q", got, "other")
	}
	if n := len(srv.Messages()); n != 3 {
		t.Errorf("Messages() has %d entries, want 3", n)
	}

	// A message that arrives while WaitFor waits wakes it.
	go func() {
		time.Sleep(50 * time.Millisecond)
		raw := "Subject: late\r\n\r\nhi\r\n"
		smtp.SendMail(srv.Addr(), nil, "s@example.org", []string{"bob@example.org"}, []byte(raw))
	}()
	if got := srv.WaitFor(t, "bob@example.org", 5*time.Second).Subject; got != "late" {
		t.Errorf("WaitFor subject = %q, want %q", got, "late")
	}
}

// fatalRecorder stands in for a testing.TB whose Fatalf we expect; it ends
// the calling goroutine as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// expectFatal runs f with a recorder and returns the Fatalf message.
func expectFatal(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := &fatalRecorder{TB: t}
	var wg sync.WaitGroup
	wg.Go(func() { f(r) })
	wg.Wait()
	if r.msg == "" {
		t.Fatal("expected a fatal failure, got none")
	}
	return r.msg
}

func TestFailures(t *testing.T) {
	srv := mailtest.Start(t)
	send(t, srv, "bob@example.org", "Subject: s\n\nno code 1234567 or 123456789, see https://other.example/x\n")

	msg := expectFatal(t, func(tb testing.TB) { srv.WaitFor(tb, "nobody@example.org", 50*time.Millisecond) })
	if !strings.Contains(msg, "no mail to nobody@example.org") {
		t.Errorf("WaitFor failure = %q", msg)
	}
	m := srv.WaitFor(t, "bob@example.org", time.Second)
	if msg := expectFatal(t, func(tb testing.TB) { mailtest.Code(tb, m) }); !strings.Contains(msg, "no 8-digit code") {
		t.Errorf("Code failure = %q", msg)
	}
	if msg := expectFatal(t, func(tb testing.TB) { mailtest.ExtractLink(tb, m, "https://files.example/") }); !strings.Contains(msg, "no link") {
		t.Errorf("ExtractLink failure = %q", msg)
	}
}

func TestExtractLink(t *testing.T) {
	m := mailtest.Mail{Text: "See https://aa.example/s/1 and (https://a.example/s/2), or https://a.example/s/3.\n"}
	if got, want := mailtest.ExtractLink(t, m, "https://a.example/s/"), "https://a.example/s/2"; got != want {
		t.Errorf("ExtractLink() = %q, want %q", got, want)
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		opts []mailtest.Option
		want string // with ADDR for the address
	}{
		{nil, "smtp://ADDR"},
		{[]mailtest.Option{mailtest.WithAuth("u", "p@ss")}, "smtp://u:p%40ss@ADDR"},
		{[]mailtest.Option{mailtest.WithTLS()}, "smtp+starttls://ADDR?insecure_skip_verify=1"},
		{[]mailtest.Option{mailtest.WithImplicitTLS(), mailtest.WithAuth("u", "p")}, "smtps://u:p@ADDR?insecure_skip_verify=1"},
	}
	for _, tt := range tests {
		srv := mailtest.Start(t, tt.opts...)
		if got, want := srv.URL(), strings.Replace(tt.want, "ADDR", srv.Addr(), 1); got != want {
			t.Errorf("URL() = %q, want %q", got, want)
		}
	}
}
