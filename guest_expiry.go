package gatehouse

import "time"

// GuestAccessEnd is when a guest's access ends under the sharing settings:
// ExternalUserExpireInDays after it began, which is the acceptance or the
// last extension, whichever is later. Zero when it does not end: expiration
// is not required, the user is not an accepted guest, or nothing started
// the period yet.
func GuestAccessEnd(u *User, extendedAt time.Time, st SharingSettings) time.Time {
	if !st.ExternalUserExpirationRequired || u.UserType != UserTypeGuest || u.ExternalUserState != ExternalAccepted {
		return time.Time{}
	}
	start := u.ExternalUserStateChangedAt
	if extendedAt.After(start) {
		start = extendedAt
	}
	if start.IsZero() {
		return time.Time{}
	}
	return start.AddDate(0, 0, st.ExternalUserExpireInDays)
}

// GuestAccessExpired refuses, as EUNAUTHORIZED, a guest whose access has
// ended at now; every session and token of theirs stops there.
func GuestAccessExpired(u *User, extendedAt time.Time, st SharingSettings, now time.Time) error {
	end := GuestAccessEnd(u, extendedAt, st)
	if end.IsZero() || now.Before(end) {
		return nil
	}
	return Errorf(EUNAUTHORIZED, "Your guest access expired on %s. Ask the person who shared with you, or an administrator, to extend it.",
		end.UTC().Format("2 January 2006"))
}
