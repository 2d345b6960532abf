package api

import (
	"net/http"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// errNoGuestDrive answers a guest asking for a personal drive.
func errNoGuestDrive() error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, "Guests have no drive of their own; see /v1.0/me/drive/sharedWithMe.")
}

type sharedOwner struct {
	User struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Email       string `json:"email"`
	} `json:"user"`
}

type sharedFacet struct {
	Owner          sharedOwner `json:"owner"`
	SharedDateTime time.Time   `json:"sharedDateTime"`
}

// remoteItem is Graph's remoteItem: an item in someone else's drive.
type remoteItem struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	Size                 int64          `json:"size"`
	CreatedDateTime      time.Time      `json:"createdDateTime"`
	LastModifiedDateTime time.Time      `json:"lastModifiedDateTime"`
	WebURL               string         `json:"webUrl"`
	File                 *fileFacet     `json:"file,omitempty"`
	Folder               *folderFacet   `json:"folder,omitempty"`
	ParentReference      *itemReference `json:"parentReference"`
	Shared               sharedFacet    `json:"shared"`
}

type sharedDriveItem struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	Size                 int64        `json:"size"`
	CreatedDateTime      time.Time    `json:"createdDateTime"`
	LastModifiedDateTime time.Time    `json:"lastModifiedDateTime"`
	WebURL               string       `json:"webUrl"`
	File                 *fileFacet   `json:"file,omitempty"`
	Folder               *folderFacet `json:"folder,omitempty"`
	RemoteItem           remoteItem   `json:"remoteItem"`
}

func (h *Handler) sharedJSON(s store.SharedItem) sharedDriveItem {
	it := s.Item
	url := h.store.LinkURL(s.Link)
	ri := remoteItem{ID: it.ID, Name: it.Name, Size: it.Size, CreatedDateTime: it.CreatedAt, LastModifiedDateTime: it.ModifiedAt,
		WebURL: url, ParentReference: &itemReference{DriveID: it.DriveID, DriveType: driveType(it)},
		Shared: sharedFacet{SharedDateTime: s.SharedAt}}
	ri.Shared.Owner.User.ID, ri.Shared.Owner.User.DisplayName, ri.Shared.Owner.User.Email = s.Owner.ID, s.Owner.DisplayName, s.Owner.Email
	if it.IsFolder {
		ri.Folder = &folderFacet{ChildCount: it.ChildCount}
	} else {
		ri.File = &fileFacet{MimeType: it.MimeType}
		ri.File.Hashes.SHA256 = strings.ToUpper(it.SHA256)
	}
	return sharedDriveItem{ID: it.ID, Name: it.Name, Size: it.Size, CreatedDateTime: it.CreatedAt, LastModifiedDateTime: it.ModifiedAt,
		WebURL: url, File: ri.File, Folder: ri.Folder, RemoteItem: ri}
}

// sharedWithMe lists what links share with the caller's address, for
// members and guests alike; each item is decided as opening it would be,
// so links that no longer open are left out.
func (h *Handler) sharedWithMe(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := gatehouse.AuthorizeDirectory(c.Principal, gatehouse.ActReadUsers, c.UserID); err != nil {
		return err
	}
	items, err := h.store.SharedWith(r.Context(), c.Principal)
	if err != nil {
		return err
	}
	list := make([]sharedDriveItem, 0, len(items))
	for _, s := range items {
		if gatehouse.Authorize(c.Principal, gatehouse.ActRead, s.Facts) == nil {
			list = append(list, h.sharedJSON(s))
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": list})
	return nil
}
