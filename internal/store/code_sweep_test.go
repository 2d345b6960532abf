package store_test

import (
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// TestSweepCodeRequests: on both backends, the sweep removes code-request
// times only once a code's life has passed since them, and what the pages
// answer is the same before and after it.
func TestSweepCodeRequests(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			rows := func() int { return e.count(`SELECT COUNT(*) FROM login_attempts WHERE key LIKE 'code-request:%'`) }
			for _, m := range []string{"ext@partner.test", "nobody@partner.test"} {
				if err := e.SendPasscode(ctx, e.link.Token, m, "192.0.2.1", "ua"); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(gatehouse.PasscodeTTL - time.Second)
			if n, err := e.SweepCodeRequests(ctx); err != nil || n != 0 || rows() != 2 {
				t.Fatalf("sweep within a code's life removed %d (%v), %d left; want 0 and 2", n, err, rows())
			}
			e.clock.Advance(2 * time.Second)
			answer := func() (time.Duration, bool) {
				d, err := e.PasscodeResendAfter(ctx, e.link.Token, "ext@partner.test")
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", "00000000", false, "192.0.2.9", "ua")
				return d, store.CodeNoLongerValid(err)
			}
			d1, dead1 := answer()
			if n, err := e.SweepCodeRequests(ctx); err != nil || n != 2 || rows() != 0 {
				t.Fatalf("sweep after a code's life removed %d (%v), %d left; want 2 and 0", n, err, rows())
			}
			if d2, dead2 := answer(); d1 != d2 || dead1 != dead2 || !dead2 || d2 != 0 {
				t.Errorf("answers before the sweep (%v, dead %v) and after (%v, dead %v) differ, or the old code is not dead", d1, dead1, d2, dead2)
			}
		})
	}
}
