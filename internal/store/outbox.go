package store

import (
	"gatehouse"
	"gatehouse/internal/mail"
)

// enqueueMail puts a message in the outbox inside the transaction of the
// change it belongs to; the worker delivers it after commit. The bodies
// carry link URLs and passcodes, so they are sealed, bound to the message
// and its recipient; only ClaimMail opens them, for the worker's send.
// Subjects hold neither and stay readable for the admin pages.
func (tx *Tx) enqueueMail(kind string, m mail.Message) error {
	// A From of the caller's (mail.OnBehalf over the configured sender) is
	// kept with the message; none means the configured sender.
	from := m.From
	if m.From == "" {
		m.From = tx.s.opt.MailFrom
	}
	if err := m.Validate(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "%s", err.Error())
	}
	id := gatehouse.NewID()
	text, html := tx.s.sealMailBody(id, m.To, "text", m.Text), tx.s.sealMailBody(id, m.To, "html", m.HTML)
	_, err := tx.exec(`INSERT INTO outbox (id, to_addr, subject, text_body, html_body, kind, created_at, next_attempt_at, from_addr, reply_to)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, m.To, m.Subject, text, html, kind, micros(tx.now), micros(tx.now), from, m.ReplyTo)
	return err
}

// mailPurpose binds a sealed body to its message, recipient and part: a
// body moved to another row, or a row readdressed, no longer opens.
func mailPurpose(id, to, part string) string { return "outbox\x00" + id + "\x00" + to + "\x00" + part }

func (s *Store) sealMailBody(id, to, part, body string) string {
	if body == "" {
		return ""
	}
	return s.seal(mailPurpose(id, to, part), body)
}

func (s *Store) openMailBody(id, to, part, stored string) (string, error) {
	return s.open(mailPurpose(id, to, part), stored)
}

// wakeOutbox tells the worker that mail is waiting, without blocking.
func (s *Store) wakeOutbox() {
	select {
	case s.outboxWake <- struct{}{}:
	default:
	}
}

// OutboxWake is signalled after a commit that queued mail.
func (s *Store) OutboxWake() <-chan struct{} { return s.outboxWake }
