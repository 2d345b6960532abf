package api

import (
	"net/http"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// Sites: POST /v1.0/sites is a Gatehouse extension (Graph creates sites
// through groups), as is POST /v1.0/sites/{id}/share. A site's drive is
// used through the drive routes, which decide by the site's groups.

// siteJSON is the Graph site resource, in Graph's order: id first, so a
// reader that takes the first "id" gets the site's.
type siteJSON struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	DisplayName     string        `json:"displayName"`
	Description     string        `json:"description"`
	WebURL          string        `json:"webUrl"`
	CreatedDateTime time.Time     `json:"createdDateTime"`
	Drive           siteDriveJSON `json:"drive"`
}

type siteDriveJSON struct {
	ID        string `json:"id"`
	DriveType string `json:"driveType"`
	Name      string `json:"name"`
}

func (h *Handler) siteJSON(st *gatehouse.Site) siteJSON {
	return siteJSON{ID: st.ID, Name: st.DisplayName, DisplayName: st.DisplayName, Description: st.Description,
		WebURL: h.store.SiteURL(st.ID), CreatedDateTime: st.CreatedAt,
		Drive: siteDriveJSON{ID: st.DriveID, DriveType: gatehouse.DriveTypeLibrary, Name: "Documents"}}
}

// site loads the site of the path if the caller may take act on it; a
// site they cannot see answers 404.
func (h *Handler) site(r *http.Request, c *caller, act gatehouse.SiteAction) (*gatehouse.Site, error) {
	st, access, err := h.store.SiteFacts(r.Context(), c.Principal, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if err := gatehouse.AuthorizeSite(c.Principal, act, access); err != nil {
		return nil, err
	}
	return st, nil
}

func (h *Handler) createSite(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := gatehouse.AuthorizeSite(c.Principal, gatehouse.SiteCreate, gatehouse.NoAccess); err != nil {
		return err
	}
	var b struct {
		DisplayName *string `json:"displayName"`
		Description *string `json:"description"`
	}
	if err := httpx.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.DisplayName == nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "displayName is required.")
	}
	ns := store.NewSite{DisplayName: *b.DisplayName}
	if b.Description != nil {
		ns.Description = *b.Description
	}
	st, err := h.store.CreateSite(r.Context(), c.Actor, ns)
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.cfg.BaseURL+"/v1.0/sites/"+st.ID)
	httpx.WriteJSON(w, http.StatusCreated, h.siteJSON(st))
	return nil
}

func (h *Handler) listSites(w http.ResponseWriter, r *http.Request, c *caller) error {
	// The list holds only sites the caller may read: asked as for one.
	if err := gatehouse.AuthorizeSite(c.Principal, gatehouse.SiteRead, gatehouse.AccessRead); err != nil {
		return err
	}
	n, err := top(r, 100)
	if err != nil {
		return err
	}
	sites, err := h.store.Sites(r.Context(), c.Principal, r.URL.Query().Get("$skiptoken"), n+1)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(sites) > n {
		sites = sites[:n]
		out["@odata.nextLink"] = h.nextLink(r, sites[n-1].ID)
	}
	list := make([]siteJSON, 0, len(sites))
	for _, st := range sites {
		list = append(list, h.siteJSON(st))
	}
	out["value"] = list
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getSite(w http.ResponseWriter, r *http.Request, c *caller) error {
	st, err := h.site(r, c, gatehouse.SiteRead)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.siteJSON(st))
	return nil
}

// getSiteDrive answers the site's document library as GET /v1.0/drives/{d}
// would, to whoever may see the site (administrators included).
func (h *Handler) getSiteDrive(w http.ResponseWriter, r *http.Request, c *caller) error {
	st, err := h.site(r, c, gatehouse.SiteRead)
	if err != nil {
		return err
	}
	d, err := h.store.Drive(r.Context(), st.DriveID)
	if err != nil {
		return err
	}
	return h.writeDrive(w, r, c, d)
}

// siteShareBody is POST /v1.0/sites/{id}/share.
type siteShareBody struct {
	Recipients []struct {
		Email    *string `json:"email"`
		ObjectID *string `json:"objectId"`
	} `json:"recipients"`
	Role    *string `json:"role"`
	Message *string `json:"message"`
}

func (h *Handler) shareSite(w http.ResponseWriter, r *http.Request, c *caller) error {
	st, err := h.site(r, c, gatehouse.SiteManage)
	if err != nil {
		return err
	}
	var b siteShareBody
	if err := httpx.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.Role == nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "role is required: \"read\", \"write\" or \"owner\".")
	}
	sh := store.SiteShare{Role: *b.Role, OrgDomains: h.cfg.OrgDomains}
	if b.Message != nil {
		sh.Message = *b.Message
	}
	for _, rcp := range b.Recipients {
		var one store.SiteRecipient
		if rcp.Email != nil {
			one.Email = strings.TrimSpace(*rcp.Email)
		}
		if rcp.ObjectID != nil {
			one.ObjectID = strings.TrimSpace(*rcp.ObjectID)
		}
		if (one.Email == "") == (one.ObjectID == "") {
			return gatehouse.Errorf(gatehouse.EINVALID, "Each recipient needs either an email or an objectId.")
		}
		sh.Recipients = append(sh.Recipients, one)
	}
	res, err := h.store.ShareSite(r.Context(), c.Actor, st.ID, sh)
	if err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(res))
	for _, x := range res {
		list = append(list, map[string]any{"email": x.Email, "userId": x.UserID, "role": x.Role, "state": x.State})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": list})
	return nil
}

func (h *Handler) deleteSite(w http.ResponseWriter, r *http.Request, c *caller) error {
	st, err := h.site(r, c, gatehouse.SiteManage)
	if err != nil {
		return err
	}
	if err := h.store.DeleteSite(r.Context(), c.Actor, st.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// driveType is the driveType of an item's parentReference: the store reads
// it with the item; personal when it did not.
func driveType(it *gatehouse.Item) string {
	if it.DriveType != "" {
		return it.DriveType
	}
	return gatehouse.DriveTypePersonal
}
