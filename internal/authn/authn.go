// Package authn turns a request's credential into the principal behind it.
// It is the one place that reads bearer tokens, web session cookies and
// recipient session cookies (later app passwords and partner sign-in);
// every route of every surface gets its caller here. Whether the caller may
// do what it asks is gatehouse.Authorize's to say, not this package's.
package authn

import (
	"net/http"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// Credentials is a set of credential kinds a route accepts.
type Credentials uint8

// The kinds of credential.
const (
	Bearer    Credentials = 1 << iota // Authorization: Bearer <API token>
	Session                           // the web session cookie
	Recipient                         // the recipient session cookie of /s/{token} pages
)

// Resolver resolves credentials against the store.
type Resolver struct{ store *store.Store }

// New returns a resolver over s.
func New(s *store.Store) *Resolver { return &Resolver{store: s} }

// Caller is who sent a request, with what the request says besides, and the
// directory user behind it, if any.
type Caller struct {
	gatehouse.Actor
	User *gatehouse.User // members and guests; nil otherwise
	// Session is the secret of the session cookie the caller was resolved
	// from, if any: what is recorded once per session is keyed by it.
	Session string
}

// origin is the request's facts, before the credential's.
func origin(r *http.Request) gatehouse.Origin {
	return gatehouse.Origin{ClientIP: httpx.ClientIP(r), UserAgent: r.UserAgent()}
}

// Resolve returns the caller behind the first credential in accept that the
// request carries, in the order Bearer, Session, Recipient. Without any, the
// caller is Anonymous and the error nil; a credential that is presented but
// not valid (unknown, expired, revoked, a disabled user's) is EUNAUTHORIZED.
func (res *Resolver) Resolve(r *http.Request, accept Credentials) (*Caller, error) {
	c := &Caller{Actor: gatehouse.Actor{Origin: origin(r)}}
	ctx := r.Context()
	if accept&Bearer != 0 {
		if tok, ok, err := bearer(r); err != nil {
			return c, err
		} else if ok {
			u, err := res.store.UserByToken(ctx, tok)
			if err != nil {
				return c, err
			}
			c.Principal, c.User, c.Auth = gatehouse.UserPrincipal(u), u, gatehouse.AuthToken
			return c, nil
		}
	}
	if accept&Session != 0 {
		if ck, err := r.Cookie(httpx.SessionCookie); err == nil && ck.Value != "" {
			u, err := res.store.UserBySession(ctx, ck.Value)
			if err != nil {
				return c, err
			}
			c.Principal, c.User, c.Auth, c.Session = gatehouse.UserPrincipal(u), u, gatehouse.AuthPassword, ck.Value
			return c, nil
		}
	}
	if accept&Recipient != 0 {
		if ck, err := r.Cookie(httpx.RecipientCookie); err == nil && ck.Value != "" {
			p, err := res.store.RecipientBySession(ctx, ck.Value)
			if err != nil {
				return c, err
			}
			c.Principal, c.Auth, c.Session = p, gatehouse.AuthPasscode, ck.Value
			return c, nil
		}
	}
	return c, nil
}

// bearer reads the Authorization header: ok without error when it holds a
// bearer token, EUNAUTHORIZED when it holds anything else.
func bearer(r *http.Request) (string, bool, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", false, nil
	}
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if tok = strings.TrimSpace(tok); !ok || tok == "" {
		return "", false, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The Authorization header must be \"Bearer <token>\".")
	}
	return tok, true, nil
}

// ResolveItem resolves the caller as Resolve does and loads an item of a
// drive with the facts the decision needs. A bearer token, the download
// path's usual credential, is resolved with the item in one query.
func (res *Resolver) ResolveItem(r *http.Request, accept Credentials, driveID, itemID string) (*Caller, *gatehouse.Item, gatehouse.ItemFacts, error) {
	if accept&Bearer != 0 {
		if tok, ok, _ := bearer(r); ok {
			u, it, f, err := res.store.TokenItemFacts(r.Context(), tok, driveID, itemID)
			c := &Caller{Actor: gatehouse.Actor{Origin: origin(r)}}
			if u != nil {
				c.Principal, c.User, c.Auth = gatehouse.UserPrincipal(u), u, gatehouse.AuthToken
			}
			return c, it, f, err
		}
	}
	c, err := res.Resolve(r, accept)
	if err != nil {
		return c, nil, gatehouse.ItemFacts{}, err
	}
	it, f, err := res.store.ItemFacts(r.Context(), c.Principal, driveID, itemID)
	return c, it, f, err
}

// ResolveLink resolves the caller of a /s/{token} page with the link and
// the facts about its item. A signed-in member or guest counts when the
// decision lets them read through the link; otherwise the recipient
// session, which is resolved with the link in one query. Without either
// the caller is Anonymous. The link's own state is left to the decision.
func (res *Resolver) ResolveLink(r *http.Request, token string) (*Caller, *gatehouse.Link, gatehouse.ItemFacts, error) {
	ctx := r.Context()
	var signedIn *Caller
	var signedInFacts gatehouse.ItemFacts
	if ck, err := r.Cookie(httpx.SessionCookie); err == nil && ck.Value != "" {
		if u, err := res.store.UserBySession(ctx, ck.Value); err == nil {
			c := &Caller{Actor: gatehouse.Actor{Principal: gatehouse.UserPrincipal(u), Origin: origin(r)}, User: u}
			c.Auth, c.Session = gatehouse.AuthPassword, ck.Value
			l, f, err := res.store.UserLink(ctx, token, c.Principal)
			if err != nil {
				return c, nil, f, err
			}
			c.ShareID = l.ShareID
			if gatehouse.Authorize(c.Principal, gatehouse.ActRead, f) == nil {
				return c, l, f, nil
			}
			signedIn, signedInFacts = c, f // not on this link: a recipient session may be
		} else if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			return nil, nil, gatehouse.ItemFacts{}, err
		}
	}
	secret := ""
	if ck, err := r.Cookie(httpx.RecipientCookie); err == nil {
		secret = ck.Value
	}
	l, p, f, err := res.store.RecipientLink(ctx, token, secret)
	c := &Caller{Actor: gatehouse.Actor{Principal: p, Origin: origin(r)}}
	if err != nil {
		return c, nil, f, err
	}
	c.ShareID = l.ShareID
	if p.Kind == gatehouse.Anonymous && signedIn != nil {
		// The signed-in user, refused by the decision, is who is asking.
		return signedIn, l, signedInFacts, nil
	}
	if p.Kind != gatehouse.Anonymous {
		c.Auth, c.Session = gatehouse.AuthPasscode, secret
	}
	return c, l, f, nil
}
