package web

import (
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"gatehouse"
	"gatehouse/internal/content"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// folderPageSize is how many children one page of a folder lists.
const folderPageSize = 500

type folderData struct {
	base
	Drive     *gatehouse.Drive
	Folder    *gatehouse.Item
	Crumbs    []*gatehouse.Item // from the root down to the folder
	Items     []*gatehouse.Item // folders first, then files, each by name
	More      string            // address of the next page, if any
	MaxUpload int64
	NewName   string // the new-folder field, kept after an error
}

// item loads the item of the path (the root of the user's drive without
// one) with the facts of the access decision, and asks the decision whether
// the signed-in user may take act on it. The UI's addresses name items of
// the user's own personal drive: an id of any other drive is not found.
func (h *Handler) item(r *http.Request, act gatehouse.Action) (*gatehouse.Drive, *gatehouse.Item, error) {
	c := callerFrom(r)
	d, err := h.store.DriveByOwner(r.Context(), c.UserID)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("id")
	if id == "" {
		id = d.RootID
	}
	it, f, err := h.store.ItemFacts(r.Context(), c.Principal, d.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if err := gatehouse.Authorize(c.Principal, act, f); err != nil {
		return nil, nil, err
	}
	return d, it, nil
}

// folderURL is the page of a folder; the root is /files.
func folderURL(d *gatehouse.Drive, id string) string {
	if id == "" || id == d.RootID {
		return "/files"
	}
	return "/files/" + url.PathEscape(id)
}

// folder shows a folder of the user's drive: /files is the root.
func (h *Handler) folder(w http.ResponseWriter, r *http.Request) {
	if c := callerFrom(r); c.Kind == gatehouse.KindGuest && r.PathValue("id") == "" {
		redirect(w, r, "/shared") // a guest's start page, as after signing in
		return
	}
	d, it, err := h.item(r, gatehouse.ActRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showFolder(w, r, d, it.ID, http.StatusOK, "")
}

// showFolder renders a folder with an optional error, the answer to a GET
// and to a form that failed.
func (h *Handler) showFolder(w http.ResponseWriter, r *http.Request, d *gatehouse.Drive, id string, status int, errMsg string) {
	if id == "" {
		id = d.RootID
	}
	ctx := r.Context()
	var after *store.ChildCursor
	if a := r.URL.Query().Get("after"); a != "" && r.Method == http.MethodGet {
		after = decodeChildCursor(a)
	}
	items, next, err := h.store.Children(ctx, d.ID, id, after, folderPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	crumbs, err := h.store.Breadcrumbs(ctx, d.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Folders first; the store already sorts each kind by name.
	slices.SortStableFunc(items, func(a, b *gatehouse.Item) int {
		switch {
		case a.IsFolder == b.IsFolder:
			return 0
		case a.IsFolder:
			return -1
		}
		return 1
	})
	data := &folderData{base: h.base(w, r, "My files"), Drive: d, Folder: crumbs[len(crumbs)-1], Crumbs: crumbs,
		Items: items, MaxUpload: h.cfg.MaxUpload}
	if len(crumbs) > 1 {
		data.Title = data.Folder.Name
	}
	data.Section, data.Error = "files", errMsg
	if next != nil {
		data.More = folderURL(d, id) + "?after=" + encodeChildCursor(next)
	}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/folder") {
		data.NewName = r.PostFormValue("name")
	}
	h.render(w, r, status, "files", data)
}

// The cursor of a folder page is the name key and id of its last child.
// Names hold no control characters, so a NUL separates them.
func encodeChildCursor(c *store.ChildCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.NameKey + "\x00" + c.ID))
}

func decodeChildCursor(s string) *store.ChildCursor {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	k, id, ok := strings.Cut(string(b), "\x00")
	if !ok {
		return nil
	}
	return &store.ChildCursor{NameKey: k, ID: id}
}

// formFailed renders the folder again with the store's message, or an error
// page when the folder itself is the problem.
func (h *Handler) formFailed(w http.ResponseWriter, r *http.Request, d *gatehouse.Drive, folderID string, err error) {
	code := gatehouse.ErrorCode(err)
	if code == gatehouse.EINTERNAL {
		h.fail(w, r, err)
		return
	}
	httpx.LogError(r, err)
	h.showFolder(w, r, d, folderID, httpx.Status(code), gatehouse.ErrorMessage(err))
}

func (h *Handler) createFolder(w http.ResponseWriter, r *http.Request) {
	d, parent, err := h.item(r, gatehouse.ActWrite)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := parent.ID
	it, err := h.store.CreateFolder(r.Context(), actor(r), d.ID, id, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		h.formFailed(w, r, d, id, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Created the folder “%s”.", it.Name))
	redirect(w, r, folderURL(d, id))
}

// uploadSlack is room in an upload body for the form fields and the headers
// of the parts around the files.
const uploadSlack = 1 << 20

// upload stores the files of a multipart form. The body is read as a stream:
// the CSRF token is the first part and is checked before any file is read,
// and each file goes straight to the content store.
//
// app.js sends the same form with XMLHttpRequest and Accept:
// application/json; it gets JSON with the address to go to instead of a
// redirect, so that the flash message survives until that page.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload+uploadSlack)
	mr, ok := streamCSRF(r)
	if !ok {
		h.fail(w, r, formExpired(r))
		return
	}
	d, f, ferr := h.item(r, gatehouse.ActWrite)
	if ferr != nil {
		h.fail(w, r, ferr)
		return
	} else if !f.IsFolder {
		h.fail(w, r, gatehouse.Errorf(gatehouse.EINVALID, "%q is a file, not a folder.", f.Name))
		return
	}
	id := f.ID
	var names []string
	var storeErr error
	var err error
	for {
		var p *multipart.Part
		if p, err = mr.NextPart(); err != nil {
			break
		}
		if p.FormName() != "file" || p.FileName() == "" {
			continue // the CSRF field again, or an empty file input
		}
		it, _, perr := h.store.PutFile(r.Context(), actor(r), d.ID, id, p.FileName(), p, h.cfg.MaxUpload)
		if perr != nil {
			storeErr = perr
			break
		}
		names = append(names, it.Name)
	}
	err = uploadOutcome(r, err, storeErr, names, h.cfg.MaxUpload, "Choose one or more files to upload.")
	if err != nil {
		if wantsJSON(r) {
			h.fail(w, r, err)
			return
		}
		h.formFailed(w, r, d, id, err)
		return
	}
	setFlash(w, r, uploadedMessage(names))
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"location": folderURL(d, id)})
		return
	}
	redirect(w, r, folderURL(d, id))
}

func uploadedMessage(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("Uploaded “%s”.", names[0])
	}
	return fmt.Sprintf("Uploaded %d files.", len(names))
}

func (h *Handler) rename(w http.ResponseWriter, r *http.Request) {
	d, it, err := h.item(r, gatehouse.ActWrite)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if _, err := h.store.UpdateItem(r.Context(), actor(r), d.ID, it.ID, store.ItemUpdate{Name: &name}); err != nil {
		h.formFailed(w, r, d, it.ParentID, err)
		return
	}
	if name != it.Name {
		setFlash(w, r, fmt.Sprintf("Renamed “%s” to “%s”.", it.Name, name))
	}
	redirect(w, r, folderURL(d, it.ParentID))
}

func (h *Handler) deleteItem(w http.ResponseWriter, r *http.Request) {
	d, it, err := h.item(r, gatehouse.ActDelete)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.DeleteItem(r.Context(), actor(r), d.ID, it.ID); err != nil {
		h.formFailed(w, r, d, it.ParentID, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Deleted “%s”.", it.Name))
	redirect(w, r, folderURL(d, it.ParentID))
}

// download sends a file as an attachment, after recording the download.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.item(r, gatehouse.ActDownload)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := content.Serve(w, r, h.store, actor(r), it); err != nil {
		h.fail(w, r, err)
	}
}
