package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// shareData is the share dialog of an item.
type shareData struct {
	base
	Item    *gatehouse.Item
	Emails  string
	Type    string // "view" or "edit"
	Message string
	Expires string // yyyy-mm-dd
	Today   string
}

// accessData is the manage-access page of an item.
type accessData struct {
	base
	Item  *gatehouse.Item
	Links []accessLink
}

type accessLink struct {
	*gatehouse.Link
	Type string
	URL  string
}

func itemAccessURL(id string) string { return "/items/" + url.PathEscape(id) + "/access" }

// shareDialog is GET /items/{id}/share.
func (h *Handler) shareDialog(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.item(r, gatehouse.ActShare)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showShareDialog(w, r, it, http.StatusOK, &shareData{Type: "view"})
}

func (h *Handler) showShareDialog(w http.ResponseWriter, r *http.Request, it *gatehouse.Item, status int, d *shareData) {
	errMsg := d.Error
	d.base = h.base(w, r, "Share “"+it.Name+"”")
	d.Section, d.Error, d.Item = "files", errMsg, it
	d.Today = h.store.Now().UTC().Format(time.DateOnly)
	h.render(w, r, status, "share", d)
}

// splitEmails reads addresses separated by commas, semicolons or lines.
func splitEmails(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '\n' || r == '\r' || r == ' ' || r == '\t'
	})
}

// share is POST /items/{id}/share: it secures the addresses to the item's
// link of the role and mails the invitations, then shows who has access.
func (h *Handler) share(w http.ResponseWriter, r *http.Request) {
	d, it, err := h.item(r, gatehouse.ActShare)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := &shareData{Emails: r.PostFormValue("emails"), Type: r.PostFormValue("type"),
		Message: strings.TrimSpace(r.PostFormValue("message")), Expires: strings.TrimSpace(r.PostFormValue("expires"))}
	req := store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Emails: splitEmails(in.Emails), Message: in.Message, SendInvitation: true}
	req.Role, err = gatehouse.RoleOfType(in.Type)
	if err == nil && in.Expires != "" {
		// The link works through the whole of the chosen day (UTC).
		var day time.Time
		if day, err = time.Parse(time.DateOnly, in.Expires); err != nil {
			err = gatehouse.Errorf(gatehouse.EINVALID, "The expiry date must look like 2030-12-31.")
		}
		req.ExpiresAt = day.AddDate(0, 0, 1)
	}
	var l *gatehouse.Link
	if err == nil {
		l, _, err = h.store.Share(r.Context(), actor(r), req)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			h.fail(w, r, err)
			return
		}
		httpx.LogError(r, err)
		in.Error = gatehouse.ErrorMessage(err)
		h.showShareDialog(w, r, it, httpx.Status(gatehouse.ErrorCode(err)), in)
		return
	}
	n := len(req.Emails)
	who := "1 person"
	if n != 1 {
		who = fmt.Sprintf("%d people", n)
	}
	setFlash(w, r, fmt.Sprintf("Shared “%s” with %s (%s link). They will get an email with the link.", it.Name, who, gatehouse.LinkType(l.Role)))
	redirect(w, r, itemAccessURL(it.ID))
}

// manageAccess is GET /items/{id}/access: every link of the item with its
// recipients, each removable.
func (h *Handler) manageAccess(w http.ResponseWriter, r *http.Request) {
	d, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	links, err := h.store.Links(r.Context(), d.ID, it.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := &accessData{base: h.base(w, r, "Manage access to “"+it.Name+"”"), Item: it}
	data.Section = "files"
	for _, l := range links {
		data.Links = append(data.Links, accessLink{Link: l, Type: gatehouse.LinkType(l.Role), URL: h.store.LinkURL(l)})
	}
	h.render(w, r, http.StatusOK, "share_access", data)
}

// removeRecipient is POST /items/{id}/access/{perm}/remove.
func (h *Handler) removeRecipient(w http.ResponseWriter, r *http.Request) {
	d, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if _, err := h.store.RevokeRecipients(r.Context(), actor(r), d.ID, it.ID, r.PathValue("perm"), []string{email}); err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Removed %s from the link. Their access has ended.", email))
	redirect(w, r, itemAccessURL(it.ID))
}

// deleteLink is POST /items/{id}/access/{perm}/delete.
func (h *Handler) deleteLink(w http.ResponseWriter, r *http.Request) {
	d, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.DeleteLink(r.Context(), actor(r), d.ID, it.ID, r.PathValue("perm")); err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, "Deleted the link. Nobody can open it any more.")
	redirect(w, r, itemAccessURL(it.ID))
}
