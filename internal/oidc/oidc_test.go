package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/blob"
	"gatehouse/internal/oidc"
	"gatehouse/internal/oidctest"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

var ctx = context.Background()

const baseURL = "https://files.example.com"

type env struct {
	st    *store.Store
	clock *testenv.Clock
	op    *oidctest.Provider
	cfg   *oidc.Provider
	rp    *oidc.RP
}

// newEnv starts a real provider with three partner accounts and a relying
// party on a fresh store of backend b. The store's clock is real time
// (the provider's tokens carry real times) that a test may move on.
func newEnv(t *testing.T, b testenv.Backend) *env {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	e := &env{clock: &testenv.Clock{}}
	e.st, err = store.Open(ctx, b.DSN(t, dir), blobs, store.Options{Now: e.clock.Now, BaseURL: baseURL, AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.op = oidctest.Start(t, baseURL+oidc.CallbackPath)
	e.op.AddUser(oidctest.User{Subject: "sub-dana", Email: "Dana@Fabrikam.example", EmailVerified: true, Name: "Dana Scully"})
	e.op.AddUser(oidctest.User{Subject: "sub-fox", Email: "fox@fabrikam.example", EmailVerified: false, Name: "Fox Mulder"})
	e.op.AddUser(oidctest.User{Subject: "sub-walter", Email: "walter@contoso.example", EmailVerified: true, Name: "Walter Skinner"})
	e.cfg = &oidc.Provider{ID: "idp-fabrikam", Issuer: e.op.Issuer, ClientID: e.op.ClientID, ClientSecret: e.op.ClientSecret,
		Domains: []string{"fabrikam.example"}, Scope: "openid email profile"}
	e.rp = oidc.New(e.st, oidc.Options{BaseURL: baseURL, Provider: func(_ context.Context, id string) (*oidc.Provider, error) {
		if id != e.cfg.ID {
			return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "no such provider")
		}
		return e.cfg, nil
	}})
	return e
}

// signIn runs a whole sign-in as email and returns the callback URL the
// provider sent back and what Complete made of it.
func (e *env) signIn(t *testing.T, email string, deny bool) (*url.URL, *oidc.Identity, error) {
	t.Helper()
	authURL, err := e.rp.Begin(ctx, e.cfg, email, "/s/the-token")
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	back := e.op.SignIn(t, authURL, email, deny)
	id, err := e.rp.Complete(ctx, httptest.NewRequest("GET", back.String(), nil))
	return back, id, err
}

// refused asserts that err is a Failure for reason with a message.
func refused(t *testing.T, err error, reason string) *oidc.Failure {
	t.Helper()
	var f *oidc.Failure
	if !errors.As(err, &f) {
		t.Fatalf("got %v, want a refusal for %s", err, reason)
	}
	if f.Reason != reason {
		t.Fatalf("refused for %s (%s), want %s", f.Reason, f.Err.Message, reason)
	}
	if gatehouse.ErrorMessage(err) == "" || gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		t.Fatalf("refusal %s has no sentence for the person: %v", reason, err)
	}
	return f
}

func TestSignIn(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			back, id, err := e.signIn(t, "dana@fabrikam.example", false)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			want := oidc.Identity{ProviderID: "idp-fabrikam", Issuer: e.op.Issuer, Subject: "sub-dana", Email: "dana@fabrikam.example",
				Name: "Dana Scully", LoginHint: "dana@fabrikam.example", ReturnTo: "/s/the-token"}
			if *id != want {
				t.Fatalf("identity %+v, want %+v", *id, want)
			}

			a := e.op.LastAuthorize()
			if a.Get("redirect_uri") != baseURL+"/auth/oidc/callback" || a.Get("response_type") != "code" ||
				a.Get("code_challenge_method") != "S256" || len(a.Get("code_challenge")) != 43 ||
				a.Get("login_hint") != "dana@fabrikam.example" || a.Get("nonce") == "" || a.Get("client_id") != e.op.ClientID ||
				!strings.Contains(" "+a.Get("scope")+" ", " openid ") {
				t.Fatalf("authorization request %v", a)
			}
			if len(a.Get("state")) < 22 { // 128 bits in base64url
				t.Fatalf("state %q is shorter than 128 bits", a.Get("state"))
			}

			// The same callback again: the state was used.
			_, err = e.rp.Complete(ctx, httptest.NewRequest("GET", back.String(), nil))
			refused(t, err, oidc.ReasonState)
		})
	}
}

func TestBeginRefusesForeignReturn(t *testing.T) {
	e := newEnv(t, testenv.Backends()[0])
	for _, to := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`, ""} {
		if _, err := e.rp.Begin(ctx, e.cfg, "", to); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("Begin returning to %q: %v", to, err)
		}
	}
}

// TestRefusals runs one sign-in per reason a callback must be refused.
// The real provider checks the client, the code and PKCE every time;
// token-level refusals replace its ID token with one the test signs.
func TestRefusals(t *testing.T) {
	fresh, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cases := []struct {
		name   string
		email  string
		forge  func(op *oidctest.Provider, c map[string]any) string
		deny   bool
		reason string
		says   string
	}{
		{name: "wrong aud", forge: func(op *oidctest.Provider, c map[string]any) string {
			c["aud"] = "another-app"
			return op.Sign(c)
		}, reason: oidc.ReasonToken, says: "another application"},
		{name: "wrong iss", forge: func(op *oidctest.Provider, c map[string]any) string {
			c["iss"] = "https://login.evil.example/"
			return op.Sign(c)
		}, reason: oidc.ReasonToken, says: "another issuer"},
		{name: "wrong nonce", forge: func(op *oidctest.Provider, c map[string]any) string {
			c["nonce"] = "a-nonce-of-another-sign-in"
			return op.Sign(c)
		}, reason: oidc.ReasonNonce},
		{name: "expired", forge: func(op *oidctest.Provider, c map[string]any) string {
			c["iat"], c["exp"] = now.Add(-3*time.Minute).Unix(), now.Add(-time.Minute).Unix()
			return op.Sign(c)
		}, reason: oidc.ReasonToken, says: "expired"},
		{name: "alg none", forge: func(op *oidctest.Provider, c map[string]any) string {
			return oidctest.Unsigned(c)
		}, reason: oidc.ReasonToken, says: "signature"},
		{name: "key not in the JWKS", forge: func(op *oidctest.Provider, c map[string]any) string {
			return oidctest.SignWith(fresh, "a-key-nobody-published", c)
		}, reason: oidc.ReasonToken, says: "signature"},
		{name: "azp of another client", forge: func(op *oidctest.Provider, c map[string]any) string {
			c["aud"], c["azp"] = []string{op.ClientID, "another-app"}, "another-app"
			return op.Sign(c)
		}, reason: oidc.ReasonAzp},
		{name: "several audiences without azp", forge: func(op *oidctest.Provider, c map[string]any) string {
			c["aud"] = []string{op.ClientID, "another-app"}
			delete(c, "azp")
			return op.Sign(c)
		}, reason: oidc.ReasonAzp},
		{name: "issued in the future", forge: func(op *oidctest.Provider, c map[string]any) string {
			c["iat"], c["exp"] = now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
			return op.Sign(c)
		}, reason: oidc.ReasonIat},
		{name: "no email", forge: func(op *oidctest.Provider, c map[string]any) string {
			delete(c, "email")
			return op.Sign(c)
		}, reason: oidc.ReasonEmailMissing},
		{name: "email_verified false", email: "fox@fabrikam.example", reason: oidc.ReasonEmailUnverified, says: "fox@fabrikam.example"},
		{name: "email of another domain", email: "walter@contoso.example", reason: oidc.ReasonDomain, says: "walter@contoso.example"},
		{name: "access_denied", deny: true, reason: oidc.ReasonDenied, says: "access_denied"},
	}
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					email := c.email
					if email == "" {
						email = "dana@fabrikam.example"
					}
					if c.forge != nil {
						e.op.ForgeIDToken(func(claims map[string]any) string { return c.forge(e.op, claims) })
						defer e.op.ForgeIDToken(nil)
					}
					back, id, err := e.signIn(t, email, c.deny)
					if id != nil {
						t.Fatalf("signed in as %+v", id)
					}
					f := refused(t, err, c.reason)
					if !strings.Contains(f.Err.Message, c.says) {
						t.Fatalf("message %q does not say %q", f.Err.Message, c.says)
					}
					if f.Signin == nil || f.Signin.LoginHint != email || f.Signin.ProviderID != e.cfg.ID {
						t.Fatalf("the refusal does not carry its sign-in: %+v", f.Signin)
					}
					// Whatever failed, the state is spent.
					q := back.Query()
					q.Del("error")
					q.Set("code", "any")
					back.RawQuery = q.Encode()
					_, err = e.rp.Complete(ctx, httptest.NewRequest("GET", back.String(), nil))
					refused(t, err, oidc.ReasonState)
				})
			}
		})
	}
}

func TestStateRefusals(t *testing.T) {
	e := newEnv(t, testenv.Backends()[0])

	t.Run("unknown state", func(t *testing.T) {
		_, err := e.rp.Complete(ctx, httptest.NewRequest("GET", "/auth/oidc/callback?code=x&state=never-issued-0123456789abcdef", nil))
		refused(t, err, oidc.ReasonState)
		_, err = e.rp.Complete(ctx, httptest.NewRequest("GET", "/auth/oidc/callback?code=x", nil))
		refused(t, err, oidc.ReasonState)
	})

	t.Run("expired state", func(t *testing.T) {
		authURL, err := e.rp.Begin(ctx, e.cfg, "dana@fabrikam.example", "/")
		if err != nil {
			t.Fatal(err)
		}
		back := e.op.SignIn(t, authURL, "dana@fabrikam.example", false)
		e.clock.Advance(store.SigninTTL + time.Second)
		defer e.clock.Advance(-store.SigninTTL - time.Second)
		_, err = e.rp.Complete(ctx, httptest.NewRequest("GET", back.String(), nil))
		if f := refused(t, err, oidc.ReasonState); !strings.Contains(f.Err.Message, "10 minutes") {
			t.Fatalf("message %q", f.Err.Message)
		}
	})

	t.Run("a code stolen from another sign-in", func(t *testing.T) {
		// The state of one sign-in with the code of another: the verifier
		// of the first does not match the second's challenge (PKCE).
		a, err := e.rp.Begin(ctx, e.cfg, "dana@fabrikam.example", "/")
		if err != nil {
			t.Fatal(err)
		}
		first := e.op.SignIn(t, a, "dana@fabrikam.example", false)
		b, err := e.rp.Begin(ctx, e.cfg, "dana@fabrikam.example", "/")
		if err != nil {
			t.Fatal(err)
		}
		second := e.op.SignIn(t, b, "dana@fabrikam.example", false)
		q := first.Query()
		q.Set("code", second.Query().Get("code"))
		first.RawQuery = q.Encode()
		_, err = e.rp.Complete(ctx, httptest.NewRequest("GET", first.String(), nil))
		refused(t, err, oidc.ReasonExchange)
	})
}

// TestKeyRotation: a token signed with a key the partner published after
// the first sign-in verifies, because an unknown key id refetches the JWKS.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t, testenv.Backends()[0])
	if _, _, err := e.signIn(t, "dana@fabrikam.example", false); err != nil {
		t.Fatal(err)
	}
	next, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e.op.PublishKey(&next.PublicKey, "rotated-in")
	e.op.ForgeIDToken(func(c map[string]any) string { return oidctest.SignWith(next, "rotated-in", c) })
	if _, id, err := e.signIn(t, "dana@fabrikam.example", false); err != nil || id.Subject != "sub-dana" {
		t.Fatalf("after rotation: %+v, %v", id, err)
	}
}
