package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gatehouse"
)

// BenchmarkListGuests measures a page of 100 guests (userType eq 'Guest')
// among 10,000 guests and 10,000 members interleaved in address order, on
// SQLite, against a page of 100 members in the same run; each page starts
// at a random address, as $skiptoken paging does. The product's bound is
// 100 ms per page of guests.
func BenchmarkListGuests(b *testing.B) {
	ctx := context.Background()
	s, raw := benchStore(b)
	const n = 10_000
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMicro()
	for i := range 2 * n {
		id, email := fmt.Sprintf("u%06d", i), fmt.Sprintf("p%06d@example.com", i)
		typ, state, creation := gatehouse.UserTypeMember, "", ""
		if i%2 == 0 {
			typ, state, creation = gatehouse.UserTypeGuest, gatehouse.ExternalAccepted, gatehouse.CreationTypeInvitation
			email = fmt.Sprintf("p%06d@partner.example", i)
		}
		if _, err := tx.Exec(`INSERT INTO users (id, email, display_name, user_type, is_admin, password_hash, disabled, created_at, updated_at,
			external_user_state, external_user_state_changed_at, creation_type) VALUES (?, ?, ?, ?, 0, '', 0, ?, ?, ?, ?, ?)`,
			id, email, "User "+id, typ, now, now, state, now, creation); err != nil {
			b.Fatal(err)
		}
		if typ == gatehouse.UserTypeGuest {
			if _, err := tx.Exec(`INSERT INTO user_identities (issuer, issuer_assigned_id, user_id, sign_in_type, created_at) VALUES (?, ?, ?, ?, ?)`,
				"https://login.partner.example/", id, id, gatehouse.SignInFederated, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	page := func(typ string) time.Duration {
		after := fmt.Sprintf("p%06d", rand.IntN(2*n-200))
		t := time.Now()
		us, err := s.ListUsersOfType(ctx, typ, after, 100)
		d := time.Since(t)
		if err != nil || len(us) != 100 || us[0].UserType != typ {
			b.Fatalf("page of %s after %s: %d users, %v", typ, after, len(us), err)
		}
		return d
	}
	var guests, members time.Duration
	b.ResetTimer()
	for range b.N {
		guests += page(gatehouse.UserTypeGuest)
		members += page(gatehouse.UserTypeMember)
	}
	b.StopTimer()
	b.ReportMetric(float64(guests.Microseconds())/1000/float64(b.N), "guest-page-ms")
	b.ReportMetric(float64(members.Microseconds())/1000/float64(b.N), "member-page-ms")
}
