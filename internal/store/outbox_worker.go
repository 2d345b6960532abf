package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
	"unicode/utf8"

	"gatehouse"
)

// Outbox states.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// maxMailError bounds the delivery error kept with a message.
const maxMailError = 1000

// OutboxMessage is one mail in the outbox. Text and HTML are filled only by
// ClaimMail, for the worker that delivers it: admins never see bodies,
// because a passcode mail's body is the secret itself.
type OutboxMessage struct {
	ID            string
	To            string
	Subject       string
	Kind          string // invitation, passcode
	State         string // OutboxPending, OutboxSent or OutboxFailed
	Attempts      int    // delivery attempts started, including one in progress
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LeaseUntil    time.Time // a worker holds the message until then
	SentAt        time.Time // zero until sent
	From          string    // "" is the configured sender
	ReplyTo       string    // "" for none

	Text, HTML string
}

const outboxColumns = `id, to_addr, subject, kind, state, attempts, last_error, created_at, next_attempt_at, lease_until, sent_at, from_addr, reply_to`

func scanOutbox(sc interface{ Scan(...any) error }, extra ...any) (OutboxMessage, error) {
	var m OutboxMessage
	var created, next, lease, sent int64
	dest := append([]any{&m.ID, &m.To, &m.Subject, &m.Kind, &m.State, &m.Attempts, &m.LastError, &created, &next, &lease, &sent, &m.From, &m.ReplyTo}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return m, err
	}
	m.CreatedAt, m.NextAttemptAt, m.LeaseUntil, m.SentAt = fromMicros(created), fromMicros(next), fromMicros(lease), fromMicros(sent)
	return m, nil
}

// ClaimMail leases up to limit due pending messages to the caller for lease
// and counts an attempt on each, with their bodies opened. A message whose
// body does not open with this node's key is failed instead. Nodes sharing one database never claim the
// same message while its lease runs, so a message is sent twice only when
// a worker outlives its lease.
func (s *Store) ClaimMail(ctx context.Context, limit int, lease time.Duration) ([]OutboxMessage, error) {
	if limit < 1 {
		return nil, nil
	}
	// Workers poll every few seconds; most polls find nothing, and should
	// not take SQLite's one write lock to learn that.
	var due int
	at := micros(s.Now())
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox
		WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ? LIMIT 1) d`, at, at).Scan(&due); err != nil {
		return nil, err
	} else if due == 0 {
		return nil, nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	tx.keepEpoch = true // mail delivery decides no access
	now := micros(tx.now)
	q := `SELECT ` + outboxColumns + `, text_body, html_body FROM outbox
		WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ? ORDER BY next_attempt_at, id LIMIT ?`
	if s.postgres {
		// Another node's claim in progress holds its rows; take others
		// instead of queueing behind it.
		q += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := tx.query(q, now, now, limit)
	if err != nil {
		return nil, err
	}
	var claimable []OutboxMessage
	for rows.Next() {
		var text, html string
		m, err := scanOutbox(rows, &text, &html)
		if err != nil {
			rows.Close()
			return nil, err
		}
		m.Text, m.HTML = text, html
		claimable = append(claimable, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	until := tx.now.Add(lease)
	out := claimable[:0]
	for _, m := range claimable {
		// Bodies are opened here, in memory, for the send only.
		text, terr := s.openMailBody(m.ID, m.To, "text", m.Text)
		html, herr := s.openMailBody(m.ID, m.To, "html", m.HTML)
		if err := errors.Join(terr, herr); err != nil {
			// No key opens it later either: give up on it now, where
			// an admin can see why.
			if _, err := tx.exec(`UPDATE outbox SET state = 'failed', lease_until = 0, last_error = ?
				WHERE id = ? AND state = 'pending' AND lease_until <= ?`, truncateUTF8(err.Error(), maxMailError), m.ID, now); err != nil {
				return nil, err
			}
			continue
		}
		m.Text, m.HTML = text, html
		// The guard repeats the select's conditions, so whoever commits
		// a claim first wins and the other node's update matches nothing.
		res, err := tx.exec(`UPDATE outbox SET lease_until = ?, attempts = attempts + 1
			WHERE id = ? AND state = 'pending' AND lease_until <= ?`, micros(until), m.ID, now)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue
		}
		m.LeaseUntil = until
		m.Attempts++
		out = append(out, m)
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return out, nil
}

// MailSent records that a claimed message was delivered. Returns ENOTFOUND
// if the message is not pending (another worker finished it first).
func (s *Store) MailSent(ctx context.Context, id string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tx.keepEpoch = true // mail delivery decides no access
	// Delivered mail keeps no body: it carries links and codes.
	res, err := tx.exec(`UPDATE outbox SET state = 'sent', sent_at = ?, lease_until = 0, last_error = '', text_body = '', html_body = ''
		WHERE id = ? AND state = 'pending'`, micros(tx.now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("The pending mail")
	}
	return tx.Commit()
}

// MailFailed records a failed delivery of a claimed message: it is tried
// again at next, or, if final, given up for good. Returns ENOTFOUND if the
// message is not pending.
func (s *Store) MailFailed(ctx context.Context, id, errText string, next time.Time, final bool) error {
	errText = truncateUTF8(errText, maxMailError)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tx.keepEpoch = true // mail delivery decides no access
	var res sql.Result
	if final {
		// A failed passcode mail is never retried (its code is dead), so
		// its code need not be kept either.
		res, err = tx.exec(`UPDATE outbox SET state = 'failed', lease_until = 0, last_error = ?,
			text_body = CASE WHEN kind = 'passcode' THEN '' ELSE text_body END,
			html_body = CASE WHEN kind = 'passcode' THEN '' ELSE html_body END
			WHERE id = ? AND state = 'pending'`, errText, id)
	} else {
		res, err = tx.exec(`UPDATE outbox SET next_attempt_at = ?, lease_until = 0, last_error = ?
			WHERE id = ? AND state = 'pending'`, micros(next), errText, id)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("The pending mail")
	}
	return tx.Commit()
}

// Outbox lists up to limit messages in state, or in any state if state is
// empty, newest first, without their bodies. Returns EINVALID.
func (s *Store) Outbox(ctx context.Context, state string, limit int) ([]OutboxMessage, error) {
	switch state {
	case "", OutboxPending, OutboxSent, OutboxFailed:
	default:
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "state must be pending, sent or failed.")
	}
	if limit < 1 {
		limit = 100
	}
	rows, err := s.query(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE (? = '' OR state = ?) ORDER BY created_at DESC, id DESC LIMIT ?`, state, state, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OutboxMessage{}
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RetryMail puts a failed message back in the queue, due now. Returns
// ENOTFOUND, or ECONFLICT if the message has not failed.
func (s *Store) RetryMail(ctx context.Context, id string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.exec(`UPDATE outbox SET state = 'pending', next_attempt_at = ?, lease_until = 0
		WHERE id = ? AND state = 'failed' AND kind <> 'passcode'`, micros(tx.now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var state, kind string
		err := tx.queryRow(`SELECT state, kind FROM outbox WHERE id = ?`, id).Scan(&state, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("The mail")
		} else if err != nil {
			return err
		}
		if kind == "passcode" && state == "failed" {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "A passcode mail is not resent: its code has expired. The recipient can ask for a new code.")
		}
		return gatehouse.Errorf(gatehouse.ECONFLICT, "Only failed mail can be retried; this one is %s.", state)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.wakeOutbox()
	return nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
