package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"time"
)

// defaultTimeout bounds a Send whose context has no deadline, so that a
// silent relay cannot hold an outbox worker forever.
const defaultTimeout = time.Minute

// tlsMode says how an SMTP connection is secured.
type tlsMode int

const (
	tlsNone     tlsMode = iota // smtp://
	tlsStartTLS                // smtp+starttls://
	tlsImplicit                // smtps://
)

// smtpSender delivers over SMTP, one connection per message.
type smtpSender struct {
	addr     string // host:port
	host     string // for TLS verification and net/smtp's PLAIN check
	mode     tlsMode
	user     string
	pass     string
	auth     bool
	insecure bool
	now      clock
}

// NewSMTP returns a Sender for the relay described by rawURL:
//
//	smtp://[user:pass@]host:port           plain text, no TLS
//	smtp+starttls://[user:pass@]host:port  STARTTLS, refused if not offered
//	smtps://[user:pass@]host:port          TLS from the first byte
//
// The query parameter insecure_skip_verify=1 turns off certificate checks,
// for test relays with self-signed certificates. Credentials select AUTH
// PLAIN. Over smtp:// net/smtp only sends them to localhost, 127.0.0.1 or
// ::1 and fails the Send for any other host, which keeps passwords off the
// wire in clear text.
func NewSMTP(rawURL string) (Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mail: the SMTP URL is not valid: %w", err)
	}
	s := &smtpSender{now: time.Now}
	switch u.Scheme {
	case "smtp":
		s.mode = tlsNone
	case "smtp+starttls":
		s.mode = tlsStartTLS
	case "smtps":
		s.mode = tlsImplicit
	default:
		return nil, fmt.Errorf("mail: the SMTP URL scheme %q is not one of smtp, smtp+starttls or smtps", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" || u.Port() == "" {
		return nil, errors.New("mail: the SMTP URL needs a host and a port")
	}
	s.addr = net.JoinHostPort(s.host, u.Port())
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		s.auth = true
	}
	q := u.Query()
	switch q.Get("insecure_skip_verify") {
	case "", "0", "false":
	case "1", "true":
		s.insecure = true
	default:
		return nil, errors.New("mail: insecure_skip_verify in the SMTP URL must be 1 or 0")
	}
	for k := range q {
		if k != "insecure_skip_verify" {
			return nil, fmt.Errorf("mail: the SMTP URL has an unknown parameter %q", k)
		}
	}
	return s, nil
}

// Send implements Sender.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	raw, err := m.Bytes(s.now(), newMessageID(m.From))
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()

	conn, err := s.dial(ctx)
	if err != nil {
		return contextError(ctx, deadline,
			fmt.Errorf("mail: could not connect to the SMTP server %s: %w", s.addr, err))
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("mail: could not set a deadline on the SMTP connection: %w", err)
	}
	// Cancellation before the deadline must also interrupt a blocked read;
	// a deadline in the past does that without racing with Close.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	err = s.converse(conn, envelopeAddress(m.From), envelopeAddress(m.To), raw)
	return contextError(ctx, deadline, err)
}

// contextError makes an I/O error caused by ctx ending also match
// context.Canceled or context.DeadlineExceeded, so callers (an outbox worker
// shutting down) can tell it from a relay's refusal.
func contextError(ctx context.Context, deadline time.Time, err error) error {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%w)", err, context.Cause(ctx))
	case !time.Now().Before(deadline):
		// The connection deadline fired a moment before ctx's own timer.
		return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	return err
}

// dial opens the TCP connection, with TLS already on for smtps.
func (s *smtpSender) dial(ctx context.Context) (net.Conn, error) {
	if s.mode == tlsImplicit {
		d := tls.Dialer{Config: s.tlsConfig()}
		return d.DialContext(ctx, "tcp", s.addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.addr)
}

// converse runs the SMTP dialogue for one message on conn.
func (s *smtpSender) converse(conn net.Conn, from, to string, raw []byte) error {
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("mail: the SMTP server %s did not greet us: %w", s.addr, err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("mail: the SMTP server %s refused our greeting: %w", s.addr, err)
	}
	if s.mode == tlsStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("mail: the SMTP server %s does not offer STARTTLS", s.addr)
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("mail: STARTTLS with the SMTP server %s failed: %w", s.addr, err)
		}
	}
	if s.auth {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("mail: the SMTP server %s does not offer AUTH, but the URL has credentials", s.addr)
		}
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("mail: the SMTP server %s refused the login for %q: %w", s.addr, s.user, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail: the SMTP server %s refused the sender %s: %w", s.addr, from, err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("mail: the SMTP server %s refused the recipient %s: %w", s.addr, to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: the SMTP server %s refused to take the message data: %w", s.addr, err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("mail: sending the message data to %s failed: %w", s.addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: the SMTP server %s did not accept the message: %w", s.addr, err)
	}
	// The message is accepted once DATA is; a failed QUIT loses nothing.
	_ = c.Quit()
	return nil
}

// tlsConfig returns the client TLS settings for the relay.
func (s *smtpSender) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         s.host,
		InsecureSkipVerify: s.insecure, // only when the URL asks, for test relays
		MinVersion:         tls.VersionTLS12,
	}
}
