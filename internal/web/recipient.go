package web

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/authn"
	"gatehouse/internal/httpx"
)

// RecipientCookie is httpx.RecipientCookie, named here for the pages that
// set it.
const RecipientCookie = httpx.RecipientCookie

// wantsJSON reports whether the client asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	// A script that sends JSON wants JSON back, whatever its Accept says.
	return strings.Contains(r.Header.Get("Accept"), "application/json") || jsonBody(r)
}

// jsonBody reports whether the request body is JSON.
func jsonBody(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// linkAccess resolves the caller and the link of the path, and asks the
// access decision, on every request, whether the caller may open the link:
// the link's ENOTFOUND or EGONE, EUNAUTHORIZED without any session, and
// EFORBIDDEN with a session that is not for this link. The facts returned
// are the shared item's, for linkedItem.
func (h *Handler) linkAccess(r *http.Request) (*gatehouse.Link, *authn.Caller, gatehouse.ItemFacts, error) {
	c, l, f, err := h.authn.ResolveLink(r, r.PathValue("token"))
	if err != nil {
		return nil, nil, f, err
	}
	if err := gatehouse.Authorize(c.Principal, gatehouse.ActRead, f); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			err = gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Verify your email address to open this link.")
		}
		return l, c, f, err
	}
	// The first use of the link in this session is recorded, whatever the
	// route; a HEAD reads nothing and records nothing.
	if r.Method != http.MethodHead {
		if err := h.store.RecordLinkUse(r.Context(), c.Actor, l, c.Session); err != nil {
			return l, c, f, err
		}
	}
	return l, c, f, nil
}

// linkedItem loads an item of the link's drive with its facts and asks the
// decision whether the caller may take act on it: outside the share it is
// not found. Ids that could name a path rather than an item are not found
// outright.
func (h *Handler) linkedItem(r *http.Request, l *gatehouse.Link, c *authn.Caller, f gatehouse.ItemFacts, id string, act gatehouse.Action) (*gatehouse.Item, error) {
	if strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "The item was not found.")
	}
	it, f, err := h.store.LinkedItem(r.Context(), l, f, id)
	if err != nil {
		return nil, err
	}
	if err := gatehouse.Authorize(c.Principal, act, f); err != nil {
		return nil, err
	}
	return it, nil
}

// recipientData is the landing page and the code form.
type recipientData struct {
	base
	Token      string
	Step       string // "email", "code" or "signin"
	Email      string
	SignIn     string // the sign-in address for the organization's own people
	OtherEmail bool   // a session for another address is open
	PartnerURL string // starts the sign-in at the address's partner
}

func (h *Handler) recipientPage(w http.ResponseWriter, r *http.Request, status int, step, email, errMsg string) {
	d := &recipientData{base: h.base(w, r, "Open a shared link"), Token: r.PathValue("token"), Step: step, Email: email}
	d.Error = errMsg
	d.SignIn = "/login?next=" + url.QueryEscape("/s/"+d.Token)
	h.render(w, r, status, "recipient", d)
}

// recipientInput is the body of /passcode and /verify.
type recipientInput struct {
	Email    string `json:"email"`
	Code     string `json:"code"`
	Remember bool   `json:"remember"`
}

// readRecipientInput reads a JSON body, or a form that must carry the CSRF
// token. JSON needs no token: a cross-site page cannot send
// application/json without a CORS preflight, which Gatehouse never grants,
// and these two routes give the caller nothing but their own cookie.
func (h *Handler) readRecipientInput(w http.ResponseWriter, r *http.Request) (recipientInput, bool) {
	var in recipientInput
	if jsonBody(r) {
		if err := httpx.DecodeJSON(w, r, &in); err != nil {
			h.fail(w, r, err)
			return in, false
		}
		return in, true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if !httpx.CheckCSRF(r) {
		err := errFormExpired
		if wantsJSON(r) {
			err = gatehouse.Errorf(gatehouse.EFORBIDDEN, "The form is missing its CSRF token; reload the page and try again.")
		}
		h.fail(w, r, err)
		return in, false
	}
	in.Email, in.Code = r.PostFormValue("email"), r.PostFormValue("code")
	in.Remember = r.PostFormValue("remember") != ""
	return in, true
}

// recipientHome is GET /s/{token}: the email form until the caller may open
// the link, then the shared item. Without a session the answer is 200 with
// {"verified":false}, so a script can tell it from a broken link; with a
// session for an address that is not (or no longer) on the link it is the
// same form with 403, so a removed recipient sees at once that access ended.
func (h *Handler) recipientHome(w http.ResponseWriter, r *http.Request) {
	l, c, f, err := h.linkAccess(r)
	if code := gatehouse.ErrorCode(err); code == gatehouse.EUNAUTHORIZED || code == gatehouse.EFORBIDDEN {
		status := http.StatusOK
		if code == gatehouse.EFORBIDDEN {
			status = http.StatusForbidden
		}
		if wantsJSON(r) {
			httpx.WriteJSON(w, status, map[string]bool{"verified": false})
			return
		}
		d := &recipientData{base: h.base(w, r, "Open a shared link"), Token: r.PathValue("token"), Step: "email",
			OtherEmail: code == gatehouse.EFORBIDDEN}
		h.render(w, r, status, "recipient", d)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	it, err := h.linkedItem(r, l, c, f, l.ItemID, gatehouse.ActRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// SecureLinkUsed was recorded once for the session by linkAccess.
	if !it.IsFolder && r.Method != http.MethodHead {
		if err := h.store.RecordAccess(r.Context(), c.Actor, gatehouse.OpFileAccessed, it); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.showShared(w, r, l, c, it)
}

// recipientPasscode is POST /s/{token}/passcode. Whether the address is on
// the link, limited or paused, the answer is the same bytes.
func (h *Handler) recipientPasscode(w http.ResponseWriter, r *http.Request) {
	in, ok := h.readRecipientInput(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	if _, err := h.store.LinkByToken(r.Context(), token); err != nil {
		h.fail(w, r, err)
		return
	}
	email, err := gatehouse.NormalizeEmail(in.Email)
	if err != nil {
		if wantsJSON(r) {
			h.fail(w, r, err)
			return
		}
		h.recipientPage(w, r, http.StatusBadRequest, "email", strings.TrimSpace(in.Email), gatehouse.ErrorMessage(err))
		return
	}
	// Decided by the domain alone, so it says nothing about the address.
	if gatehouse.InOrgDomains(email, h.cfg.OrgDomains) {
		signIn := "/login?next=" + url.QueryEscape("/s/"+token)
		if wantsJSON(r) {
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"sent": false, "signIn": signIn})
			return
		}
		h.recipientPage(w, r, http.StatusOK, "signin", email, "")
		return
	}
	// A recipient's request does more work than a stranger's; answering no
	// sooner than a fixed time keeps the difference out of the timing.
	floor := time.Now().Add(passcodeAnswerFloor)
	partner, err := h.partnerFor(r.Context(), email)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if partner != nil {
		h.partnerPasscode(w, r, partner, email, floor)
		return
	}
	err = h.store.SendPasscode(r.Context(), token, email, httpx.ClientIP(r), r.UserAgent())
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND && gatehouse.ErrorCode(err) != gatehouse.EGONE {
		time.Sleep(time.Until(floor))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"sent": true})
		return
	}
	h.recipientPage(w, r, http.StatusOK, "code", email, "")
}

// passcodeAnswerFloor is the least time a passcode request takes to answer.
const passcodeAnswerFloor = 150 * time.Millisecond

// recipientVerify is POST /s/{token}/verify: the right code sets the
// recipient session cookie, for the browser session or, remembered, for the
// re-authentication period.
func (h *Handler) recipientVerify(w http.ResponseWriter, r *http.Request) {
	in, ok := h.readRecipientInput(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	sess, err := h.store.VerifyPasscode(r.Context(), token, in.Email, in.Code, in.Remember, httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID || wantsJSON(r) {
			h.fail(w, r, err)
			return
		}
		h.recipientPage(w, r, http.StatusBadRequest, "code", strings.ToLower(strings.TrimSpace(in.Email)), gatehouse.ErrorMessage(err))
		return
	}
	// A partner's person proved the address with the code; from here on
	// the partner signs them in, as a guest, instead of the code.
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if p, err := h.partnerFor(r.Context(), email); err != nil || p != nil {
		if err == nil {
			err = h.store.EndRecipientSession(r.Context(), sess.Secret)
		}
		if err == nil {
			err = h.store.AttestGuestEmail(r.Context(), email)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.partnerSignIn(w, r, p, email)
		return
	}
	maxAge := 0 // a browser session's cookie
	if in.Remember {
		maxAge = int(sess.ExpiresAt.Sub(h.store.Now()).Round(time.Second).Seconds())
	}
	httpx.SetCookie(w, r, RecipientCookie, sess.Secret, maxAge)
	if wantsJSON(r) || jsonBody(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"verified": true})
		return
	}
	redirect(w, r, "/s/"+url.PathEscape(token))
}

// recipientSignout is POST /s/{token}/signout: it ends the recipient
// session on the server and in the browser.
func (h *Handler) recipientSignout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(RecipientCookie); err == nil && c.Value != "" {
		if err := h.store.EndRecipientSession(r.Context(), c.Value); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	httpx.SetCookie(w, r, RecipientCookie, "", -1)
	redirect(w, r, "/s/"+url.PathEscape(r.PathValue("token")))
}
