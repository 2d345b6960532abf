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
	"gatehouse/internal/httpx"
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
	// ReauthDays is how long "keep me verified on this device" lasts.
	ReauthDays int
}

// Handler serves the UI.
type Handler struct {
	store  *store.Store
	cfg    Config
	pages  map[string]*template.Template
	assets map[string]*asset
}

// New returns the UI over s.
func New(s *store.Store, cfg Config) *Handler {
	h := &Handler{store: s, cfg: cfg, assets: loadAssets()}
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
	handle := func(pattern string, next http.Handler) { mux.Handle(pattern, h.checkInput(next)) }
	handleFunc := func(pattern string, next http.HandlerFunc) { handle(pattern, next) }

	handleFunc("GET /{$}", h.home)
	handleFunc("GET /login", h.loginPage)
	handle("POST /login", form(http.HandlerFunc(h.login)))
	handle("POST /logout", form(http.HandlerFunc(h.logout)))

	handle("GET /files", user(h.folder))
	handle("GET /files/{id}", user(h.folder))
	handle("POST /files/{id}/folder", form(user(h.createFolder)))
	handle("POST /files/{id}/upload", user(h.upload))
	handle("POST /items/{id}/rename", form(user(h.rename)))
	handle("POST /items/{id}/delete", form(user(h.deleteItem)))
	handle("GET /items/{id}/download", user(h.download))

	handle("GET /items/{id}/share", user(h.shareDialog))
	handle("POST /items/{id}/share", form(user(h.share)))
	handle("GET /items/{id}/access", user(h.manageAccess))
	handle("POST /items/{id}/access/{perm}/remove", form(user(h.removeRecipient)))
	handle("POST /items/{id}/access/{perm}/delete", form(user(h.deleteLink)))

	// Recipient pages: each checks the link and the caller's right to it on
	// every request (linkAccess). /passcode and /verify take a form with its
	// CSRF token or a JSON body; the upload checks its token on the stream.
	handleFunc("GET /s/{token}", h.recipientHome)
	handleFunc("POST /s/{token}/passcode", h.recipientPasscode)
	handleFunc("POST /s/{token}/verify", h.recipientVerify)
	handle("POST /s/{token}/signout", form(http.HandlerFunc(h.recipientSignout)))
	handleFunc("GET /s/{token}/content", h.sharedContent)
	handleFunc("GET /s/{token}/items/{id}", h.sharedItemPage)
	handleFunc("GET /s/{token}/items/{id}/children", h.sharedItemChildren)
	handleFunc("GET /s/{token}/items/{id}/content", h.sharedContent)
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

	handleFunc("GET /static/{name}", h.static)
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
			h.forbiddenForm(w, r)
			return
		}
		if err := httpx.CheckForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// forbiddenForm answers a request whose CSRF token is missing or wrong.
func (h *Handler) forbiddenForm(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusForbidden, "This form has expired",
		"The form was not sent from this Gatehouse page, or it is too old. Go back, reload the page and try again.")
}

type ctxKey struct{}

// userFrom returns the signed-in user that requireUser put in the context.
func userFrom(r *http.Request) *gatehouse.User {
	u, _ := r.Context().Value(ctxKey{}).(*gatehouse.User)
	return u
}

// actor is the audit actor of the signed-in user.
func actor(r *http.Request) gatehouse.Actor {
	return gatehouse.UserActor(userFrom(r), httpx.ClientIP(r), r.UserAgent())
}

// requireUser lets requests with a live session through and sends the others
// to the sign-in page.
func (h *Handler) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := h.sessionUser(r)
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
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, u)))
	})
}

// requireAdmin refuses users who are not administrators.
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !userFrom(r).IsAdmin {
			h.errorPage(w, r, http.StatusForbidden, "Administrators only",
				"This page is for administrators. Ask an administrator if you need something changed.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sessionUser returns the user of the request's session cookie, or
// EUNAUTHORIZED.
func (h *Handler) sessionUser(r *http.Request) (*gatehouse.User, error) {
	c, err := r.Cookie(httpx.SessionCookie)
	if err != nil || c.Value == "" {
		return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Please sign in.")
	}
	return h.store.UserBySession(r.Context(), c.Value)
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
}

// errorPage renders a page that only explains what went wrong.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	d := &errorData{base: h.base(w, r, heading), Heading: heading, Message: msg}
	if d.User != nil {
		d.Section = "files"
	}
	h.render(w, r, status, "error", d)
}

// fail renders err as an error page with its status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.LogError(r, err)
	code := gatehouse.ErrorCode(err)
	heading := "Something went wrong"
	switch code {
	case gatehouse.ENOTFOUND:
		heading = "Not found"
	case gatehouse.EFORBIDDEN:
		heading = "Not allowed"
	case gatehouse.EINVALID:
		heading = "That did not work"
	}
	h.errorPage(w, r, httpx.Status(code), heading, gatehouse.ErrorMessage(err))
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
