package api

import (
	"net/http"

	"gatehouse"
	"gatehouse/internal/content"
)

// preview is GET /v1.0/drives/{d}/items/{i}/preview (a Gatehouse route):
// the file inline, for a page to show, if it is an image, a PDF or plain
// text (content.Preview decides from its bytes); 415 otherwise. Whoever may
// read the item may preview it, through a view-only link too.
func (h *Handler) preview(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActRead)
	if err != nil {
		return err
	}
	return content.Preview(w, r, h.store, c.Actor, it)
}
