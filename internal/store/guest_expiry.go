package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gatehouse"
)

// refuseExpiredGuest applies the guest expiry rule to a user found by a
// session or token lookup: members pass with no query; an expired guest is
// refused, and the first refusal of each access period is recorded as
// GuestAccessExpired.
func (s *Store) refuseExpiredGuest(ctx context.Context, u *gatehouse.User) error {
	if u.UserType != gatehouse.UserTypeGuest {
		return nil
	}
	var g gatehouse.User
	var st gatehouse.SharingSettings
	var changed, extended int64
	err := s.queryRow(ctx, `SELECT u.user_type, u.external_user_state, u.external_user_state_changed_at, u.guest_access_extended_at,
			s.external_user_expiration_required, s.external_user_expire_in_days
		FROM users u JOIN sharing_settings s ON s.id = 1 WHERE u.id = ?`, u.ID).
		Scan(&g.UserType, &g.ExternalUserState, &changed, &extended, &st.ExternalUserExpirationRequired, &st.ExternalUserExpireInDays)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no settings row yet: the defaults, which expire no one
	} else if err != nil {
		return err
	}
	g.ExternalUserStateChangedAt = fromMicros(changed)
	refused := gatehouse.GuestAccessExpired(&g, fromMicros(extended), st, s.Now())
	if refused == nil {
		return nil
	}
	end := gatehouse.GuestAccessEnd(&g, fromMicros(extended), st)
	start := micros(maxTime(g.ExternalUserStateChangedAt, fromMicros(extended)))
	if err := s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(`UPDATE users SET guest_expiry_recorded_for = ? WHERE id = ? AND guest_expiry_recorded_for <> ?`, start, u.ID, start)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // recorded already, by this node or another
		}
		r := actorRecord(gatehouse.OpGuestAccessExpired, gatehouse.Actor{Principal: gatehouse.UserPrincipal(u)})
		r.ObjectID, r.ItemType = u.Email, "User"
		r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
		r.ResultStatus = "Failed"
		r.EventData = gatehouse.EventData(map[string]any{"expiredAt": end.UTC().Format(time.RFC3339)})
		return tx.audit(r)
	}); err != nil {
		return err
	}
	return refused
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ExtendGuestAccess restarts a guest's access period now, recorded as
// GuestAccessExtended with the old and new ends. Returns ENOTFOUND, or
// EINVALID for a member.
func (s *Store) ExtendGuestAccess(ctx context.Context, by gatehouse.Actor, id string) (*gatehouse.User, error) {
	var u *gatehouse.User
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		if u, err = tx.lockUser(id); err != nil {
			return err
		}
		if u.UserType != gatehouse.UserTypeGuest {
			return gatehouse.Errorf(gatehouse.EINVALID, "Only a guest's access can be extended; %s is a member.", u.Email)
		}
		var changed, extended int64
		if err := tx.queryRow(`SELECT external_user_state, external_user_state_changed_at, guest_access_extended_at FROM users WHERE id = ?`, id).
			Scan(&u.ExternalUserState, &changed, &extended); err != nil {
			return err
		}
		u.ExternalUserStateChangedAt = fromMicros(changed)
		st, err := tx.sharingSettings(false)
		if err != nil {
			return err
		}
		// The ends as if expiration were required, so the record says what
		// the extension means whenever it is turned on.
		st.ExternalUserExpirationRequired = true
		data := map[string]any{"newEnd": nil, "oldEnd": nil}
		if end := gatehouse.GuestAccessEnd(u, fromMicros(extended), st); !end.IsZero() {
			data["oldEnd"] = end.UTC().Format(time.RFC3339)
		}
		if end := gatehouse.GuestAccessEnd(u, tx.now, st); !end.IsZero() {
			data["newEnd"] = end.UTC().Format(time.RFC3339)
		}
		if _, err := tx.exec(`UPDATE users SET guest_access_extended_at = ?, updated_at = ? WHERE id = ?`, micros(tx.now), micros(tx.now), id); err != nil {
			return err
		}
		r := actorRecord(gatehouse.OpGuestAccessExtended, by)
		r.ObjectID, r.ItemType = u.Email, "User"
		r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
		r.EventData = gatehouse.EventData(data)
		return tx.audit(r)
	})
	if err != nil {
		return nil, err
	}
	return u, s.fillGuests(ctx, u)
}
