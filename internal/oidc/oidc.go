// Package oidc signs people in through a partner's OpenID Connect provider:
// the authorization code flow with PKCE, the pending sign-in kept in the
// database, and the ID token checked with go-oidc. The routes that call it
// decide what a verified identity may do.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse"
	"gatehouse/internal/store"
)

// CallbackPath is where partners send the browser back; the redirect URI
// registered at the partner is the base URL with this path.
const CallbackPath = "/auth/oidc/callback"

// DefaultScope is asked for when a provider names none.
const DefaultScope = "openid email profile"

// discoveryTTL is how long a provider's discovery document is trusted.
// Keys rotate without it: go-oidc refetches the JWKS on an unknown key id.
const discoveryTTL = 24 * time.Hour

// skew is the clock difference tolerated in iat.
const skew = 5 * time.Minute

// Provider is a partner's identity provider as the sign-in needs it.
type Provider struct {
	ID           string
	Issuer       string
	ClientID     string
	ClientSecret string
	Domains      []string // addresses of these domains may sign in through it
	Scope        string   // space separated; empty is DefaultScope
}

// Identity is who the partner says signed in, after every check passed.
type Identity struct {
	ProviderID string
	Issuer     string
	Subject    string
	Email      string // lower case
	Name       string // may be empty
	LoginHint  string // as Begin got it
	ReturnTo   string // as Begin got it
}

// Failure is a refused callback: Err is the sentence for the person and the
// code for the status; Reason is short and stable, for the UserLoginFailed
// record. Signin and Provider are set once the state was found.
type Failure struct {
	Reason   string
	Err      *gatehouse.Error
	Signin   *store.Signin
	Provider *Provider
}

func (f *Failure) Error() string { return "oidc: " + f.Reason + ": " + f.Err.Message }
func (f *Failure) Unwrap() error { return f.Err }

// Reasons a callback is refused.
const (
	ReasonDenied          = "partner_error"      // the partner answered error=...
	ReasonState           = "state_invalid"      // unknown, expired or replayed state
	ReasonProvider        = "provider_unknown"   // the provider was removed meanwhile
	ReasonExchange        = "code_exchange"      // the token endpoint refused the code
	ReasonToken           = "id_token_invalid"   // signature, iss, aud, exp or alg
	ReasonAzp             = "azp_mismatch"       // azp is not our client id
	ReasonIat             = "iat_invalid"        // issued in the future or before the sign-in
	ReasonNonce           = "nonce_mismatch"     // not the nonce of this sign-in
	ReasonEmailMissing    = "email_missing"      // no email claim
	ReasonEmailUnverified = "email_unverified"   // email_verified is not true
	ReasonDomain          = "domain_not_allowed" // the email is not of the provider's domains
)

// Options configure a relying party.
type Options struct {
	// BaseURL is the server's public address; the redirect URI is
	// BaseURL + CallbackPath.
	BaseURL string
	// Provider finds a provider by id for the callback, so the relying
	// party does not depend on where providers are kept.
	Provider func(ctx context.Context, id string) (*Provider, error)
	// HTTPClient talks to partners; nil is a client with a 10 s timeout.
	HTTPClient *http.Client
}

// RP is Gatehouse as an OpenID Connect relying party.
type RP struct {
	st   *store.Store
	opt  Options
	mu   sync.Mutex
	disc map[string]*discovered // by issuer
}

type discovered struct {
	p  *oidc.Provider
	at time.Time
}

// New returns a relying party keeping its pending sign-ins in st.
func New(st *store.Store, opt Options) *RP {
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	opt.BaseURL = strings.TrimRight(opt.BaseURL, "/")
	return &RP{st: st, opt: opt, disc: map[string]*discovered{}}
}

// RedirectURI is the callback address to register at every partner.
func (rp *RP) RedirectURI() string { return rp.opt.BaseURL + CallbackPath }

// provider returns the discovered provider for issuer, from the cache
// while it is fresh. Failed discoveries are not cached.
func (rp *RP) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	now := time.Now()
	rp.mu.Lock()
	d := rp.disc[issuer]
	rp.mu.Unlock()
	if d != nil && now.Sub(d.at) < discoveryTTL {
		return d.p, nil
	}
	// The provider keeps this context for its key set's later fetches, so
	// it must outlive the request that first asked.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), rp.opt.HTTPClient)
	p, err := oidc.NewProvider(pctx, issuer)
	if err != nil {
		return nil, err
	}
	rp.mu.Lock()
	rp.disc[issuer] = &discovered{p: p, at: now}
	rp.mu.Unlock()
	return p, nil
}

func (rp *RP) config(op *oidc.Provider, p *Provider) *oauth2.Config {
	scope := p.Scope
	if strings.TrimSpace(scope) == "" {
		scope = DefaultScope
	}
	scopes := strings.Fields(scope)
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: rp.RedirectURI(), Scopes: scopes}
}

// Begin starts a sign-in at p and returns the partner's address to send
// the browser to. returnTo must be a path on this server.
func (rp *RP) Begin(ctx context.Context, p *Provider, loginHint, returnTo string) (string, error) {
	if !localPath(returnTo) {
		return "", gatehouse.Errorf(gatehouse.EINVALID, "The address to return to after signing in must be a path on this server.")
	}
	op, err := rp.provider(ctx, p.Issuer)
	if err != nil {
		return "", gatehouse.Errorf(gatehouse.EINTERNAL, "The sign-in service of %s did not answer; please try again later.", p.Issuer)
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	if err := rp.st.BeginSignin(ctx, state, store.Signin{ProviderID: p.ID, NonceHash: store.SigninHash(nonce),
		Verifier: verifier, LoginHint: loginHint, ReturnTo: returnTo}); err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return rp.config(op, p).AuthCodeURL(state, opts...), nil
}

// localPath reports whether s is a path on this server, not an address
// elsewhere ("//host" and "/\host" are other hosts to browsers).
func localPath(s string) bool {
	return strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\")
}

// random returns 256 bits from crypto/rand, URL safe.
func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Complete finishes the sign-in the callback request r answers: it takes
// the pending sign-in (once), exchanges the code with its PKCE verifier and
// checks the ID token. Every refusal is a *Failure.
func (rp *RP) Complete(ctx context.Context, r *http.Request) (*Identity, error) {
	q := r.URL.Query()
	f := &Failure{}
	fail := func(reason, code, format string, args ...any) (*Identity, error) {
		f.Reason, f.Err = reason, gatehouse.Errorf(code, format, args...)
		return nil, f
	}
	var stateErr error
	if state := q.Get("state"); state == "" {
		stateErr = store.ErrSigninUnknown
	} else {
		f.Signin, stateErr = rp.st.ConsumeSignin(ctx, state)
	}
	// A partner's refusal ends the sign-in too, so its state is taken first.
	if e := q.Get("error"); e != "" {
		msg := "The sign-in service refused the sign-in (" + clip(e) + ")."
		if d := q.Get("error_description"); d != "" {
			msg = "The sign-in service refused the sign-in (" + clip(e) + ": " + clip(d) + ")."
		}
		return fail(ReasonDenied, gatehouse.EFORBIDDEN, "%s", msg)
	}
	if stateErr != nil {
		var ge *gatehouse.Error
		if !errors.As(stateErr, &ge) {
			return nil, stateErr
		}
		f.Reason, f.Err = ReasonState, ge
		return nil, f
	}
	si := f.Signin
	p, err := rp.opt.Provider(ctx, si.ProviderID)
	if err != nil || p == nil {
		return fail(ReasonProvider, gatehouse.ENOTFOUND, "The sign-in service this sign-in began at is no longer set up here.")
	}
	f.Provider = p
	op, err := rp.provider(ctx, p.Issuer)
	if err != nil {
		return fail(ReasonProvider, gatehouse.EINTERNAL, "The sign-in service of %s did not answer; please try again later.", p.Issuer)
	}
	code := q.Get("code")
	if code == "" {
		return fail(ReasonExchange, gatehouse.EINVALID, "The sign-in service sent no authorization code.")
	}
	tok, err := rp.config(op, p).Exchange(oidc.ClientContext(ctx, rp.opt.HTTPClient), code, oauth2.VerifierOption(si.Verifier))
	if err != nil {
		return fail(ReasonExchange, gatehouse.EUNAUTHORIZED, "The sign-in service did not accept the sign-in code.")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return fail(ReasonToken, gatehouse.EUNAUTHORIZED, "The sign-in service sent no ID token.")
	}
	return rp.verify(ctx, op, p, si, raw, f)
}

// verify checks an ID token against the provider and the pending sign-in.
func (rp *RP) verify(ctx context.Context, op *oidc.Provider, p *Provider, si *store.Signin, raw string, f *Failure) (*Identity, error) {
	fail := func(reason, code, format string, args ...any) (*Identity, error) {
		f.Reason, f.Err = reason, gatehouse.Errorf(code, format, args...)
		return nil, f
	}
	now := rp.st.Now()
	// Signature against the JWKS (refetched on an unknown key id), alg from
	// discovery (never none), iss, aud containing our client id, and exp.
	v := op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: rp.st.Now})
	idt, err := v.Verify(oidc.ClientContext(ctx, rp.opt.HTTPClient), raw)
	if err != nil {
		return fail(ReasonToken, gatehouse.EUNAUTHORIZED, "The sign-in service's ID token was not valid: %s.", tokenProblem(err))
	}
	var c struct {
		Azp           string `json:"azp"`
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&c); err != nil {
		return fail(ReasonToken, gatehouse.EUNAUTHORIZED, "The sign-in service's ID token was not valid: its claims do not read.")
	}
	if (c.Azp != "" || len(idt.Audience) > 1) && c.Azp != p.ClientID {
		return fail(ReasonAzp, gatehouse.EUNAUTHORIZED, "The sign-in service's ID token was issued to another application.")
	}
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(now.Add(skew)) || idt.IssuedAt.Before(si.CreatedAt.Add(-skew)) {
		return fail(ReasonIat, gatehouse.EUNAUTHORIZED, "The sign-in service's ID token was not issued for this sign-in (its issue time is wrong).")
	}
	if subtle.ConstantTimeCompare([]byte(store.SigninHash(idt.Nonce)), []byte(si.NonceHash)) != 1 {
		return fail(ReasonNonce, gatehouse.EUNAUTHORIZED, "The sign-in service's ID token belongs to another sign-in (its nonce differs).")
	}
	email := strings.ToLower(strings.TrimSpace(c.Email))
	if email == "" {
		return fail(ReasonEmailMissing, gatehouse.EFORBIDDEN, "The sign-in service did not tell us your email address. Ask its administrator to release the email claim.")
	}
	if !verified(c.EmailVerified) {
		return fail(ReasonEmailUnverified, gatehouse.EFORBIDDEN, "The sign-in service has not verified the address %s.", email)
	}
	if !inDomains(email, p.Domains) {
		return fail(ReasonDomain, gatehouse.EFORBIDDEN, "The address %s may not sign in through this sign-in service.", email)
	}
	return &Identity{ProviderID: p.ID, Issuer: idt.Issuer, Subject: idt.Subject, Email: email, Name: strings.TrimSpace(c.Name),
		LoginHint: si.LoginHint, ReturnTo: si.ReturnTo}, nil
}

// verified reads email_verified, which some providers send as a string.
func verified(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

func inDomains(email string, domains []string) bool {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return false
	}
	d := email[at+1:]
	for _, x := range domains {
		if strings.EqualFold(strings.TrimSpace(x), d) {
			return true
		}
	}
	return false
}

// tokenProblem names what go-oidc refused, in words for the person.
func tokenProblem(err error) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return "it has expired"
	case strings.Contains(msg, "different provider"):
		return "it comes from another issuer"
	case strings.Contains(msg, "audience"):
		return "it was issued to another application"
	case strings.Contains(msg, "signature") || strings.Contains(msg, "signed") || strings.Contains(msg, "malformed") || strings.Contains(msg, "algorithm"):
		return "its signature does not verify"
	}
	return "it does not verify"
}

// clip bounds partner-supplied text before it reaches a page or a record.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return s
}
