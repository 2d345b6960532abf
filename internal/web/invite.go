package web

import (
	"net/http"
	"net/url"

	"gatehouse"
	"gatehouse/internal/httpx"
)

// defaultInviteRedirect is where an accepted guest lands without an
// inviteRedirectUrl: Shared with me.
const defaultInviteRedirect = "/shared"

// inviteData is the redemption page.
type inviteData struct {
	base
	Token      string
	Email      string
	Step       string // "start" or "code"
	PartnerURL string // starts the sign-in at the address's partner
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

// invitePasscode is POST /invite/{token}/passcode: mails a code to the
// invited address, within the send limits; the answer is the same whether
// or not one went out.
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
	if err != nil {
		h.inviteFailed(w, r, err)
		return
	}
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"sent": true})
		return
	}
	d := &inviteData{base: h.base(w, r, "Accept your invitation"), Token: token, Email: inv.Email, Step: "code"}
	h.render(w, r, http.StatusOK, "invite", d)
}

// inviteVerify is POST /invite/{token}/verify: the right code accepts the
// invitation and signs the guest in; a wrong one shows the form again.
func (h *Handler) inviteVerify(w http.ResponseWriter, r *http.Request) {
	in, ok := h.readRecipientInput(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	red, err := h.store.RedeemInvitationCode(r.Context(), token, in.Code, httpx.ClientIP(r), r.UserAgent())
	if gatehouse.ErrorCode(err) == gatehouse.EINVALID && !wantsJSON(r) {
		inv, ierr := h.store.InvitationByToken(r.Context(), token)
		if ierr != nil {
			h.inviteFailed(w, r, ierr)
			return
		}
		d := &inviteData{base: h.base(w, r, "Accept your invitation"), Token: token, Email: inv.Email, Step: "code"}
		d.Error = gatehouse.ErrorMessage(err)
		h.render(w, r, http.StatusBadRequest, "invite", d)
		return
	}
	if err != nil {
		h.inviteFailed(w, r, err)
		return
	}
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
