package api

import (
	"net/http"

	"gatehouse"
	"gatehouse/internal/content"
)

// archive is GET /v1.0/drives/{d}/items/{i}/archive (a Gatehouse route): a
// folder and everything in it as a zip, streamed, and recorded once as the
// folder's FileDownloaded. Whoever may download from the folder may; a
// view-only link may not.
func (h *Handler) archive(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActDownload)
	if err != nil {
		return err
	}
	return content.Archive(w, r, h.store, c.Actor, it)
}
