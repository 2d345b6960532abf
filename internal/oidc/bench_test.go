package oidc

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/oidctest"
	"gatehouse/internal/store"
)

// BenchmarkCallback prices a partner sign-in's callback on SQLite against
// the passcode verification it stands beside, in one run:
//   - passcode-verify: store.VerifyPasscode with a right code;
//   - oidc-server: what the callback costs us, the partner excluded:
//     taking the pending sign-in and verifying a real provider's ID token
//     (signature with cached keys, claims, nonce, email);
//   - oidc-complete: all of Complete, with the code exchange against the
//     in-process provider, so the partner's own time is included.
//
// The store runs without a key file so the test can read the mailed codes
// from the outbox; sealing the verifier costs microseconds.
func BenchmarkCallback(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "gatehouse.db")
	st, err := store.Open(ctx, path, blobs, store.Options{BaseURL: "https://files.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })

	op := oidctest.Start(b, "https://files.example.com"+CallbackPath)
	op.AddUser(oidctest.User{Subject: "sub-dana", Email: "dana@fabrikam.example", EmailVerified: true, Name: "Dana Scully"})
	cfg := &Provider{ID: "idp", Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret, Domains: []string{"fabrikam.example"}}
	rp := New(st, Options{BaseURL: "https://files.example.com", Provider: func(context.Context, string) (*Provider, error) { return cfg, nil }})

	b.Run("passcode-verify", func(b *testing.B) {
		token, emails := benchLink(b, st, raw, b.N)
		codes := make([]string, b.N)
		for i := range b.N {
			if err := st.SendPasscode(ctx, token, emails[i], fmt.Sprintf("10.1.%d.%d", i>>8&255, i&255), "bench"); err != nil {
				b.Fatal(err)
			}
			var text string
			if err := raw.QueryRow(`SELECT text_body FROM outbox WHERE to_addr = ? ORDER BY created_at DESC LIMIT 1`, emails[i]).Scan(&text); err != nil {
				b.Fatal(err)
			}
			codes[i] = regexp.MustCompile(`\b\d{8}\b`).FindString(text)
		}
		b.ResetTimer()
		for i := range b.N {
			if err := verifyPasscode(ctx, st, token, emails[i], codes[i]); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("oidc-server", func(b *testing.B) {
		// One real sign-in yields a real ID token (its claims re-signed with
		// the provider's key); each round takes a fresh pending sign-in
		// with that token's nonce and verifies the token against it.
		var idToken, nonce string
		op.ForgeIDToken(func(c map[string]any) string {
			nonce, _ = c["nonce"].(string)
			idToken = op.Sign(c)
			return idToken
		})
		defer op.ForgeIDToken(nil)
		authURL, err := rp.Begin(ctx, cfg, "dana@fabrikam.example", "/")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rp.Complete(ctx, httptest.NewRequest("GET", op.SignIn(b, authURL, "dana@fabrikam.example", false).String(), nil)); err != nil {
			b.Fatal(err)
		}
		oidcp, err := rp.provider(ctx, cfg.Issuer)
		if err != nil {
			b.Fatal(err)
		}
		states := make([]string, b.N)
		for i := range b.N {
			states[i] = random()
			if err := st.BeginSignin(ctx, states[i], store.Signin{ProviderID: cfg.ID, NonceHash: store.SigninHash(nonce), Verifier: "v", LoginHint: "dana@fabrikam.example", ReturnTo: "/"}); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := range b.N {
			si, err := st.ConsumeSignin(ctx, states[i])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rp.verify(ctx, oidcp, cfg, si, idToken, &Failure{}); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("oidc-complete", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			authURL, err := rp.Begin(ctx, cfg, "dana@fabrikam.example", "/")
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", op.SignIn(b, authURL, "dana@fabrikam.example", false).String(), nil)
			b.StartTimer()
			if _, err := rp.Complete(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchLink shares a folder with n recipients and returns the link's token
// and their addresses; the recipients beyond the first go in directly.
func benchLink(b *testing.B, st *store.Store, raw *sql.DB, n int) (string, []string) {
	ctx := context.Background()
	owner := fmt.Sprintf("owner%d@example.com", time.Now().UnixNano())
	u, err := st.CreateUser(ctx, gatehouse.SystemActor(), store.NewUser{Email: owner, DisplayName: "Owner", Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	d, err := st.DriveByOwner(ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	by := gatehouse.UserActor(u, "127.0.0.1", "bench")
	folder, err := st.CreateFolder(ctx, by, d.ID, d.RootID, "Shared")
	if err != nil {
		b.Fatal(err)
	}
	emails := make([]string, n)
	for i := range n {
		emails[i] = fmt.Sprintf("r%d@partner.test", i)
	}
	l, _, err := st.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: folder.ID, Role: "read", Emails: emails[:1]})
	if err != nil {
		b.Fatal(err)
	}
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMicro()
	for _, e := range emails[1:] {
		if _, err := tx.Exec(`INSERT INTO link_recipients (link_id, email, added_at, added_by) VALUES (?, ?, ?, ?)`, l.ID, e, now, u.ID); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return l.Token, emails
}

// verifyPasscode calls store.VerifyPasscode in whichever shape it has:
// another change is dropping its reauthDays argument while this lands.
func verifyPasscode(ctx context.Context, st *store.Store, token, email, code string) error {
	switch s := any(st).(type) {
	case interface {
		VerifyPasscode(context.Context, string, string, string, bool, string, string) (*store.RecipientSession, error)
	}:
		_, err := s.VerifyPasscode(ctx, token, email, code, false, "10.9.9.9", "bench")
		return err
	case interface {
		VerifyPasscode(context.Context, string, string, string, bool, int, string, string) (*store.RecipientSession, error)
	}:
		_, err := s.VerifyPasscode(ctx, token, email, code, false, 30, "10.9.9.9", "bench")
		return err
	}
	return fmt.Errorf("store.VerifyPasscode has a shape this benchmark does not know")
}
