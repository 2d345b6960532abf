package web

import (
	"net/http"
	"net/url"
	"time"

	"gatehouse"
)

// sharedRow is one item on the Shared with me page.
type sharedRow struct {
	Name     string
	IsFolder bool
	Size     int64
	Owner    string
	SharedAt time.Time
	CanEdit  bool
	Expiry   string // "through Dec 15, end of day, UTC"; "" never
	Open     string // the link's page, where the item opens
}

type sharedWithMeData struct {
	base
	Items []sharedRow
}

// sharedWithMe lists what members and guests were given through links,
// each judged by the access decision as opening it would be: expired links
// and disabled owners' shares drop out.
func (h *Handler) sharedWithMe(w http.ResponseWriter, r *http.Request) {
	c := callerFrom(r)
	items, err := h.store.SharedWith(r.Context(), c.Principal)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &sharedWithMeData{base: h.base(w, r, "Shared with me")}
	d.Section = "shared"
	for _, s := range items {
		if gatehouse.Authorize(c.Principal, gatehouse.ActRead, s.Facts) != nil {
			continue
		}
		d.Items = append(d.Items, sharedRow{Name: s.Item.Name, IsFolder: s.Item.IsFolder, Size: s.Item.Size,
			Owner: s.Owner.DisplayName, SharedAt: s.SharedAt, CanEdit: s.Link.Role == gatehouse.RoleWrite,
			Expiry: expiryText(s.Link.ExpiresAt, h.store.Now()), Open: "/s/" + s.Link.Token})
	}
	h.render(w, r, http.StatusOK, "shared", d)
}

// sharedByRow is one link on the Shared by me page.
type sharedByRow struct {
	Name       string
	IsFolder   bool
	Open       string // the item's share panel, where access is seen and changed
	People     string
	Type       string // "view" or "edit"
	Expiry     string // "" never
	LastOpened time.Time
}

type sharedByMeData struct {
	base
	Items []sharedByRow
}

// sharedByMe lists the links the member made: item, who is on each, its
// type, expiry and when anyone last opened something through it.
func (h *Handler) sharedByMe(w http.ResponseWriter, r *http.Request) {
	c := callerFrom(r)
	links, err := h.store.SharedBy(r.Context(), c.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &sharedByMeData{base: h.base(w, r, "Shared by me")}
	d.Section = "shared"
	for _, s := range links {
		prefix := ""
		if s.SiteID != "" {
			prefix = siteURL(s.SiteID)
		}
		d.Items = append(d.Items, sharedByRow{Name: s.Item.Name, IsFolder: s.Item.IsFolder,
			Open:   prefix + "/items/" + url.PathEscape(s.Item.ID) + "/share",
			People: sharedLabel(s.People, s.Groups), Type: gatehouse.LinkType(s.Link.Role),
			Expiry: expiryText(s.Link.ExpiresAt, h.store.Now()), LastOpened: s.LastOpened})
	}
	h.render(w, r, http.StatusOK, "shared_byme", d)
}
