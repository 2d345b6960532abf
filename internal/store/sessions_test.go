package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

func TestLogin(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ann := e.user("ann@example.com")

			u, secret, err := e.Login(ctx, " ANN@example.com ", password, "192.0.2.1", "browser/1")
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if u.ID != ann.ID || secret == "" {
				t.Fatalf("Login: got user %v and secret %q, want ann and a secret", u, secret)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoggedIn, UserID: "ann@example.com", UserType: gatehouse.UserTypeMember,
				ClientIP: "192.0.2.1", UserAgent: "browser/1", ResultStatus: "Succeeded"})
			if got, err := e.UserBySession(ctx, secret); err != nil || got.ID != ann.ID {
				t.Fatalf("UserBySession: got %v, %v; want ann", got, err)
			}
			_, secret2, err := e.Login(ctx, "ann@example.com", password, "192.0.2.1", "browser/1")
			if err != nil || secret2 == secret {
				t.Fatalf("second Login: got secret %q, %v; want a new one", secret2, err)
			}
			for _, bad := range []string{"", secret + "x", secret[:len(secret)-1]} {
				_, err := e.UserBySession(ctx, bad)
				wantCode(t, "UserBySession("+bad+")", err, gatehouse.EUNAUTHORIZED)
			}

			// Wrong password and unknown address read exactly alike.
			_, _, errWrong := e.Login(ctx, "ann@example.com", "wrong password!", "192.0.2.2", "browser/2")
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "ann@example.com", ClientIP: "192.0.2.2",
				UserAgent: "browser/2", ResultStatus: "Failed"})
			_, _, errUnknown := e.Login(ctx, "nobody@example.com", "wrong password!", "192.0.2.3", "browser/2")
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "nobody@example.com", ClientIP: "192.0.2.3", ResultStatus: "Failed"})
			_, _, errEmpty := e.Login(ctx, "ann@example.com", "", "192.0.2.4", "browser/2")
			for name, err := range map[string]error{"wrong password": errWrong, "unknown user": errUnknown, "empty password": errEmpty} {
				wantCode(t, "Login with "+name, err, gatehouse.EUNAUTHORIZED)
				if gatehouse.ErrorMessage(err) != gatehouse.ErrorMessage(errWrong) || gatehouse.ErrorCode(err) != gatehouse.ErrorCode(errWrong) {
					t.Errorf("Login with %s: got %q, want the same as a wrong password: %q", name, err, errWrong)
				}
			}

			// Logout ends that session only.
			if err := e.Logout(ctx, secret); err != nil {
				t.Fatalf("Logout: %v", err)
			}
			_, err = e.UserBySession(ctx, secret)
			wantCode(t, "UserBySession after Logout", err, gatehouse.EUNAUTHORIZED)
			if _, err := e.UserBySession(ctx, secret2); err != nil {
				t.Errorf("the other session after Logout: %v", err)
			}
			if err := e.Logout(ctx, secret); err != nil {
				t.Errorf("Logout twice: %v", err)
			}
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("ann@example.com")
			_, secret, err := e.Login(ctx, "ann@example.com", password, "192.0.2.1", "ua")
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(store.SessionTTL - time.Second)
			if _, err := e.UserBySession(ctx, secret); err != nil {
				t.Errorf("UserBySession a second before expiry: %v", err)
			}
			e.clock.Advance(time.Second)
			_, err = e.UserBySession(ctx, secret)
			wantCode(t, "UserBySession at expiry", err, gatehouse.EUNAUTHORIZED)
			e.clock.Advance(time.Hour)
			_, err = e.UserBySession(ctx, secret)
			wantCode(t, "UserBySession after expiry", err, gatehouse.EUNAUTHORIZED)
		})
	}
}

func TestLoginThrottle(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("ann@example.com")
			e.user("bob@example.com")

			for i := 1; i <= 5; i++ {
				_, _, err := e.Login(ctx, "ann@example.com", "wrong password!", "192.0.2.1", "ua")
				wantCode(t, "failed Login", err, gatehouse.EUNAUTHORIZED)
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpUserLoginFailed})); got != 5 {
				t.Errorf("UserLoginFailed records: got %d, want 5", got)
			}

			// Blocked now for this address from this client, even with the
			// right password; but one machine cannot lock the member out
			// elsewhere, nor lock other members out.
			_, _, err := e.Login(ctx, "ann@example.com", password, "192.0.2.1", "ua")
			wantCode(t, "Login with the right password while blocked", err, gatehouse.ETOOMANY)
			if _, _, err := e.Login(ctx, "ANN@example.com", password, "198.51.100.7", "ua"); err != nil {
				t.Errorf("Login from another client: %v, want success", err)
			}
			if _, _, err := e.Login(ctx, "bob@example.com", password, "192.0.2.1", "ua"); err != nil {
				t.Errorf("Login to another account from the same client: %v, want success", err)
			}
			if got := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpUserLoggedIn})); got != 2 {
				t.Errorf("UserLoggedIn records: got %d, want 2", got)
			}
			// Past the block it works again, and success clears the count
			// for the address.
			e.clock.Advance(16 * time.Minute)
			if _, _, err := e.Login(ctx, "ann@example.com", password, "192.0.2.1", "ua"); err != nil {
				t.Fatalf("Login after the block: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoggedIn, UserID: "ann@example.com"})
			for i := 1; i <= 4; i++ {
				_, _, err := e.Login(ctx, "ann@example.com", "wrong password!", "198.51.100.8", "ua")
				wantCode(t, "failed Login after success", err, gatehouse.EUNAUTHORIZED)
			}
			if _, _, err := e.Login(ctx, "ann@example.com", password, "198.51.100.9", "ua"); err != nil {
				t.Errorf("Login after 4 fresh failures: got %v, want success (the count restarted)", err)
			}
		})
	}
}

// TestLoginThrottleWide: an address guessed from many clients, and a client
// guessing many addresses, are slowed down too, only later.
func TestLoginThrottleWide(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("ann@example.com")
			e.user("bob@example.com")
			for i := range 50 {
				e.Login(ctx, "ann@example.com", "wrong password!", fmt.Sprintf("203.0.113.%d", i), "ua")
			}
			_, _, err := e.Login(ctx, "ann@example.com", password, "198.51.100.1", "ua")
			wantCode(t, "Login after 50 failures from 50 clients", err, gatehouse.ETOOMANY)

			for i := range 30 {
				e.Login(ctx, fmt.Sprintf("nobody%d@example.com", i), "wrong password!", "192.0.2.99", "ua")
			}
			_, _, err = e.Login(ctx, "bob@example.com", password, "192.0.2.99", "ua")
			wantCode(t, "Login from a client that guessed 30 addresses", err, gatehouse.ETOOMANY)
			e.clock.Advance(16 * time.Minute)
			if _, _, err := e.Login(ctx, "bob@example.com", password, "192.0.2.99", "ua"); err != nil {
				t.Errorf("Login after the block: %v", err)
			}
		})
	}
}

// TestLoginThrottleConcurrent sends failures at once. The limit must hold
// when guesses arrive in parallel, or a client with many connections gets
// as many guesses as it has connections.
func TestLoginThrottleConcurrent(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("ann@example.com")
			for i := 1; i <= 4; i++ {
				e.Login(ctx, "ann@example.com", "wrong password!", "192.0.2.1", "ua")
			}
			// One failure is left before the block; of 8 parallel guesses
			// at most one may be checked.
			var wg sync.WaitGroup
			codes := make([]string, 8)
			start := make(chan struct{})
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, _, err := e.Login(ctx, "ann@example.com", "wrong password!", "192.0.2.1", "ua")
					codes[i] = gatehouse.ErrorCode(err)
				}()
			}
			close(start)
			wg.Wait()
			checked := 0
			for _, c := range codes {
				switch c {
				case gatehouse.EUNAUTHORIZED:
					checked++
				case gatehouse.ETOOMANY:
				default:
					t.Errorf("parallel Login: got code %q, want %q or %q", c, gatehouse.EUNAUTHORIZED, gatehouse.ETOOMANY)
				}
			}
			if checked > 1 {
				t.Errorf("parallel Login: %d of %d guesses were checked against the password after 4 failures, want at most 1 (codes %v)", checked, len(codes), codes)
			}
		})
	}
}
