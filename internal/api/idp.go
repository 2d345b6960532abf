package api

import (
	"net/http"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// idpODataType is Graph's type of a partner's OpenID Connect provider.
const idpODataType = "#microsoft.graph.openIdConnectIdentityProvider"

// idpJSON shows a provider as Graph's openIdConnectIdentityProvider, plus
// what Gatehouse adds: the issuer, the domains and the redirect URI to
// register at the partner. The secret is write-only: Graph shows ****.
func (h *Handler) idpJSON(p *gatehouse.IdentityProvider) map[string]any {
	domains := p.Domains
	if domains == nil {
		domains = []string{}
	}
	return map[string]any{
		"@odata.type": idpODataType,
		"id":          p.ID, "displayName": p.DisplayName, "issuer": p.Issuer,
		"metadataUrl":  strings.TrimRight(p.Issuer, "/") + "/.well-known/openid-configuration",
		"clientId":     p.ClientID,
		"clientSecret": gatehouse.SecretPlaceholder,
		"domains":      domains, "scope": p.Scope,
		"responseType": "code", "responseMode": "query",
		"claimsMapping":   map[string]any{"userId": "sub", "email": "email", "displayName": "name"},
		"redirectUri":     gatehouse.OIDCRedirectURI(h.cfg.BaseURL),
		"createdDateTime": p.CreatedAt, "lastModifiedDateTime": p.UpdatedAt,
	}
}

// idpBody is what a client may send; the fields Graph shows but Gatehouse
// derives (metadataUrl, responseType …) are accepted when they say what
// Gatehouse would, so that a read can be sent back.
type idpBody struct {
	ODataType     *string         `json:"@odata.type"`
	ID            *string         `json:"id"`
	DisplayName   *string         `json:"displayName"`
	Issuer        *string         `json:"issuer"`
	ClientID      *string         `json:"clientId"`
	ClientSecret  *string         `json:"clientSecret"`
	Domains       *[]string       `json:"domains"`
	Scope         *string         `json:"scope"`
	MetadataURL   *string         `json:"metadataUrl"`
	ResponseType  *string         `json:"responseType"`
	ResponseMode  *string         `json:"responseMode"`
	ClaimsMapping *map[string]any `json:"claimsMapping"`
}

// check refuses what Gatehouse cannot honour, naming the field.
func (b *idpBody) check() error {
	if b.ODataType != nil && strings.TrimPrefix(*b.ODataType, "#") != strings.TrimPrefix(idpODataType, "#") {
		return gatehouse.Errorf(gatehouse.EINVALID, "@odata.type must be %s: Gatehouse takes OpenID Connect providers only.", idpODataType)
	}
	if b.ResponseType != nil && *b.ResponseType != "code" {
		return gatehouse.Errorf(gatehouse.EINVALID, "responseType must be code: partners sign in with the authorization code flow.")
	}
	if b.ResponseMode != nil && *b.ResponseMode != "query" {
		return gatehouse.Errorf(gatehouse.EINVALID, "responseMode must be query.")
	}
	if b.MetadataURL != nil && *b.MetadataURL != "" && (b.Issuer == nil ||
		*b.MetadataURL != strings.TrimRight(strings.TrimSpace(*b.Issuer), "/")+"/.well-known/openid-configuration") {
		return gatehouse.Errorf(gatehouse.EINVALID, "metadataUrl is derived from the issuer; set issuer instead.")
	}
	return nil
}

// checkOrgDomains refuses a partner domain that is the organization's own.
func (h *Handler) checkOrgDomains(domains *[]string) error {
	if domains == nil {
		return nil
	}
	lower := make([]string, len(*domains))
	for i, d := range *domains {
		lower[i] = strings.ToLower(strings.TrimSpace(d))
	}
	return gatehouse.CheckPartnerDomains(lower, h.cfg.OrgDomains)
}

func (h *Handler) listIdentityProviders(w http.ResponseWriter, r *http.Request, c *caller) error {
	ps, err := h.store.IdentityProviders(r.Context())
	if err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		list = append(list, h.idpJSON(p))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": list})
	return nil
}

func (h *Handler) getIdentityProvider(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := h.store.IdentityProvider(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.idpJSON(p))
	return nil
}

func (h *Handler) createIdentityProvider(w http.ResponseWriter, r *http.Request, c *caller) error {
	var b idpBody
	if err := httpx.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if b.ID != nil && *b.ID != "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "id is assigned by Gatehouse; leave it out.")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	in := store.NewIdentityProvider{DisplayName: str(b.DisplayName), Issuer: str(b.Issuer), ClientID: str(b.ClientID),
		ClientSecret: str(b.ClientSecret), Scope: str(b.Scope)}
	if b.Domains != nil {
		in.Domains = *b.Domains
	}
	if err := h.checkOrgDomains(b.Domains); err != nil {
		return err
	}
	p, err := h.store.CreateIdentityProvider(r.Context(), c.Actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.cfg.BaseURL+"/v1.0/identity/identityProviders/"+p.ID)
	httpx.WriteJSON(w, http.StatusCreated, h.idpJSON(p))
	return nil
}

func (h *Handler) updateIdentityProvider(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	var b idpBody
	if err := httpx.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if b.ID != nil && *b.ID != id {
		return gatehouse.Errorf(gatehouse.EINVALID, "id cannot change.")
	}
	if err := h.checkOrgDomains(b.Domains); err != nil {
		return err
	}
	up := store.IdentityProviderUpdate{DisplayName: b.DisplayName, Issuer: b.Issuer, ClientID: b.ClientID,
		ClientSecret: b.ClientSecret, Domains: b.Domains, Scope: b.Scope}
	if _, err := h.store.UpdateIdentityProvider(r.Context(), c.Actor, id, up); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent) // as Graph answers a PATCH of an identity provider
	return nil
}

func (h *Handler) deleteIdentityProvider(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.store.DeleteIdentityProvider(r.Context(), c.Actor, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
