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

// shareData is the share panel of an item: who already has access (to
// those who may manage it), and the form to share with more people.
type shareData struct {
	base
	Item   *gatehouse.Item
	Back   string // the item's folder
	Prefix string // "" or the item's site page
	// CanManage: the caller may also see and change who has access.
	CanManage bool
	Links     []accessLink
	Copy      string // the link to offer for copying, after sharing without mail
	Groups    []*gatehouse.Group
	Group     string // the chosen group's id
	Emails    string
	Type      string // "view" or "edit"
	Message   string
	Expires   string // yyyy-mm-dd
	Today     string
	// PreventsDownload is the "Block download (view only)" box.
	PreventsDownload bool
	// NoNotify is the "Notify me…" box left unchecked; it is checked by
	// default, as a new link notifies its owner.
	NoNotify bool
	// FieldError is an error that belongs to one field, ErrorField its id:
	// the field is described by the message and takes the focus.
	FieldError, ErrorField string
}

type accessLink struct {
	*gatehouse.Link
	Type       string
	URL        string
	Expiry     string // "through Dec 15, end of day, UTC"; "" never
	ExpiryDate string // the last day it works, yyyy-mm-dd, for the date field
}

// expiryText words a link's expiry as the share form chose it: a link
// that ends at midnight UTC works "through" the day before, to its end.
func expiryText(exp, now time.Time) string {
	if exp.IsZero() {
		return ""
	}
	exp = exp.UTC()
	day, layout := exp, "Jan 2"
	if exp.Year() != now.UTC().Year() {
		layout = "Jan 2, 2006"
	}
	if exp.Hour() == 0 && exp.Minute() == 0 && exp.Second() == 0 && exp.Nanosecond() == 0 {
		day = exp.AddDate(0, 0, -1)
		if !now.Before(exp) {
			return "ended " + day.Format(layout) + ", end of day, UTC"
		}
		return "through " + day.Format(layout) + ", end of day, UTC"
	}
	if !now.Before(exp) {
		return "ended " + exp.Format(layout+", 15:04") + " UTC"
	}
	return "until " + exp.Format(layout+", 15:04") + " UTC"
}

// lastDay is the date field's value for an expiry: the last day the link
// works.
func lastDay(exp time.Time) string {
	if exp.IsZero() {
		return ""
	}
	exp = exp.UTC()
	if exp.Hour() == 0 && exp.Minute() == 0 && exp.Second() == 0 && exp.Nanosecond() == 0 {
		exp = exp.AddDate(0, 0, -1)
	}
	return exp.Format(time.DateOnly)
}

// expiryOfDay is the stored expiry of a link that works through day
// (yyyy-mm-dd): the end of that day, UTC. "" is never.
func expiryOfDay(day string) (time.Time, error) {
	if day == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return time.Time{}, gatehouse.Errorf(gatehouse.EINVALID, "The expiry date must look like 2030-12-31.")
	}
	return t.AddDate(0, 0, 1), nil
}

func itemAccessURL(pl *place, id string) string {
	return pl.prefix() + "/items/" + url.PathEscape(id) + "/access"
}

// shareDialog is GET /items/{id}/share: the share panel.
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
	now := h.store.Now()
	d.Today = now.UTC().Format(time.DateOnly)
	ctx := r.Context()
	if d.CanManage {
		links, err := h.store.Links(ctx, pl.Drive.ID, it.ID)
		if err == nil {
			err = h.store.FillLastOpened(ctx, links)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, l := range links {
			d.Links = append(d.Links, accessLink{Link: l, Type: gatehouse.LinkType(l.Role), URL: h.store.LinkURL(l),
				Expiry: expiryText(l.ExpiresAt, now), ExpiryDate: lastDay(l.ExpiresAt)})
		}
	}
	// Members may share with any group; guests use no groups.
	if gatehouse.AuthorizeGroup(callerFrom(r).Principal, false, gatehouse.GroupFacts{}) == nil {
		var err error
		if d.Groups, err = h.store.GroupsFor(ctx, callerFrom(r).Principal, "", "", shareGroupsLimit); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.render(w, r, status, "share", d)
}

// fieldError puts a form's error on the field it is about: the field is
// described by it and takes the focus. The page's notice repeats it, as a
// summary for whoever reads from the top.
func (d *shareData) fieldError(err error, field string) {
	d.Error = gatehouse.ErrorMessage(err)
	d.FieldError, d.ErrorField = d.Error, field
}

// shareErrorField says which field of the share form a refusal is about.
func shareErrorField(err error) string {
	msg := strings.ToLower(gatehouse.ErrorMessage(err))
	switch {
	case strings.Contains(msg, "message"):
		return "share-message"
	case strings.Contains(msg, "expir"):
		return "share-expires"
	case strings.Contains(msg, "group"):
		return "share-group"
	case strings.Contains(msg, "roles") || strings.Contains(msg, "link type"):
		return "share-type"
	}
	return "share-emails"
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
	// "Copy link without sending mail" adds the people to the link and
	// leaves sending it to the sharer.
	noMail := r.PostFormValue("nomail") != ""
	in.PreventsDownload = r.PostFormValue("preventsDownload") != ""
	var out store.ShareOutcome
	req := store.ShareRequest{DriveID: pl.Drive.ID, ItemID: it.ID, Emails: splitEmails(in.Emails), Message: in.Message, SendInvitation: !noMail, Outcome: &out}
	req.PreventsDownload = in.PreventsDownload
	// An unchecked box sends nothing, so the form says it offered one
	// (notifyAsked); a post without it keeps the default, on.
	if r.PostFormValue("notifyAsked") != "" {
		notify := r.PostFormValue("notifyOwner") != ""
		in.NoNotify, req.NotifyOwnerIfNew = !notify, &notify
	}
	if in.Group != "" {
		req.ObjectIDs = []string{in.Group}
	}
	field := "share-type"
	req.Role, err = gatehouse.RoleOfType(in.Type)
	if err == nil {
		// The link works through the whole of the chosen day (UTC).
		field = "share-expires"
		req.ExpiresAt, err = expiryOfDay(in.Expires)
	}
	var l *gatehouse.Link
	created := false
	if err == nil {
		l, created, err = h.store.Share(r.Context(), actor(r), req)
		field = shareErrorField(err)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			h.fail(w, r, err)
			return
		}
		httpx.LogError(r, err)
		in.fieldError(err, field)
		h.showShareDialog(w, r, pl, it, f, httpx.Status(gatehouse.ErrorCode(err)), in)
		return
	}
	mayManage := gatehouse.Authorize(callerFrom(r).Principal, gatehouse.ActManageAccess, f) == nil
	// The box sets a new link's notices; an existing link kept its own,
	// and the sharer is told rather than left to believe otherwise.
	kept := ""
	if !created && req.NotifyOwnerIfNew != nil && *req.NotifyOwnerIfNew != l.NotifyOwner {
		if l.NotifyOwner {
			kept = " The link already existed and still emails you when someone first opens it or changes files; turn that off under the link."
		} else {
			kept = " The link already existed and does not email you about it; turn that on under the link."
		}
	}
	var said string
	switch {
	case noMail && mayManage:
		said = fmt.Sprintf("Added %s to the %s link of “%s” without sending mail. Copy the link below and send it yourself; only the people on it can open it.",
			sharedWith(l, req, &out), gatehouse.LinkType(l.Role), it.Name)
	case noMail:
		said = fmt.Sprintf("Added %s to the %s link of “%s” without sending mail.", sharedWith(l, req, &out), gatehouse.LinkType(l.Role), it.Name)
	case len(out.AlreadyHadAccess) == len(req.Emails) && len(req.ObjectIDs) == 0:
		// Nobody new: no mail went out, and the page must not claim one did.
		said = strings.TrimSpace("Nothing changed. " + shareOutcomeText(&out))
	default:
		said = strings.TrimSpace(fmt.Sprintf("Shared “%s” with %s (%s link). They will get an email with the link. %s",
			it.Name, sharedWith(l, req, &out), gatehouse.LinkType(l.Role), shareOutcomeText(&out)))
	}
	setFlash(w, r, said+kept)
	// Who may share but not manage access (a site's members) goes back to
	// the folder.
	if !mayManage {
		redirect(w, r, pl.folderURL(it.ParentID))
		return
	}
	if noMail {
		redirect(w, r, itemAccessURL(pl, it.ID)+"?copy="+url.QueryEscape(l.ID))
		return
	}
	redirect(w, r, itemAccessURL(pl, it.ID))
}

// sharedWith words who a share added: the people new to the link by
// count, the group by name.
func sharedWith(l *gatehouse.Link, req store.ShareRequest, out *store.ShareOutcome) string {
	var parts []string
	switch n := len(req.Emails) - len(out.AlreadyHadAccess); n {
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

// manageAccess is GET /items/{id}/access: the share panel for whoever
// may manage access, which lists every link of the item with its people,
// each removable, and the link's role and expiry, changeable in place.
func (h *Handler) manageAccess(w http.ResponseWriter, r *http.Request) {
	it, f, pl, err := h.itemFacts(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showShareDialog(w, r, pl, it, f, http.StatusOK, &shareData{Type: "view", Copy: r.URL.Query().Get("copy")})
}

// updateLink is POST /items/{id}/access/{perm}/update: a link's role and
// expiry changed in place, through the store's update that PATCH
// …/permissions/{p} uses, which records it (SecureLinkUpdated).
func (h *Handler) updateLink(w http.ResponseWriter, r *http.Request) {
	it, f, pl, err := h.itemFacts(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	perm := r.PathValue("perm")
	var up store.LinkUpdate
	field := "link-type-" + perm
	role, err := gatehouse.RoleOfType(r.PostFormValue("type"))
	if err == nil {
		up.Role = &role
		field = "link-expires-" + perm
		var exp time.Time
		exp, err = expiryOfDay(strings.TrimSpace(r.PostFormValue("expires")))
		up.ExpiresAt = &exp
	}
	var l *gatehouse.Link
	if err == nil {
		l, err = h.store.UpdateLink(r.Context(), actor(r), pl.Drive.ID, it.ID, perm, up)
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			field = "link-type-" + perm
		}
	}
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.ENOTFOUND {
			h.fail(w, r, err)
			return
		}
		httpx.LogError(r, err)
		d := &shareData{Type: "view"}
		d.fieldError(err, field)
		h.showShareDialog(w, r, pl, it, f, httpx.Status(gatehouse.ErrorCode(err)), d)
		return
	}
	when := "never expires"
	if exp := expiryText(l.ExpiresAt, h.store.Now()); exp != "" {
		when = "works " + exp
	}
	setFlash(w, r, fmt.Sprintf("Updated the link: the people on it can %s, and it %s.", gatehouse.LinkType(l.Role), when))
	redirect(w, r, itemAccessURL(pl, it.ID))
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

// fieldRef is a field of the share panel with the page, for the templates
// that tie an error to its field.
type fieldRef struct {
	Page *shareData
	ID   string
}

// Field names one field of the page, by id.
func (d *shareData) Field(id string) fieldRef { return fieldRef{Page: d, ID: id} }
