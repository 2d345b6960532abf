package web

import (
	"fmt"
	"net/http"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// idpsData is the partner identity providers page. The client secret is
// write-only: the page never holds it.
type idpsData struct {
	base
	Providers   []*gatehouse.IdentityProvider
	RedirectURI string
	// The add form, kept after an error (never the secret), and the
	// error's field.
	Form   idpForm
	Fields fieldErr
}

type idpForm struct {
	DisplayName, Issuer, ClientID, Domains, Scope string
}

func (h *Handler) identityProviders(w http.ResponseWriter, r *http.Request) {
	h.showIdentityProviders(w, r, http.StatusOK, "", idpForm{})
}

func (h *Handler) showIdentityProviders(w http.ResponseWriter, r *http.Request, status int, errMsg string, f idpForm) {
	ps, err := h.store.IdentityProviders(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &idpsData{base: h.base(w, r, "Partner sign-in"), Providers: ps, RedirectURI: h.store.OIDCRedirectURI(), Form: f}
	d.Section, d.Tab, d.Error, d.Wide = "admin", "idps", errMsg, true
	// The add form's refusals name their field first ("issuer …",
	// "domains: …"); a row's change or removal is told by the notice.
	if errMsg != "" && r.Method == http.MethodPost && r.URL.Path == "/admin/identityProviders" {
		d.Fields.tie(fieldFor(errMsg, "idp-name", [2]string{"clientsecret", "idp-secret"}, [2]string{"clientid", "idp-client"},
			[2]string{"issuer", "idp-issuer"}, [2]string{"domain", "idp-domains"}, [2]string{"scope", "idp-scope"}), errMsg)
	}
	h.render(w, r, status, "idps", d)
}

// idpFailed shows the page again with the store's message and the form as
// it was sent.
func (h *Handler) idpFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	if code == gatehouse.EINTERNAL {
		h.fail(w, r, err)
		return
	}
	httpx.LogError(r, err)
	f := idpForm{DisplayName: r.PostFormValue("displayName"), Issuer: r.PostFormValue("issuer"),
		ClientID: r.PostFormValue("clientId"), Domains: r.PostFormValue("domains"), Scope: r.PostFormValue("scope")}
	h.showIdentityProviders(w, r, httpx.Status(code), gatehouse.ErrorMessage(err), f)
}

// formDomains splits the domains field on commas and white space.
func formDomains(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (h *Handler) createIdentityProvider(w http.ResponseWriter, r *http.Request) {
	domains := formDomains(r.PostFormValue("domains"))
	if err := h.checkPartnerDomains(domains); err != nil {
		h.idpFailed(w, r, err)
		return
	}
	p, err := h.store.CreateIdentityProvider(r.Context(), actor(r), store.NewIdentityProvider{
		DisplayName: r.PostFormValue("displayName"), Issuer: r.PostFormValue("issuer"),
		ClientID: r.PostFormValue("clientId"), ClientSecret: r.PostFormValue("clientSecret"),
		Domains: domains, Scope: r.PostFormValue("scope"),
	})
	if err != nil {
		h.idpFailed(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Added %s. Register %s as its redirect URI.", p.DisplayName, h.store.OIDCRedirectURI()))
	redirect(w, r, "/admin/identityProviders")
}

// checkPartnerDomains refuses the organization's own domains.
func (h *Handler) checkPartnerDomains(domains []string) error {
	lower := make([]string, len(domains))
	for i, d := range domains {
		lower[i] = strings.ToLower(d)
	}
	return gatehouse.CheckPartnerDomains(lower, h.cfg.OrgDomains)
}

func (h *Handler) updateIdentityProvider(w http.ResponseWriter, r *http.Request) {
	up := store.IdentityProviderUpdate{}
	for field, dst := range map[string]**string{"displayName": &up.DisplayName, "issuer": &up.Issuer, "clientId": &up.ClientID, "scope": &up.Scope} {
		if v := r.PostFormValue(field); v != "" {
			*dst = &v
		}
	}
	// An empty secret keeps the one there is: the page never shows it.
	if v := r.PostFormValue("clientSecret"); v != "" {
		up.ClientSecret = &v
	}
	if v := r.PostFormValue("domains"); v != "" {
		domains := formDomains(v)
		if err := h.checkPartnerDomains(domains); err != nil {
			h.idpFailed(w, r, err)
			return
		}
		up.Domains = &domains
	}
	p, err := h.store.UpdateIdentityProvider(r.Context(), actor(r), r.PathValue("id"), up)
	if err != nil {
		h.idpFailed(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Saved %s.", p.DisplayName))
	redirect(w, r, "/admin/identityProviders")
}

func (h *Handler) deleteIdentityProvider(w http.ResponseWriter, r *http.Request) {
	p, err := h.store.IdentityProvider(r.Context(), r.PathValue("id"))
	if err == nil {
		err = h.store.DeleteIdentityProvider(r.Context(), actor(r), p.ID)
	}
	if err != nil {
		h.idpFailed(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Removed %s. People of %s now verify with a code.", p.DisplayName, strings.Join(p.Domains, ", ")))
	redirect(w, r, "/admin/identityProviders")
}
