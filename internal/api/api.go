// Package api serves the Microsoft Graph-shaped JSON API under /v1.0.
package api

import (
	"net/http"
	"net/url"
	"strconv"

	"gatehouse"
	"gatehouse/internal/authn"
	"gatehouse/internal/content"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// Config is what the API needs to know about the deployment.
type Config struct {
	BaseURL   string
	MaxUpload int64 // bytes
	// OrgDomains are the organization's own email domains (--org-domains),
	// which no partner provider may claim.
	OrgDomains []string
}

// Handler serves the API.
type Handler struct {
	store *store.Store
	auth  *authn.Resolver
	cfg   Config
}

// New returns the API over s.
func New(s *store.Store, cfg Config) *Handler {
	return &Handler{store: s, auth: authn.New(s), cfg: cfg}
}

// Register adds every API route to mux. This is the whole list.
func (h *Handler) Register(mux httpx.Mux) {
	route := func(pattern string, fn handlerFunc) { mux.Handle(pattern, checkInput(h.authenticate(fn))) }

	route("GET /v1.0/me", h.getMe)
	route("GET /v1.0/me/drive", h.getMyDrive)
	route("GET /v1.0/me/drive/root", h.getMyRoot)
	route("GET /v1.0/me/drive/root/children", h.listMyRootChildren)
	route("GET /v1.0/me/drive/sharedWithMe", h.sharedWithMe)
	route("GET /v1.0/me/drive/sharedByMe", h.sharedByMe) // a Gatehouse extension
	route("GET /v1.0/drives/{d}", h.getDrive)
	route("GET /v1.0/drives/{d}/root", h.getDriveRoot)
	route("GET /v1.0/drives/{d}/items/{i}", h.getItem)
	route("GET /v1.0/drives/{d}/items/{i}/children", h.listChildren)
	route("POST /v1.0/drives/{d}/items/{i}/children", h.createFolder)
	mux.Handle("GET /v1.0/drives/{d}/items/{i}/content", checkInput(authn.Remembering(http.HandlerFunc(h.content))))
	route("PUT /v1.0/drives/{d}/items/{rest...}", h.upload) // {parent}:/{name}:/content or {id}/content
	route("PATCH /v1.0/drives/{d}/items/{i}", h.updateItem)
	route("DELETE /v1.0/drives/{d}/items/{i}", h.deleteItem)
	route("POST /v1.0/drives/{d}/items/{i}/restore", h.restoreItem) // recycle.go
	route("GET /v1.0/drives/{d}/recycleBin/items", h.listRecycleBin)
	route("DELETE /v1.0/drives/{d}/recycleBin/items/{i}", h.purgeBinItem)
	route("POST /v1.0/drives/{d}/recycleBin/empty", h.emptyRecycleBin)
	route("GET /v1.0/drives/{d}/items/{i}/preview", h.preview)
	route("GET /v1.0/drives/{d}/items/{i}/archive", h.archive)
	route("GET /v1.0/drives/{d}/items/{i}/versions", h.listVersions)
	route("GET /v1.0/drives/{d}/items/{i}/versions/{v}/content", h.versionContent)
	route("POST /v1.0/drives/{d}/items/{i}/versions/{v}/restoreVersion", h.restoreVersion)

	route("POST /v1.0/drives/{d}/items/{i}/invite", h.invite)
	route("POST /v1.0/drives/{d}/items/{i}/createLink", h.createLink)
	route("GET /v1.0/drives/{d}/items/{i}/permissions", h.listPermissions)
	route("GET /v1.0/drives/{d}/items/{i}/permissions/{p}", h.getPermission)
	route("PATCH /v1.0/drives/{d}/items/{i}/permissions/{p}", h.updatePermission)
	route("DELETE /v1.0/drives/{d}/items/{i}/permissions/{p}", h.deletePermission)
	route("POST /v1.0/drives/{d}/items/{i}/permissions/{p}/revokeGrants", h.revokeGrants)
	route("POST /v1.0/shares/{shareId}/permission/grant", h.grant)

	route("GET /v1.0/users", h.admin(h.listUsers))
	route("POST /v1.0/users", h.admin(h.createUser))
	route("GET /v1.0/users/{id}", h.getUser)
	route("PATCH /v1.0/users/{id}", h.admin(h.updateUser))
	route("DELETE /v1.0/users/{id}", h.admin(h.deleteUser))
	route("POST /v1.0/users/{id}/extendGuestAccess", h.admin(h.extendGuestAccess))

	route("GET /v1.0/auditLog/records", h.admin(h.listAudit))
	route("GET /v1.0/auditLog/records/export", h.admin(h.exportAudit))
	route("GET /v1.0/admin/outbox", h.admin(h.listOutbox))
	route("POST /v1.0/admin/outbox/{id}/retry", h.admin(h.retryOutbox))
	route("GET /v1.0/admin/passcodePauses", h.admin(h.listPasscodePauses))
	route("DELETE /v1.0/admin/passcodePauses/{shareId}/{email}", h.admin(h.clearPasscodePause))
	route("GET /v1.0/admin/sharepoint/settings", h.admin(h.getSharingSettings))
	route("PATCH /v1.0/admin/sharepoint/settings", h.admin(h.updateSharingSettings))

	route("GET /v1.0/identity/identityProviders", h.admin(h.listIdentityProviders))
	route("POST /v1.0/identity/identityProviders", h.admin(h.createIdentityProvider))
	route("GET /v1.0/identity/identityProviders/{id}", h.admin(h.getIdentityProvider))
	route("PATCH /v1.0/identity/identityProviders/{id}", h.admin(h.updateIdentityProvider))
	route("DELETE /v1.0/identity/identityProviders/{id}", h.admin(h.deleteIdentityProvider))

	route("POST /v1.0/invitations", h.createInvitation) // members and administrators

	route("POST /v1.0/sites", h.createSite)
	route("GET /v1.0/sites", h.listSites)
	route("GET /v1.0/sites/{id}", h.getSite)
	route("GET /v1.0/sites/{id}/drive", h.getSiteDrive)
	route("POST /v1.0/sites/{id}/share", h.shareSite)
	route("DELETE /v1.0/sites/{id}", h.deleteSite)

	route("POST /v1.0/groups", h.createGroup) // members and administrators
	route("GET /v1.0/groups", h.listGroups)
	route("GET /v1.0/groups/{id}", h.getGroup)
	route("PATCH /v1.0/groups/{id}", h.updateGroup)
	route("DELETE /v1.0/groups/{id}", h.deleteGroup)
	route("GET /v1.0/groups/{id}/members", h.listGroupMembers(gatehouse.GroupMember))
	route("POST /v1.0/groups/{id}/members/$ref", h.addGroupMember(gatehouse.GroupMember))
	route("DELETE /v1.0/groups/{id}/members/{userId}/$ref", h.removeGroupMember(gatehouse.GroupMember))
	route("GET /v1.0/groups/{id}/owners", h.listGroupMembers(gatehouse.GroupOwner))
	route("POST /v1.0/groups/{id}/owners/$ref", h.addGroupMember(gatehouse.GroupOwner))
	route("DELETE /v1.0/groups/{id}/owners/{userId}/$ref", h.removeGroupMember(gatehouse.GroupOwner))

	mux.Handle("/v1.0/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, r, gatehouse.Errorf(gatehouse.EINVALID, "%s %s is not an API route.", r.Method, r.URL.Path))
	}))
}

// checkInput answers 400 to a path or query string that no route can take,
// before anything reads it, and makes the User-Agent fit for the audit log.
func checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.CleanUserAgent(r)
		if err := httpx.CheckInput(r); err != nil {
			httpx.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// caller is who sent a request, as the resolver found them.
type caller struct{ *authn.Caller }

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// apiCredentials are what the API accepts: a bearer token, or the web
// session cookie of the UI's own scripts.
const apiCredentials = authn.Bearer | authn.Session

// errSignIn is the answer to a request without a credential.
func errSignIn() error {
	return gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Sign in or send an access token (Authorization: Bearer …).")
}

// authenticate resolves the caller; with the session cookie, state changes
// must repeat the CSRF token in a header.
func (h *Handler) authenticate(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h.auth.Resolve(r, apiCredentials)
		if err == nil && c.Kind == gatehouse.Anonymous {
			err = errSignIn()
		}
		if err == nil && c.Auth == gatehouse.AuthPassword && r.Method != http.MethodGet && r.Method != http.MethodHead &&
			!httpx.CSRFValid(r, r.Header.Get(httpx.CSRFHeader)) {
			err = gatehouse.Errorf(gatehouse.EFORBIDDEN, "The request is missing its CSRF token; reload the page and try again.")
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			httpx.Error(w, r, err)
			return
		}
		if err := fn(w, r, &caller{c}); err != nil {
			httpx.Error(w, r, err)
		}
	})
}

// content serves a file's content. The resolver finds the caller and the
// item together, in one query for a bearer token: the download path is
// where round trips add up.
func (h *Handler) content(w http.ResponseWriter, r *http.Request) {
	c, it, f, err := h.auth.ResolveItem(r, apiCredentials, r.PathValue("d"), r.PathValue("i"))
	if c.Kind == gatehouse.Anonymous && (err == nil || gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND) {
		err = errSignIn() // an anonymous caller learns nothing about the item
	}
	if err == nil {
		err = gatehouse.Authorize(c.Principal, gatehouse.ActDownload, f)
	}
	if err == nil {
		err = content.Serve(w, r, h.store, c.Actor, it)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
		httpx.Error(w, r, err)
	}
}

// admin wraps a handler that only administrators may use.
func (h *Handler) admin(fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		if err := gatehouse.AuthorizeDirectory(c.Principal, gatehouse.ActAdminister, r.PathValue("id")); err != nil {
			return err
		}
		return fn(w, r, c)
	}
}

// top reads $top, bounded to 1..1000.
func top(r *http.Request, def int) (int, error) {
	s := r.URL.Query().Get("$top")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, gatehouse.Errorf(gatehouse.EINVALID, "$top must be a number from 1 to 1000.")
	}
	return n, nil
}

// nextLink returns the request's URL with $skiptoken set, absolute.
func (h *Handler) nextLink(r *http.Request, token string) string {
	q := r.URL.Query()
	q.Set("$skiptoken", token)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return h.cfg.BaseURL + u.String()
}
