package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/mail"
)

// verifyFreeFailures is how many failed verifications a client address
// makes before each further try waits, doubling, as sign-ins do.
const verifyFreeFailures = 50

// errBadCode is the one answer to every failed verification: wrong,
// expired, used, killed, paused, or not a recipient at all.
var errBadCode = gatehouse.Errorf(gatehouse.EINVALID, "That code didn't work. Check the latest email we sent, or ask for a new code.")

// errDeadCode answers a failed verification once the latest code can no
// longer work from this client: its fifth wrong try since the last code
// request, or PasscodeTTL after that request, or no request at all. Only
// the pair's request time and this client's tries decide it, which a
// stranger's address has just as a recipient's does.
var errDeadCode = gatehouse.Errorf(gatehouse.EINVALID, "This code can no longer be used: a code lasts 10 minutes and allows 5 tries. Ask for a new code.")

// CodeNoLongerValid reports whether err is the answer to a try at a code
// that can no longer work (codeNoLongerValid), rather than a wrong one.
func CodeNoLongerValid(err error) bool { return errors.Is(err, errDeadCode) }

// loadPasscodeKey reads the deployment's HMAC key for codes, creating it
// on first start. It lives in the database so every node shares it, and is
// cached only once committed.
func (s *Store) loadPasscodeKey(ctx context.Context) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.exec(`INSERT INTO secrets (name, value) VALUES ('passcode_hmac', ?) ON CONFLICT (name) DO NOTHING`,
		gatehouse.NewSecret("")); err != nil {
		return err
	}
	var v string
	if err := tx.queryRow(`SELECT value FROM secrets WHERE name = 'passcode_hmac'`).Scan(&v); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	k := []byte(v)
	s.codeKey.Store(&k)
	return nil
}

func (tx *Tx) passcodeKey() ([]byte, error) {
	if k := tx.s.codeKey.Load(); k != nil {
		return *k, nil
	}
	return nil, errors.New("store: the passcode key is not loaded")
}

// codeHash binds a code to its link and address.
func codeHash(key []byte, linkID, email, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(linkID + "\x00" + email + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// SendPasscode mails a new code to email if it is secured to the link and
// neither limits nor a pause stand in the way. Whatever the case, it
// returns nil once the link itself is valid, so the caller answers alike:
// only the link's own state (ENOTFOUND, EGONE) is ever reported.
func (s *Store) SendPasscode(ctx context.Context, token, email, ip, ua string) error {
	l, err := s.LinkByToken(ctx, token)
	if err != nil {
		return err
	}
	email, err = gatehouse.NormalizeEmail(email)
	if err != nil {
		return err // the address's form only, which says nothing about who exists
	}
	return s.sendCode(ctx, linkCodeScope(l.ID, email), func(tx *Tx) (bool, error) {
		// A code request writes its code, the request's throttle and the
		// mail: no fact an access decision reads, so it keeps the epoch.
		tx.keepEpoch = true
		return tx.sendPasscode(l, email, ip, ua)
	})
}

// PasscodeResendAfter is how long until (link, email) may ask for a new
// code: the same for every address, recipient or not.
func (s *Store) PasscodeResendAfter(ctx context.Context, token, email string) (time.Duration, error) {
	l, err := s.LinkByToken(ctx, token)
	if err != nil {
		return 0, err
	}
	email, err = gatehouse.NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	return s.resendAfter(ctx, linkCodeScope(l.ID, email))
}

// linkCodeScope names the code requests of (link, email).
func linkCodeScope(linkID, email string) string { return "link:" + linkID + ":" + email }

// sendCode runs a code request in a transaction. Every address's request
// counts alike: one within SendMinInterval of the scope's last accepted
// request does nothing; any other is accepted, and its time kept (in
// login_attempts, under codeRequestKey), whether or not send then mails a
// code. A request that sent a code wakes the outbox.
func (s *Store) sendCode(ctx context.Context, scope string, send func(tx *Tx) (bool, error)) error {
	sent := false
	err := s.inTx(ctx, func(tx *Tx) error {
		ok, err := tx.acceptCodeRequest(scope)
		if err != nil || !ok {
			return err
		}
		sent, err = send(tx)
		return err
	})
	if err == nil && sent {
		s.wakeOutbox()
	}
	return err
}

// errNothingSent rolls back a code request that sent nothing.
var errNothingSent = errors.New("store: no code sent")

// codeRequestKey is the login_attempts row of a scope's last accepted
// code request; its window_start is that request's time.
func codeRequestKey(scope string) string { return "code-request:" + scope }

// acceptCodeRequest accepts a request unless the scope's last accepted one
// is under SendMinInterval old, in one statement, so of parallel requests
// one is accepted.
func (tx *Tx) acceptCodeRequest(scope string) (bool, error) {
	var at int64
	err := tx.queryRow(`INSERT INTO login_attempts (key, failures, window_start, blocked_until) VALUES (?, 0, ?, 0)
		ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start WHERE login_attempts.window_start <= ?
		RETURNING window_start`, codeRequestKey(scope), micros(tx.now), micros(tx.now.Add(-gatehouse.SendMinInterval))).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// lastCodeRequest is the time of the scope's last accepted code request,
// or 0 for none.
func (tx *Tx) lastCodeRequest(scope string) (int64, error) {
	var at int64
	err := tx.queryRow(`SELECT window_start FROM login_attempts WHERE key = ?`, codeRequestKey(scope)).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return at, err
}

// resendAfter is how long until the scope may ask for a new code.
func (s *Store) resendAfter(ctx context.Context, scope string) (time.Duration, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	at, err := tx.lastCodeRequest(scope)
	if err != nil || at == 0 {
		return 0, err
	}
	return max(0, fromMicros(at).Add(gatehouse.SendMinInterval).Sub(tx.now)), nil
}

func (tx *Tx) sendPasscode(l *gatehouse.Link, email, ip, ua string) (bool, error) {
	lock := ""
	if tx.s.postgres {
		// Sends for one pair, and for one client, take turns across nodes,
		// so the counts below hold under concurrency.
		lock = ` FOR UPDATE`
		if _, err := tx.exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "passcode-ip:"+ip); err != nil {
			return false, err
		}
	}
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM link_recipients WHERE link_id = ? AND email = ?`+lock+`) r`, l.ID, email).Scan(&n); err != nil || n == 0 {
		return false, err
	}
	now := micros(tx.now)
	var paused, disabled int
	if err := tx.queryRow(`SELECT COUNT(*) FROM verification_pauses WHERE link_id = ? AND email = ? AND client_ip = ? AND paused_until > ?`,
		l.ID, email, ip, now).Scan(&paused); err != nil || paused > 0 {
		return false, err
	}
	// A disabled account's address gets no way in through a passcode.
	if err := tx.queryRow(`SELECT COUNT(*) FROM users WHERE email = ? AND disabled = ?`, email, true).Scan(&disabled); err != nil || disabled > 0 {
		return false, err
	}
	if ok, err := tx.pairMaySend(l.ID, email); err != nil || !ok {
		return false, err
	}
	var ipHour int
	if err := tx.queryRow(`SELECT COUNT(*) FROM passcodes WHERE client_ip = ? AND created_at > ?`, ip, micros(tx.now.Add(-time.Hour))).Scan(&ipHour); err != nil {
		return false, err
	}
	if ipHour >= gatehouse.SendMaxPerHourPerIP {
		return false, nil
	}
	key, err := tx.passcodeKey()
	if err != nil {
		return false, err
	}
	// Earlier codes stay live: whoever asked for this one, every code that
	// reached the mailbox must keep working for the recipient.
	code := gatehouse.NewPasscode()
	expires := tx.now.Add(gatehouse.PasscodeTTL)
	if _, err := tx.exec(`INSERT INTO passcodes (id, link_id, email, code_hash, client_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		gatehouse.NewID(), l.ID, email, codeHash(key, l.ID, email, code), ip, now, micros(expires)); err != nil {
		return false, err
	}
	it, _, err := tx.s.item(tx, l.DriveID, l.ItemID)
	if err != nil {
		return false, err
	}
	// Only an address on the link gets this mail, so it may name the item.
	subject, text, html, err := mail.RenderPasscode(mail.Passcode{Code: code, ItemName: it.Name, ExpiresAt: expires, ValidFor: gatehouse.PasscodeTTL})
	if err != nil {
		return false, err
	}
	if err := tx.enqueueMail("passcode", mail.Message{To: email, Subject: subject, Text: text, HTML: html}); err != nil {
		return false, err
	}
	r := tx.s.linkRecord(gatehouse.OpPasscodeSent, recipientActor(email, ip, ua), it, l)
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = email, "External"
	r.EventData = gatehouse.EventData(map[string]any{"expiresAt": expires.Format(time.RFC3339)})
	return true, tx.audit(r)
}

// sendWindows is how many code lifetimes make the hour of SendMaxPerHour.
const sendWindows = int(time.Hour / gatehouse.PasscodeTTL)

// pairSendQuery counts a pair's sends in the last SendMinInterval and in
// the last 1, 2, … sendWindows code lifetimes.
var pairSendQuery = func() string {
	var b strings.Builder
	b.WriteString(`SELECT COALESCE(SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END), 0)`)
	for range sendWindows {
		b.WriteString(`, COALESCE(SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END), 0)`)
	}
	b.WriteString(` FROM passcodes WHERE link_id = ? AND email = ? AND created_at > ?`)
	return b.String()
}()

// pairMaySend applies the per-pair send limits: one per SendMinInterval,
// SendMaxPerHour an hour, spread so that the hour cannot be spent early.
// In the last k code lifetimes at most SendMaxPerHour-sendWindows+k codes
// go out; so whenever a send is refused, a code sent within the last
// lifetime is still live in the mailbox. Someone else asking for codes can
// flood the recipient no faster than that, and never leave them without a
// working one.
func (tx *Tx) pairMaySend(linkID, email string) (bool, error) {
	args := []any{micros(tx.now.Add(-gatehouse.SendMinInterval))}
	for k := 1; k <= sendWindows; k++ {
		args = append(args, micros(tx.now.Add(-time.Duration(k)*gatehouse.PasscodeTTL)))
	}
	args = append(args, linkID, email, micros(tx.now.Add(-time.Duration(sendWindows)*gatehouse.PasscodeTTL)))
	counts := make([]int, 1+sendWindows)
	dest := make([]any, len(counts))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := tx.queryRow(pairSendQuery, args...).Scan(dest...); err != nil {
		return false, err
	}
	if counts[0] > 0 {
		return false, nil
	}
	for k := 1; k <= sendWindows; k++ {
		if counts[k] >= gatehouse.SendMaxPerHour-sendWindows+k {
			return false, nil
		}
	}
	return true, nil
}

func recipientActor(email, ip, ua string) gatehouse.Actor {
	return gatehouse.Actor{Principal: gatehouse.RecipientPrincipal(email), Origin: gatehouse.Origin{ClientIP: ip, UserAgent: ua, Auth: gatehouse.AuthPasscode}}
}

// RecipientSession is a verified recipient's session.
type RecipientSession struct {
	Secret    string
	Email     string
	Remember  bool
	ExpiresAt time.Time
	// PartnerDomain: a partner identity provider holds the address's
	// domain, as of the verification. False spares the caller looking one
	// up.
	PartnerDomain bool
}

// VerifyPasscode redeems a code for (link, email) and opens a recipient
// session. Every failure is the same EINVALID; the link's own state is
// ENOTFOUND or EGONE. Concurrent redemptions of one code succeed once.
//
// Wrong tries count per client address: a code takes at most
// PasscodeMaxFailures tries from each, and pauses stop one address only, so
// nobody elsewhere can make a code in the recipient's mailbox stop working
// for the recipient.
//
// A remembered session lasts the sharing settings' e-mail attestation
// period, read in the same transaction.
func (s *Store) VerifyPasscode(ctx context.Context, token, email, code string, remember bool, ip, ua string) (*RecipientSession, error) {
	// The link comes from the view when it can; the batch reads it again
	// if anything changed since (linkAsOfBatch).
	vc, use := Remembering(ctx)
	viewed, err := s.LinkByToken(vc, token)
	if err != nil {
		return nil, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	code, wellFormed := gatehouse.NormalizePasscode(code)
	if _, err := gatehouse.NormalizeEmail(email); err != nil {
		return nil, errDeadCode // no address, so no request for it either
	}
	var sess *RecipientSession
	var failed error
	// Group-committed with the verifications waiting alongside it
	// (passcode_batch.go); its change and records commit together all the
	// same.
	err = s.inVerifyBatch(ctx, ip, func(tx *Tx) (err error) {
		l, err := tx.linkAsOfBatch(viewed, use, token)
		if err != nil {
			return err
		}
		sess, failed, err = s.verifyPasscode(tx, l, email, code, wellFormed, remember, ip, ua)
		return err
	})
	if err != nil {
		return nil, err
	}
	if failed != nil {
		return nil, failed
	}
	return sess, nil
}

// verifyPasscode tries the code in tx. A failed try is committed with its
// records and reported as the failure to answer (errBadCode or
// errDeadCode); a refused one returns errBadCode, which rolls back (to its
// savepoint, in a batch), so it checks and counts nothing.
func (s *Store) verifyPasscode(tx *Tx, l *gatehouse.Link, email, code string, wellFormed, remember bool, ip, ua string) (*RecipientSession, error, error) {
	var it *gatehouse.Item
	if !s.postgres { // read with the codes on PostgreSQL
		var err error
		if it, _, err = s.item(tx, l.DriveID, l.ItemID); err != nil {
			return nil, nil, err
		}
	}
	actor := recipientActor(email, ip, ua)
	now := micros(tx.now)

	// One client guessing across many addresses is slowed down like
	// sign-ins; it is told nothing more than the generic failure. The try
	// is charged first, in one statement, so parallel tries each see those
	// before them; on PostgreSQL the row then orders this client's tries.
	ipKey := throttleKey{key: "verify-ip:" + ip, free: verifyFreeFailures}
	blocked, err := tx.charge(ipKey)
	if err != nil {
		return nil, nil, err
	}
	if blocked > now {
		return nil, nil, errBadCode
	}

	if s.postgres {
		return s.verifyPasscodePostgres(tx, l, actor, email, code, wellFormed, remember, ip, ipKey.key, blocked)
	}

	var paused int
	if err := tx.queryRow(`SELECT COUNT(*) FROM verification_pauses WHERE link_id = ? AND email = ? AND client_ip = ? AND paused_until > ?`,
		l.ID, email, ip, now).Scan(&paused); err != nil {
		return nil, nil, err
	}
	reason := "paused"
	if paused == 0 {
		id, why, err := tx.tryCodes(l, email, code, wellFormed, ip)
		if err != nil {
			return nil, nil, err
		}
		if id != "" {
			// The try was not a failure: give the client its charge back.
			if _, err := tx.exec(`UPDATE login_attempts SET failures = failures - 1, blocked_until = ? WHERE key = ? AND failures > 0`,
				blocked, ipKey.key); err != nil {
				return nil, nil, err
			}
			sess, err := tx.createRecipientSession(email, remember, ip)
			if err != nil {
				return nil, nil, err
			}
			if sess.PartnerDomain, err = tx.partnerDomain(email); err != nil {
				return nil, nil, err
			}
			r := s.linkRecord(gatehouse.OpPasscodeVerified, actor, it, l)
			r.EventData = gatehouse.EventData(map[string]any{"remember": remember})
			if err := tx.audit(r); err != nil {
				return nil, nil, err
			}
			// With B2B integration, the outsider becomes a guest right here.
			st, err := tx.sharingSettings(false)
			if err == nil && st.IsB2BIntegrationEnabled {
				err = tx.addEmailGuest(actor, email)
			}
			return sess, nil, err
		}
		reason = why
	}
	return tx.verifyFailed(l, it, actor, reason, paused > 0)
}

// verifyFailed records a failed try and answers it.
func (tx *Tx) verifyFailed(l *gatehouse.Link, it *gatehouse.Item, actor gatehouse.Actor, reason string, paused bool) (*RecipientSession, error, error) {
	if err := tx.passcodeFailed(l, it, actor, reason); err != nil {
		return nil, nil, err
	}
	dead, err := tx.codeDead(l.ID, actor.Email, actor.ClientIP, paused)
	if err != nil || !dead {
		return nil, errBadCode, err
	}
	return nil, errDeadCode, nil
}

// verifyPasscodePostgres is verifyPasscode's rest on PostgreSQL, where
// every statement is a round trip: the item, the pause, the settings and
// the live codes are read in one statement, and the matching code is charged its
// try, redeemed, the client's charge given back and the session opened in
// another. The tries are charged in the same order as on SQLite (tryCodes),
// so the two answer alike.
func (s *Store) verifyPasscodePostgres(tx *Tx, l *gatehouse.Link, actor gatehouse.Actor, email, code string,
	wellFormed, remember bool, ip, ipKey string, blocked int64) (*RecipientSession, error, error) {
	now := micros(tx.now)
	// Read after the charge, in a snapshot of their own, so they see every
	// try of this client before this one. The item's columns and query are
	// item's (items.go); a row per live code, or one with none.
	rows, err := tx.query(`SELECT `+itemColumns+`, d.root_id,
			(SELECT COUNT(*) FROM verification_pauses WHERE link_id = ? AND email = ? AND client_ip = ? AND paused_until > ?),
			(SELECT is_b2b_integration_enabled FROM sharing_settings WHERE id = 1),
			(SELECT email_attestation_reauth_days FROM sharing_settings WHERE id = 1),
			(SELECT COUNT(*) FROM provider_domains WHERE domain = ?),
			p.id, p.code_hash
		FROM items JOIN drives d ON d.id = items.drive_id LEFT JOIN LATERAL (
			SELECT id, code_hash, created_at FROM passcodes WHERE link_id = ? AND email = ? AND used_at = 0 AND killed = ? AND expires_at > ?
		) p ON true
		WHERE items.id = ? AND items.drive_id = ?
		ORDER BY p.created_at DESC, p.id`, l.ID, email, ip, now, gatehouse.EmailDomain(email), l.ID, email, false, now, l.ItemID, l.DriveID)
	if err != nil {
		return nil, nil, err
	}
	type liveCode struct{ id, hash string }
	var codes []liveCode
	var it *gatehouse.Item
	var rootID string
	var paused, partners int
	var b2b sql.NullBool
	var reauthDays sql.NullInt64
	for rows.Next() {
		var id, hash sql.NullString
		if it, err = scanItem(rows, &rootID, &paused, &b2b, &reauthDays, &partners, &id, &hash); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if id.Valid {
			codes = append(codes, liveCode{id.String, hash.String})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if it == nil {
		return nil, nil, notFound("The item") // rolls the charge back with the rest
	}
	if _, err := s.placeItem(tx, it, rootID); err != nil {
		return nil, nil, err
	}
	if paused > 0 {
		return tx.verifyFailed(l, it, actor, "paused", true)
	}
	key, err := tx.passcodeKey()
	if err != nil {
		return nil, nil, err
	}
	want := codeHash(key, l.ID, email, code)
	checked := false
	for _, c := range codes {
		var tries int
		if !wellFormed || !hmac.Equal([]byte(c.hash), []byte(want)) {
			if err := tx.queryRow(`INSERT INTO passcode_tries (passcode_id, client_ip, tries) VALUES (?, ?, 1)
				ON CONFLICT (passcode_id, client_ip) DO UPDATE SET tries = passcode_tries.tries + 1
				RETURNING tries`, c.id, ip).Scan(&tries); err != nil {
				return nil, nil, err
			}
			checked = checked || tries <= gatehouse.PasscodeMaxFailures
			continue
		}
		if !b2b.Valid || !reauthDays.Valid {
			// No settings row yet: create it as sharingSettings does.
			st, err := tx.sharingSettings(false)
			if err != nil {
				return nil, nil, err
			}
			b2b.Bool, reauthDays.Int64 = st.IsB2BIntegrationEnabled, int64(st.EmailAttestationReAuthDays)
		}
		ttl := gatehouse.RecipientSessionTTL
		if remember {
			ttl = time.Duration(reauthDays.Int64) * 24 * time.Hour
		}
		sess := &RecipientSession{Secret: gatehouse.NewSecret(""), Email: email, Remember: remember, ExpiresAt: tx.now.Add(ttl), PartnerDomain: partners > 0}
		// The try is charged first; the code is redeemed only within the
		// tries left, once (the guard on used_at), and only then is the
		// client's charge given back and the session opened.
		var redeemed int
		if err := tx.queryRow(`WITH t AS (
				INSERT INTO passcode_tries (passcode_id, client_ip, tries) VALUES (?, ?, 1)
				ON CONFLICT (passcode_id, client_ip) DO UPDATE SET tries = passcode_tries.tries + 1
				RETURNING tries
			), u AS (
				UPDATE passcodes SET used_at = ? WHERE id = ? AND used_at = 0 AND (SELECT tries FROM t) <= ?::integer RETURNING id
			), r AS (
				UPDATE login_attempts SET failures = failures - 1, blocked_until = ? WHERE key = ? AND failures > 0 AND EXISTS (SELECT 1 FROM u)
			), s AS (
				INSERT INTO recipient_sessions (id, hash, email, remember, client_ip, created_at, expires_at)
				SELECT ?::text, ?::text, ?::text, ?::boolean, ?::text, ?::bigint, ?::bigint FROM u
			)
			SELECT (SELECT tries FROM t), (SELECT COUNT(*) FROM u)`,
			c.id, ip, now, c.id, gatehouse.PasscodeMaxFailures, blocked, ipKey,
			gatehouse.NewID(), hashSecret(sess.Secret), email, remember, ip, now, micros(sess.ExpiresAt)).Scan(&tries, &redeemed); err != nil {
			return nil, nil, err
		}
		checked = checked || tries <= gatehouse.PasscodeMaxFailures
		if redeemed == 0 {
			continue // no tries left at it, or redeemed by a parallel try
		}
		r := s.linkRecord(gatehouse.OpPasscodeVerified, actor, it, l)
		r.EventData = gatehouse.EventData(map[string]any{"remember": remember})
		if err := tx.audit(r); err != nil {
			return nil, nil, err
		}
		if b2b.Bool {
			// With B2B integration, the outsider becomes a guest right here.
			return sess, nil, tx.addEmailGuest(actor, email)
		}
		return sess, nil, nil
	}
	switch {
	case len(codes) == 0:
		return tx.verifyFailed(l, it, actor, "no live code", false)
	case !checked:
		return tx.verifyFailed(l, it, actor, "no tries left at the live codes", false)
	}
	return tx.verifyFailed(l, it, actor, "", false)
}

// codeDead reports whether the latest code of (link, email) can no longer
// work from this client, by the request time and this client's failures
// alone: no request, one PasscodeTTL old, PasscodeMaxFailures wrong tries
// since it, or a pause.
func (tx *Tx) codeDead(linkID, email, ip string, paused bool) (bool, error) {
	if paused {
		return true, nil
	}
	at, err := tx.lastCodeRequest(linkCodeScope(linkID, email))
	if err != nil || at == 0 || at <= micros(tx.now.Add(-gatehouse.PasscodeTTL)) {
		return true, err
	}
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM passcode_failures WHERE link_id = ? AND email = ? AND client_ip = ? AND at >= ?`,
		linkID, email, ip, at).Scan(&n); err != nil {
		return false, err
	}
	return n >= gatehouse.PasscodeMaxFailures, nil
}

// tryCodes checks code against the pair's live codes that this client has
// tries left at, charging a try at each first, and redeems the one it
// matches. It returns the redeemed code's id, or "" and why nothing was.
func (tx *Tx) tryCodes(l *gatehouse.Link, email, code string, wellFormed bool, ip string) (string, string, error) {
	key, err := tx.passcodeKey()
	if err != nil {
		return "", "", err
	}
	id, live, checked, err := tx.redeemCode(linkCodes, codeHash(key, l.ID, email, code), wellFormed, ip,
		`SELECT id, code_hash FROM passcodes WHERE link_id = ? AND email = ? AND used_at = 0 AND killed = ? AND expires_at > ?
		ORDER BY created_at DESC, id`, l.ID, email, false, micros(tx.now))
	switch {
	case err != nil || id != "":
		return id, "", err
	case !live:
		return "", "no live code", nil
	case !checked:
		return "", "no tries left at the live codes", nil
	}
	return "", "", nil
}

// codeKind names the tables of one kind of emailed code: the codes, and
// the tries each client address has made at each of them.
type codeKind struct{ codes, tries, triesFK string }

var (
	linkCodes  = codeKind{"passcodes", "passcode_tries", "passcode_id"}
	guestCodes = codeKind{"guest_codes", "guest_code_tries", "code_id"}
)

// redeemCode checks a code, as its keyed hash want, against the live codes
// liveQuery selects (id, code_hash), and redeems the one it matches. Each
// try is charged before the comparison, in one statement, so of any number
// of parallel tries from one address PasscodeMaxFailures are compared; the
// guard on used_at makes the redemption happen once, whoever else races
// for the same code. It reports whether any code was live and whether any
// was compared.
func (tx *Tx) redeemCode(k codeKind, want string, wellFormed bool, ip, liveQuery string, args ...any) (id string, live, checked bool, err error) {
	rows, err := tx.query(liveQuery, args...)
	if err != nil {
		return "", false, false, err
	}
	type code struct{ id, hash string }
	var codes []code
	for rows.Next() {
		var c code
		if err := rows.Scan(&c.id, &c.hash); err != nil {
			rows.Close()
			return "", false, false, err
		}
		codes = append(codes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", false, false, err
	}
	for _, c := range codes {
		var tries int
		if err := tx.queryRow(`INSERT INTO `+k.tries+` (`+k.triesFK+`, client_ip, tries) VALUES (?, ?, 1)
			ON CONFLICT (`+k.triesFK+`, client_ip) DO UPDATE SET tries = `+k.tries+`.tries + 1
			RETURNING tries`, c.id, ip).Scan(&tries); err != nil {
			return "", true, checked, err
		}
		if tries > gatehouse.PasscodeMaxFailures {
			continue
		}
		checked = true
		if !wellFormed || !hmac.Equal([]byte(c.hash), []byte(want)) {
			continue
		}
		res, err := tx.exec(`UPDATE `+k.codes+` SET used_at = ? WHERE id = ? AND used_at = 0`, micros(tx.now), c.id)
		if err != nil {
			return "", true, checked, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return c.id, true, true, nil
		}
	}
	return "", len(codes) > 0, checked, nil
}

// passcodeFailed records a failed try and counts it against (link, email,
// client address), pausing that client for the pair after
// PauseAfterFailures in PauseFailureWindow. Other clients, the recipient's
// among them, are not affected.
func (tx *Tx) passcodeFailed(l *gatehouse.Link, it *gatehouse.Item, actor gatehouse.Actor, reason string) error {
	email, ip, now := actor.Email, actor.ClientIP, micros(tx.now)
	r := tx.s.linkRecord(gatehouse.OpPasscodeFailed, actor, it, l)
	r.ResultStatus = "Failed"
	if reason != "" {
		r.EventData = gatehouse.EventData(map[string]any{"reason": reason})
	}
	if err := tx.audit(r); err != nil || reason == "paused" {
		return err // a paused client gains no more failures to count
	}
	if _, err := tx.exec(`INSERT INTO passcode_failures (link_id, email, client_ip, at) VALUES (?, ?, ?, ?)`, l.ID, email, ip, now); err != nil {
		return err
	}
	// This client's tries are ordered by its throttle row (charged first),
	// so the count sees every failure before it.
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM passcode_failures WHERE link_id = ? AND email = ? AND client_ip = ? AND at > ?`,
		l.ID, email, ip, micros(tx.now.Add(-gatehouse.PauseFailureWindow))).Scan(&n); err != nil {
		return err
	}
	if n < gatehouse.PauseAfterFailures {
		return nil
	}
	until := tx.now.Add(gatehouse.PauseDuration)
	if _, err := tx.exec(`INSERT INTO verification_pauses (link_id, email, client_ip, paused_at, paused_until) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (link_id, email, client_ip) DO UPDATE SET paused_at = excluded.paused_at, paused_until = excluded.paused_until`,
		l.ID, email, ip, now, micros(until)); err != nil {
		return err
	}
	// Start the next count afresh once the pause ends.
	if _, err := tx.exec(`DELETE FROM passcode_failures WHERE link_id = ? AND email = ? AND client_ip = ?`, l.ID, email, ip); err != nil {
		return err
	}
	p := tx.s.linkRecord(gatehouse.OpPasscodeVerificationPaused, actor, it, l)
	p.TargetUserOrGroupName, p.TargetUserOrGroupType = email, "External"
	p.EventData = gatehouse.EventData(map[string]any{"pausedUntil": until.Format(time.RFC3339), "failures": n, "clientAddress": ip})
	return tx.audit(p)
}

// createRecipientSession opens a session; a remembered one lasts the
// e-mail attestation period of the sharing settings as they are now.
func (tx *Tx) createRecipientSession(email string, remember bool, ip string) (*RecipientSession, error) {
	ttl := gatehouse.RecipientSessionTTL
	if remember {
		st, err := tx.sharingSettings(false)
		if err != nil {
			return nil, err
		}
		ttl = time.Duration(st.EmailAttestationReAuthDays) * 24 * time.Hour
	}
	sess := &RecipientSession{Secret: gatehouse.NewSecret(""), Email: email, Remember: remember, ExpiresAt: tx.now.Add(ttl)}
	_, err := tx.exec(`INSERT INTO recipient_sessions (id, hash, email, remember, client_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		gatehouse.NewID(), hashSecret(sess.Secret), email, remember, ip, micros(tx.now), micros(sess.ExpiresAt))
	return sess, err
}

// RecipientBySession returns the principal of a live recipient session:
// the ad hoc recipient of the address it verified. Returns EUNAUTHORIZED.
func (s *Store) RecipientBySession(ctx context.Context, secret string) (gatehouse.Principal, error) {
	var email string
	err := s.queryRow(ctx, `SELECT email FROM recipient_sessions WHERE hash = ? AND expires_at > ?`, hashSecret(secret), micros(s.Now())).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.Principal{}, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Verify your email address to open this link.")
	} else if err != nil {
		return gatehouse.Principal{}, err
	}
	return gatehouse.RecipientPrincipal(email), nil
}

// EndRecipientSession ends a recipient session.
func (s *Store) EndRecipientSession(ctx context.Context, secret string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.exec(`DELETE FROM recipient_sessions WHERE hash = ?`, hashSecret(secret)); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM session_link_uses WHERE session_hash = ?`, hashSecret(secret)); err != nil {
		return err
	}
	return tx.Commit()
}

// Pause is a client address whose verification for (link, email) is
// paused.
type Pause struct {
	LinkID, ShareID, Email string
	ClientIP               string
	ItemName               string
	PausedAt, PausedUntil  time.Time
}

// Pauses lists the verification pauses in force.
func (s *Store) Pauses(ctx context.Context) ([]Pause, error) {
	rows, err := s.query(ctx, `SELECT p.link_id, l.share_id, p.email, p.client_ip, i.name, p.paused_at, p.paused_until
		FROM verification_pauses p JOIN links l ON l.id = p.link_id JOIN items i ON i.id = l.item_id
		WHERE p.paused_until > ? ORDER BY p.paused_at DESC, p.email, p.client_ip`, micros(s.Now()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Pause{}
	for rows.Next() {
		var p Pause
		var at, until int64
		if err := rows.Scan(&p.LinkID, &p.ShareID, &p.Email, &p.ClientIP, &p.ItemName, &at, &until); err != nil {
			return nil, err
		}
		p.PausedAt, p.PausedUntil = fromMicros(at), fromMicros(until)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ClearPause lifts the verification pauses of (link, email) at once: the
// one of clientIP, or with clientIP "" those of every client address.
// Returns ENOTFOUND.
func (s *Store) ClearPause(ctx context.Context, by gatehouse.Actor, shareID, email, clientIP string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	l, err := s.scanLink(tx.queryRow(`SELECT `+linkColumns+` FROM links WHERE share_id = ?`, strings.ToLower(shareID)))
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("The sharing link")
	} else if err != nil {
		return err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	clientIP = strings.TrimSpace(clientIP)
	var res sql.Result
	if clientIP == "" {
		res, err = tx.exec(`DELETE FROM verification_pauses WHERE link_id = ? AND email = ? AND paused_until > ?`, l.ID, email, micros(tx.now))
	} else {
		res, err = tx.exec(`DELETE FROM verification_pauses WHERE link_id = ? AND email = ? AND client_ip = ? AND paused_until > ?`,
			l.ID, email, clientIP, micros(tx.now))
	}
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return notFound("The pause")
	}
	it, _, err := s.item(tx, l.DriveID, l.ItemID)
	if err != nil {
		return err
	}
	r := s.linkRecord(gatehouse.OpPasscodeVerificationPaused, by, it, l)
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = email, "External"
	data := map[string]any{"cleared": true, "pauses": n}
	if clientIP != "" {
		data["clientAddress"] = clientIP
	}
	r.EventData = gatehouse.EventData(data)
	if err := tx.audit(r); err != nil {
		return err
	}
	return tx.Commit()
}

// SweepCodeRequests removes the times of code requests older than a code's
// life. Nothing reads them after that: a request so old holds back no new
// one (SendMinInterval) and leaves no code alive (PasscodeTTL), and a
// missing time answers the same, so the sweep changes no answer. It
// returns how many it removed.
func (s *Store) SweepCodeRequests(ctx context.Context) (int64, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.exec(`DELETE FROM login_attempts WHERE key LIKE 'code-request:%' AND window_start < ?`,
		micros(tx.now.Add(-max(gatehouse.PasscodeTTL, gatehouse.SendMinInterval))))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}
