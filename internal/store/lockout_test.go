package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// parallel runs fn(0…n-1) at once and waits for all of them.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// TestPasscodeTriesPerClient: a code takes at most PasscodeMaxFailures
// tries from each client address, counted across parallel tries, and tries
// from elsewhere never stop the recipient's client.
func TestPasscodeTriesPerClient(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			const email, recipient = "ext@partner.test", "192.0.2.1"
			code := e.send(email, "203.0.113.1") // asked for by someone else; it reaches the mailbox all the same
			try := func(c, ip string) error {
				_, err := e.VerifyPasscode(ctx, e.link.Token, email, c, false, ip, "ua")
				return err
			}

			// 20 parallel wrong tries from one address: all count, so the
			// right code from there fails afterwards.
			parallel(20, func(int) { try(wrongCode(code), "203.0.113.1") })
			if err := try(code, "203.0.113.1"); err == nil {
				t.Fatal("the right code verified after 20 wrong tries from the same address")
			}
			if n := e.count(`SELECT tries FROM passcode_tries WHERE client_ip = ?`, "203.0.113.1"); n != 21 {
				t.Errorf("tries counted from 203.0.113.1: got %d, want 21", n)
			}
			if n := e.count(`SELECT failures FROM login_attempts WHERE key = ?`, "verify-ip:203.0.113.1"); n != 21 {
				t.Errorf("verify throttle count of 203.0.113.1: got %d, want 21", n)
			}

			// After five wrong tries from another address, none of 16
			// parallel tries with the right code may be compared.
			for range gatehouse.PasscodeMaxFailures {
				try(wrongCode(code), "203.0.113.2")
			}
			var mu sync.Mutex
			ok := 0
			parallel(16, func(int) {
				if try(code, "203.0.113.2") == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
			if ok != 0 {
				t.Fatalf("%d of 16 parallel tries verified after 5 wrong ones from that address", ok)
			}

			// 30 addresses guess in parallel while the recipient's client
			// sends the right code: the recipient gets in.
			var sess *store.RecipientSession
			var recErr error
			parallel(31, func(i int) {
				if i == 30 {
					sess, recErr = e.VerifyPasscode(ctx, e.link.Token, email, code, false, recipient, "ua")
					return
				}
				for range gatehouse.PasscodeMaxFailures + 1 {
					try(wrongCode(code), fmt.Sprintf("198.51.100.%d", i+1))
				}
			})
			if recErr != nil || sess == nil {
				t.Fatalf("the recipient's right code after 30 addresses guessed: %v", recErr)
			}
			if n := e.count(`SELECT COUNT(*) FROM verification_pauses`); n != 0 {
				t.Errorf("%d pauses after at most 21 failures per address", n)
			}
		})
	}
}

// TestThrottleCountsParallelFailures: 40 parallel failures from one client
// are 40 on its verify throttle.
func TestThrottleCountsParallelFailures(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			e.send("ext@partner.test", "192.0.2.1")
			parallel(40, func(i int) {
				e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", fmt.Sprintf("%08d", i), false, "203.0.113.40", "ua")
			})
			if n := e.count(`SELECT failures FROM login_attempts WHERE key = ?`, "verify-ip:203.0.113.40"); n != 40 {
				t.Errorf("verify throttle count after 40 parallel failures: got %d, want 40", n)
			}
			if n := e.count(`SELECT COUNT(*) FROM passcode_failures WHERE client_ip = ?`, "203.0.113.40"); n != 40 {
				t.Errorf("failures counted towards the pause: got %d, want 40", n)
			}
		})
	}
}

// TestSendsNeverLeaveRecipientWithoutCode: someone with the link URL asks
// for the recipient's codes as fast as the limits allow, from ever new
// addresses, and guesses at each. Whenever the recipient's own request is
// refused, a code that reached the mailbox is live, and it works from the
// recipient's client.
func TestSendsNeverLeaveRecipientWithoutCode(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			const email, recipient = "ext@partner.test", "192.0.2.1"
			type mail struct {
				code string
				at   time.Time
				used bool
			}
			var mailbox []*mail
			start := e.clock.Now()
			verified := 0
			for step := 0; e.clock.Now().Before(start.Add(3 * time.Hour)); step++ {
				attacker := fmt.Sprintf("203.0.113.%d", step%200+1)
				if c := e.send(email, attacker); c != "" {
					mailbox = append(mailbox, &mail{code: c, at: e.clock.Now()})
				}
				e.VerifyPasscode(ctx, e.link.Token, email, "00000000", false, attacker, "ua")
				e.clock.Advance(29 * time.Second)
				if step%7 != 0 {
					continue
				}
				// The recipient asks for a code too.
				if c := e.send(email, recipient); c != "" {
					mailbox = append(mailbox, &mail{code: c, at: e.clock.Now()})
				}
				var live, unused *mail
				for _, m := range mailbox {
					if e.clock.Now().Sub(m.at) < gatehouse.PasscodeTTL {
						live = m
						if !m.used {
							unused = m
						}
					}
				}
				if live == nil {
					t.Fatalf("%s in: the recipient's request was refused and no live code is in the mailbox", e.clock.Now().Sub(start))
				}
				if step%21 == 0 && unused != nil {
					if _, err := e.VerifyPasscode(ctx, e.link.Token, email, unused.code, false, recipient, "ua"); err != nil {
						t.Fatalf("%s in: a live code from the mailbox failed at the recipient's client: %v", e.clock.Now().Sub(start), err)
					}
					unused.used = true
					verified++
				}
			}
			// Mail stays bounded by the per-pair limits.
			if max := 3 * gatehouse.SendMaxPerHour; len(mailbox) > max {
				t.Errorf("%d codes mailed in 3 hours, want at most %d", len(mailbox), max)
			}
			if verified < 10 {
				t.Errorf("the recipient verified %d times, want one every 10 minutes or so", verified)
			}
		})
	}
}

// TestDeviceCookie: failures from other clients never block a correct
// password from a browser that signed in to the account before; unknown
// clients are still throttled; the device has its own small limit.
func TestDeviceCookie(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("ann@example.com")
			e.user("bob@example.com")
			signIn := func(email, pw, device, ip string) (*store.LoginResult, error) {
				return e.SignIn(ctx, store.LoginRequest{Email: email, Password: pw, Device: device, ClientIP: ip, UserAgent: "ua"})
			}
			home, err := signIn("ann@example.com", password, "", "192.0.2.1")
			if err != nil || home.Device == "" || home.Session == "" {
				t.Fatalf("first sign-in: %+v %v", home, err)
			}
			laptop, err := signIn("ann@example.com", password, "", "192.0.2.2")
			if err != nil || laptop.Device == "" || laptop.Device == home.Device {
				t.Fatalf("second browser: %+v %v", laptop, err)
			}
			if n := e.count(`SELECT COUNT(*) FROM login_devices WHERE hash = ? OR hash = ?`, home.Device, laptop.Device); n != 0 {
				t.Errorf("device secrets are stored in clear")
			}

			// 60 failures from 10 addresses, 20 at once (each check holds
			// 19 MiB of argon2 memory).
			for range 3 {
				parallel(20, func(i int) {
					signIn("ann@example.com", "wrong password!", "", fmt.Sprintf("203.0.113.%d", i%10+1))
				})
			}
			_, err = signIn("ann@example.com", password, "", "198.51.100.1")
			wantCode(t, "an unknown client with the right password", err, gatehouse.ETOOMANY)
			_, err = signIn("ann@example.com", password, "not a device of ours", "198.51.100.2")
			wantCode(t, "an unknown device cookie", err, gatehouse.ETOOMANY)

			// The known browser signs in, from a new address or a blocked one.
			for _, ip := range []string{"198.51.100.3", "203.0.113.1"} {
				res, err := signIn("ann@example.com", password, home.Device, ip)
				if err != nil || res.Device != home.Device || res.User.Email != "ann@example.com" {
					t.Fatalf("known browser from %s: %+v %v", ip, res, err)
				}
			}
			rec := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoggedIn, UserID: "ann@example.com", ClientIP: "203.0.113.1"})
			if !strings.Contains(rec.EventData, "knownDevice") {
				t.Errorf("sign-in record does not say the device was known: %q", rec.EventData)
			}
			// A device cookie is bound to its account.
			for range 5 {
				signIn("bob@example.com", "wrong password!", "", "203.0.113.50")
			}
			_, err = signIn("bob@example.com", password, home.Device, "203.0.113.50")
			wantCode(t, "ann's device cookie for bob", err, gatehouse.ETOOMANY)

			// The device's own limit: of 16 parallel wrong passwords, 10
			// count against it; then it is an unknown client again.
			parallel(16, func(int) { signIn("ann@example.com", "wrong password!", laptop.Device, "192.0.2.2") })
			if n := e.count(`SELECT COUNT(*) FROM login_devices WHERE failures = 10`); n != 1 {
				t.Errorf("devices at their limit: got %d, want 1", n)
			}
			_, err = signIn("ann@example.com", password, laptop.Device, "192.0.2.2")
			wantCode(t, "a device past its limit while the address is blocked", err, gatehouse.ETOOMANY)
			// The other browser is unaffected.
			if _, err := signIn("ann@example.com", password, home.Device, "192.0.2.1"); err != nil {
				t.Errorf("the other known browser: %v", err)
			}
			// Once the block is over, the password from an unknown client
			// works and issues a new device cookie.
			e.clock.Advance(16 * time.Minute)
			res, err := signIn("ann@example.com", password, laptop.Device, "192.0.2.2")
			if err != nil || res.Device == "" || res.Device == laptop.Device {
				t.Errorf("sign-in after the block: %+v %v, want a new device cookie", res, err)
			}
		})
	}
}

// TestRecordLinkUseOnce: one SecureLinkUsed per session and link, however
// many requests of that session use it at once.
func TestRecordLinkUseOnce(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			actor := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("ext@partner.test"), Origin: gatehouse.Origin{ShareID: e.link.ShareID}}
			for _, session := range []string{"session-one", "session-two"} {
				parallel(16, func(int) {
					if err := e.RecordLinkUse(ctx, actor, e.link, session); err != nil {
						t.Errorf("RecordLinkUse: %v", err)
					}
				})
			}
			recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSecureLinkUsed})
			if len(recs) != 2 || recs[0].UniqueSharingID != e.link.ShareID || recs[0].SourceFileName != "plan.txt" {
				t.Errorf("SecureLinkUsed records: got %d (%+v), want 2 with the link's id", len(recs), recs)
			}
		})
	}
}
