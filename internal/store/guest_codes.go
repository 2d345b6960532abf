package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/mail"
)

// guestCodeBinding binds sign-in codes to the organization rather than a
// link, so a link code never signs anyone in at /login and back.
const guestCodeBinding = "org-signin"

// errBadGuestCode is the one answer to every failed code sign-in.
var errBadGuestCode = gatehouse.Errorf(gatehouse.EINVALID, "That code didn't work. Check the latest email we sent, or ask for a new code.")

// SendGuestCode mails a sign-in code to email when it is a guest who signs
// in without a partner (enabled, accepted, not expired) and the send
// limits allow it. It returns nil whatever the address, so the caller
// answers alike; only the address's form is reported.
func (s *Store) SendGuestCode(ctx context.Context, email, ip, ua string) error {
	email, err := gatehouse.NormalizeEmail(email)
	if err != nil {
		return err
	}
	return s.sendCode(ctx, "guest:"+email, func(tx *Tx) (bool, error) { return tx.sendGuestCode(email, ip, ua) })
}

func (tx *Tx) sendGuestCode(email, ip, ua string) (bool, error) {
	if tx.s.postgres {
		// Sends for one address, and for one client, take turns across
		// nodes, so the counts below hold under concurrency.
		for _, k := range []string{"guest-code:" + email, "guest-code-ip:" + ip} {
			if _, err := tx.exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, k); err != nil {
				return false, err
			}
		}
	}
	u, err := tx.codeGuest(email)
	if err != nil || u == nil {
		return false, err
	}
	now := micros(tx.now)
	var recent, hour, ipHour int
	if err := tx.queryRow(`SELECT COALESCE(SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM guest_codes WHERE email = ? AND created_at > ?`,
		micros(tx.now.Add(-gatehouse.SendMinInterval)), email, micros(tx.now.Add(-time.Hour))).Scan(&recent, &hour); err != nil {
		return false, err
	}
	if recent > 0 || hour >= gatehouse.SendMaxPerHour {
		return false, nil
	}
	if err := tx.queryRow(`SELECT COUNT(*) FROM guest_codes WHERE client_ip = ? AND created_at > ?`, ip, micros(tx.now.Add(-time.Hour))).Scan(&ipHour); err != nil {
		return false, err
	}
	if ipHour >= gatehouse.SendMaxPerHourPerIP {
		return false, nil
	}
	key, err := tx.passcodeKey()
	if err != nil {
		return false, err
	}
	// Forget codes nobody can use any more; the hour above needs no older.
	if _, err := tx.exec(`DELETE FROM guest_codes WHERE created_at <= ? AND (expires_at <= ? OR used_at > 0)`,
		micros(tx.now.Add(-time.Hour)), now); err != nil {
		return false, err
	}
	code := gatehouse.NewPasscode()
	expires := tx.now.Add(gatehouse.PasscodeTTL)
	if _, err := tx.exec(`INSERT INTO guest_codes (id, email, code_hash, client_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		gatehouse.NewID(), email, codeHash(key, guestCodeBinding, email, code), ip, now, micros(expires)); err != nil {
		return false, err
	}
	subject, text, html, err := mail.RenderPasscode(mail.Passcode{Code: code, ExpiresAt: expires, ValidFor: gatehouse.PasscodeTTL})
	if err != nil {
		return false, err
	}
	if err := tx.enqueueMail("passcode", mail.Message{To: email, Subject: subject, Text: text, HTML: html}); err != nil {
		return false, err
	}
	r := actorRecord(gatehouse.OpPasscodeSent, guestCodeActor(u, ip, ua))
	r.ObjectID, r.ItemType = u.Email, "User"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
	r.EventData = gatehouse.EventData(map[string]any{"expiresAt": expires.Format(time.RFC3339), "purpose": "signIn"})
	return true, tx.audit(r)
}

// codeGuest returns the guest of email who may sign in with a code, or nil:
// a guest, enabled, accepted, without a partner identity, and not past the
// expiry the sharing settings require.
func (tx *Tx) codeGuest(email string) (*gatehouse.User, error) {
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if u.UserType != gatehouse.UserTypeGuest || u.Disabled {
		return nil, nil
	}
	var state string
	var changed int64
	if err := tx.queryRow(`SELECT external_user_state, external_user_state_changed_at FROM users WHERE id = ?`, u.ID).Scan(&state, &changed); err != nil {
		return nil, err
	}
	if state != gatehouse.ExternalAccepted {
		return nil, nil
	}
	ids, err := tx.identities(u.ID)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id.SignInType == gatehouse.SignInFederated {
			return nil, nil
		}
	}
	st, err := tx.sharingSettings(false)
	if err != nil {
		return nil, err
	}
	if st.ExternalUserExpirationRequired &&
		!tx.now.Before(fromMicros(changed).Add(time.Duration(st.ExternalUserExpireInDays)*24*time.Hour)) {
		return nil, nil
	}
	u.ExternalUserState, u.ExternalUserStateChangedAt, u.Identities = state, fromMicros(changed), ids
	return u, nil
}

func guestCodeActor(u *gatehouse.User, ip, ua string) gatehouse.Actor {
	return gatehouse.Actor{Principal: gatehouse.UserPrincipal(u), Origin: gatehouse.Origin{ClientIP: ip, UserAgent: ua, Auth: gatehouse.AuthPasscode}}
}

// SignInGuestWithCode redeems a sign-in code of email and opens a web
// session for its guest (UserLoggedIn, Auth passcode). Every failure is
// the same EINVALID and is recorded as UserLoginFailed with the reason.
// A code takes at most PasscodeMaxFailures tries from each client address
// and is used once, whoever races for it.
func (s *Store) SignInGuestWithCode(ctx context.Context, email, code, ip, ua string) (*GuestSession, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	code, wellFormed := gatehouse.NormalizePasscode(code)
	if _, err := gatehouse.NormalizeEmail(email); err != nil {
		return nil, errBadGuestCode
	}
	var res *GuestSession
	failed := false
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		res, failed = nil, false
		res, failed, err = tx.signInGuestWithCode(email, code, wellFormed, ip, ua)
		return err
	})
	if err != nil {
		return nil, err
	}
	if failed {
		return nil, errBadGuestCode
	}
	if err := s.fillGuests(ctx, res.User); err != nil {
		return nil, err
	}
	return res, nil
}

func (tx *Tx) signInGuestWithCode(email, code string, wellFormed bool, ip, ua string) (*GuestSession, bool, error) {
	actor := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindGuest, Email: email},
		Origin: gatehouse.Origin{ClientIP: ip, UserAgent: ua, Auth: gatehouse.AuthPasscode}}
	fail := func(reason string) (*GuestSession, bool, error) {
		return nil, true, tx.audit(loginFailedRecord(actor, "mail", reason, ""))
	}
	// A client guessing across many addresses is slowed down as at links.
	ipKey := throttleKey{key: "guest-code-ip:" + ip, free: verifyFreeFailures}
	blocked, err := tx.charge(ipKey)
	if err != nil {
		return nil, false, err
	}
	if blocked > micros(tx.now) {
		return nil, false, errBadGuestCode // rolls back: nothing counted
	}
	id, why, err := tx.tryGuestCodes(email, code, wellFormed, ip)
	if err != nil {
		return nil, false, err
	}
	if id == "" {
		return fail(why)
	}
	// Whoever the code was sent to must still be a guest who may use it.
	u, err := tx.codeGuest(email)
	if err != nil {
		return nil, false, err
	}
	if u == nil {
		return fail("not_a_code_guest")
	}
	if _, err := tx.exec(`UPDATE login_attempts SET failures = failures - 1, blocked_until = ? WHERE key = ? AND failures > 0`,
		blocked, ipKey.key); err != nil {
		return nil, false, err
	}
	secret, err := tx.createSession(u.ID, SessionTTL)
	if err != nil {
		return nil, false, err
	}
	actor.Principal = gatehouse.UserPrincipal(u)
	r := actorRecord(gatehouse.OpUserLoggedIn, actor)
	r.EventData = gatehouse.EventData(map[string]any{"issuer": "mail", "auth": gatehouse.AuthPasscode})
	if err := tx.audit(r); err != nil {
		return nil, false, err
	}
	return &GuestSession{User: u, Session: secret}, false, nil
}

// tryGuestCodes checks code against the address's live codes this client
// has tries left at, charging a try at each first, and redeems the one it
// matches: its id, or "" and why nothing was redeemed.
func (tx *Tx) tryGuestCodes(email, code string, wellFormed bool, ip string) (string, string, error) {
	key, err := tx.passcodeKey()
	if err != nil {
		return "", "", err
	}
	id, live, checked, err := tx.redeemCode(guestCodes, codeHash(key, guestCodeBinding, email, code), wellFormed, ip,
		`SELECT id, code_hash FROM guest_codes WHERE email = ? AND used_at = 0 AND expires_at > ?
		ORDER BY created_at DESC, id`, email, micros(tx.now))
	switch {
	case err != nil || id != "":
		return id, "", err
	case !live:
		return "", "no_live_code", nil
	case !checked:
		return "", "no_tries_left", nil
	}
	return "", "wrong_code", nil
}

// partnerDomain reports whether email's domain has a partner identity
// provider.
func (tx *Tx) partnerDomain(email string) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT COUNT(*) FROM provider_domains WHERE domain = ?`, gatehouse.EmailDomain(email)).Scan(&n)
	return n > 0, err
}

// addEmailGuest makes email a guest who signs in with emailed codes, as
// B2B integration does for an outsider who verified a link code. An
// address that is already a user is left as is; so is one of a partner
// domain, whose people become guests through their partner.
func (tx *Tx) addEmailGuest(by gatehouse.Actor, email string) error {
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM users WHERE email = ?`, email).Scan(&n); err != nil || n > 0 {
		return err
	}
	if partner, err := tx.partnerDomain(email); err != nil || partner {
		return err
	}
	u := &gatehouse.User{ID: gatehouse.NewID(), Email: email, DisplayName: email, UserType: gatehouse.UserTypeGuest,
		ExternalUserState: gatehouse.ExternalAccepted, CreationType: gatehouse.CreationTypeInvitation}
	_, err := tx.exec(`INSERT INTO users (id, email, display_name, user_type, is_admin, password_hash, disabled, created_at, updated_at,
		external_user_state, external_user_state_changed_at, creation_type) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, u.UserType, false, false, micros(tx.now), micros(tx.now),
		u.ExternalUserState, micros(tx.now), u.CreationType)
	if isUniqueViolation(err) {
		return errRetry // a parallel verification created it: run again
	} else if err != nil {
		return err
	}
	// A new guest is a fact decisions read, even when a passcode
	// verification, which otherwise keeps the access epoch, makes it.
	tx.keepEpoch = false
	id := gatehouse.Identity{SignInType: gatehouse.SignInEmailAddress, Issuer: "mail", IssuerAssignedID: email}
	if err := tx.addIdentity(u.ID, id); err != nil {
		return err
	}
	by.Principal = gatehouse.UserPrincipal(u)
	r := actorRecord(gatehouse.OpGuestUserAdded, by)
	r.ObjectID, r.ItemType = u.Email, "User"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
	r.EventData = gatehouse.EventData(map[string]any{"displayName": u.DisplayName, "issuer": id.Issuer,
		"signInType": id.SignInType, "creationType": u.CreationType})
	return tx.audit(r)
}
