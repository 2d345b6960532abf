package store

import (
	"context"
	"time"

	"gatehouse"
)

// GuestOverview is what the guests page shows beside a guest's account.
type GuestOverview struct {
	LastSignIn time.Time // zero: never
	AccessEnds time.Time // zero: does not end under the current settings
}

// GuestOverviews reads, for each guest, the last sign-in (the newest
// UserLoggedIn record, through the audit log's user index) and when their
// access ends under the current sharing settings.
func (s *Store) GuestOverviews(ctx context.Context, guests []*gatehouse.User) (map[string]GuestOverview, error) {
	st, err := s.SharingSettings(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]GuestOverview, len(guests))
	for _, u := range guests {
		var o GuestOverview
		var last, extended int64
		if err := s.queryRow(ctx, `SELECT COALESCE(MAX(creation_time), 0) FROM audit_records WHERE user_id = ? AND operation = ?`,
			u.Email, gatehouse.OpUserLoggedIn).Scan(&last); err != nil {
			return nil, err
		}
		if err := s.queryRow(ctx, `SELECT guest_access_extended_at FROM users WHERE id = ?`, u.ID).Scan(&extended); err != nil {
			return nil, err
		}
		o.LastSignIn = fromMicros(last)
		o.AccessEnds = gatehouse.GuestAccessEnd(u, fromMicros(extended), st)
		out[u.ID] = o
	}
	return out, nil
}
