package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
)

// sharedByMeItem is one link the caller made, as a driveItem with the
// link's permission: a Gatehouse extension, for there is no Graph v1.0
// list of what a user shared.
type sharedByMeItem struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	Size            int64          `json:"size"`
	File            *fileFacet     `json:"file,omitempty"`
	Folder          *folderFacet   `json:"folder,omitempty"`
	ParentReference *itemReference `json:"parentReference"`
	Permission      sharedByMePerm `json:"permission"`
}

// sharedByMePerm is the permission without its webUrl (lists never carry a
// link's secret) and with who is on it by count.
type sharedByMePerm struct {
	ID                   string     `json:"id"`
	ShareID              string     `json:"shareId"`
	Roles                []string   `json:"roles"`
	Link                 linkFacet  `json:"link"`
	ExpirationDateTime   *time.Time `json:"expirationDateTime"`
	PeopleCount          int        `json:"peopleCount"`
	GroupCount           int        `json:"groupCount"`
	LastAccessedDateTime *time.Time `json:"lastAccessedDateTime"`
}

type linkFacet struct {
	Scope string `json:"scope"`
	Type  string `json:"type"`
}

// sharedByMe is GET /v1.0/me/drive/sharedByMe: the links the caller made,
// newest first, with when anyone last opened something through each.
func (h *Handler) sharedByMe(w http.ResponseWriter, r *http.Request, c *caller) error {
	links, err := h.store.SharedBy(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	out := make([]sharedByMeItem, 0, len(links))
	for _, s := range links {
		it, l := s.Item, s.Link
		x := sharedByMeItem{ID: it.ID, Name: it.Name, Size: it.Size,
			ParentReference: &itemReference{DriveID: it.DriveID, DriveType: driveType(it), ID: it.ParentID},
			Permission: sharedByMePerm{ID: l.ID, ShareID: l.ShareID, Roles: []string{l.Role},
				Link: linkFacet{Scope: l.Scope, Type: gatehouse.LinkType(l.Role)}, PeopleCount: s.People, GroupCount: s.Groups}}
		if it.IsFolder {
			x.Folder = &folderFacet{ChildCount: it.ChildCount}
		} else {
			x.File = &fileFacet{MimeType: it.MimeType}
			x.File.Hashes.SHA256 = strings.ToUpper(it.SHA256)
		}
		if !l.ExpiresAt.IsZero() {
			x.Permission.ExpirationDateTime = &l.ExpiresAt
		}
		if !s.LastOpened.IsZero() {
			x.Permission.LastAccessedDateTime = &s.LastOpened
		}
		out = append(out, x)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// withLastAccessed adds to each person of the permissions (permissionJSON
// of links, in order) when they last opened something through the link:
// lastAccessedDateTime, a Gatehouse extension, null for never. Groups have
// none; their members are not listed.
func (h *Handler) withLastAccessed(ctx context.Context, links []*gatehouse.Link, perms []map[string]any) error {
	if err := h.store.FillLastOpened(ctx, links); err != nil {
		return err
	}
	for i, l := range links {
		grantees, _ := perms[i]["grantedToIdentitiesV2"].([]map[string]any)
		for j, rcp := range l.Recipients {
			if j >= len(grantees) {
				break
			}
			var at any // null: never opened
			if !rcp.LastOpenedAt.IsZero() {
				at = rcp.LastOpenedAt
			}
			grantees[j]["lastAccessedDateTime"] = at
		}
	}
	return nil
}
