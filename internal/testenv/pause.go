package testenv

import (
	"context"
	"regexp"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
)

var code = regexp.MustCompile(`\b\d{8}\b`)

// PausePasscodes drives (link, email) into a verification pause for the
// client address 127.0.0.1, where test HTTP clients come from, the only
// way there is: 100 wrong tries against live codes, 5 per code, reading
// each code from its mail as the outbox worker would deliver it. clock
// must be the store's; it is left three and a half hours ahead.
func PausePasscodes(t testing.TB, s *store.Store, clock *Clock, token, email string) {
	t.Helper()
	ctx := context.Background()
	for i := range gatehouse.PauseAfterFailures / gatehouse.PasscodeMaxFailures {
		clock.Advance(gatehouse.PasscodeTTL + time.Second) // within every per-pair send limit
		const ip = "127.0.0.1"
		if err := s.SendPasscode(ctx, token, email, ip, "testenv"); err != nil {
			t.Fatalf("SendPasscode: %v", err)
		}
		msgs, err := s.ClaimMail(ctx, 1000, time.Minute)
		if err != nil {
			t.Fatalf("ClaimMail: %v", err)
		}
		var c string
		for _, m := range msgs {
			if m.To == email && m.Kind == "passcode" {
				c = code.FindString(m.Text)
			}
		}
		if c == "" {
			t.Fatalf("no passcode mail to %s for try %d", email, i)
		}
		wrong := "00000000"
		if c == wrong {
			wrong = "00000001"
		}
		for range gatehouse.PasscodeMaxFailures {
			s.VerifyPasscode(ctx, token, email, wrong, false, ip, "testenv")
		}
	}
	pauses, err := s.Pauses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pauses {
		if p.Email == email {
			return
		}
	}
	t.Fatalf("%s is not paused after %d wrong tries", email, gatehouse.PauseAfterFailures)
}
