package store

import (
	"cmp"
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"net/url"
	"time"

	"gatehouse"
	"gatehouse/internal/mail"
)

// InviteRequest is a POST /v1.0/invitations, checked by the caller for
// form (address, organization domains, redirect).
type InviteRequest struct {
	Email       string
	DisplayName string // empty: the address
	RedirectURL string // where the guest lands after accepting; "" is the default
	SendMessage bool
	Message     string // customizedMessageBody

	objectID string // what was shared, for the record, when not the address (a site's webUrl)
	siteName string // the site shared with the address, named in the mail
}

// Invitation is an invitation as created: RedeemURL carries the secret
// token and is shown once.
type Invitation struct {
	ID          string
	Email       string
	UserID      string
	RedeemURL   string
	RedirectURL string
	Status      string // the guest's externalUserState
	Resent      bool   // the address was already a guest
}

// PendingInvitation is a redeemable invitation, found by its token.
type PendingInvitation struct {
	ID          string
	Email       string
	UserID      string
	RedirectURL string
}

// RedeemedInvitation is an accepted invitation and the guest's new session.
type RedeemedInvitation struct {
	User        *gatehouse.User
	Session     string
	RedirectURL string
}

var (
	errInvitationGone = gatehouse.Errorf(gatehouse.ENOTFOUND,
		"This invitation is no longer valid: it was revoked, or a newer invitation replaced it. Ask the person who invited you to invite you again.")
	errInvitationUsed = gatehouse.Errorf(gatehouse.EGONE,
		"This invitation has already been accepted. Sign in instead.")
)

// CreateInvitation invites in.Email as a guest, in one transaction: the
// guest in PendingAcceptance (created, or found when the address is a
// guest already, which is a resend), a new redeem token replacing any
// earlier one, the mail in the outbox when asked for, and
// SharingInvitationCreated. A member's address is refused.
func (s *Store) CreateInvitation(ctx context.Context, by gatehouse.Actor, in InviteRequest) (*Invitation, error) {
	email, err := gatehouse.NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	var inv *Invitation
	err = s.inTx(ctx, func(tx *Tx) (err error) {
		inv, err = tx.invite(by, email, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	if in.SendMessage {
		s.wakeOutbox()
	}
	return inv, nil
}

// invite is CreateInvitation inside tx, shared with site sharing: in.Email
// is already normalized; in.objectID, if set, is the ObjectId of the
// SharingInvitationCreated record (what was shared), and in.siteName
// names the site in the mail.
func (tx *Tx) invite(by gatehouse.Actor, email string, in InviteRequest) (*Invitation, error) {
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE email = ?`+tx.forUpdate(), email))
	resent := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if u, err = tx.createInvitedGuest(by, email, in.DisplayName); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case u.UserType != gatehouse.UserTypeGuest:
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is a member of the organization; share with them directly instead of inviting them.", email)
	}
	var state string
	if err := tx.queryRow(`SELECT external_user_state FROM users WHERE id = ?`, u.ID).Scan(&state); err != nil {
		return nil, err
	}
	// Any guest not in Accepted (pending, or expired) starts again.
	if resent && state != gatehouse.ExternalAccepted {
		state = gatehouse.ExternalPendingAcceptance
		if _, err := tx.exec(`UPDATE users SET external_user_state = ?, external_user_state_changed_at = ?, updated_at = ? WHERE id = ?`,
			state, micros(tx.now), micros(tx.now), u.ID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.exec(`DELETE FROM invitations WHERE user_id = ?`, u.ID); err != nil {
		return nil, err
	}
	token := gatehouse.NewSecret("")
	inv := &Invitation{ID: gatehouse.NewID(), Email: email, UserID: u.ID, RedirectURL: in.RedirectURL, Status: state, Resent: resent,
		RedeemURL: tx.s.opt.BaseURL + "/invite/" + url.PathEscape(token)}
	if _, err := tx.exec(`INSERT INTO invitations (id, user_id, token_hash, redirect_url, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		inv.ID, u.ID, hashSecret(token), in.RedirectURL, by.Email, micros(tx.now)); err != nil {
		return nil, err
	}
	if in.SendMessage {
		subject, text, html, err := mail.RenderGuestInvite(mail.GuestInvite{InviterName: by.DisplayName, InviterEmail: by.Email,
			Message: in.Message, RedeemURL: inv.RedeemURL, SiteName: in.siteName})
		if err != nil {
			return nil, err
		}
		// From the inviter via Gatehouse, replies to the inviter, as a
		// link's invitation is.
		m := mail.Message{To: email, Subject: subject, Text: text, HTML: html}
		if by.DisplayName != "" || by.Email != "" {
			m.From = mail.OnBehalf(cmp.Or(by.DisplayName, by.Email), tx.s.opt.MailFrom)
		}
		if _, err := gatehouse.NormalizeEmail(by.Email); err == nil {
			m.ReplyTo = by.Email
		}
		if err := tx.enqueueMail("invite", m); err != nil {
			return nil, err
		}
	}
	r := invitationRecord(gatehouse.OpSharingInvitationCreated, by, email)
	r.EventData = gatehouse.EventData(map[string]any{"invitationId": inv.ID, "resent": resent,
		"sendInvitationMessage": in.SendMessage, "inviteRedirectUrl": in.RedirectURL})
	if in.objectID != "" {
		r.ObjectID = in.objectID
	}
	return inv, tx.audit(r)
}

// forUpdate locks the rows read on PostgreSQL; SQLite has one writer.
func (tx *Tx) forUpdate() string {
	if tx.s.postgres {
		return ` FOR UPDATE`
	}
	return ""
}

// createInvitedGuest adds an invited guest, without a drive or identity:
// the identity comes with the redemption.
func (tx *Tx) createInvitedGuest(by gatehouse.Actor, email, name string) (*gatehouse.User, error) {
	u := &gatehouse.User{ID: gatehouse.NewID(), Email: email, DisplayName: gatehouse.GuestDisplayName(name, email),
		UserType: gatehouse.UserTypeGuest, CreatedAt: tx.now, UpdatedAt: tx.now}
	_, err := tx.exec(`INSERT INTO users (id, email, display_name, user_type, is_admin, password_hash, disabled, created_at, updated_at,
		external_user_state, external_user_state_changed_at, creation_type) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, u.UserType, false, false, micros(tx.now), micros(tx.now),
		gatehouse.ExternalPendingAcceptance, micros(tx.now), gatehouse.CreationTypeInvitation)
	if isUniqueViolation(err) {
		return nil, errRetry // a parallel invitation created it: run again and resend
	} else if err != nil {
		return nil, err
	}
	r := invitationRecord(gatehouse.OpGuestUserAdded, by, email)
	r.EventData = gatehouse.EventData(map[string]any{"displayName": u.DisplayName, "creationType": gatehouse.CreationTypeInvitation})
	return u, tx.audit(r)
}

func invitationRecord(op string, by gatehouse.Actor, email string) *gatehouse.Record {
	r := actorRecord(op, by)
	r.ObjectID, r.ItemType = email, "User"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = email, gatehouse.UserTypeGuest
	return r
}

// InvitationByToken finds the invitation a redeem token names: ENOTFOUND
// when it was revoked or replaced, EGONE when it was accepted.
func (s *Store) InvitationByToken(ctx context.Context, token string) (*PendingInvitation, error) {
	var inv PendingInvitation
	var redeemed int64
	err := s.queryRow(ctx, `SELECT i.id, u.email, u.id, i.redirect_url, i.redeemed_at FROM invitations i JOIN users u ON u.id = i.user_id
		WHERE i.token_hash = ?`, hashSecret(token)).Scan(&inv.ID, &inv.Email, &inv.UserID, &inv.RedirectURL, &redeemed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationGone
	} else if err != nil {
		return nil, err
	}
	if redeemed != 0 {
		return nil, errInvitationUsed
	}
	return &inv, nil
}

// tx.invitation is InvitationByToken in tx, locking the row on PostgreSQL.
func (tx *Tx) invitation(token string) (*PendingInvitation, error) {
	var inv PendingInvitation
	var redeemed int64
	err := tx.queryRow(`SELECT i.id, u.email, u.id, i.redirect_url, i.redeemed_at FROM invitations i JOIN users u ON u.id = i.user_id
		WHERE i.token_hash = ?`+tx.forUpdate(), hashSecret(token)).Scan(&inv.ID, &inv.Email, &inv.UserID, &inv.RedirectURL, &redeemed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationGone
	} else if err != nil {
		return nil, err
	}
	if redeemed != 0 {
		return nil, errInvitationUsed
	}
	return &inv, nil
}

// inviteCodeScope names the code requests of an invitation.
func inviteCodeScope(invitationID string) string { return "invite:" + invitationID }

// SendInvitationCode mails a code to the invited address under the rules
// of link codes (a request within SendMinInterval of the last accepted one
// does nothing, SendMaxPerHour an hour, the client's hourly limit; nothing
// to a disabled guest). Whether or not a code went out, it returns nil for
// a valid invitation; InvitationResendAfter says when to ask again.
func (s *Store) SendInvitationCode(ctx context.Context, token, ip, ua string) error {
	pending, err := s.InvitationByToken(ctx, token)
	if err != nil {
		return err
	}
	return s.sendCode(ctx, inviteCodeScope(pending.ID), func(tx *Tx) (bool, error) {
		err := tx.sendInvitationCode(token, ip, ua)
		if errors.Is(err, errNothingSent) {
			return false, nil
		}
		return err == nil, err
	})
}

// InvitationResendAfter is how long until the invitation's page may ask
// for a new code.
func (s *Store) InvitationResendAfter(ctx context.Context, token string) (time.Duration, error) {
	inv, err := s.InvitationByToken(ctx, token)
	if err != nil {
		return 0, err
	}
	return s.resendAfter(ctx, inviteCodeScope(inv.ID))
}

// sendInvitationCode mails a code for the invitation in tx, or returns
// errNothingSent when a limit stands in the way.
func (tx *Tx) sendInvitationCode(token, ip, ua string) error {
	inv, err := tx.invitation(token)
	if err != nil {
		return err
	}
	var disabled, recent, hour, ipHour int
	if err := tx.queryRow(`SELECT COUNT(*) FROM users WHERE id = ? AND disabled = ?`, inv.UserID, true).Scan(&disabled); err != nil {
		return err
	}
	if disabled > 0 {
		return errNothingSent
	}
	if err := tx.queryRow(`SELECT COALESCE(SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM invitation_codes
		WHERE invitation_id = ? AND created_at > ?`, micros(tx.now.Add(-gatehouse.SendMinInterval)), inv.ID,
		micros(tx.now.Add(-time.Hour))).Scan(&recent, &hour); err != nil {
		return err
	}
	if err := tx.queryRow(`SELECT COUNT(*) FROM invitation_codes WHERE client_ip = ? AND created_at > ?`,
		ip, micros(tx.now.Add(-time.Hour))).Scan(&ipHour); err != nil {
		return err
	}
	if recent > 0 || hour >= gatehouse.SendMaxPerHour || ipHour >= gatehouse.SendMaxPerHourPerIP {
		return errNothingSent
	}
	key, err := tx.passcodeKey()
	if err != nil {
		return err
	}
	code := gatehouse.NewPasscode()
	expires := tx.now.Add(gatehouse.PasscodeTTL)
	if _, err := tx.exec(`INSERT INTO invitation_codes (id, invitation_id, code_hash, client_ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		gatehouse.NewID(), inv.ID, codeHash(key, "invite:"+inv.ID, inv.Email, code), ip, micros(tx.now), micros(expires)); err != nil {
		return err
	}
	subject, text, html, err := mail.RenderPasscode(mail.Passcode{Code: code, ExpiresAt: expires, ValidFor: gatehouse.PasscodeTTL})
	if err != nil {
		return err
	}
	if err := tx.enqueueMail("passcode", mail.Message{To: inv.Email, Subject: subject, Text: text, HTML: html}); err != nil {
		return err
	}
	r := invitationRecord(gatehouse.OpPasscodeSent, invitee(inv.Email, ip, ua), inv.Email)
	r.EventData = gatehouse.EventData(map[string]any{"invitationId": inv.ID, "expiresAt": expires.Format(time.RFC3339)})
	return tx.audit(r)
}

// invitee is the actor of a redemption's steps: the invited address,
// proving itself with a code.
func invitee(email, ip, ua string) gatehouse.Actor {
	return gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindGuest, Email: email},
		Origin: gatehouse.Origin{ClientIP: ip, UserAgent: ua, Auth: gatehouse.AuthPasscode}}
}

// RedeemInvitationCode accepts the invitation with a code mailed to the
// invited address: each code works once, for PasscodeTTL, and dies after
// PasscodeMaxFailures wrong tries; every failure is the same EINVALID and
// is recorded as PasscodeFailed. On success the guest is Accepted with
// the address as its identity, and signed in.
func (s *Store) RedeemInvitationCode(ctx context.Context, token, code, ip, ua string) (*RedeemedInvitation, error) {
	code, wellFormed := gatehouse.NormalizePasscode(code)
	var res *RedeemedInvitation
	failed := false
	err := s.inTx(ctx, func(tx *Tx) error {
		res, failed = nil, false
		inv, err := tx.invitation(token)
		if err != nil {
			return err
		}
		rows, err := tx.query(`SELECT id, code_hash FROM invitation_codes WHERE invitation_id = ? AND used_at = 0 AND expires_at > ? AND failures < ?
			ORDER BY created_at DESC, id`, inv.ID, micros(tx.now), gatehouse.PasscodeMaxFailures)
		if err != nil {
			return err
		}
		var ids, hashes []string
		for rows.Next() {
			var id, h string
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return err
			}
			ids, hashes = append(ids, id), append(hashes, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		key, err := tx.passcodeKey()
		if err != nil {
			return err
		}
		want := codeHash(key, "invite:"+inv.ID, inv.Email, code)
		actor := invitee(inv.Email, ip, ua)
		for i, id := range ids {
			if !wellFormed || !hmac.Equal([]byte(hashes[i]), []byte(want)) {
				continue
			}
			up, err := tx.exec(`UPDATE invitation_codes SET used_at = ? WHERE id = ? AND used_at = 0`, micros(tx.now), id)
			if err != nil {
				return err
			}
			if n, _ := up.RowsAffected(); n == 1 {
				res, err = tx.redeemWithCode(inv, actor)
				return err
			}
		}
		// A wrong try counts against every live code, as each was compared.
		for _, id := range ids {
			if _, err := tx.exec(`UPDATE invitation_codes SET failures = failures + 1 WHERE id = ?`, id); err != nil {
				return err
			}
		}
		failed = true
		r := invitationRecord(gatehouse.OpPasscodeFailed, actor, inv.Email)
		r.ResultStatus = "Failed"
		r.EventData = gatehouse.EventData(map[string]any{"invitationId": inv.ID})
		return tx.audit(r)
	})
	if err != nil {
		return nil, err
	}
	if failed {
		return nil, s.inviteCodeFailure(ctx, token)
	}
	return res, nil
}

// inviteCodeFailure words a failed try: errDeadCode once no code of the
// invitation can work any more (none asked for, all expired, used, or out
// of tries), errBadCode while one still can.
func (s *Store) inviteCodeFailure(ctx context.Context, token string) error {
	var live int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM invitation_codes c JOIN invitations i ON i.id = c.invitation_id
		WHERE i.token_hash = ? AND c.used_at = 0 AND c.expires_at > ? AND c.failures < ?`,
		hashSecret(token), micros(s.Now()), gatehouse.PasscodeMaxFailures).Scan(&live)
	if err != nil {
		return err
	}
	if live == 0 {
		return errDeadCode
	}
	return errBadCode
}

// redeemWithCode accepts inv for the address that proved a code and signs
// the guest in.
func (tx *Tx) redeemWithCode(inv *PendingInvitation, actor gatehouse.Actor) (*RedeemedInvitation, error) {
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`, inv.UserID))
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "The guest account of %s is disabled.", u.Email)
	}
	id := gatehouse.Identity{SignInType: gatehouse.SignInEmailAddress, Issuer: "mail", IssuerAssignedID: inv.Email}
	if err := tx.acceptInvitation(inv, id, true, actor); err != nil {
		return nil, err
	}
	secret, err := tx.createSession(u.ID, SessionTTL)
	if err != nil {
		return nil, err
	}
	actor.Principal = gatehouse.UserPrincipal(u)
	if err := tx.audit(actorRecord(gatehouse.OpUserLoggedIn, actor)); err != nil {
		return nil, err
	}
	return &RedeemedInvitation{User: u, Session: secret, RedirectURL: inv.RedirectURL}, nil
}

// acceptInvitation redeems inv once: the guest becomes Accepted, id
// becomes one of its identities if add (a partner sign-in adds its own),
// and SharingInvitationAccepted is recorded. A parallel redemption that got there first makes this one
// EGONE.
func (tx *Tx) acceptInvitation(inv *PendingInvitation, id gatehouse.Identity, add bool, actor gatehouse.Actor) error {
	res, err := tx.exec(`UPDATE invitations SET redeemed_at = ? WHERE id = ? AND redeemed_at = 0`, micros(tx.now), inv.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errInvitationUsed
	}
	if _, err := tx.exec(`UPDATE users SET external_user_state = ?, external_user_state_changed_at = ?, updated_at = ? WHERE id = ?`,
		gatehouse.ExternalAccepted, micros(tx.now), micros(tx.now), inv.UserID); err != nil {
		return err
	}
	if add {
		// Checked first: a failed insert would abort a PostgreSQL transaction.
		var owner string
		err := tx.queryRow(`SELECT user_id FROM user_identities WHERE issuer = ? AND issuer_assigned_id = ?`, id.Issuer, id.IssuerAssignedID).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := tx.addIdentity(inv.UserID, id); err != nil {
				return err
			}
		case err != nil:
			return err
		case owner != inv.UserID:
			return gatehouse.Errorf(gatehouse.ECONFLICT, "This address already signs in as another guest here.")
		}
	}
	r := invitationRecord(gatehouse.OpSharingInvitationAccepted, actor, inv.Email)
	r.EventData = gatehouse.EventData(map[string]any{"invitationId": inv.ID, "signInType": id.SignInType, "issuer": id.Issuer})
	if err := tx.audit(r); err != nil {
		return err
	}
	return tx.joinPendingGroups(inv.UserID, actor) // sites.go
}

// redeemThroughPartner is the invitation part of a partner sign-in that
// came back to a redemption: the token must name a live invitation of
// the guest u signing in. The caller adds the federated identity.
func (tx *Tx) redeemThroughPartner(token string, u *gatehouse.User, issuer string, actor gatehouse.Actor) (string, error) {
	inv, err := tx.invitation(token)
	if err != nil {
		return "", err
	}
	if inv.UserID != u.ID {
		return "", gatehouse.Errorf(gatehouse.EFORBIDDEN, "This invitation is for another address; sign in with the account of the address that was invited.")
	}
	return inv.RedirectURL, tx.acceptInvitation(inv, gatehouse.Identity{SignInType: gatehouse.SignInFederated, Issuer: issuer}, false, actor)
}
