package web

import (
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/authn"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
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
	Token       string
	Step        string // "email", "code" or "signin"
	Email       string
	SignIn      string // the sign-in address for the organization's own people
	OtherEmail  bool   // a session for another address is open
	PartnerURL  string // starts the sign-in at the address's partner
	ResendAfter int    // seconds until a new code may be asked for
	Context     shareContext
}

func (h *Handler) recipientPage(w http.ResponseWriter, r *http.Request, status int, step, email, errMsg string) {
	d := &recipientData{base: h.base(w, r, "Open a shared link"), Token: r.PathValue("token"), Step: step, Email: email}
	if l, err := h.store.LinkByToken(r.Context(), d.Token); err == nil {
		d.Context = h.senderContext(r, l)
	}
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
			OtherEmail: code == gatehouse.EFORBIDDEN, Context: h.senderContext(r, l)}
		if st, ok := takeCodeState(w, r, d.Token); ok && st.Err == "invalidEmail" {
			d.Email = st.Email
			if _, err := gatehouse.NormalizeEmail(st.Email); err != nil {
				d.Error = gatehouse.ErrorMessage(err)
			}
		}
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
// the link, limited or paused, the answer is the same bytes: JSON says when
// a new code may be asked for; a form is sent on (303) to the code page.
func (h *Handler) recipientPasscode(w http.ResponseWriter, r *http.Request) {
	in, ok := h.readRecipientInput(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	if _, err := h.store.LinkByToken(r.Context(), token); err != nil {
		h.failForm(w, r, err)
		return
	}
	email, err := gatehouse.NormalizeEmail(in.Email)
	if err != nil {
		if wantsJSON(r) {
			h.fail(w, r, err)
			return
		}
		setCodeState(w, r, codeState{Token: token, Email: strings.TrimSpace(in.Email), Err: "invalidEmail"})
		redirect(w, r, "/s/"+url.PathEscape(token))
		return
	}
	// Decided by the domain alone, so it says nothing about the address.
	if gatehouse.InOrgDomains(email, h.cfg.OrgDomains) {
		signIn := "/login?next=" + url.QueryEscape("/s/"+token)
		if wantsJSON(r) {
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"sent": false, "signIn": signIn})
			return
		}
		setCodeState(w, r, codeState{Token: token, Email: email})
		redirect(w, r, codePath(token))
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
	var after time.Duration
	if err == nil {
		after, err = h.store.PasscodeResendAfter(r.Context(), token, email)
	}
	if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND && gatehouse.ErrorCode(err) != gatehouse.EGONE {
		time.Sleep(time.Until(floor))
	}
	if err != nil {
		h.failForm(w, r, err)
		return
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]int{"resendAfterSeconds": seconds(after)})
		return
	}
	setCodeState(w, r, codeState{Token: token, Email: email})
	redirect(w, r, codePath(token))
}

// passcodeAnswerFloor is the least time a passcode request takes to answer.
const passcodeAnswerFloor = 150 * time.Millisecond

// seconds rounds d up to whole seconds, so "0" means now.
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// codePath is the code page of a link: the GET that every code form's post
// is sent on to, so a reload or a restored tab shows it again.
func codePath(token string) string { return "/s/" + url.PathEscape(token) + "/passcode" }

// failForm answers err; a form is sent on to the link's landing page,
// which shows the link's own state (not found, expired) on a GET.
func (h *Handler) failForm(w http.ResponseWriter, r *http.Request, err error) {
	if c := gatehouse.ErrorCode(err); !wantsJSON(r) && (c == gatehouse.ENOTFOUND || c == gatehouse.EGONE) {
		redirect(w, r, "/s/"+url.PathEscape(r.PathValue("token")))
		return
	}
	h.fail(w, r, err)
}

// recipientCodePage is GET /s/{token}/passcode (and /verify, sent here):
// the code form for the address of this browser's last code request, with
// the result of its last try, or the landing page without one.
func (h *Handler) recipientCodePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if strings.HasSuffix(r.URL.Path, "/verify") {
		redirect(w, r, codePath(token))
		return
	}
	st, ok := takeCodeState(w, r, token)
	if !ok || st.Email == "" || st.Err == "invalidEmail" {
		redirect(w, r, "/s/"+url.PathEscape(token))
		return
	}
	l, err := h.store.LinkByToken(r.Context(), token)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if gatehouse.InOrgDomains(st.Email, h.cfg.OrgDomains) {
		h.recipientPage(w, r, http.StatusOK, "signin", st.Email, "")
		return
	}
	after, err := h.store.PasscodeResendAfter(r.Context(), token, st.Email)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &recipientData{base: h.base(w, r, "Enter your code"), Token: token, Step: "code", Email: st.Email, ResendAfter: seconds(after),
		Context: h.senderContext(r, l)}
	d.Error = codeMessages[st.Err]
	h.render(w, r, http.StatusOK, "recipient", d)
}

// codeMessages word a failed try on the code page, by its error code.
var codeMessages = map[string]string{
	"invalidCode":       "That code didn't work. Check the latest email we sent, or ask for a new code.",
	"codeNoLongerValid": "This code can no longer be used: a code lasts 10 minutes and allows 5 tries. Ask for a new code.",
}

// codeError is the JSON error code of a failed try: codeNoLongerValid once
// the latest code cannot work from this client, invalidCode before.
func codeError(err error) string {
	if store.CodeNoLongerValid(err) {
		return "codeNoLongerValid"
	}
	return "invalidCode"
}

// recipientVerify is POST /s/{token}/verify: the right code sets the
// recipient session cookie, for the browser session or, remembered, for the
// re-authentication period. A wrong or dead code is 400 with invalidCode or
// codeNoLongerValid for a script; a form is sent on (303) to the code page
// saying which.
func (h *Handler) recipientVerify(w http.ResponseWriter, r *http.Request) {
	in, ok := h.readRecipientInput(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	email := strings.ToLower(strings.TrimSpace(in.Email))
	sess, err := h.store.VerifyPasscode(r.Context(), token, in.Email, in.Code, in.Remember, httpx.ClientIP(r), r.UserAgent())
	if gatehouse.ErrorCode(err) == gatehouse.EINVALID {
		code := codeError(err)
		if wantsJSON(r) {
			httpx.LogError(r, err)
			httpx.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{
				"code": code, "message": gatehouse.ErrorMessage(err)}})
			return
		}
		setCodeState(w, r, codeState{Token: token, Email: email, Err: code})
		redirect(w, r, codePath(token))
		return
	} else if err != nil {
		h.failForm(w, r, err)
		return
	}
	// A partner's person proved the address with the code; from here on
	// the partner signs them in, as a guest, instead of the code. The
	// verification saw whether the domain has a partner at all.
	if p, err := h.partnerOf(r.Context(), sess, email); err != nil || p != nil {
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
	httpx.SetCookie(w, r, codeCookie, "", -1)
	if wantsJSON(r) || jsonBody(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"verified": true})
		return
	}
	redirect(w, r, "/s/"+url.PathEscape(token))
}

// codeCookie carries a code form's result across its redirect: the link,
// the address asked for and the last try's error code. It is set by us
// only, and the page words the error itself, so a link cannot make a page
// say something.
const codeCookie = "gh_code"

// codeState is what codeCookie carries.
type codeState struct {
	Token string `json:"t"`
	Email string `json:"e"`
	Err   string `json:"x,omitempty"`
}

func setCodeState(w http.ResponseWriter, r *http.Request, st codeState) {
	b, _ := json.Marshal(st)
	httpx.SetCookie(w, r, codeCookie, base64.RawURLEncoding.EncodeToString(b), int(codeStateTTL/time.Second))
}

// codeStateTTL is how long the code page can be reloaded: a code's life.
const codeStateTTL = gatehouse.PasscodeTTL

// takeCodeState reads the code state of token, keeping the address but
// taking the error, so it is shown once.
func takeCodeState(w http.ResponseWriter, r *http.Request, token string) (codeState, bool) {
	var st codeState
	c, err := r.Cookie(codeCookie)
	if err != nil {
		return st, false
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || json.Unmarshal(b, &st) != nil || st.Token != token {
		return codeState{}, false
	}
	if st.Err != "" {
		setCodeState(w, r, codeState{Token: st.Token, Email: st.Email})
	}
	return st, true
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
