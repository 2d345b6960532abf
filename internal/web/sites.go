package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// Sites: the list of sites the caller can see, and a site's page, which is
// its drive's root folder (files.go, with the place of the path) and its
// Members panel.

// sitesPageSize is how many sites one page lists.
const sitesPageSize = 200

// siteMembersLimit is how many people the panel shows in each group.
const siteMembersLimit = 1000

func siteURL(id string) string { return "/sites/" + url.PathEscape(id) }

type sitesData struct {
	base
	Sites     []*gatehouse.Site
	Next      string
	CanCreate bool
	// The create form, kept after an error.
	Name, Description string
}

// sitePanel is a site page's Members panel.
type sitePanel struct {
	Site      *gatehouse.Site
	Groups    []siteGroup
	CanManage bool   // share the site, remove people, delete it
	CSRF      string // the page's
	// The share form, kept after an error (Open shows it), and the
	// error tied to its field.
	Email, Role, Message string
	Open                 bool
	Fields               fieldErr
}

// siteGroup is one of a site's three groups with its members.
type siteGroup struct {
	ID, Name    string
	Label, Hint string
	People      []gatehouse.GroupMembership
	Invited     []gatehouse.GroupMembership // guests who have not accepted yet
}

// siteRoleName is what the UI calls a site role.
func siteRoleName(role string) string {
	switch role {
	case gatehouse.SiteRoleOwner:
		return "Owner"
	case gatehouse.SiteRoleWrite:
		return "Edit"
	}
	return "Read"
}

func (h *Handler) sites(w http.ResponseWriter, r *http.Request) {
	h.showSites(w, r, http.StatusOK, "")
}

func (h *Handler) showSites(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	after := ""
	if r.Method == http.MethodGet {
		after = r.URL.Query().Get("after")
	}
	p := callerFrom(r).Principal
	sites, err := h.store.Sites(r.Context(), p, after, sitesPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &sitesData{base: h.base(w, r, "Sites"), Sites: sites,
		CanCreate: gatehouse.AuthorizeSite(p, gatehouse.SiteCreate, gatehouse.NoAccess) == nil}
	d.Section, d.Error = "sites", errMsg
	if len(sites) == sitesPageSize {
		d.Next = "/sites?after=" + url.QueryEscape(sites[len(sites)-1].ID)
	}
	if r.Method == http.MethodPost {
		d.Name, d.Description = r.PostFormValue("name"), r.PostFormValue("description")
	}
	h.render(w, r, status, "sites", d)
}

// createSite is POST /sites: the creator becomes its owner.
func (h *Handler) createSite(w http.ResponseWriter, r *http.Request) {
	st, err := h.store.CreateSite(r.Context(), actor(r), store.NewSite{DisplayName: r.PostFormValue("name"),
		Description: strings.TrimSpace(r.PostFormValue("description"))})
	if err != nil {
		if code := gatehouse.ErrorCode(err); code != gatehouse.EINTERNAL {
			httpx.LogError(r, err)
			h.showSites(w, r, httpx.Status(code), gatehouse.ErrorMessage(err))
			return
		}
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Created the site “%s”. You are its owner.", st.DisplayName))
	redirect(w, r, siteURL(st.ID))
}

// sitePage is GET /sites/{site}: the root folder of the site's drive, with
// its Members panel. Administrators see every site, as GET /v1.0/sites
// lists them, and manage it; its files they read only through its groups,
// so without one they get the panel alone.
func (h *Handler) sitePage(w http.ResponseWriter, r *http.Request) {
	pl, err := h.place(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := callerFrom(r).Principal
	_, f, err := h.store.ItemFacts(r.Context(), p, pl.Drive.ID, pl.Drive.RootID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := gatehouse.Authorize(p, gatehouse.ActRead, f); err != nil && !p.IsAdmin {
		h.fail(w, r, err)
		return
	}
	h.showFolder(w, r, pl, pl.Drive.RootID, &f, http.StatusOK, "")
}

// sitePanel loads a site's Members panel for the caller.
func (h *Handler) sitePanel(r *http.Request, st *gatehouse.Site) (*sitePanel, error) {
	c := callerFrom(r)
	_, access, err := h.store.SiteFacts(r.Context(), c.Principal, st.ID)
	if err != nil {
		return nil, err
	}
	sp := &sitePanel{Site: st, Role: gatehouse.SiteRoleRead,
		CanManage: gatehouse.AuthorizeSite(c.Principal, gatehouse.SiteManage, access) == nil}
	for _, g := range []siteGroup{
		{ID: st.OwnersGroupID, Label: "Owners", Hint: "full control", Name: gatehouse.SiteGroupName(st.DisplayName, gatehouse.AccessOwner)},
		{ID: st.MembersGroupID, Label: "Members", Hint: "edit", Name: gatehouse.SiteGroupName(st.DisplayName, gatehouse.AccessWrite)},
		{ID: st.VisitorsGroupID, Label: "Visitors", Hint: "read", Name: gatehouse.SiteGroupName(st.DisplayName, gatehouse.AccessRead)},
	} {
		if g.People, err = h.store.GroupMembers(r.Context(), g.ID, gatehouse.GroupMember, "", siteMembersLimit); err != nil {
			return nil, err
		}
		if g.Invited, err = h.store.PendingGroupMembers(r.Context(), g.ID, siteMembersLimit); err != nil {
			return nil, err
		}
		sp.Groups = append(sp.Groups, g)
	}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/share") {
		sp.Email, sp.Role, sp.Message, sp.Open = r.PostFormValue("email"), r.PostFormValue("role"), r.PostFormValue("message"), true
	}
	return sp, nil
}

// siteShareField says which field of the site's share form a refusal is
// about: the address unless the message names another.
func siteShareField(msg string) string {
	return fieldFor(msg, "site-email", [2]string{"message", "site-message"}, [2]string{"role", "site-role"})
}

// siteFailed shows the site's page again with the store's message, or an
// error page when the site itself is the problem.
func (h *Handler) siteFailed(w http.ResponseWriter, r *http.Request, pl *place, err error) {
	if code := gatehouse.ErrorCode(err); code != gatehouse.EINTERNAL && code != gatehouse.ENOTFOUND {
		httpx.LogError(r, err)
		h.showFolder(w, r, pl, "", nil, httpx.Status(code), gatehouse.ErrorMessage(err))
		return
	}
	h.fail(w, r, err)
}

// shareSite is POST /sites/{site}/share: the address gets the role at
// once, or an invitation as a guest (ShareSite decides which).
func (h *Handler) shareSite(w http.ResponseWriter, r *http.Request) {
	pl, err := h.place(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	role := r.PostFormValue("role")
	res, err := h.store.ShareSite(r.Context(), actor(r), pl.Site.ID, store.SiteShare{
		Recipients: []store.SiteRecipient{{Email: r.PostFormValue("email")}},
		Role:       role, Message: strings.TrimSpace(r.PostFormValue("message")), OrgDomains: h.cfg.OrgDomains})
	if err != nil {
		h.siteFailed(w, r, pl, err)
		return
	}
	var said []string
	for _, x := range res {
		if x.State == store.SiteShareInvited {
			said = append(said, fmt.Sprintf("Invited %s as %s: they get an email, and join the site once they accept.", x.Email, siteRoleName(x.Role)))
		} else {
			said = append(said, fmt.Sprintf("Added %s as %s.", x.Email, siteRoleName(x.Role)))
		}
	}
	setFlash(w, r, strings.Join(said, " "))
	redirect(w, r, siteURL(pl.Site.ID))
}

// removeSiteMember is POST /sites/{site}/remove: takes the user out of one
// of the site's groups, which ends what it gave them at once.
func (h *Handler) removeSiteMember(w http.ResponseWriter, r *http.Request) {
	pl, err := h.place(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := callerFrom(r).Principal
	g, f, err := h.store.GroupFacts(r.Context(), p, r.PostFormValue("group"))
	if err == nil && g.SiteID != pl.Site.ID {
		err = gatehouse.Errorf(gatehouse.ENOTFOUND, "That group is not one of this site's.")
	}
	if err == nil {
		err = gatehouse.AuthorizeGroup(p, true, f)
	}
	if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
		err = gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only the site's owners and administrators can remove people from it.")
	}
	var u *gatehouse.User
	if err == nil {
		u, err = h.store.User(r.Context(), r.PostFormValue("user"))
	}
	if err == nil {
		err = h.store.RemoveGroupMember(r.Context(), actor(r), g.ID, u.ID, gatehouse.GroupMember)
	}
	if err != nil {
		h.siteFailed(w, r, pl, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Removed %s from %s. What the site gave them through it has ended.", u.DisplayName, g.DisplayName))
	redirect(w, r, siteURL(pl.Site.ID))
}

// deleteSite is POST /sites/{site}/delete: the site, its files, groups and
// links go at once.
func (h *Handler) deleteSite(w http.ResponseWriter, r *http.Request) {
	pl, err := h.place(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.DeleteSite(r.Context(), actor(r), pl.Site.ID); err != nil {
		h.siteFailed(w, r, pl, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Deleted the site “%s” with its files. Nobody can open them any more.", pl.Site.DisplayName))
	redirect(w, r, "/sites")
}
