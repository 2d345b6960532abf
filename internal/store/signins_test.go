package store_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

const testState = "abcdefghijklmnopqrstuvwxyz012345"

func TestSignins(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			si := store.Signin{ProviderID: "p1", NonceHash: store.SigninHash("n"), Verifier: "the-verifier", LoginHint: "dana@fabrikam.example", ReturnTo: "/s/tok"}

			t.Run("single use, secrets not stored as they are", func(t *testing.T) {
				if err := e.BeginSignin(ctx, testState, si); err != nil {
					t.Fatal(err)
				}
				var stateHash, verifier string
				if err := e.DB().db.QueryRow(`SELECT state_hash, verifier FROM oidc_signins`).Scan(&stateHash, &verifier); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(stateHash, testState) || strings.Contains(verifier, "the-verifier") {
					t.Fatalf("stored state %q / verifier %q in the clear", stateHash, verifier)
				}
				got, err := e.ConsumeSignin(ctx, testState)
				if err != nil {
					t.Fatal(err)
				}
				if got.ProviderID != "p1" || got.Verifier != "the-verifier" || got.NonceHash != si.NonceHash ||
					got.LoginHint != si.LoginHint || got.ReturnTo != "/s/tok" || got.ExpiresAt.Sub(got.CreatedAt) != store.SigninTTL {
					t.Fatalf("consumed %+v", got)
				}
				if _, err := e.ConsumeSignin(ctx, testState); !errors.Is(err, store.ErrSigninUnknown) {
					t.Fatalf("replay: %v, want ErrSigninUnknown", err)
				}
			})

			t.Run("unknown", func(t *testing.T) {
				if _, err := e.ConsumeSignin(ctx, "never-issued-state-0123456789"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("unknown state: %v", err)
				}
			})

			t.Run("short state refused", func(t *testing.T) {
				if err := e.BeginSignin(ctx, "short", si); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("short state: %v", err)
				}
			})

			t.Run("expired, then swept", func(t *testing.T) {
				if err := e.BeginSignin(ctx, testState+"x", si); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(store.SigninTTL)
				if _, err := e.ConsumeSignin(ctx, testState+"x"); !errors.Is(err, store.ErrSigninExpired) {
					t.Fatalf("expired: %v", err)
				}
				if err := e.BeginSignin(ctx, testState+"y", si); err != nil {
					t.Fatal(err)
				}
				var n int
				if err := e.DB().db.QueryRow(`SELECT COUNT(*) FROM oidc_signins`).Scan(&n); err != nil || n != 1 {
					t.Fatalf("rows after the sweep: %d, %v; want only the new one", n, err)
				}
			})

			t.Run("one of two parallel callbacks wins", func(t *testing.T) {
				state := testState + "race"
				if err := e.BeginSignin(ctx, state, si); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				won := 0
				for range 4 {
					wg.Go(func() {
						if _, err := e.ConsumeSignin(ctx, state); err == nil {
							mu.Lock()
							won++
							mu.Unlock()
						} else if !errors.Is(err, store.ErrSigninUnknown) {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				if won != 1 {
					t.Fatalf("%d callbacks consumed one state", won)
				}
			})
		})
	}
}
