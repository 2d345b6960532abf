package web

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
)

// recycleData is the recycle bin page of My files or of a site.
type recycleData struct {
	base
	Action   string // the page's address; its forms post below it
	RootName string // "My files" or the site's name
	RootURL  string
	Items    []binRow
	More     string // the next page, if any
	Days     int    // recycleBinRetentionDays
}

// binRow is one item of the bin, as the page shows it.
type binRow struct {
	ID, Name   string
	IsFolder   bool
	ChildCount int
	Size       int64
	From       string // where it was: "My files/Docs"
	DeletedBy  string
	DeletedAt  time.Time
}

// binPlace is the drive of the bin's address if the caller may delete in
// it: who may delete may see, restore and purge what was deleted.
func (h *Handler) binPlace(r *http.Request) (*place, error) {
	pl, err := h.place(r)
	if err != nil {
		return nil, err
	}
	c := callerFrom(r)
	_, f, err := h.store.DriveFacts(r.Context(), c.Principal, pl.Drive.ID)
	if err == nil {
		err = gatehouse.Authorize(c.Principal, gatehouse.ActDelete, f)
	}
	if err != nil {
		return nil, err
	}
	return pl, nil
}

func binURL(pl *place) string {
	if pl.Site == nil {
		return "/recycle"
	}
	return pl.prefix() + "/recycle"
}

func encodeBinCursor(c *store.BinCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.DeletedAt, 10) + ":" + c.ID))
}

func decodeBinCursor(s string) *store.BinCursor {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		return nil
	}
	return &store.BinCursor{DeletedAt: n, ID: id}
}

// recycleBin is GET /recycle and /sites/{site}/recycle: what was deleted,
// newest first, to restore or delete for good.
func (h *Handler) recycleBin(w http.ResponseWriter, r *http.Request) {
	pl, err := h.binPlace(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var after *store.BinCursor
	if s := r.URL.Query().Get("after"); s != "" {
		if after = decodeBinCursor(s); after == nil {
			h.fail(w, r, gatehouse.Errorf(gatehouse.EINVALID, "That page address is not valid; go back to the first page of the recycle bin."))
			return
		}
	}
	items, next, err := h.store.RecycleBin(r.Context(), pl.Drive.ID, after, folderPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.store.SharingSettings(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &recycleData{base: h.base(w, r, "Recycle bin"), Action: binURL(pl), RootName: pl.rootName(), RootURL: pl.folderURL(""),
		Days: st.RecycleBinRetentionDays}
	d.Section = "recycle"
	if pl.Site != nil {
		d.Section = "sites"
	}
	for _, b := range items {
		d.Items = append(d.Items, binRow{ID: b.Item.ID, Name: b.Item.Name, IsFolder: b.Item.IsFolder, ChildCount: b.Item.ChildCount,
			Size: b.Item.Size, From: pl.rootName() + b.DeletedPath,
			DeletedBy: modifiedBy(b.DeletedByName, b.DeletedByEmail, b.DeletedBy), DeletedAt: b.DeletedAt})
	}
	if next != nil {
		d.More = d.Action + "?after=" + encodeBinCursor(next)
	}
	h.render(w, r, http.StatusOK, "recycle", d)
}

// restoreBinItem is POST …/recycle/{id}/restore.
func (h *Handler) restoreBinItem(w http.ResponseWriter, r *http.Request) {
	pl, err := h.binPlace(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.store.BinItem(r.Context(), pl.Drive.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	it, err := h.store.RestoreItem(r.Context(), actor(r), pl.Drive.ID, b.Item.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf("Restored “%s” to %s", b.Item.Name, pl.rootName()+it.ParentPath)
	if it.Name != b.Item.Name {
		msg += fmt.Sprintf(" as “%s”, since the name was taken", it.Name)
	}
	msg += ". Its sharing links stay off until you turn them on again under Share."
	setFlash(w, r, msg)
	redirect(w, r, binURL(pl))
}

// purgeBinItem is POST …/recycle/{id}/delete: gone for good.
func (h *Handler) purgeBinItem(w http.ResponseWriter, r *http.Request) {
	pl, err := h.binPlace(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.store.BinItem(r.Context(), pl.Drive.ID, r.PathValue("id"))
	if err == nil {
		err = h.store.PurgeItem(r.Context(), actor(r), pl.Drive.ID, b.Item.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Deleted “%s” permanently.", b.Item.Name))
	redirect(w, r, binURL(pl))
}

// emptyRecycleBin is POST …/recycle/empty.
func (h *Handler) emptyRecycleBin(w http.ResponseWriter, r *http.Request) {
	pl, err := h.binPlace(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := h.store.EmptyRecycleBin(r.Context(), actor(r), pl.Drive.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if n == 1 {
		setFlash(w, r, "Emptied the recycle bin: 1 item deleted permanently.")
	} else {
		setFlash(w, r, fmt.Sprintf("Emptied the recycle bin: %d items deleted permanently.", n))
	}
	redirect(w, r, binURL(pl))
}

// enableLink is POST /items/{id}/access/{perm}/enable: a restored item's
// dormant link is turned on again (the store records it).
func (h *Handler) enableLink(w http.ResponseWriter, r *http.Request) {
	pl, it, err := h.item(r, gatehouse.ActManageAccess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.store.EnableLink(r.Context(), actor(r), pl.Drive.ID, it.ID, r.PathValue("perm")); err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, "The link works again for everyone on it.")
	redirect(w, r, pl.prefix()+"/items/"+url.PathEscape(it.ID)+"/share#access")
}
