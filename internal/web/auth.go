package web

import (
	"net/http"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
)

// home sends people to their files, or to sign in first.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	if _, err := h.sessionUser(r); err != nil {
		redirect(w, r, "/login")
		return
	}
	redirect(w, r, "/files")
}

type loginData struct {
	base
	Email string
	Next  string
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
	if _, err := h.sessionUser(r); err == nil {
		redirect(w, r, next)
		return
	}
	h.render(w, r, http.StatusOK, "login", &loginData{base: h.base(w, r, "Sign in"), Next: next})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	_, secret, err := h.store.Login(r.Context(), email, r.PostFormValue("password"), httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		httpx.LogError(r, err)
		d := &loginData{base: h.base(w, r, "Sign in"), Email: email, Next: next}
		d.Error = gatehouse.ErrorMessage(err)
		h.render(w, r, httpx.Status(gatehouse.ErrorCode(err)), "login", d)
		return
	}
	httpx.SetCookie(w, r, httpx.SessionCookie, secret, 0)
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
