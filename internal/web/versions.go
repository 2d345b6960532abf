package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"gatehouse"
	"gatehouse/internal/content"
)

// versionsData is the version history panel of a file.
type versionsData struct {
	base
	Item     *gatehouse.Item
	Back     string
	Prefix   string
	CanWrite bool
	Versions []versionRow
}

type versionRow struct {
	Number     int
	Current    bool
	Size       int64
	ModifiedAt string // ISO, for <time datetime>
	When       string
	By         string
}

func itemVersionsURL(pl *place, id string) string {
	return pl.prefix() + "/items/" + url.PathEscape(id) + "/versions"
}

// versionParam reads {v}: a version number, "3" (or "3.0", as the API
// spells it).
func versionParam(r *http.Request) (int, error) {
	s := r.PathValue("v")
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strconv.Itoa(n) != s {
		return 0, gatehouse.Errorf(gatehouse.ENOTFOUND, "That version was not found.")
	}
	return n, nil
}

// versions is GET /items/{id}/versions: the file's versions, the current
// one first, each with who made it, when and its size, to download or
// (with write access) restore.
func (h *Handler) versions(w http.ResponseWriter, r *http.Request) {
	it, f, pl, err := h.itemFacts(r, gatehouse.ActRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vs, err := h.store.Versions(r.Context(), it)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &versionsData{base: h.base(w, r, "Versions of “"+it.Name+"”"), Item: it, Back: pl.folderURL(it.ParentID), Prefix: pl.prefix(),
		CanWrite: gatehouse.Authorize(callerFrom(r).Principal, gatehouse.ActWrite, f) == nil}
	d.Section = "files"
	if pl.Site != nil {
		d.Section = "sites"
	}
	for i, v := range vs {
		by := modifiedBy(v.ModifiedByName, v.ModifiedByEmail, v.ModifiedBy)
		d.Versions = append(d.Versions, versionRow{Number: v.Number, Current: i == 0, Size: v.Size,
			ModifiedAt: v.ModifiedAt.UTC().Format("2006-01-02T15:04:05Z07:00"), When: v.ModifiedAt.UTC().Format("2006-01-02 15:04 UTC"), By: by})
	}
	h.render(w, r, http.StatusOK, "versions", d)
}

// downloadVersion is GET /items/{id}/versions/{v}/download: a version's
// bytes, recorded as a download naming the version, as the API does.
func (h *Handler) downloadVersion(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.item(r, gatehouse.ActDownload)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := versionParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.store.Version(r.Context(), it, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	at := *it
	at.Size, at.SHA256, at.BlobKey, at.ModifiedAt = v.Size, v.SHA256, v.BlobKey, v.ModifiedAt
	if err := content.ServeData(w, r, h.store, actor(r), &at, map[string]any{"version": strconv.Itoa(n) + ".0"}); err != nil {
		h.fail(w, r, err)
	}
}

// restoreVersion is POST /items/{id}/versions/{v}/restore: the version
// becomes a new current version (the store records FileVersionRestored).
func (h *Handler) restoreVersion(w http.ResponseWriter, r *http.Request) {
	pl, it, err := h.item(r, gatehouse.ActWrite)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := versionParam(r)
	if err == nil {
		_, err = h.store.RestoreVersion(r.Context(), actor(r), pl.Drive.ID, it.ID, n)
	}
	if err != nil {
		// A page left open can offer a version that is current by now:
		// the error page says so in a sentence.
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Restored version %d of “%s”. It is now the current version; the one it replaced is kept in the history.", n, it.Name))
	redirect(w, r, itemVersionsURL(pl, it.ID))
}
