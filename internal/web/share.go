package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// shareData is the share dialog of an item.
type shareData struct {
	base
	Item   *gatehouse.Item
	Back   string // the item's folder
	Prefix string // "" or the item's site page
	// CanManage: the caller may also see and change who has access.
	CanManage bool
	Groups    []*gatehouse.Group
	Group     string // the chosen group's id
	Emails    string
	Type      string // "view" or "edit"
	Message   string
	Expires   string // yyyy-mm-dd
	Today     string
}

// accessData is the manage-access page of an item.
type accessData struct {
	base
	Item   *gatehouse.Item
	Back   string
	Prefix string
	Links  []accessLink
}

type accessLink struct {
	*gatehouse.Link
	Type string
	URL  string
}

func itemAccessURL(pl *place, id string) string {
	return pl.prefix() + "/items/" + url.PathEscape(id) + "/access"
}

// shareDialog is GET /items/{id}/share.
func (h *Handler) shareDialog(w http.ResponseWriter, r *http.Request) {
	it, f, pl, err := h.itemFacts(r, gatehouse.ActShare)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showShareDialog(w, r, pl, it, f, http.StatusOK, &shareData{Type: "view"})
}

// shareGroupsLimit is how many groups the dialog offers.
const shareGroupsLimit = 1000

func (h *Handler) showShareDialog(w http.ResponseWriter, r *http.Request, pl *place, it *gatehouse.Item, f gatehouse.ItemFacts, status int, d *shareData) {
	errMsg := d.Error
	d.base = h.base(w, r, "Share “"+it.Name+"”")
	d.Section, d.Error, d.Item = "files", errMsg, it
	d.Back, d.Prefix = pl.folderURL(it.ParentID), pl.prefix()
	d.CanManage = gatehouse.Authorize(callerFrom(r).Principal, gatehouse.ActManageAccess, f) == nil
	if pl.Site != nil {
		d.Section = "sites"
	}
	d.Today = h.store.Now().UTC().Format(time.DateOnly)
	// Members may share with any group; guests use no groups.
	if gatehouse.AuthorizeGroup(callerFrom(r).Principal, false, gatehouse.GroupFacts{}) == nil {
		var err error
		if d.Groups, err = h.store.GroupsFor(r.Context(), callerFrom(r).Principal, "", "", shareGroupsLimit); err != nil {
			h.fail(w, r, err)
			return
		}
	}
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
	it, f, pl, err := h.itemFacts(r, gatehouse.ActShare)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := &shareData{Emails: r.PostFormValue("emails"), Type: r.PostFormValue("type"), Group: strings.TrimSpace(r.PostFormValue("group")),
		Message: strings.TrimSpace(r.PostFormValue("message")), Expires: strings.TrimSpace(r.PostFormValue("expires"))}
	req := store.ShareRequest{DriveID: pl.Drive.ID, ItemID: it.ID, Emails: splitEmails(in.Emails), Message: in.Message, SendInvitation: true}
	if in.Group != "" {
		req.ObjectIDs = []string{in.Group}
	}
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
		h.showShareDialog(w, r, pl, it, f, httpx.Status(gatehouse.ErrorCode(err)), in)
		return
	}
	setFlash(w, r, fmt.Sprintf("Shared “%s” with %s (%s link). They will get an email with the link.", it.Name, sharedWith(l, req), gatehouse.LinkType(l.Role)))
	// Who may share but not manage access (a site's members) goes back to
	// the folder.
	if gatehouse.Authorize(callerFrom(r).Principal, gatehouse.ActManageAccess, f) != nil {
		redirect(w, r, pl.folderURL(it.ParentID))
		return
	}
	redirect(w, r, itemAccessURL(pl, it.ID))
}

// sharedWith words who a share added: the people by count, the group by
// name.
func sharedWith(l *gatehouse.Link, req store.ShareRequest) string {
	var parts []string
	switch n := len(req.Emails); n {
	case 0:
	case 1:
		parts = append(parts, "1 person")
	default:
		parts = append(parts, fmt.Sprintf("%d people", n))
	}
	for _, g := range l.Groups {
		if slices.Contains(req.ObjectIDs, g.ID) {
			parts = append(parts, "the group “"+g.DisplayName+"”")
		}
	}
	if len(parts) == 0 {
		return "nobody new"
	}
	return strings.Join(parts, " and ")
}

// manageAccess is GET /items/{id}/access: every link of the item with its
// recipients, each removable.
func (h *Handler) manageAccess(w http.ResponseWriter, r *http.Request) {
	pl, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	links, err := h.store.Links(r.Context(), pl.Drive.ID, it.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := &accessData{base: h.base(w, r, "Manage access to “"+it.Name+"”"), Item: it, Back: pl.folderURL(it.ParentID), Prefix: pl.prefix()}
	data.Section = "files"
	if pl.Site != nil {
		data.Section = "sites"
	}
	for _, l := range links {
		data.Links = append(data.Links, accessLink{Link: l, Type: gatehouse.LinkType(l.Role), URL: h.store.LinkURL(l)})
	}
	h.render(w, r, http.StatusOK, "share_access", data)
}

// removeRecipient is POST /items/{id}/access/{perm}/remove.
func (h *Handler) removeRecipient(w http.ResponseWriter, r *http.Request) {
	pl, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if _, err := h.store.RevokeRecipients(r.Context(), actor(r), pl.Drive.ID, it.ID, r.PathValue("perm"), []string{email}); err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Removed %s from the link. Their access has ended.", email))
	redirect(w, r, itemAccessURL(pl, it.ID))
}

// removeLinkGroup is POST /items/{id}/access/{perm}/groups/remove.
func (h *Handler) removeLinkGroup(w http.ResponseWriter, r *http.Request) {
	pl, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	gid := strings.TrimSpace(r.PostFormValue("group"))
	l, err := h.store.Link(r.Context(), pl.Drive.ID, it.ID, r.PathValue("perm"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := gid
	for _, g := range l.Groups {
		if g.ID == gid {
			name = g.DisplayName
		}
	}
	if _, err := h.store.RemoveLinkGroup(r.Context(), actor(r), pl.Drive.ID, it.ID, l.ID, gid); err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Removed the group “%s” from the link. Its members' access through it has ended.", name))
	redirect(w, r, itemAccessURL(pl, it.ID))
}

// deleteLink is POST /items/{id}/access/{perm}/delete.
func (h *Handler) deleteLink(w http.ResponseWriter, r *http.Request) {
	pl, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.DeleteLink(r.Context(), actor(r), pl.Drive.ID, it.ID, r.PathValue("perm")); err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, "Deleted the link. Nobody can open it any more.")
	redirect(w, r, itemAccessURL(pl, it.ID))
}
