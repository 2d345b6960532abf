package store

import (
	"gatehouse"
	"gatehouse/internal/mail"
)

// enqueueMail puts a message in the outbox inside the transaction of the
// change it belongs to; the worker delivers it after commit.
func (tx *Tx) enqueueMail(kind string, m mail.Message) error {
	m.From = tx.s.MailFrom
	if err := m.Validate(); err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "%s", err.Error())
	}
	_, err := tx.exec(`INSERT INTO outbox (id, to_addr, subject, text_body, html_body, kind, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, gatehouse.NewID(), m.To, m.Subject, m.Text, m.HTML, kind, micros(tx.now), micros(tx.now))
	return err
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
