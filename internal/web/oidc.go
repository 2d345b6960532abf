package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/oidc"
	"gatehouse/internal/store"
)

// PartnerProviders looks up the store's identity providers for the
// relying party's callback, with their client secrets.
func PartnerProviders(st *store.Store) func(ctx context.Context, id string) (*oidc.Provider, error) {
	return func(ctx context.Context, id string) (*oidc.Provider, error) {
		p, err := st.IdentityProvider(ctx, id)
		if err != nil {
			return nil, err
		}
		return rpProvider(ctx, st, p)
	}
}

func rpProvider(ctx context.Context, st *store.Store, p *gatehouse.IdentityProvider) (*oidc.Provider, error) {
	secret, err := st.IdentityProviderSecret(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &oidc.Provider{ID: p.ID, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret, Domains: p.Domains, Scope: p.Scope}, nil
}

// partnerFor returns the partner provider of email's domain, or nil when
// the domain has none (or partner sign-in is not set up).
func (h *Handler) partnerFor(ctx context.Context, email string) (*oidc.Provider, error) {
	if h.cfg.OIDC == nil {
		return nil, nil
	}
	p, err := h.store.IdentityProviderForDomain(ctx, gatehouse.EmailDomain(email))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return rpProvider(ctx, h.store, p)
}

// partnerOf is partnerFor for an address just verified in sess.
func (h *Handler) partnerOf(ctx context.Context, sess *store.RecipientSession, email string) (*oidc.Provider, error) {
	if !sess.PartnerDomain {
		return nil, nil
	}
	return h.partnerFor(ctx, email)
}

// partnerSignIn answers a recipient whose address belongs to a partner
// with the address that starts the partner's sign-in for it, coming back
// to the link: {"signInUrl"} for a script, a page with a link to it for a
// browser. Not a redirect: the form's page allows form-action 'self' only,
// which browsers apply to a form's redirects too.
func (h *Handler) partnerSignIn(w http.ResponseWriter, r *http.Request, p *oidc.Provider, email string) {
	u, err := h.cfg.OIDC.Begin(r.Context(), p, email, "/s/"+url.PathEscape(r.PathValue("token")))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"signInUrl": u})
		return
	}
	d := &recipientData{base: h.base(w, r, "Open a shared link"), Token: r.PathValue("token"), Step: "partner", Email: email, PartnerURL: u}
	h.render(w, r, http.StatusOK, "recipient", d)
}

// oidcCallback is GET /auth/oidc/callback, where partners send the
// browser back. It is open by design: the pending sign-in its state names
// is the credential. A verified identity whose address is the one the
// sign-in began for signs in as its guest (created on first sign-in); any
// refusal is a page saying why and a UserLoginFailed record, without a
// session.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if h.cfg.OIDC == nil {
		h.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "Sign-in through a partner is not set up on this server."))
		return
	}
	o := gatehouse.Origin{ClientIP: httpx.ClientIP(r), UserAgent: r.UserAgent()}
	id, err := h.cfg.OIDC.Complete(r.Context(), r)
	if err != nil {
		var f *oidc.Failure
		if !errors.As(err, &f) {
			h.fail(w, r, err)
			return
		}
		email, issuer := "", ""
		if f.Signin != nil {
			email = f.Signin.LoginHint
		}
		if f.Provider != nil {
			issuer = f.Provider.Issuer
		}
		if rerr := h.store.RecordPartnerLoginFailure(r.Context(), email, issuer, f.Reason, o); rerr != nil {
			h.fail(w, r, rerr)
			return
		}
		h.fail(w, r, headed("Sign-in refused", f.Err))
		return
	}
	gs, err := h.store.SignInGuest(r.Context(), store.GuestSignIn{Issuer: id.Issuer, Subject: id.Subject, Email: id.Email,
		Name: id.Name, VerifiedEmail: id.LoginHint, Invitation: inviteToken(id.ReturnTo)}, o)
	if err != nil {
		h.fail(w, r, headed("Sign-in refused", err))
		return
	}
	httpx.SetCookie(w, r, httpx.SessionCookie, gs.Session, 0)
	// A new CSRF secret with the new session, as at /login.
	httpx.SetCookie(w, r, httpx.CSRFCookie, gatehouse.NewSecret(""), 0)
	to := id.ReturnTo
	if inviteToken(to) != "" { // a redeemed invitation goes where it says
		to = gs.RedirectURL
		if to == "" {
			to = defaultInviteRedirect
		}
	}
	if to == "" {
		to = "/"
	}
	redirect(w, r, to)
}

// partnerPasscode is POST /s/{token}/passcode for an address of a partner
// domain. Every address of the domain gets the same answer, the partner's
// sign-in, whether or not it has an account; a code is mailed as today,
// except to a guest the partner already signs in.
func (h *Handler) partnerPasscode(w http.ResponseWriter, r *http.Request, p *oidc.Provider, email string, floor time.Time) {
	linked, err := h.store.PartnerLinkedGuest(r.Context(), email)
	if err == nil && !linked {
		err = h.store.SendPasscode(r.Context(), r.PathValue("token"), email, httpx.ClientIP(r), r.UserAgent())
	}
	time.Sleep(time.Until(floor))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.cfg.OIDC.Begin(r.Context(), p, email, "/s/"+url.PathEscape(r.PathValue("token")))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"signInUrl": u})
		return
	}
	d := &recipientData{base: h.base(w, r, "Open a shared link"), Token: r.PathValue("token"), Step: "code", Email: email, PartnerURL: u}
	h.render(w, r, http.StatusOK, "recipient", d)
}
