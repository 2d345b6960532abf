package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/content"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// driveItemVersion is the Graph driveItemVersion resource.
type driveItemVersion struct {
	ID                   string      `json:"id"`
	LastModifiedDateTime time.Time   `json:"lastModifiedDateTime"`
	Size                 int64       `json:"size"`
	LastModifiedBy       identitySet `json:"lastModifiedBy"`
	DownloadURL          string      `json:"@microsoft.graph.downloadUrl,omitempty"`
}

// modifiedBy shows who changed an item: a user by id, email and name, or
// an ad hoc recipient, whom modified_by names by address.
func modifiedBy(id, email, name string) identitySet {
	if strings.Contains(id, "@") {
		return identitySet{identity{Email: id, DisplayName: id}}
	}
	return identitySet{identity{ID: id, Email: email, DisplayName: name}}
}

func (h *Handler) versionJSON(it *gatehouse.Item, v store.Version) driveItemVersion {
	id := versionID(v.Number)
	return driveItemVersion{ID: id, LastModifiedDateTime: v.ModifiedAt, Size: v.Size,
		LastModifiedBy: modifiedBy(v.ModifiedBy, v.ModifiedByEmail, v.ModifiedByName),
		DownloadURL:    h.cfg.BaseURL + "/v1.0/drives/" + it.DriveID + "/items/" + it.ID + "/versions/" + id + "/content"}
}

// versionID is a version's id as Graph spells it: "3.0".
func versionID(n int) string { return strconv.Itoa(n) + ".0" }

// versionNumber reads the {v} of a route: "3.0", or "3".
func versionNumber(r *http.Request) (int, error) {
	s := strings.TrimSuffix(r.PathValue("v"), ".0")
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strconv.Itoa(n) != s {
		return 0, gatehouse.Errorf(gatehouse.ENOTFOUND, "The version was not found; version ids look like \"3.0\".")
	}
	return n, nil
}

func (h *Handler) listVersions(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActRead)
	if err != nil {
		return err
	}
	vs, err := h.store.Versions(r.Context(), it)
	if err != nil {
		return err
	}
	out := make([]driveItemVersion, 0, len(vs))
	for _, v := range vs {
		out = append(out, h.versionJSON(it, v))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// versionContent serves a version's bytes as the current content is
// served, its download record naming the version.
func (h *Handler) versionContent(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActDownload)
	if err != nil {
		return err
	}
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	v, err := h.store.Version(r.Context(), it, n)
	if err != nil {
		return err
	}
	at := *it
	at.Size, at.SHA256, at.BlobKey, at.ModifiedAt = v.Size, v.SHA256, v.BlobKey, v.ModifiedAt
	return content.ServeData(w, r, h.store, c.Actor, &at, map[string]any{"version": versionID(n)})
}

func (h *Handler) restoreVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActWrite)
	if err != nil {
		return err
	}
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	if _, err := h.store.RestoreVersion(r.Context(), c.Actor, it.DriveID, it.ID, n); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
