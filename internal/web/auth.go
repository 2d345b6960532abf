package web

import (
	"net/http"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// home sends people to their files, or to sign in first.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	c, err := h.signedIn(r)
	if err != nil {
		redirect(w, r, "/login")
		return
	}
	redirect(w, r, homeOf(c.Principal))
}

// DeviceCookie holds a browser's device secret for the account it last
// signed in to (OWASP's device cookies): with it, failures from other
// clients never block that browser's correct password.
const DeviceCookie = "gh_dev"

// homeOf is where a signed-in user starts: guests have no drive of their
// own, only what was shared with them.
func homeOf(p gatehouse.Principal) string {
	if p.Kind == gatehouse.KindGuest {
		return "/shared"
	}
	return "/files"
}

type loginData struct {
	base
	Email      string
	Next       string
	Step       string // "" (the address), "password", "code" or "partner"
	PartnerURL string
	Fields     fieldErr
}

// safeNext returns next when it is a path on this site, and /files
// otherwise, so the sign-in page cannot send anyone elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		len(next) > 2000 || strings.ContainsFunc(next, func(r rune) bool { return r < 0x21 || r == 0x7f || r == '\\' }) {
		return "/files"
	}
	return next
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := h.signedIn(r); err == nil {
		redirect(w, r, next)
		return
	}
	h.render(w, r, http.StatusOK, "login", &loginData{base: h.base(w, r, "Sign in"), Next: next})
}

// login is POST /login. A code signs a guest in; a password, a member as
// ever; the address alone is routed by its domain (loginRoute).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	if r.PostForm.Has("code") {
		h.loginCode(w, r, email, next)
		return
	}
	if r.PostFormValue("password") == "" {
		h.loginRoute(w, r, email, next)
		return
	}
	device := ""
	if c, err := r.Cookie(DeviceCookie); err == nil {
		device = c.Value
	}
	res, err := h.store.SignIn(r.Context(), store.LoginRequest{Email: email, Password: r.PostFormValue("password"),
		Device: device, ClientIP: httpx.ClientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		httpx.LogError(r, err)
		d := &loginData{base: h.base(w, r, "Sign in"), Email: email, Next: next}
		d.Error = gatehouse.ErrorMessage(err)
		// "The email address or password is incorrect": the password is
		// what to type again.
		d.Fields.tie("password", d.Error)
		h.render(w, r, httpx.Status(gatehouse.ErrorCode(err)), "login", d)
		return
	}
	httpx.SetCookie(w, r, httpx.SessionCookie, res.Session, 0)
	// Kept past sign-out: it marks this browser, not the session.
	httpx.SetCookie(w, r, DeviceCookie, res.Device, int(store.DeviceTTL/time.Second))
	// A new CSRF secret with the new session: a token someone planted before
	// the sign-in is worth nothing after it.
	httpx.SetCookie(w, r, httpx.CSRFCookie, gatehouse.NewSecret(""), 0)
	redirect(w, r, next)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(httpx.SessionCookie); err == nil && c.Value != "" {
		if err := h.store.Logout(r.Context(), c.Value); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	httpx.SetCookie(w, r, httpx.SessionCookie, "", -1)
	httpx.SetCookie(w, r, httpx.CSRFCookie, "", -1)
	redirect(w, r, "/login")
}

// loginRoute sends an address on by its domain alone, so the answer says
// nothing about who has an account: a partner's domain to the partner, an
// organization domain to the password, any other address to a code, which
// is mailed only to a guest without a partner.
func (h *Handler) loginRoute(w http.ResponseWriter, r *http.Request, raw, next string) {
	d := &loginData{base: h.base(w, r, "Sign in"), Email: strings.TrimSpace(raw), Next: next}
	email, err := gatehouse.NormalizeEmail(raw)
	if err != nil {
		if wantsJSON(r) {
			h.fail(w, r, err)
			return
		}
		d.Error = gatehouse.ErrorMessage(err)
		d.Fields.tie("email", d.Error)
		h.render(w, r, http.StatusBadRequest, "login", d)
		return
	}
	d.Email = email
	if gatehouse.InOrgDomains(email, h.cfg.OrgDomains) {
		if wantsJSON(r) {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"next": "password"})
			return
		}
		d.Step = "password"
		h.render(w, r, http.StatusOK, "login", d)
		return
	}
	floor := time.Now().Add(passcodeAnswerFloor)
	p, err := h.partnerFor(r.Context(), email)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p != nil {
		// A link, not a redirect: the page's form-action 'self' also
		// governs where a form's redirect may go.
		u, err := h.cfg.OIDC.Begin(r.Context(), p, email, next)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if wantsJSON(r) {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"signInUrl": u})
			return
		}
		d.Step, d.PartnerURL = "partner", u
		h.render(w, r, http.StatusOK, "login", d)
		return
	}
	err = h.store.SendGuestCode(r.Context(), email, httpx.ClientIP(r), r.UserAgent())
	time.Sleep(time.Until(floor))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"next": "code"})
		return
	}
	d.Step = "code"
	h.render(w, r, http.StatusOK, "login", d)
}

// loginCode signs a guest in with an emailed code.
func (h *Handler) loginCode(w http.ResponseWriter, r *http.Request, email, next string) {
	gs, err := h.store.SignInGuestWithCode(r.Context(), email, r.PostFormValue("code"), httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID || wantsJSON(r) {
			h.fail(w, r, err)
			return
		}
		d := &loginData{base: h.base(w, r, "Sign in"), Email: strings.ToLower(strings.TrimSpace(email)), Next: next, Step: "code"}
		d.Error = gatehouse.ErrorMessage(err)
		d.Fields.tie("code", d.Error)
		h.render(w, r, http.StatusBadRequest, "login", d)
		return
	}
	httpx.SetCookie(w, r, httpx.SessionCookie, gs.Session, 0)
	httpx.SetCookie(w, r, httpx.CSRFCookie, gatehouse.NewSecret(""), 0)
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"signedIn": true, "next": next})
		return
	}
	redirect(w, r, next)
}
