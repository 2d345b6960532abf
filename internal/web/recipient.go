package web

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse"
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

// access is who opens a link, once linkAccess has let them in.
type access struct {
	actor   gatehouse.Actor
	user    *gatehouse.User // the signed-in member or guest; nil for a recipient session
	session string          // the secret of the session cookie that let the caller in
}

// linkAccess resolves the link of the path and checks, on every request,
// that the caller may open it: a signed-in user who is a recipient or owns
// the drive, or a recipient session whose address is still on this link.
// It returns the link's ENOTFOUND or EGONE, EUNAUTHORIZED without any
// session, and EFORBIDDEN with a session that is not for this link.
func (h *Handler) linkAccess(r *http.Request) (*gatehouse.Link, *access, error) {
	ctx := r.Context()
	secret := ""
	if c, err := r.Cookie(RecipientCookie); err == nil {
		secret = c.Value
	}
	// The link, the recipient session and its place on the link, at once.
	l, email, onLink, err := h.store.LinkForRecipient(ctx, r.PathValue("token"), secret)
	if err != nil {
		return nil, nil, err
	}
	ip, ua := httpx.ClientIP(r), r.UserAgent()
	hadSession := false
	var a *access
	if u, err := h.sessionUser(r); err == nil {
		hadSession = true
		ok, err := h.store.IsRecipient(ctx, l.ID, u.Email)
		if err != nil {
			return l, nil, err
		}
		if !ok {
			d, err := h.store.DriveByOwner(ctx, u.ID)
			if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				return l, nil, err
			}
			ok = d != nil && d.ID == l.DriveID
		}
		if ok {
			actor := gatehouse.UserActor(u, ip, ua)
			actor.ShareID = l.ShareID
			c, _ := r.Cookie(httpx.SessionCookie)
			a = &access{actor: actor, user: u, session: c.Value}
		}
	} else if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
		return l, nil, err
	}
	if a == nil && email != "" {
		hadSession = true
		if onLink {
			a = &access{actor: gatehouse.Actor{Principal: gatehouse.RecipientPrincipal(email), Origin: gatehouse.Origin{ClientIP: ip, UserAgent: ua, ShareID: l.ShareID, Auth: gatehouse.AuthPasscode}}, session: secret}
		}
	}
	if a != nil {
		// The first use of the link in this session is recorded, whatever
		// the route; a HEAD reads nothing and records nothing.
		if r.Method != http.MethodHead {
			if err := h.store.RecordLinkUse(ctx, a.actor, l, a.session); err != nil {
				return l, nil, err
			}
		}
		return l, a, nil
	}
	if hadSession {
		return l, nil, gatehouse.Errorf(gatehouse.EFORBIDDEN,
			"The address you verified does not have access to this link. Ask the person who shared it, or verify another address.")
	}
	return l, nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Verify your email address to open this link.")
}

type recipientErrorData struct {
	base
	Heading string
	Message string
	Back    string // the link's landing page, when verifying again can help
}

// linkFail answers a recipient route's error as JSON or as a page. The
// link's own state gets fixed wording that says nothing about the item.
func (h *Handler) linkFail(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	if wantsJSON(r) {
		httpx.Error(w, r, err)
		return
	}
	httpx.LogError(r, err)
	d := &recipientErrorData{base: h.base(w, r, "Gatehouse"), Message: gatehouse.ErrorMessage(err)}
	switch code {
	case gatehouse.ENOTFOUND:
		d.Heading = "Not found"
		if strings.HasPrefix(r.URL.Path, "/s/") && r.PathValue("id") == "" {
			d.Message = "This link does not work. It may have been deleted, or the address is incomplete."
		}
	case gatehouse.EGONE:
		d.Heading, d.Message = "This link has expired", "Ask the person who shared it for a new one."
	case gatehouse.EUNAUTHORIZED:
		d.Heading = "Verify your email address"
		d.Back = "/s/" + url.PathEscape(r.PathValue("token"))
	case gatehouse.EFORBIDDEN:
		d.Heading = "You don't have access"
		d.Back = "/s/" + url.PathEscape(r.PathValue("token"))
	case gatehouse.EINVALID:
		d.Heading = "That did not work"
	default:
		d.Heading = "Something went wrong"
	}
	d.Title = d.Heading
	h.render(w, r, httpx.Status(code), "recipient_error", d)
}

// recipientData is the landing page and the code form.
type recipientData struct {
	base
	Token      string
	Step       string // "email", "code" or "signin"
	Email      string
	SignIn     string // the sign-in address for the organization's own people
	OtherEmail bool   // a session for another address is open
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
			httpx.Error(w, r, err)
			return in, false
		}
		return in, true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if !httpx.CheckCSRF(r) {
		if wantsJSON(r) {
			httpx.Error(w, r, gatehouse.Errorf(gatehouse.EFORBIDDEN, "The form is missing its CSRF token; reload the page and try again."))
			return in, false
		}
		h.forbiddenForm(w, r)
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
	l, a, err := h.linkAccess(r)
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
		h.linkFail(w, r, err)
		return
	}
	it, err := h.store.LinkItem(r.Context(), l, l.ItemID)
	if err != nil {
		h.linkFail(w, r, err)
		return
	}
	// SecureLinkUsed was recorded once for the session by linkAccess.
	if !it.IsFolder && r.Method != http.MethodHead {
		if err := h.store.RecordAccess(r.Context(), a.actor, gatehouse.OpFileAccessed, it); err != nil {
			h.linkFail(w, r, err)
			return
		}
	}
	h.showShared(w, r, l, a, it)
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
		h.linkFail(w, r, err)
		return
	}
	email, err := gatehouse.NormalizeEmail(in.Email)
	if err != nil {
		if wantsJSON(r) {
			httpx.Error(w, r, err)
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
	err = h.store.SendPasscode(r.Context(), token, email, httpx.ClientIP(r), r.UserAgent())
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND && gatehouse.ErrorCode(err) != gatehouse.EGONE {
		time.Sleep(time.Until(floor))
	}
	if err != nil {
		h.linkFail(w, r, err)
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
	sess, err := h.store.VerifyPasscode(r.Context(), token, in.Email, in.Code, in.Remember, h.cfg.ReauthDays, httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID || wantsJSON(r) {
			h.linkFail(w, r, err)
			return
		}
		h.recipientPage(w, r, http.StatusBadRequest, "code", strings.ToLower(strings.TrimSpace(in.Email)), gatehouse.ErrorMessage(err))
		return
	}
	maxAge := 0
	if in.Remember {
		maxAge = h.cfg.ReauthDays * 24 * 60 * 60
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
			h.linkFail(w, r, err)
			return
		}
	}
	httpx.SetCookie(w, r, RecipientCookie, "", -1)
	redirect(w, r, "/s/"+url.PathEscape(r.PathValue("token")))
}
