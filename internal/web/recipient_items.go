package web

import (
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/authn"
	"gatehouse/internal/content"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// sharedItem is what a recipient learns about an item: no owner, no path
// above the shared item, no internal ids but the item's own.
type sharedItem struct {
	ID                   string        `json:"id"`
	Name                 string        `json:"name"`
	Size                 int64         `json:"size"`
	LastModifiedDateTime time.Time     `json:"lastModifiedDateTime"`
	File                 *sharedFile   `json:"file,omitempty"`
	Folder               *sharedFolder `json:"folder,omitempty"`
}

type sharedFile struct {
	MimeType string `json:"mimeType"`
}

type sharedFolder struct {
	ChildCount int `json:"childCount"`
}

func sharedItemJSON(it *gatehouse.Item) sharedItem {
	s := sharedItem{ID: it.ID, Name: it.Name, Size: it.Size, LastModifiedDateTime: it.ModifiedAt}
	if it.IsFolder {
		s.Folder = &sharedFolder{ChildCount: it.ChildCount}
	} else {
		s.File = &sharedFile{MimeType: it.MimeType}
	}
	return s
}

// sharedData is the page of a shared file or of a folder inside a share.
type sharedData struct {
	base
	Token     string
	Item      *gatehouse.Item
	Crumbs    []*gatehouse.Item // from the shared folder down to Item
	Children  []*gatehouse.Item
	More      string
	Download  string // the content address of a file
	CanUpload bool
	Recipient string // the verified address; "" for a signed-in user
	MaxUpload int64
	Context   shareContext // who shared it, their message, the permission and expiry
	// Previews and Download all: ViewOnly is a preventsDownload link,
	// which shows files but offers no download; Preview is the inline
	// content of a file of PreviewKind; Archive zips a folder; Back is
	// the folder a file inside the share is in.
	ViewOnly             bool
	Preview, PreviewKind string
	Archive, Back        string
}

// shareURL is the page of an item inside the share of token.
func shareURL(token string, l *gatehouse.Link, id string) string {
	if id == l.ItemID {
		return "/s/" + url.PathEscape(token)
	}
	return "/s/" + url.PathEscape(token) + "/items/" + url.PathEscape(id)
}

// foldersFirst orders a listing as file managers do; the store already
// sorts each kind by name.
func foldersFirst(items []*gatehouse.Item) {
	slices.SortStableFunc(items, func(a, b *gatehouse.Item) int {
		switch {
		case a.IsFolder == b.IsFolder:
			return 0
		case a.IsFolder:
			return -1
		}
		return 1
	})
}

// sharedChildren lists a page of a folder inside the share.
func (h *Handler) sharedChildren(r *http.Request, l *gatehouse.Link, it *gatehouse.Item) ([]*gatehouse.Item, string, error) {
	var after *store.ChildCursor
	if a := r.URL.Query().Get("after"); a != "" {
		after = decodeChildCursor(a)
	}
	items, next, err := h.store.Children(r.Context(), l.DriveID, it.ID, after, folderPageSize)
	if err != nil {
		return nil, "", err
	}
	more := ""
	if next != nil {
		more = "?after=" + encodeChildCursor(next)
	}
	return items, more, nil
}

// showShared answers with a shared item: JSON, or its page with the
// listing of a folder and the upload form of an edit link.
func (h *Handler) showShared(w http.ResponseWriter, r *http.Request, l *gatehouse.Link, c *authn.Caller, it *gatehouse.Item) {
	token := r.PathValue("token")
	var children []*gatehouse.Item
	var more string
	if it.IsFolder {
		var err error
		if children, more, err = h.sharedChildren(r, l, it); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	sc, err := h.verifiedContext(r, l, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		out := map[string]any{"verified": true, "item": sharedItemJSON(it), "share": sc.json(l)}
		if it.IsFolder {
			out["children"] = sharedList(children)
			if more != "" {
				out["@odata.nextLink"] = h.cfg.BaseURL + shareURL(token, l, it.ID) + "/children" + more
			}
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return
	}
	d := &sharedData{base: h.base(w, r, it.Name), Token: token, Item: it, Children: children,
		CanUpload: l.Role == gatehouse.RoleWrite && (it.IsFolder || it.ID == l.ItemID), MaxUpload: h.cfg.MaxUpload, Context: sc}
	d.User = c.User
	if c.User == nil {
		d.Recipient = c.Email
	} else {
		d.Section = "files"
	}
	if more != "" {
		d.More = shareURL(token, l, it.ID) + more
	}
	if it.IsFolder {
		foldersFirst(d.Children)
		crumbs, err := h.store.Breadcrumbs(r.Context(), l.DriveID, it.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		// Only the part inside the share: what lies above is not theirs to see.
		for i, c := range crumbs {
			if c.ID == l.ItemID {
				d.Crumbs = crumbs[i:]
				break
			}
		}
	} else if it.ID == l.ItemID {
		d.Download = "/s/" + url.PathEscape(token) + "/content"
	} else {
		d.Download = shareURL(token, l, it.ID) + "/content"
	}
	if err := h.previewParts(d, l, it); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "recipient_item", d)
}

func sharedList(items []*gatehouse.Item) []sharedItem {
	out := make([]sharedItem, 0, len(items))
	for _, it := range items {
		out = append(out, sharedItemJSON(it))
	}
	return out
}

// linkItem checks access to the link and loads the item of the path inside
// the share, asking the decision whether the caller may take act on it.
func (h *Handler) linkItem(r *http.Request, act gatehouse.Action) (*gatehouse.Link, *authn.Caller, *gatehouse.Item, error) {
	l, c, f, err := h.linkAccess(r)
	if err != nil {
		return nil, nil, nil, err
	}
	id := r.PathValue("id")
	if id == "" {
		id = l.ItemID
	}
	it, err := h.linkedItem(r, l, c, f, id, act)
	if err != nil {
		return nil, nil, nil, err
	}
	return l, c, it, nil
}

// sharedItemPage is GET /s/{token}/items/{id}.
func (h *Handler) sharedItemPage(w http.ResponseWriter, r *http.Request) {
	l, c, it, err := h.linkItem(r, gatehouse.ActRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !it.IsFolder && r.Method != http.MethodHead {
		if err := h.store.RecordAccess(r.Context(), c.Actor, gatehouse.OpFileAccessed, it); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.showShared(w, r, l, c, it)
}

// sharedItemChildren is GET /s/{token}/items/{id}/children: Graph's
// {"value": [...]} as JSON, the folder's page otherwise.
func (h *Handler) sharedItemChildren(w http.ResponseWriter, r *http.Request) {
	l, c, it, err := h.linkItem(r, gatehouse.ActRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !it.IsFolder {
		h.fail(w, r, gatehouse.Errorf(gatehouse.EINVALID, "“%s” is a file, not a folder.", it.Name))
		return
	}
	if !wantsJSON(r) {
		h.showShared(w, r, l, c, it)
		return
	}
	children, more, err := h.sharedChildren(r, l, it)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := map[string]any{"value": sharedList(children)}
	if more != "" {
		out["@odata.nextLink"] = h.cfg.BaseURL + shareURL(r.PathValue("token"), l, it.ID) + "/children" + more
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// sharedContent is GET /s/{token}/content and /s/{token}/items/{id}/content:
// the file as an attachment, recorded before it is sent.
func (h *Handler) sharedContent(w http.ResponseWriter, r *http.Request) {
	_, c, it, err := h.linkItem(r, gatehouse.ActDownload)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := content.Serve(w, r, h.store, c.Actor, it); err != nil {
		h.fail(w, r, err)
	}
}

// sharedUpload is POST /s/{token}/upload on an edit link: files go into a
// folder of the share (the form's parent, which precedes the files, or the
// shared folder), or replace the shared file of a file link.
func (h *Handler) sharedUpload(w http.ResponseWriter, r *http.Request) {
	l, c, f, err := h.linkAccess(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Asked before the body is read; the store asks again at the commit.
	if err := gatehouse.Authorize(c.Principal, gatehouse.ActWrite, f); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN {
			// The caller may read (linkAccess): it is the link's role.
			err = gatehouse.Errorf(gatehouse.EFORBIDDEN, "This link lets you view and download only.")
		}
		h.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload+uploadSlack)
	mr, ok := streamCSRF(r)
	if !ok {
		h.fail(w, r, formExpired(r))
		return
	}
	ctx := r.Context()
	shared, err := h.linkedItem(r, l, c, f, l.ItemID, gatehouse.ActWrite)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	folder := shared
	if id := r.URL.Query().Get("parent"); id != "" && shared.IsFolder {
		if folder, err = h.sharedFolder(r, l, c, f, id); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	var names []string
	var storeErr error
	put := func(parentID, name string, p io.Reader) {
		it, _, perr := h.store.PutFileThroughLink(ctx, c.Actor, l, parentID, name, p, h.cfg.MaxUpload)
		if perr != nil {
			storeErr = perr
			return
		}
		names = append(names, it.Name)
	}
	for storeErr == nil {
		var p *multipart.Part
		if p, err = mr.NextPart(); err != nil {
			break
		}
		switch {
		case p.FormName() == "parent" && shared.IsFolder && len(names) == 0:
			if id, _ := io.ReadAll(io.LimitReader(p, 256)); len(id) > 0 {
				folder, storeErr = h.sharedFolder(r, l, c, f, string(id))
			}
		case p.FormName() != "file" || p.FileName() == "":
			// the CSRF field again, or an empty file input
		case !shared.IsFolder && len(names) > 0:
			storeErr = gatehouse.Errorf(gatehouse.EINVALID, "This link shares one file: upload one file to replace it.")
		case !shared.IsFolder:
			// The upload replaces the shared file, whatever the new file is called.
			put(shared.ParentID, shared.Name, p)
		default:
			put(folder.ID, p.FileName(), p)
		}
	}
	if err = uploadOutcome(r, err, storeErr, names, h.cfg.MaxUpload, "Choose a file to upload."); err != nil {
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, uploadedMessage(names))
	back := shareURL(r.PathValue("token"), l, folder.ID)
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"location": back})
		return
	}
	redirect(w, r, back)
}

// sharedFolder returns a folder inside the share that the caller may
// upload to.
func (h *Handler) sharedFolder(r *http.Request, l *gatehouse.Link, c *authn.Caller, f gatehouse.ItemFacts, id string) (*gatehouse.Item, error) {
	if strings.ContainsAny(id, "/\\") || strings.Contains(id, "..") {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "The folder was not found.")
	}
	it, err := h.linkedItem(r, l, c, f, id, gatehouse.ActWrite)
	if err != nil {
		return nil, err
	}
	if !it.IsFolder {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "“%s” is a file, not a folder.", it.Name)
	}
	return it, nil
}
