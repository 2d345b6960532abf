package gatehouse

import (
	"testing"
	"time"
)

func TestGuestAccessExpired(t *testing.T) {
	accepted := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	guest := func(state string) *User {
		return &User{UserType: UserTypeGuest, ExternalUserState: state, ExternalUserStateChangedAt: accepted}
	}
	on := SharingSettings{ExternalUserExpirationRequired: true, ExternalUserExpireInDays: 60}
	off := SharingSettings{ExternalUserExpireInDays: 60}
	end := accepted.AddDate(0, 0, 60)
	for _, tt := range []struct {
		name     string
		u        *User
		extended time.Time
		st       SharingSettings
		now      time.Time
		wantEnd  time.Time
		expired  bool
	}{
		{"expiration not required", guest(ExternalAccepted), time.Time{}, off, end.AddDate(1, 0, 0), time.Time{}, false},
		{"within the period", guest(ExternalAccepted), time.Time{}, on, end.Add(-time.Second), end, false},
		{"at the end", guest(ExternalAccepted), time.Time{}, on, end, end, true},
		{"after the end", guest(ExternalAccepted), time.Time{}, on, end.AddDate(0, 0, 1), end, true},
		{"an extension restarts the period", guest(ExternalAccepted), end.Add(time.Hour), on, end.AddDate(0, 0, 30), end.Add(time.Hour).AddDate(0, 0, 60), false},
		{"an extension before acceptance counts for nothing", guest(ExternalAccepted), accepted.AddDate(0, 0, -10), on, end, end, true},
		{"extended period ends too", guest(ExternalAccepted), end, on, end.AddDate(0, 0, 60), end.AddDate(0, 0, 60), true},
		{"pending: not started", guest(ExternalPendingAcceptance), time.Time{}, on, end.AddDate(1, 0, 0), time.Time{}, false},
		{"members never expire", &User{UserType: UserTypeMember, ExternalUserStateChangedAt: accepted}, time.Time{}, on, end.AddDate(1, 0, 0), time.Time{}, false},
		{"no acceptance time", &User{UserType: UserTypeGuest, ExternalUserState: ExternalAccepted}, time.Time{}, on, end, time.Time{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := GuestAccessEnd(tt.u, tt.extended, tt.st); !got.Equal(tt.wantEnd) {
				t.Errorf("end %v, want %v", got, tt.wantEnd)
			}
			err := GuestAccessExpired(tt.u, tt.extended, tt.st, tt.now)
			if tt.expired && ErrorCode(err) != EUNAUTHORIZED || !tt.expired && err != nil {
				t.Errorf("expired: %v, want %v", err, tt.expired)
			}
			if tt.expired && ErrorMessage(err) == "" {
				t.Error("no message")
			}
		})
	}
}
