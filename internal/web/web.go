// Package web serves the HTML user interface: sign-in, the member's own
// files and the administration pages. Pages are rendered on the server and
// work without JavaScript; static/app.js only adds upload progress, delete
// confirmations and local times.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/authn"
	"gatehouse/internal/httpx"
	"gatehouse/internal/oidc"
	"gatehouse/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config is what the UI needs to know about the deployment.
type Config struct {
	BaseURL string
	// MaxUpload is the largest file in bytes.
	MaxUpload int64
	// OrgDomains are the organization's own email domains: their people
	// sign in instead of asking for a passcode.
	OrgDomains []string
	// OIDC signs partners' people in; nil when not set up.
	OIDC *oidc.RP
}

// Handler serves the UI.
type Handler struct {
	store  *store.Store
	authn  *authn.Resolver
	cfg    Config
	pages  map[string]*template.Template
	assets map[string]*asset
	routes *http.ServeMux // the UI's routes alone, to tell a 405 from a 404
}

// New returns the UI over s.
func New(s *store.Store, cfg Config) *Handler {
	h := &Handler{store: s, authn: authn.New(s), cfg: cfg, assets: loadAssets(), routes: http.NewServeMux()}
	h.pages = h.parsePages()
	return h
}

// Register adds the UI's routes to mux. Every route of the UI is here.
func (h *Handler) Register(mux httpx.Mux) {
	// Middleware: form checks the CSRF token of an urlencoded form before
	// anything else runs; user requires a live session; admin also the
	// administrator role. The upload checks its token on the stream.
	form := h.checkCSRF
	user := func(f http.HandlerFunc) http.Handler { return h.requireUser(f) }
	admin := func(f http.HandlerFunc) http.Handler { return h.requireUser(h.requireAdmin(f)) }
	// Every route first refuses a path or query no route can take.
	handle := func(pattern string, next http.Handler) {
		mux.Handle(pattern, h.checkInput(next))
		h.routes.Handle(pattern, next)
	}
	handleFunc := func(pattern string, next http.HandlerFunc) { handle(pattern, next) }

	handleFunc("GET /{$}", h.home)
	handleFunc("GET /login", h.loginPage)
	handle("POST /login", form(http.HandlerFunc(h.login)))
	handle("POST /logout", form(http.HandlerFunc(h.logout)))

	handle("GET /files", user(h.folder))
	handle("GET /shared", user(h.sharedWithMe))
	handle("GET /shared/byme", user(h.sharedByMe))
	handle("GET /files/{id}", user(h.folder))
	handle("POST /files/{id}/folder", form(user(h.createFolder)))
	handle("POST /files/{id}/upload", user(h.upload))
	handle("POST /items/{id}/rename", form(user(h.rename)))
	handle("POST /items/{id}/delete", form(user(h.deleteItem)))
	handle("GET /items/{id}/download", authn.Remembering(user(h.download)))
	handle("GET /items/{id}/view", user(h.viewFile))
	handle("GET /items/{id}/preview", user(h.previewContent))
	handle("GET /items/{id}/archive", user(h.archive))

	handle("GET /items/{id}/share", user(h.shareDialog))
	handle("POST /items/{id}/share", form(user(h.share)))
	handle("GET /items/{id}/access", user(h.manageAccess))
	handle("POST /items/{id}/access/{perm}/remove", form(user(h.removeRecipient)))
	handle("POST /items/{id}/access/{perm}/groups/remove", form(user(h.removeLinkGroup)))
	handle("POST /items/{id}/access/{perm}/delete", form(user(h.deleteLink)))
	handle("POST /items/{id}/access/{perm}/update", form(user(h.updateLink)))
	handle("POST /items/{id}/access/{perm}/notify", form(user(h.linkNotify)))
	handle("POST /items/{id}/access/{perm}/resend", form(user(h.resendLinkInvitation)))
	handle("POST /items/{id}/access/{perm}/enable", form(user(h.enableLink)))
	handle("GET /recycle", user(h.recycleBin)) // recycle.go
	handle("POST /recycle/empty", form(user(h.emptyRecycleBin)))
	handle("POST /recycle/{id}/restore", form(user(h.restoreBinItem)))
	handle("POST /recycle/{id}/delete", form(user(h.purgeBinItem)))
	handle("GET /items/{id}/versions", user(h.versions))
	handle("GET /items/{id}/versions/{v}/download", user(h.downloadVersion))
	handle("POST /items/{id}/versions/{v}/restore", form(user(h.restoreVersion)))

	// Sites: a site's page is its drive's root; its items have the same
	// pages as a personal drive's, under /sites/{site}.
	handle("GET /sites", user(h.sites))
	handle("POST /sites", form(user(h.createSite)))
	handle("GET /sites/{site}", user(h.sitePage))
	handle("POST /sites/{site}/share", form(user(h.shareSite)))
	handle("POST /sites/{site}/remove", form(user(h.removeSiteMember)))
	handle("POST /sites/{site}/delete", form(user(h.deleteSite)))
	handle("GET /sites/{site}/files/{id}", user(h.folder))
	handle("POST /sites/{site}/files/{id}/folder", form(user(h.createFolder)))
	handle("POST /sites/{site}/files/{id}/upload", user(h.upload))
	handle("POST /sites/{site}/items/{id}/rename", form(user(h.rename)))
	handle("POST /sites/{site}/items/{id}/delete", form(user(h.deleteItem)))
	handle("GET /sites/{site}/items/{id}/download", authn.Remembering(user(h.download)))
	handle("GET /sites/{site}/items/{id}/view", user(h.viewFile))
	handle("GET /sites/{site}/items/{id}/preview", user(h.previewContent))
	handle("GET /sites/{site}/items/{id}/archive", user(h.archive))
	handle("GET /sites/{site}/items/{id}/share", user(h.shareDialog))
	handle("POST /sites/{site}/items/{id}/share", form(user(h.share)))
	handle("GET /sites/{site}/items/{id}/access", user(h.manageAccess))
	handle("POST /sites/{site}/items/{id}/access/{perm}/remove", form(user(h.removeRecipient)))
	handle("POST /sites/{site}/items/{id}/access/{perm}/groups/remove", form(user(h.removeLinkGroup)))
	handle("POST /sites/{site}/items/{id}/access/{perm}/delete", form(user(h.deleteLink)))
	handle("POST /sites/{site}/items/{id}/access/{perm}/update", form(user(h.updateLink)))
	handle("POST /sites/{site}/items/{id}/access/{perm}/notify", form(user(h.linkNotify)))
	handle("POST /sites/{site}/items/{id}/access/{perm}/resend", form(user(h.resendLinkInvitation)))
	handle("POST /sites/{site}/items/{id}/access/{perm}/enable", form(user(h.enableLink)))
	handle("GET /sites/{site}/recycle", user(h.recycleBin))
	handle("POST /sites/{site}/recycle/empty", form(user(h.emptyRecycleBin)))
	handle("POST /sites/{site}/recycle/{id}/restore", form(user(h.restoreBinItem)))
	handle("POST /sites/{site}/recycle/{id}/delete", form(user(h.purgeBinItem)))
	handle("GET /sites/{site}/items/{id}/versions", user(h.versions))
	handle("GET /sites/{site}/items/{id}/versions/{v}/download", user(h.downloadVersion))
	handle("POST /sites/{site}/items/{id}/versions/{v}/restore", form(user(h.restoreVersion)))

	// Recipient pages: each checks the link and the caller's right to it on
	// every request (linkAccess). /passcode and /verify take a form with its
	// CSRF token or a JSON body; the upload checks its token on the stream.
	handleFunc("GET /s/{token}", h.recipientHome)
	handleFunc("POST /s/{token}/passcode", h.recipientPasscode)
	handleFunc("POST /s/{token}/verify", h.recipientVerify)
	handleFunc("GET /s/{token}/passcode", h.recipientCodePage)
	handleFunc("GET /s/{token}/verify", h.recipientCodePage)
	handle("POST /s/{token}/signout", form(http.HandlerFunc(h.recipientSignout)))
	handle("GET /s/{token}/content", authn.Remembering(http.HandlerFunc(h.sharedContent)))
	handleFunc("GET /s/{token}/items/{id}", h.sharedItemPage)
	handleFunc("GET /s/{token}/items/{id}/children", h.sharedItemChildren)
	handle("GET /s/{token}/items/{id}/content", authn.Remembering(http.HandlerFunc(h.sharedContent)))
	handleFunc("GET /s/{token}/items/{id}/preview", h.sharedPreview)
	handleFunc("GET /s/{token}/items/{id}/archive", h.sharedArchive)
	handleFunc("POST /s/{token}/upload", h.sharedUpload)

	handle("GET /admin/users", admin(h.users))
	handle("POST /admin/users", form(admin(h.createUser)))
	handle("POST /admin/users/{id}/disable", form(admin(h.disableUser)))
	handle("POST /admin/users/{id}/enable", form(admin(h.enableUser)))
	handle("GET /admin/audit", admin(h.audit))
	handle("GET /admin/outbox", admin(h.outbox))
	handle("POST /admin/outbox/{id}/retry", form(admin(h.retryMail)))
	handle("GET /admin/pauses", admin(h.pauses))
	handle("POST /admin/pauses/clear", form(admin(h.clearPause)))
	handle("GET /admin/guests", admin(h.guests))
	handle("POST /admin/guests/{id}/rename", form(admin(h.renameGuest)))
	handle("POST /admin/guests/{id}/disable", form(admin(h.setGuestDisabled(true))))
	handle("POST /admin/guests/{id}/enable", form(admin(h.setGuestDisabled(false))))
	handle("POST /admin/guests/{id}/delete", form(admin(h.deleteGuest)))
	handle("POST /admin/guests/{id}/resend", form(admin(h.resendInvitation)))
	handle("POST /admin/guests/{id}/extend", form(admin(h.extendGuest)))
	handle("GET /admin/groups", admin(h.groups))
	handle("POST /admin/groups", form(admin(h.createGroup)))
	handle("GET /admin/groups/{id}", admin(h.group))
	handle("POST /admin/groups/{id}/members", form(admin(h.addGroupMember)))
	handle("POST /admin/groups/{id}/remove", form(admin(h.removeGroupMember)))
	handle("POST /admin/groups/{id}/delete", form(admin(h.deleteGroup)))
	handle("GET /admin/identityProviders", admin(h.identityProviders))
	handle("POST /admin/identityProviders", form(admin(h.createIdentityProvider)))
	handle("POST /admin/identityProviders/{id}", form(admin(h.updateIdentityProvider)))
	handle("POST /admin/identityProviders/{id}/delete", form(admin(h.deleteIdentityProvider)))

	// Invitation redemption: the redeem token is the credential.
	handleFunc("GET /invite/{token}", h.invitePage)
	handleFunc("POST /invite/{token}/passcode", h.invitePasscode)
	handleFunc("GET /invite/{token}/passcode", h.inviteCodePage)
	handleFunc("GET /invite/{token}/verify", h.inviteCodePage)
	handleFunc("POST /invite/{token}/verify", h.inviteVerify)

	// Partners send the browser back here; the pending sign-in is the credential.
	handleFunc("GET "+oidc.CallbackPath, h.oidcCallback)

	handleFunc("GET /static/{name}", h.static)

	// Whatever no route above (nor the API's /v1.0/) takes: a styled 404,
	// or 405 for a path that is a route for other methods.
	mux.Handle("/", h.checkInput(http.HandlerFunc(h.noRoute)))
}

// noRoute answers a request no route of the UI takes, as a page.
func (h *Handler) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		rm := r.Clone(r.Context())
		rm.Method = m
		if _, p := h.routes.Handler(rm); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		h.fail(w, r, headed("Page not found", gatehouse.Errorf(gatehouse.ENOTFOUND,
			"There is no page at this address. Check the address, or start again from the home page.")))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	msg := "This address does not take that kind of request. Go back, and open the page again from there."
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": map[string]string{"code": "methodNotAllowed", "message": msg}})
		return
	}
	d := &errorData{base: h.base(w, r, "This page can't do that"), Heading: "This page can't do that", Message: msg}
	page := "error"
	if onLinkPage(r) {
		page = "recipient_error"
	}
	h.render(w, r, http.StatusMethodNotAllowed, page, d)
}

// maxFormBody bounds every urlencoded form.
const maxFormBody = 64 << 10

// checkInput answers 400 to a path or query string that no route can take,
// and makes the User-Agent fit for the audit log.
func (h *Handler) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.CleanUserAgent(r)
		if err := httpx.CheckInput(r); err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkCSRF refuses a state-changing form whose token does not repeat the
// CSRF cookie, and a form too large or not text.
func (h *Handler) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		var mbe *http.MaxBytesError
		if err := r.ParseForm(); errors.As(err, &mbe) {
			h.fail(w, r, gatehouse.Errorf(gatehouse.ETOOLARGE, "The form is larger than the limit of %d KiB.", maxFormBody>>10))
			return
		}
		if !httpx.CheckCSRF(r) {
			h.fail(w, r, formExpired(r))
			return
		}
		if err := httpx.CheckForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errFormExpired answers a form whose CSRF token is missing or wrong.
var errFormExpired = headed("This form has expired", gatehouse.Errorf(gatehouse.EFORBIDDEN,
	"The form was not sent from this Gatehouse page, or it is too old. Go back, reload the page and try again."))

// formExpired is errFormExpired, worded for app.js when the request wants
// JSON: it shows the message under the upload form.
func formExpired(r *http.Request) error {
	if wantsJSON(r) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "The page has expired. Reload it and try again.")
	}
	return errFormExpired
}

type ctxKey struct{}

// callerFrom returns the caller that requireUser put in the context, or nil.
func callerFrom(r *http.Request) *authn.Caller {
	c, _ := r.Context().Value(ctxKey{}).(*authn.Caller)
	return c
}

// userFrom returns the signed-in user that requireUser put in the context.
func userFrom(r *http.Request) *gatehouse.User {
	if c := callerFrom(r); c != nil {
		return c.User
	}
	return nil
}

// actor is the audit actor of the signed-in user.
func actor(r *http.Request) gatehouse.Actor {
	return callerFrom(r).Actor
}

// requireUser lets requests with a live session through and sends the others
// to the sign-in page.
func (h *Handler) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h.signedIn(r)
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			if _, err := r.Cookie(httpx.SessionCookie); err == nil {
				httpx.SetCookie(w, r, httpx.SessionCookie, "", -1)
			}
			to := "/login"
			// A form cannot be sent again by a GET, so only pages come back.
			if r.Method == http.MethodGet {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			redirect(w, r, to)
			return
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// requireAdmin refuses users the decision does not let administer.
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := gatehouse.AuthorizeDirectory(callerFrom(r).Principal, gatehouse.ActAdminister, ""); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
				err = headed("Administrators only", gatehouse.Errorf(gatehouse.EFORBIDDEN,
					"This page is for administrators. Ask an administrator if you need something changed."))
			}
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signedIn resolves the caller of the request's web session: a member or a
// guest, or EUNAUTHORIZED without a live session.
func (h *Handler) signedIn(r *http.Request) (*authn.Caller, error) {
	c, err := h.authn.Resolve(r, authn.Session)
	if err == nil && !c.IsUser() {
		err = gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Please sign in.")
	}
	return c, err
}

// redirect answers with 303 See Other, so that a form is never sent twice.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// base is what every page shows: the layout's data.
type base struct {
	Title   string
	User    *gatehouse.User
	CSRF    string
	Flash   string
	Error   string
	Section string // highlights the nav: "files" or "admin"
	Tab     string // admin sub-navigation: "users", "audit", "outbox" or "pauses"
	Wide    bool   // the page holds a wide table
}

// base returns the layout data of a page, taking the flash message.
func (h *Handler) base(w http.ResponseWriter, r *http.Request, title string) base {
	return base{Title: title, User: userFrom(r), CSRF: httpx.CSRFToken(w, r), Flash: takeFlash(w, r)}
}

// page is implemented by every page's data through its embedded base.
type page interface{ layout() *base }

func (b *base) layout() *base { return b }

// render writes a page. It renders into a buffer first so that a template
// error becomes a clean 500 and not half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		slog.Error("render page", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again later.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	base
	Heading string
	Message string
	Back    string // on a link's pages: its landing page, when verifying again can help
}

// headedError is an error with the heading of its page.
type headedError struct {
	heading string
	error
}

func (e *headedError) Unwrap() error { return e.error }

// headed gives err a page heading of its own.
func headed(heading string, err error) error { return &headedError{heading, err} }

// onLinkPage reports whether the request is for a page of a sharing link
// (/s/{token}...), whose errors speak to recipients.
func onLinkPage(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/s/") }

// fail answers with err: this surface's one error renderer. A request that
// wants JSON gets the Graph error (httpx.Error); others get a page with the
// error's status, worded for recipients on a link's pages. There the
// link's own state gets fixed wording that says nothing about the item.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if wantsJSON(r) {
		httpx.Error(w, r, err)
		return
	}
	httpx.LogError(r, err)
	code := gatehouse.ErrorCode(err)
	d := &errorData{base: h.base(w, r, ""), Message: gatehouse.ErrorMessage(err)}
	page := "error"
	if onLinkPage(r) {
		page = "recipient_error"
	}
	var he *headedError
	switch {
	case errors.As(err, &he):
		d.Heading = he.heading
	case page == "recipient_error":
		d.Heading = recipientHeading(r, code, d)
	case code == gatehouse.ENOTFOUND:
		d.Heading = "Not found"
	case code == gatehouse.EFORBIDDEN:
		d.Heading = "Not allowed"
	case code == gatehouse.EINVALID:
		d.Heading = "That did not work"
	default:
		d.Heading = "Something went wrong"
	}
	d.Title = d.Heading
	if d.User != nil && page == "error" {
		d.Section = "files"
	}
	h.render(w, r, httpx.Status(code), page, d)
}

// recipientHeading words an error on a link's page, rewording d's message
// where the link itself is the problem.
func recipientHeading(r *http.Request, code string, d *errorData) string {
	switch code {
	case gatehouse.ENOTFOUND:
		if r.PathValue("id") == "" {
			d.Message = "This link does not work. It may have been deleted, or the address is incomplete."
		}
		return "Not found"
	case gatehouse.EGONE:
		d.Message = "Ask the person who shared it for a new one."
		return "This link has expired"
	case gatehouse.EUNAUTHORIZED:
		d.Back = "/s/" + url.PathEscape(r.PathValue("token"))
		return "Verify your email address"
	case gatehouse.EFORBIDDEN:
		d.Back = "/s/" + url.PathEscape(r.PathValue("token"))
		return "You don't have access"
	case gatehouse.EINVALID:
		return "That did not work"
	}
	return "Something went wrong"
}

// The flash cookie carries one success message across the redirect after a
// form, so that the page after it can say what happened. It is set by us
// only: a link cannot make a page say something.
const flashCookie = "gh_flash"

func setFlash(w http.ResponseWriter, r *http.Request, msg string) {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	httpx.SetCookie(w, r, flashCookie, base64.RawURLEncoding.EncodeToString([]byte(msg)), 60)
}

func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	httpx.SetCookie(w, r, flashCookie, "", -1)
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(b)
}

// parsePages parses each page together with the layout.
func (h *Handler) parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"asset":    h.assetURL,
		"size":     humanSize,
		"time":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"isotime":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"longtime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") },
		"folderURL": func(it *gatehouse.Item) string {
			if it.ParentID == "" {
				return "/files"
			}
			return "/files/" + url.PathEscape(it.ID)
		},
		"itemPath": func(rec *gatehouse.Record) string {
			if rec.SourceRelativeURL == "" || rec.SourceRelativeURL == "/" {
				return "/" + rec.SourceFileName
			}
			return rec.SourceRelativeURL + "/" + rec.SourceFileName
		},
		// previewKind says whether a listing links a file to its preview.
		"previewKind": gatehouse.PreviewKind,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return pages
}

// humanSize formats a byte count with binary units, as file managers do.
func humanSize(n int64) string {
	if n < 1024 {
		if n == 1 {
			return "1 byte"
		}
		return strconv.FormatInt(n, 10) + " bytes"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < 4 {
		v /= 1024
		i++
	}
	unit := []string{"KB", "MB", "GB", "TB", "PB"}[i]
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
