package web

import (
	"net/http"
	"time"

	"gatehouse"
)

// sharedRow is one item on the Shared with me page.
type sharedRow struct {
	Name      string
	IsFolder  bool
	Size      int64
	Owner     string
	SharedAt  time.Time
	CanEdit   bool
	ExpiresAt time.Time
	Open      string // the link's page, where the item opens
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
			ExpiresAt: s.Link.ExpiresAt, Open: "/s/" + s.Link.Token})
	}
	h.render(w, r, http.StatusOK, "shared", d)
}
