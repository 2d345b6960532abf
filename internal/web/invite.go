package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
)

// defaultInviteRedirect is where an accepted guest lands without an
// inviteRedirectUrl: Shared with me.
const defaultInviteRedirect = "/shared"

// inviteData is the redemption page.
type inviteData struct {
	base
	Token       string
	Email       string
	Step        string // "start" or "code"
	PartnerURL  string // starts the sign-in at the address's partner
	ResendAfter int    // seconds until a new code may be asked for
}

// inviteFailed answers a redemption that cannot go on, with a page that
// says why: revoked or replaced, already accepted, or refused.
func (h *Handler) inviteFailed(w http.ResponseWriter, r *http.Request, err error) {
	h.fail(w, r, headed("This invitation cannot be used", err))
}

// invitePage is GET /invite/{token}, open by design: the token is the
// credential. A partner's address goes on to its partner's sign-in, which
// comes back to the callback and redeems there; any other address is
// offered a code.
func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) {
	inv, err := h.store.InvitationByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		h.inviteFailed(w, r, err)
		return
	}
	d := &inviteData{base: h.base(w, r, "Accept your invitation"), Token: r.PathValue("token"), Email: inv.Email, Step: "start"}
	p, err := h.partnerFor(r.Context(), inv.Email)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p != nil {
		if d.PartnerURL, err = h.cfg.OIDC.Begin(r.Context(), p, inv.Email, "/invite/"+url.PathEscape(d.Token)); err != nil {
			h.fail(w, r, err)
			return
		}
		if wantsJSON(r) {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"signInUrl": d.PartnerURL})
			return
		}
	}
	h.render(w, r, http.StatusOK, "invite", d)
}

// inviteCodePath is the code page of an invitation, the GET every code
// form of the invitation is sent on to.
func inviteCodePath(token string) string { return "/invite/" + url.PathEscape(token) + "/passcode" }

// inviteState is the key of an invitation's code state in codeCookie,
// kept apart from the links' tokens.
func inviteState(token string) string { return "invite:" + token }

// inviteFailForm answers a failed form post: a form is sent on (303) to
// the invitation's page, which shows why on a GET; a script gets the error.
func (h *Handler) inviteFailForm(w http.ResponseWriter, r *http.Request, err error) {
	if wantsJSON(r) {
		h.inviteFailed(w, r, err)
		return
	}
	redirect(w, r, "/invite/"+url.PathEscape(r.PathValue("token")))
}

// invitePasscode is POST /invite/{token}/passcode: mails a code to the
// invited address, within the send limits; the answer is the same whether
// or not one went out, and says when a new one may be asked for. A form
// is sent on (303) to the code page.
func (h *Handler) invitePasscode(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.readRecipientInput(w, r); !ok {
		return
	}
	token := r.PathValue("token")
	inv, err := h.store.InvitationByToken(r.Context(), token)
	if err == nil {
		if p, perr := h.partnerFor(r.Context(), inv.Email); perr != nil || p != nil {
			err = perr
			if p != nil {
				err = gatehouse.Errorf(gatehouse.EINVALID, "%s signs in through its organization; open the invitation again to continue there.", inv.Email)
			}
		}
	}
	if err == nil {
		err = h.store.SendInvitationCode(r.Context(), token, httpx.ClientIP(r), r.UserAgent())
	}
	var after time.Duration
	if err == nil {
		after, err = h.store.InvitationResendAfter(r.Context(), token)
	}
	if err != nil {
		h.inviteFailForm(w, r, err)
		return
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"sent": true, "resendAfterSeconds": seconds(after)})
		return
	}
	setCodeState(w, r, codeState{Token: inviteState(token), Email: inv.Email})
	redirect(w, r, inviteCodePath(token))
}

// inviteCodePage is GET /invite/{token}/passcode (and /verify, sent here):
// the code form after a code request from this browser, with the result
// of its last try; without one, the invitation's first page.
func (h *Handler) inviteCodePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if strings.HasSuffix(r.URL.Path, "/verify") {
		redirect(w, r, inviteCodePath(token))
		return
	}
	st, ok := takeCodeState(w, r, inviteState(token))
	if !ok {
		redirect(w, r, "/invite/"+url.PathEscape(token))
		return
	}
	inv, err := h.store.InvitationByToken(r.Context(), token)
	if err != nil {
		h.inviteFailed(w, r, err)
		return
	}
	after, err := h.store.InvitationResendAfter(r.Context(), token)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &inviteData{base: h.base(w, r, "Enter your code"), Token: token, Email: inv.Email, Step: "code", ResendAfter: seconds(after)}
	d.Error = codeMessages[st.Err]
	h.render(w, r, http.StatusOK, "invite", d)
}

// inviteVerify is POST /invite/{token}/verify: the right code accepts the
// invitation and signs the guest in. A wrong or dead code is 400 with
// invalidCode or codeNoLongerValid for a script; a form is sent on (303)
// to the code page saying which.
func (h *Handler) inviteVerify(w http.ResponseWriter, r *http.Request) {
	in, ok := h.readRecipientInput(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	red, err := h.store.RedeemInvitationCode(r.Context(), token, in.Code, httpx.ClientIP(r), r.UserAgent())
	if gatehouse.ErrorCode(err) == gatehouse.EINVALID {
		code := codeError(err)
		if wantsJSON(r) {
			httpx.LogError(r, err)
			httpx.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{
				"code": code, "message": gatehouse.ErrorMessage(err)}})
			return
		}
		inv, ierr := h.store.InvitationByToken(r.Context(), token)
		if ierr != nil {
			h.inviteFailForm(w, r, ierr)
			return
		}
		setCodeState(w, r, codeState{Token: inviteState(token), Email: inv.Email, Err: code})
		redirect(w, r, inviteCodePath(token))
		return
	}
	if err != nil {
		h.inviteFailForm(w, r, err)
		return
	}
	httpx.SetCookie(w, r, codeCookie, "", -1)
	h.signInInvited(w, r, red.Session, red.RedirectURL)
}

// signInInvited ends a redemption: the guest's session cookie, a new CSRF
// secret with it (as at /login), and the invitation's redirect.
func (h *Handler) signInInvited(w http.ResponseWriter, r *http.Request, session, to string) {
	httpx.SetCookie(w, r, httpx.SessionCookie, session, 0)
	httpx.SetCookie(w, r, httpx.CSRFCookie, gatehouse.NewSecret(""), 0)
	if to == "" {
		to = defaultInviteRedirect
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"redirectUrl": to})
		return
	}
	redirect(w, r, to)
}

// inviteToken is the redeem token of a partner sign-in that began on a
// redemption page, or "".
func inviteToken(returnTo string) string {
	const prefix = "/invite/"
	if len(returnTo) <= len(prefix) || returnTo[:len(prefix)] != prefix {
		return ""
	}
	t, err := url.PathUnescape(returnTo[len(prefix):])
	if err != nil {
		return ""
	}
	return t
}
