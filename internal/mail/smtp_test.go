package mail_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/mail"
	"gatehouse/internal/mailtest"
)

// passcodeMessage renders a passcode mail to to.
func passcodeMessage(t *testing.T, to, code string) mail.Message {
	t.Helper()
	subject, text, html, err := mail.RenderPasscode(mail.Passcode{
		Code: code, ExpiresAt: time.Now().Add(10 * time.Minute), ValidFor: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return mail.Message{
		From: "Gatehouse <noreply@gatehouse.example>", To: to,
		Subject: subject, Text: text, HTML: html,
	}
}

func TestSMTPRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		opts       []mailtest.Option
		wantScheme string
	}{
		{"plain", nil, "smtp://"},
		{"plain with auth", []mailtest.Option{mailtest.WithAuth("gatehouse", "s3cret:/@")}, "smtp://"},
		{"starttls", []mailtest.Option{mailtest.WithTLS()}, "smtp+starttls://"},
		{"starttls with auth", []mailtest.Option{mailtest.WithTLS(), mailtest.WithAuth("gatehouse", "pw")}, "smtp+starttls://"},
		{"smtps", []mailtest.Option{mailtest.WithImplicitTLS()}, "smtps://"},
		{"smtps with auth", []mailtest.Option{mailtest.WithImplicitTLS(), mailtest.WithAuth("gatehouse", "pw")}, "smtps://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts...)
			if !strings.HasPrefix(srv.URL(), tt.wantScheme) {
				t.Fatalf("URL() = %q, want scheme %q", srv.URL(), tt.wantScheme)
			}
			sender, err := mail.NewSMTP(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := sender.Send(ctx, passcodeMessage(t, "Bob@Example.org", "31415926")); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := srv.WaitFor(t, "bob@example.org", 5*time.Second)
			if code := mailtest.Code(t, got); code != "31415926" {
				t.Errorf("code in the mail = %q, want %q", code, "31415926")
			}
			if got.Subject != "Your Gatehouse verification code" {
				t.Errorf("subject = %q, want %q", got.Subject, "Your Gatehouse verification code")
			}
			if got.From != "noreply@gatehouse.example" {
				t.Errorf("envelope sender = %q, want %q", got.From, "noreply@gatehouse.example")
			}
			if !strings.Contains(got.HTML, "31415926") {
				t.Errorf("HTML part lacks the code:\n%s", got.HTML)
			}
			// Parse the raw bytes independently of mailtest too.
			if p := readMessage(t, got.Raw); !strings.Contains(p.text, "31415926") {
				t.Errorf("text part lacks the code:\n%s", p.text)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	plain := mailtest.Start(t)
	authed := mailtest.Start(t, mailtest.WithAuth("gatehouse", "right"))
	tlsSrv := mailtest.Start(t, mailtest.WithTLS())
	implicit := mailtest.Start(t, mailtest.WithImplicitTLS())

	// A port that was free a moment ago refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"no STARTTLS offered", "smtp+starttls://" + plain.Addr(), "does not offer STARTTLS"},
		{"self-signed without skip", "smtp+starttls://" + tlsSrv.Addr(), "STARTTLS with the SMTP server"},
		{"smtps self-signed without skip", "smtps://" + implicit.Addr(), "could not connect"},
		{"wrong password", "smtp://gatehouse:wrong@" + authed.Addr(), "refused the login"},
		{"auth not offered", "smtp://gatehouse:pw@" + plain.Addr(), "does not offer AUTH"},
		{"no auth given", "smtp://" + authed.Addr(), "refused the sender"},
		{"nothing listening", "smtp://" + closed, "could not connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sender, err := mail.NewSMTP(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = sender.Send(ctx, passcodeMessage(t, "bob@example.org", "12345678"))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Send() = %v, want an error containing %q", err, tt.wantErr)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
	for _, srv := range []*mailtest.Server{plain, authed, tlsSrv, implicit} {
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("server %s received %d messages, want 0", srv.Addr(), n)
		}
	}
}

func TestSMTPHonoursContext(t *testing.T) {
	// A server that accepts the connection but never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				break
			}
			// Held open, silent, until the listener closes.
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	sender, err := mail.NewSMTP("smtp://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = sender.Send(ctx, passcodeMessage(t, "bob@example.org", "12345678"))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send() = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v after a 200ms deadline", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err = sender.Send(ctx, passcodeMessage(t, "bob@example.org", "12345678"))
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Send() = %v, want an error wrapping context.Canceled", err)
	}
}

func TestNewSMTPRejectsBadURLs(t *testing.T) {
	tests := []struct{ url, wantErr string }{
		{"http://mail.example:25", "scheme"},
		{"smtp://mail.example", "host and a port"},
		{"smtp://:25", "host and a port"},
		{"smtps://mail.example:465?insecure_skip_verify=maybe", "insecure_skip_verify"},
		{"smtps://mail.example:465?tls=1", "unknown parameter"},
		{"smtp://%zz", "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := mail.NewSMTP(tt.url)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewSMTP(%q) = %v, want an error containing %q", tt.url, err, tt.wantErr)
			}
		})
	}
}

func TestSMTPRefusesInvalidMessage(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	m := passcodeMessage(t, "bob@example.org", "12345678")
	m.Subject = "x\r\nBcc: eve@evil.example"
	if err := sender.Send(context.Background(), m); err == nil {
		t.Fatal("Send succeeded, want an error for the CRLF subject")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}
}
