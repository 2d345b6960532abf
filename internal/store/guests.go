package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"gatehouse"
)

// GuestSignIn is an identity a partner's provider vouched for, with the
// address this server had verified when the sign-in began.
type GuestSignIn struct {
	Issuer        string
	Subject       string
	Email         string // from the ID token, verified by the partner
	Name          string // the name claim; may be empty
	VerifiedEmail string // the sign-in's login hint: the address verified here
	Invitation    string // the redeem token when the sign-in redeems an invitation
}

// GuestSession is a guest signed in through a partner.
type GuestSession struct {
	User    *gatehouse.User
	Session string // the web session cookie's secret
	Created bool   // the guest account was created by this sign-in
	// RedirectURL is where a redeemed invitation sends the guest.
	RedirectURL string
}

// AttestGuestEmail notes that email just proved a link code and was sent on
// to its partner: for SigninTTL, a partner sign-in of that address may
// create its guest account.
func (s *Store) AttestGuestEmail(ctx context.Context, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	return s.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`DELETE FROM guest_attestations WHERE expires_at <= ?`, micros(tx.now)); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO guest_attestations (email, expires_at) VALUES (?, ?)
			ON CONFLICT (email) DO UPDATE SET expires_at = excluded.expires_at`, email, micros(tx.now.Add(SigninTTL)))
		return err
	})
}

// PartnerLinkedGuest reports whether email is a guest who signs in through
// a partner's provider.
func (s *Store) PartnerLinkedGuest(ctx context.Context, email string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM users u JOIN user_identities i ON i.user_id = u.id
		WHERE u.email = ? AND u.user_type = ? AND i.sign_in_type = ?`,
		strings.ToLower(strings.TrimSpace(email)), gatehouse.UserTypeGuest, gatehouse.SignInFederated).Scan(&n)
	return n > 0, err
}

// SignInGuest signs in the guest a partner vouched for, in one
// transaction: the guest linked to (issuer, subject) signs in; an address
// not yet in the directory that proved a link code (AttestGuestEmail)
// becomes a guest first, recorded as GuestUserAdded. Refusals are recorded
// as UserLoginFailed with the reason and open no session: a token address
// other than the verified one, a guest the issuer knows under another
// subject, a member's address, a disabled guest. Parallel sign-ins of one
// new address create one guest: the loser of the insert runs again and
// finds it.
func (s *Store) SignInGuest(ctx context.Context, in GuestSignIn, o gatehouse.Origin) (*GuestSession, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	verified := strings.ToLower(strings.TrimSpace(in.VerifiedEmail))
	o.Auth = gatehouse.AuthPartner
	var res *GuestSession
	var refused error
	err := s.inTx(ctx, func(tx *Tx) error {
		res, refused = nil, nil
		actor := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindGuest, Email: email}, Origin: o}
		refuse := func(reason string, err error) error {
			refused = err
			return tx.audit(loginFailedRecord(actor, in.Issuer, reason, verified))
		}
		if email == "" || email != verified {
			return refuse("email_mismatch", gatehouse.Errorf(gatehouse.EFORBIDDEN,
				"You signed in as %s, but the address verified here was %s. Sign in with the account of the address you verified.", email, verified))
		}
		u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE email = ?`, email))
		created, redirectURL := false, ""
		switch {
		case errors.Is(err, sql.ErrNoRows) && in.Invitation != "":
			return refuse("invitation_invalid", errInvitationGone)
		case errors.Is(err, sql.ErrNoRows):
			var n int
			if err := tx.queryRow(`SELECT COUNT(*) FROM guest_attestations WHERE email = ? AND expires_at > ?`, email, micros(tx.now)).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return refuse("not_verified", gatehouse.Errorf(gatehouse.EFORBIDDEN,
					"Open the link that was shared with you and verify %s with the emailed code first; then sign in.", email))
			}
			if u, err = tx.createGuest(actor, in, email); err != nil {
				return err
			}
			created = true
		case err != nil:
			return err
		default:
			if u.UserType != gatehouse.UserTypeGuest {
				return refuse("not_a_guest", gatehouse.Errorf(gatehouse.EFORBIDDEN,
					"%s is an account of this organization; sign in with its password instead.", email))
			}
			ids, err := tx.identities(u.ID)
			if err != nil {
				return err
			}
			linked, err := gatehouse.MatchIdentity(ids, in.Issuer, in.Subject)
			if err != nil {
				return refuse("subject_mismatch", err)
			}
			if u.Disabled {
				return refuse("account_disabled", gatehouse.Errorf(gatehouse.EFORBIDDEN, "The guest account of %s is disabled.", email))
			}
			// Redeeming an invitation through the partner is the address's proof.
			if in.Invitation != "" {
				if redirectURL, err = tx.redeemThroughPartner(in.Invitation, u, in.Issuer, actor); gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
					return err
				} else if err != nil {
					return refuse("invitation_invalid", err)
				}
			}
			if !linked {
				if err := tx.addIdentity(u.ID, gatehouse.Identity{SignInType: gatehouse.SignInFederated, Issuer: in.Issuer, IssuerAssignedID: in.Subject}); err != nil {
					return err
				}
			}
		}
		secret, err := tx.createSession(u.ID, SessionTTL)
		if err != nil {
			return err
		}
		actor.Principal = gatehouse.UserPrincipal(u)
		r := actorRecord(gatehouse.OpUserLoggedIn, actor)
		r.EventData = gatehouse.EventData(map[string]any{"issuer": in.Issuer})
		if err := tx.audit(r); err != nil {
			return err
		}
		res = &GuestSession{User: u, Session: secret, Created: created, RedirectURL: redirectURL}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	if err := s.fillGuests(ctx, res.User); err != nil {
		return nil, err
	}
	return res, nil
}

// createGuest adds the guest of a partner sign-in, without a drive.
func (tx *Tx) createGuest(by gatehouse.Actor, in GuestSignIn, email string) (*gatehouse.User, error) {
	u := &gatehouse.User{ID: gatehouse.NewID(), Email: email, DisplayName: gatehouse.GuestDisplayName(in.Name, email),
		UserType: gatehouse.UserTypeGuest, CreatedAt: tx.now, UpdatedAt: tx.now,
		ExternalUserState: gatehouse.ExternalAccepted, ExternalUserStateChangedAt: tx.now, CreationType: gatehouse.CreationTypeInvitation}
	_, err := tx.exec(`INSERT INTO users (id, email, display_name, user_type, is_admin, password_hash, disabled, created_at, updated_at,
		external_user_state, external_user_state_changed_at, creation_type) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, u.UserType, false, false, micros(tx.now), micros(tx.now),
		u.ExternalUserState, micros(tx.now), u.CreationType)
	if isUniqueViolation(err) {
		return nil, errRetry // a parallel sign-in created it: run again and find it
	} else if err != nil {
		return nil, err
	}
	id := gatehouse.Identity{SignInType: gatehouse.SignInFederated, Issuer: in.Issuer, IssuerAssignedID: in.Subject}
	if err := tx.addIdentity(u.ID, id); err != nil {
		return nil, err
	}
	u.Identities = []gatehouse.Identity{id}
	by.Principal = gatehouse.UserPrincipal(u)
	r := actorRecord(gatehouse.OpGuestUserAdded, by)
	r.ObjectID, r.ItemType = u.Email, "User"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
	r.EventData = gatehouse.EventData(map[string]any{"displayName": u.DisplayName, "issuer": in.Issuer,
		"signInType": id.SignInType, "creationType": u.CreationType})
	return u, tx.audit(r)
}

// addIdentity links an identity to a user. One held by another user is
// refused: an issuer's subject is one person.
func (tx *Tx) addIdentity(userID string, id gatehouse.Identity) error {
	_, err := tx.exec(`INSERT INTO user_identities (issuer, issuer_assigned_id, user_id, sign_in_type, created_at) VALUES (?, ?, ?, ?, ?)`,
		id.Issuer, id.IssuerAssignedID, userID, id.SignInType, micros(tx.now))
	if isUniqueViolation(err) {
		var owner string
		if qerr := tx.queryRow(`SELECT user_id FROM user_identities WHERE issuer = ? AND issuer_assigned_id = ?`, id.Issuer, id.IssuerAssignedID).Scan(&owner); qerr != nil {
			return errRetry // the holder went away meanwhile
		}
		if owner == userID {
			return nil
		}
		return gatehouse.Errorf(gatehouse.ECONFLICT, "This account at the sign-in service already belongs to another guest here.")
	}
	return err
}

func (tx *Tx) identities(userID string) ([]gatehouse.Identity, error) {
	rows, err := tx.query(`SELECT sign_in_type, issuer, issuer_assigned_id FROM user_identities WHERE user_id = ? ORDER BY created_at, issuer`, userID)
	return scanIdentities(rows, err)
}

func scanIdentities(rows *sql.Rows, err error) ([]gatehouse.Identity, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Identity
	for rows.Next() {
		var id gatehouse.Identity
		if err := rows.Scan(&id.SignInType, &id.Issuer, &id.IssuerAssignedID); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// fillGuests loads the guest fields and identities of users read with
// userColumns, which the session and token lookups keep short: two
// queries for a whole page.
func (s *Store) fillGuests(ctx context.Context, users ...*gatehouse.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[string]*gatehouse.User, len(users))
	args := make([]any, 0, len(users))
	for _, u := range users {
		byID[u.ID] = u
		u.Identities = nil
		args = append(args, u.ID)
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ") + ")"
	rows, err := s.query(ctx, `SELECT id, external_user_state, external_user_state_changed_at, creation_type FROM users WHERE id IN `+in, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, state, ct string
		var changed int64
		if err := rows.Scan(&id, &state, &changed, &ct); err != nil {
			return err
		}
		if u := byID[id]; u != nil {
			u.ExternalUserState, u.ExternalUserStateChangedAt, u.CreationType = state, fromMicros(changed), ct
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	rows, err = s.query(ctx, `SELECT user_id, sign_in_type, issuer, issuer_assigned_id FROM user_identities WHERE user_id IN `+in+
		` ORDER BY user_id, created_at, issuer`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var uid string
		var id gatehouse.Identity
		if err := rows.Scan(&uid, &id.SignInType, &id.Issuer, &id.IssuerAssignedID); err != nil {
			return err
		}
		if u := byID[uid]; u != nil {
			u.Identities = append(u.Identities, id)
		}
	}
	return rows.Err()
}

// RecordPartnerLoginFailure records a refused partner callback as
// UserLoginFailed with its reason. email is whom the sign-in was for, if
// known.
func (s *Store) RecordPartnerLoginFailure(ctx context.Context, email, issuer, reason string, o gatehouse.Origin) error {
	o.Auth = gatehouse.AuthPartner
	actor := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindGuest, Email: strings.ToLower(strings.TrimSpace(email))}, Origin: o}
	return s.inTx(ctx, func(tx *Tx) error { return tx.audit(loginFailedRecord(actor, issuer, reason, "")) })
}

func loginFailedRecord(actor gatehouse.Actor, issuer, reason, verified string) *gatehouse.Record {
	r := actorRecord(gatehouse.OpUserLoginFailed, actor)
	r.ResultStatus = "Failed"
	data := map[string]any{"reason": reason, "issuer": issuer}
	if verified != "" && verified != actor.Email {
		data["verifiedAddress"] = verified
	}
	r.EventData = gatehouse.EventData(data)
	return r
}
