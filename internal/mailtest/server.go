// Package mailtest runs a real SMTP server inside a test process, so tests
// can read the mails Gatehouse sends the way a person would: by recipient,
// subject and text, not by inspecting a mock.
package mailtest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the server accepted.
type Mail struct {
	From    string   // envelope sender (MAIL FROM)
	To      []string // envelope recipients (RCPT TO)
	Raw     []byte   // the message as received, CRLF line endings
	Subject string   // decoded from RFC 2047
	Text    string   // decoded text/plain part, LF line endings
	HTML    string   // decoded text/html part, LF line endings
}

// Option configures a Server.
type Option func(*config)

type config struct {
	starttls bool
	implicit bool
	user     string
	pass     string
}

// WithTLS makes the server offer STARTTLS with a self-signed certificate for
// 127.0.0.1 and localhost.
func WithTLS() Option { return func(c *config) { c.starttls = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (smtps),
// with a self-signed certificate. It takes precedence over WithTLS.
func WithImplicitTLS() Option { return func(c *config) { c.implicit = true } }

// WithAuth makes the server require AUTH PLAIN with these credentials before
// it accepts mail. PLAIN is allowed without TLS, as this is a test server.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// Server is an SMTP server listening on 127.0.0.1 that keeps every message
// it accepts.
type Server struct {
	cfg  config
	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	msgs     []Mail
	returned []bool        // returned[i]: msgs[i] was handed out by WaitFor
	arrived  chan struct{} // closed and replaced when a message arrives
}

// Start starts a server on 127.0.0.1 with a free port and stops it when the
// test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	for _, o := range opts {
		o(&s.cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = ln.Addr().String()

	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	s.srv.Domain = "localhost"
	// go-smtp logs failed handshakes to stderr; tests that provoke them on
	// purpose would be noisy, and the client side reports them anyway.
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = 50
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	if s.cfg.starttls || s.cfg.implicit {
		cert, err := selfSignedCert()
		if err != nil {
			ln.Close()
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if s.cfg.implicit {
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.srv.Close()
		// Serve may not have registered ln yet when a test ends at once, in
		// which case Close missed it; closing it here ends Serve either way.
		ln.Close()
		<-done
	})
	return s
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL returns the URL that points gatehouse/internal/mail.NewSMTP at this
// server, with credentials when WithAuth was given.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	switch {
	case s.cfg.implicit:
		u.Scheme, u.RawQuery = "smtps", "insecure_skip_verify=1"
	case s.cfg.starttls:
		u.Scheme, u.RawQuery = "smtp+starttls", "insecure_skip_verify=1"
	}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	return u.String()
}

// Messages returns every message received so far, oldest first.
func (s *Server) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// WaitFor returns the oldest message to the recipient to that no earlier
// WaitFor call returned, waiting up to timeout for one to arrive. It fails
// the test on timeout, so call it from the test's goroutine.
func (s *Server) WaitFor(t testing.TB, to string, timeout time.Duration) Mail {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if !s.returned[i] && hasRecipient(m, to) {
				s.returned[i] = true
				s.mu.Unlock()
				return m
			}
		}
		arrived := s.arrived
		s.mu.Unlock()

		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("mailtest: no mail to %s arrived within %v (%d received in all)",
				to, timeout, len(s.Messages()))
			return Mail{}
		}
	}
}

// hasRecipient reports whether m went to addr; the domain part of an address
// is case-insensitive, and in practice so is the local part.
func hasRecipient(m Mail, addr string) bool {
	return slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, addr) })
}

// add stores a message and wakes up waiters.
func (s *Server) add(m Mail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.returned = append(s.returned, false)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// session is one SMTP connection's state.
type session struct {
	server *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms implements smtp.AuthSession; none are offered without
// WithAuth, so the server does not advertise AUTH then.
func (ss *session) AuthMechanisms() []string {
	if ss.server.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth implements smtp.AuthSession.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.server.cfg.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if identity != "" && identity != user {
			return errors.New("identity must be empty or match the user")
		}
		if user != ss.server.cfg.user || pass != ss.server.cfg.pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

// Mail implements smtp.Session.
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.server.cfg.user != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

// Rcpt implements smtp.Session.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

// Data implements smtp.Session. A message that does not parse is refused,
// so a sender bug shows up as a failed Send in the test that caused it.
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{
			Code:         554,
			EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message:      fmt.Sprintf("mailtest could not parse the message: %v", err),
		}
	}
	m.From = ss.from
	m.To = slices.Clone(ss.to)
	ss.server.add(m)
	return nil
}

// Reset implements smtp.Session.
func (ss *session) Reset() { ss.from, ss.to = "", nil }

// Logout implements smtp.Session.
func (ss *session) Logout() error { return nil }
