// Package oidctest runs a real OpenID Connect provider inside a test: the
// op package of github.com/zitadel/oidc with its example storage, on an
// httptest server, with a login page a plain http.Client can fill in.
// Tests that must see a bad ID token can have the token endpoint's real
// answer replaced by one they sign themselves.
package oidctest

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Password is every user's password at the test provider.
const Password = "partner-password"

// User is an account at the test provider.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string // "First Last"
}

// Provider is a running test provider.
type Provider struct {
	Issuer       string // the server's URL, as discovery states it
	ClientID     string
	ClientSecret string

	srv     *httptest.Server
	storage *store
	op      *op.Provider

	mu       sync.Mutex
	users    map[string]*storage.User // by subject
	lastAuth url.Values
	forge    func(claims map[string]any) string
	extra    []jose.JSONWebKey // published besides the provider's own key
}

// Start runs a provider with one web client whose only redirect URI is
// redirectURI. It stops when the test ends.
func Start(t testing.TB, redirectURI string) *Provider {
	t.Helper()
	p := &Provider{ClientID: "gatehouse-test", ClientSecret: "gatehouse-test-secret", users: map[string]*storage.User{}}
	p.srv = httptest.NewUnstartedServer(nil)
	p.Issuer = "http://" + p.srv.Listener.Addr().String()
	client := storage.WebClient(p.ClientID, p.ClientSecret, redirectURI)
	p.storage = &store{Storage: storage.NewStorageWithClients(users{p}, map[string]*storage.Client{p.ClientID: client})}
	prov, err := op.NewProvider(&op.Config{
		CryptoKey:      sha256.Sum256([]byte("gatehouse oidctest")),
		CodeMethodS256: true,
		AuthMethodPost: true,
	}, p.storage, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("oidctest: start the provider: %v", err)
	}
	p.op = prov
	mux := http.NewServeMux()
	mux.HandleFunc("/login/username", p.login)
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.lastAuth = r.URL.Query()
		p.mu.Unlock()
		prov.ServeHTTP(w, r)
	})
	mux.HandleFunc("/oauth/token", p.token)
	mux.HandleFunc("/keys", p.keys)
	mux.Handle("/", prov)
	p.srv.Config.Handler = mux
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// AddUser creates an account that signs in with u.Email and Password.
func (p *Provider) AddUser(u User) {
	first, last, _ := strings.Cut(u.Name, " ")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[u.Subject] = &storage.User{ID: u.Subject, Username: u.Email, Password: Password, FirstName: first, LastName: last,
		Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.English}
}

// LastAuthorize returns the query of the latest authorization request.
func (p *Provider) LastAuthorize() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAuth
}

// ForgeIDToken makes the token endpoint answer, after its real checks
// (client, code, PKCE), with the ID token forge returns; forge gets the
// claims of the real one. Nil restores the real answer.
func (p *Provider) ForgeIDToken(forge func(claims map[string]any) string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forge = forge
}

// PublishKey adds key to the provider's JWKS under kid, as a partner does
// when it rotates keys.
func (p *Provider) PublishKey(key *rsa.PublicKey, kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.extra = append(p.extra, jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"})
}

// keys serves the real JWKS with the keys PublishKey added.
func (p *Provider) keys(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.op.ServeHTTP(rec, r)
	var set jose.JSONWebKeySet
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &set) != nil {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	p.mu.Lock()
	set.Keys = append(set.Keys, p.extra...)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(set)
}

// Sign signs claims with the provider's own key, as its JWKS lists it.
func (p *Provider) Sign(claims map[string]any) string {
	k, err := p.storage.SigningKey(context.Background())
	if err != nil {
		panic(err)
	}
	return SignWith(k.Key().(*rsa.PrivateKey), k.ID(), claims)
}

// SignWith signs claims with key under key id kid, RS256.
func SignWith(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		panic(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// Unsigned returns claims as a JWT with alg none and no signature.
func Unsigned(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(b) + "."
}

// SignIn drives the browser's part of a sign-in with a plain http.Client:
// it follows authURL to the login page, signs in as email, and returns
// the address the provider sends the browser back to (the callback, with
// code and state, or with error). deny answers the login page with "no".
func (p *Provider) SignIn(t testing.TB, authURL, email string, deny bool) *url.URL {
	t.Helper()
	var back *url.URL
	c := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(r.URL.String(), p.Issuer) {
			back = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("oidctest: open the authorization URL: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/login/username" {
		t.Fatalf("oidctest: the provider did not show its login page but %s (%d): %s", res.Request.URL, res.StatusCode, body)
	}
	form := url.Values{"id": {res.Request.URL.Query().Get("authRequestID")}, "username": {email}, "password": {Password}}
	if deny {
		form.Set("deny", "1")
	}
	res, err = c.PostForm(p.Issuer+"/login/username", form)
	if err != nil {
		t.Fatalf("oidctest: sign in: %v", err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if back == nil {
		t.Fatalf("oidctest: the provider did not send the browser back (%d): %s", res.StatusCode, body)
	}
	return back
}

// login is the provider's login page: a form, and its answer.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		id := html.EscapeString(r.URL.Query().Get("authRequestID"))
		fmt.Fprintf(w, `<!doctype html><form method="post" action="/login/username"><input type="hidden" name="id" value="%s">`+
			`<input name="username"><input name="password" type="password"><button>Sign in</button>`+
			`<button name="deny" value="1">Cancel</button></form>`, id)
		return
	}
	id := r.FormValue("id")
	if r.FormValue("deny") != "" {
		req, err := p.storage.AuthRequestByID(r.Context(), id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		op.AuthRequestError(w, r, req, zoidc.ErrAccessDenied().WithDescription("The user cancelled the sign-in."), p.op)
		return
	}
	if err := p.storage.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), id), http.StatusFound)
}

// token serves the real token endpoint, and swaps its ID token when a
// test asked for a forged one.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	forge := p.forge
	p.mu.Unlock()
	if forge == nil {
		p.op.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	p.op.ServeHTTP(rec, r)
	var body map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	raw, _ := body["id_token"].(string)
	var claims map[string]any
	if parts := strings.Split(raw, "."); len(parts) == 3 {
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(b, &claims)
	}
	body["id_token"] = forge(claims)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// store is the example storage, with clients that put the userinfo claims
// (email, email_verified, name) into the ID token as partners do.
type store struct{ *storage.Storage }

func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c}, nil
}

type claimsInIDToken struct{ op.Client }

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

// users is the example storage's user store over the provider's users.
type users struct{ p *Provider }

func (u users) GetUserByID(id string) *storage.User {
	u.p.mu.Lock()
	defer u.p.mu.Unlock()
	return u.p.users[id]
}

func (u users) GetUserByUsername(name string) *storage.User {
	u.p.mu.Lock()
	defer u.p.mu.Unlock()
	for _, x := range u.p.users {
		if strings.EqualFold(x.Username, name) {
			return x
		}
	}
	return nil
}

func (u users) ExampleClientID() string { return u.p.ClientID }
