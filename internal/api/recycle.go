package api

import (
	"net/http"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// recycleBinItem is Graph's recycleBinItem, with the deleted item's facet
// and where it was deleted from as parentReference (Gatehouse extensions).
type recycleBinItem struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	Title                string         `json:"title"`
	Size                 int64          `json:"size"`
	DeletedDateTime      time.Time      `json:"deletedDateTime"`
	DeletedBy            identitySet    `json:"deletedBy"`
	DeletedFromLocation  string         `json:"deletedFromLocation"`
	CreatedDateTime      time.Time      `json:"createdDateTime"`
	LastModifiedDateTime time.Time      `json:"lastModifiedDateTime"`
	ParentReference      *itemReference `json:"parentReference"`
	File                 *fileFacet     `json:"file,omitempty"`
	Folder               *folderFacet   `json:"folder,omitempty"`
}

func binItemJSON(b *store.BinItem) recycleBinItem {
	it := b.Item
	out := recycleBinItem{ID: it.ID, Name: it.Name, Title: it.Name, Size: it.Size, DeletedDateTime: b.DeletedAt,
		DeletedBy:           modifiedBy(b.DeletedBy, b.DeletedByEmail, b.DeletedByName),
		DeletedFromLocation: "/drive/root:" + b.DeletedPath,
		CreatedDateTime:     it.CreatedAt, LastModifiedDateTime: it.ModifiedAt,
		ParentReference: &itemReference{DriveID: it.DriveID, DriveType: driveType(it), ID: b.DeletedFrom, Path: "/drive/root:" + b.DeletedPath},
	}
	if it.IsFolder {
		out.Folder = &folderFacet{ChildCount: it.ChildCount}
	} else {
		out.File = &fileFacet{MimeType: it.MimeType}
		out.File.Hashes.SHA256 = strings.ToUpper(it.SHA256)
	}
	return out
}

// binDrive is the drive of the path if the caller may delete in it: who
// may delete may also see, restore and purge what was deleted.
func (h *Handler) binDrive(r *http.Request, c *caller) (*gatehouse.Drive, error) {
	return h.drive(r, c, r.PathValue("d"), gatehouse.ActDelete)
}

// listRecycleBin lists a drive's recycle bin, newest deletion first, paged
// like children ($top, @odata.nextLink).
func (h *Handler) listRecycleBin(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.binDrive(r, c)
	if err != nil {
		return err
	}
	n, err := top(r, 200)
	if err != nil {
		return err
	}
	var after *store.BinCursor
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		after = new(store.BinCursor)
		if err := decodeToken(tok, after); err != nil {
			return err
		}
	}
	items, next, err := h.store.RecycleBin(r.Context(), d.ID, after, n)
	if err != nil {
		return err
	}
	value := make([]recycleBinItem, 0, len(items))
	for _, b := range items {
		value = append(value, binItemJSON(b))
	}
	out := map[string]any{"value": value}
	if next != nil {
		out["@odata.nextLink"] = h.nextLink(r, encodeToken(next))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// restoreItem takes an item out of the recycle bin and answers the
// driveItem, as Graph v1.0's restore does. Its links stay dormant.
func (h *Handler) restoreItem(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.binDrive(r, c)
	if err != nil {
		return err
	}
	it, err := h.store.RestoreItem(r.Context(), c.Actor, d.ID, r.PathValue("i"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.itemJSON(it))
	return nil
}

// purgeBinItem removes one item of the recycle bin for good.
func (h *Handler) purgeBinItem(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.binDrive(r, c)
	if err != nil {
		return err
	}
	if err := h.store.PurgeItem(r.Context(), c.Actor, d.ID, r.PathValue("i")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// emptyRecycleBin purges everything in a drive's recycle bin.
func (h *Handler) emptyRecycleBin(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.binDrive(r, c)
	if err != nil {
		return err
	}
	if _, err := h.store.EmptyRecycleBin(r.Context(), c.Actor, d.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
