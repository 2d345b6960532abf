package web

import (
	"fmt"
	"net/http"
	"strings"

	"gatehouse"
	"gatehouse/internal/store"
)

// linkNotify is POST /items/{id}/access/{perm}/notify: turns the owner's
// notices of a link on or off (notify=on|off), recorded by the store as
// PATCH …/permissions/{p} with notifyOwner is.
func (h *Handler) linkNotify(w http.ResponseWriter, r *http.Request) {
	it, _, pl, err := h.itemFacts(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var on bool
	switch r.PostFormValue("notify") {
	case "on":
		on = true
	case "off":
	default:
		h.fail(w, r, gatehouse.Errorf(gatehouse.EINVALID, "notify must be \"on\" or \"off\"."))
		return
	}
	if _, err := h.store.UpdateLink(r.Context(), actor(r), pl.Drive.ID, it.ID, r.PathValue("perm"), store.LinkUpdate{NotifyOwner: &on}); err != nil {
		h.fail(w, r, err)
		return
	}
	if on {
		setFlash(w, r, "You will get an email when someone on the link opens it for the first time, or uploads or replaces a file through it.")
	} else {
		setFlash(w, r, "You will no longer get emails about this link.")
	}
	redirect(w, r, itemAccessURL(pl, it.ID))
}

// resendLinkInvitation is POST /items/{id}/access/{perm}/resend: queues the
// invitation again for one address on the link, at most once per
// store.ResendInterval, and records it; the flash says whether it went.
func (h *Handler) resendLinkInvitation(w http.ResponseWriter, r *http.Request) {
	it, _, pl, err := h.itemFacts(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.store.Link(r.Context(), pl.Drive.ID, it.ID, r.PathValue("perm"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	email, err := gatehouse.NormalizeEmail(r.PostFormValue("email"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	on := false
	for _, rc := range l.Recipients {
		on = on || rc.Email == email
	}
	if !on {
		h.fail(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "%s is not on this link.", email))
		return
	}
	var out store.ShareOutcome
	if _, _, err := h.store.Share(r.Context(), actor(r), store.ShareRequest{DriveID: pl.Drive.ID, ItemID: it.ID, Role: l.Role,
		Emails: []string{email}, ShareID: l.ShareID, SendInvitation: true, Resend: true, Outcome: &out}); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(out.Resent) > 0 {
		setFlash(w, r, fmt.Sprintf("Sent the invitation to %s again.", email))
	} else {
		setFlash(w, r, fmt.Sprintf("An invitation went to %s in the last %d minutes; wait a little before sending it again.",
			email, int(store.ResendInterval.Minutes())))
	}
	redirect(w, r, itemAccessURL(pl, it.ID))
}

// shareOutcomeText words what the sharer should know after a share beyond
// the link itself: who already had access (and got no mail), and org
// addresses without an account. "" when there is nothing to say.
func shareOutcomeText(out *store.ShareOutcome) string {
	var parts []string
	if len(out.AlreadyHadAccess) > 0 {
		parts = append(parts, strings.Join(out.AlreadyHadAccess, ", ")+
			" already had access, so no email was sent; use Resend invitation under Who has access to send it again.")
	}
	var none []string
	for _, w := range out.Warnings {
		if w.Code == store.WarnNoAccountYet {
			none = append(none, w.Email)
		}
	}
	switch len(none) {
	case 0:
	case 1:
		parts = append(parts, none[0]+" is in the organization but has no account yet: ask an administrator to create one, or they cannot sign in to open the link.")
	default:
		parts = append(parts, strings.Join(none, ", ")+" are in the organization but have no account yet: ask an administrator to create them, or they cannot sign in to open the link.")
	}
	return strings.Join(parts, " ")
}
