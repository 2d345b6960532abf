package web

import (
	"net/http"
	"net/url"

	"gatehouse"
	"gatehouse/internal/content"
)

// previewData is the preview page of a file of the user's drive or a site.
type previewData struct {
	base
	Item     *gatehouse.Item
	Kind     string // gatehouse.PreviewImage, PreviewPDF, PreviewText; "" for no preview
	Preview  string // the address of the inline content
	Download string // the attachment's address; "" when not allowed
	Back     string // the folder the file is in
	BackName string
}

// viewFile is GET /items/{id}/view (and under /sites/{site}): a page with
// the file shown inline if it is an image, a PDF or text, its name and
// size, Download and Back. Other types say they have no preview.
func (h *Handler) viewFile(w http.ResponseWriter, r *http.Request) {
	it, f, pl, err := h.itemFacts(r, gatehouse.ActRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if it.IsFolder {
		redirect(w, r, pl.folderURL(it.ID))
		return
	}
	kind, err := content.Previewable(h.store, it)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	item := pl.prefix() + "/items/" + url.PathEscape(it.ID)
	d := &previewData{base: h.base(w, r, it.Name), Item: it, Kind: kind, Back: pl.folderURL(it.ParentID), BackName: pl.rootName()}
	if kind != "" {
		d.Preview = item + "/preview"
	}
	if gatehouse.Authorize(callerFrom(r).Principal, gatehouse.ActDownload, f) == nil {
		d.Download = item + "/download"
	}
	if crumbs, err := h.store.Breadcrumbs(r.Context(), pl.Drive.ID, it.ParentID); err == nil && len(crumbs) > 1 {
		d.BackName = crumbs[len(crumbs)-1].Name
	}
	d.Section = "files"
	if pl.Site != nil {
		d.Section = "sites"
	}
	h.render(w, r, http.StatusOK, "preview", d)
}

// previewContent is GET /items/{id}/preview (and under /sites/{site}): the
// file inline for the preview page, or 415 for a type with no preview.
func (h *Handler) previewContent(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.item(r, gatehouse.ActRead)
	if err == nil {
		err = content.Preview(w, r, h.store, actor(r), it)
	}
	if err != nil {
		h.fail(w, r, noPreview(err))
	}
}

// archive is GET /items/{id}/archive (and under /sites/{site}): Download
// all of a folder, as a zip.
func (h *Handler) archive(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.item(r, gatehouse.ActDownload)
	if err == nil {
		err = content.Archive(w, r, h.store, actor(r), it)
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// sharedPreview is GET /s/{token}/items/{id}/preview: the file inline for
// the recipient's file page. A view-only link allows it.
func (h *Handler) sharedPreview(w http.ResponseWriter, r *http.Request) {
	_, c, it, err := h.linkItem(r, gatehouse.ActRead)
	if err == nil {
		err = content.Preview(w, r, h.store, c.Actor, it)
	}
	if err != nil {
		h.fail(w, r, noPreview(err))
	}
}

// sharedArchive is GET /s/{token}/items/{id}/archive: Download all of a
// folder inside the share, as a zip; refused through a view-only link.
func (h *Handler) sharedArchive(w http.ResponseWriter, r *http.Request) {
	_, c, it, err := h.linkItem(r, gatehouse.ActDownload)
	if err == nil {
		err = content.Archive(w, r, h.store, c.Actor, it)
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// noPreview gives a type with no preview its page heading.
func noPreview(err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EUNSUPPORTED {
		return headed("No preview for this type", err)
	}
	return err
}

// previewParts fills in the recipient page's preview, Download all and
// Back, and takes Download away on a view-only link.
func (h *Handler) previewParts(d *sharedData, l *gatehouse.Link, it *gatehouse.Item) error {
	d.ViewOnly = l.PreventsDownload
	item := "/s/" + url.PathEscape(d.Token) + "/items/" + url.PathEscape(it.ID)
	if it.IsFolder {
		if !d.ViewOnly && len(d.Children) > 0 {
			d.Archive = item + "/archive"
		}
		return nil
	}
	if d.ViewOnly {
		d.Download = ""
	}
	if it.ID != l.ItemID {
		d.Back = shareURL(d.Token, l, it.ParentID)
	}
	kind, err := content.Previewable(h.store, it)
	if err != nil || kind == "" {
		return err
	}
	d.PreviewKind, d.Preview = kind, item+"/preview"
	return nil
}
