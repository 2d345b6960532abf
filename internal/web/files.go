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
const folderPageSize = 200

type folderData struct {
	base
	Drive     *gatehouse.Drive
	Folder    *gatehouse.Item
	Crumbs    []*gatehouse.Item // from the root down to the folder
	Items     []fileRow         // folders first, then files, each by name
	More      string            // address of the next page, if any
	MaxUpload int64
	NewName   string // the new-folder field, kept after an error
	// A failed form's error, tied to its field: the new folder's name, the
	// upload's files, or the rename of item RenameID (RenameName as typed).
	FolderError, UploadError          string
	RenameID, RenameName, RenameError string
	// Where the folder is: the addresses of its items start with Prefix
	// ("" or /sites/{site}); its root is RootURL, called RootName.
	Prefix, RootURL, RootName string
	// What the caller may do here, as the access decision says.
	CanWrite, CanShare, CanDelete bool
	Outside                       bool       // an administrator on a site's page who is in none of its groups
	Site                          *sitePanel // a site's page: its Members panel
}

// fileRow is one item of a folder page: the item, how widely it is shared
// through its own links, and who last changed it.
type fileRow struct {
	*gatehouse.Item
	Shared     store.ShareCount // zero Links: not shared
	Losing     int              // people a delete cuts off, for its confirm (recycle.go)
	ModifiedBy string
}

// SharedLabel words the reach of a shared item: "3 people", "1 group".
func (r fileRow) SharedLabel() string {
	return sharedLabel(r.Shared.People, r.Shared.Groups)
}

func sharedLabel(people, groups int) string {
	var parts []string
	switch people {
	case 0:
	case 1:
		parts = append(parts, "1 person")
	default:
		parts = append(parts, fmt.Sprintf("%d people", people))
	}
	switch groups {
	case 0:
	case 1:
		parts = append(parts, "1 group")
	default:
		parts = append(parts, fmt.Sprintf("%d groups", groups))
	}
	if len(parts) == 0 {
		return "nobody yet"
	}
	return strings.Join(parts, ", ")
}

// modifiedBy names who last changed an item: a member's or guest's name,
// or the address of an ad hoc recipient, who has no account. A deleted
// user's id means nothing to a reader, so it shows as nobody.
func modifiedBy(name, email, by string) string {
	switch {
	case name != "":
		return name
	case email != "":
		return email
	case strings.Contains(by, "@"):
		return by
	}
	return ""
}

// folderURL is the page of a folder of the user's own drive; the root is
// /files.
func folderURL(d *gatehouse.Drive, id string) string {
	if id == "" || id == d.RootID {
		return "/files"
	}
	return "/files/" + url.PathEscape(id)
}

// place is where the items of a page live: the user's own drive (/files)
// or a site's (/sites/{site}).
type place struct {
	Drive *gatehouse.Drive
	Site  *gatehouse.Site // nil for the user's own drive
}

// prefix is what the addresses of the place's items start with.
func (pl *place) prefix() string {
	if pl.Site == nil {
		return ""
	}
	return siteURL(pl.Site.ID)
}

// folderURL is the page of a folder of the place; its root is /files or
// the site's page.
func (pl *place) folderURL(id string) string {
	if pl.Site == nil {
		return folderURL(pl.Drive, id)
	}
	if id == "" || id == pl.Drive.RootID {
		return pl.prefix()
	}
	return pl.prefix() + "/files/" + url.PathEscape(id)
}

// rootName is what the crumbs call the root folder.
func (pl *place) rootName() string {
	if pl.Site == nil {
		return "My files"
	}
	return pl.Site.DisplayName
}

// place loads the drive of the path: the site's with a {site}, which the
// caller must be able to see, or else the user's own.
func (h *Handler) place(r *http.Request) (*place, error) {
	c := callerFrom(r)
	if id := r.PathValue("site"); id != "" {
		st, access, err := h.store.SiteFacts(r.Context(), c.Principal, id)
		if err != nil {
			return nil, err
		}
		if err := gatehouse.AuthorizeSite(c.Principal, gatehouse.SiteRead, access); err != nil {
			return nil, err
		}
		d, err := h.store.Drive(r.Context(), st.DriveID)
		if err != nil {
			return nil, err
		}
		return &place{Drive: d, Site: st}, nil
	}
	d, err := h.store.DriveByOwner(r.Context(), c.UserID)
	if err != nil {
		return nil, err
	}
	return &place{Drive: d}, nil
}

// item loads the item of the path (the root of the place's drive without
// one) with the facts of the access decision, and asks the decision whether
// the signed-in user may take act on it. The UI's addresses name items of
// the user's own personal drive, or under /sites/{site} of the site's: an
// id of any other drive is not found.
func (h *Handler) item(r *http.Request, act gatehouse.Action) (*place, *gatehouse.Item, error) {
	it, _, pl, err := h.itemFacts(r, act)
	return pl, it, err
}

// itemFacts is item with the facts, for pages that show what else the
// caller may do.
func (h *Handler) itemFacts(r *http.Request, act gatehouse.Action) (*gatehouse.Item, gatehouse.ItemFacts, *place, error) {
	c := callerFrom(r)
	pl, err := h.place(r)
	if err != nil {
		return nil, gatehouse.ItemFacts{}, nil, err
	}
	id := r.PathValue("id")
	if id == "" {
		id = pl.Drive.RootID
	}
	it, f, err := h.store.ItemFacts(r.Context(), c.Principal, pl.Drive.ID, id)
	if err != nil {
		return nil, f, nil, err
	}
	if err := gatehouse.Authorize(c.Principal, act, f); err != nil {
		return nil, f, nil, err
	}
	return it, f, pl, nil
}

// folder shows a folder of the user's drive (/files is the root) or of a
// site (/sites/{site}/files/{id}).
func (h *Handler) folder(w http.ResponseWriter, r *http.Request) {
	if c := callerFrom(r); c.Kind == gatehouse.KindGuest && r.PathValue("id") == "" && r.PathValue("site") == "" {
		redirect(w, r, "/shared") // a guest's start page, as after signing in
		return
	}
	it, f, pl, err := h.itemFacts(r, gatehouse.ActRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showFolder(w, r, pl, it.ID, &f, http.StatusOK, "")
}

// showFolder renders a folder with an optional error, the answer to a GET
// and to a form that failed. The facts of the folder say which forms it
// shows; without them it loads them.
func (h *Handler) showFolder(w http.ResponseWriter, r *http.Request, pl *place, id string, f *gatehouse.ItemFacts, status int, errMsg string) {
	d := pl.Drive
	if id == "" {
		id = d.RootID
	}
	ctx := r.Context()
	p := callerFrom(r).Principal
	if f == nil {
		_, facts, err := h.store.ItemFacts(ctx, p, d.ID, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f = &facts
	}
	var after *store.ChildCursor
	if a := r.URL.Query().Get("after"); a != "" && r.Method == http.MethodGet {
		after = decodeChildCursor(a)
	}
	// Only an administrator outside a site's groups gets here without
	// read access (sitePage): the page shows the site, not its files.
	outside := gatehouse.Authorize(p, gatehouse.ActRead, *f) != nil
	var items []*gatehouse.Item
	var next *store.ChildCursor
	var err error
	if !outside {
		if items, next, err = h.store.Children(ctx, d.ID, id, after, folderPageSize); err != nil {
			h.fail(w, r, err)
			return
		}
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
	// One more query marks the shared items of the page.
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	counts, err := h.store.ShareCounts(ctx, ids)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	canDelete := gatehouse.Authorize(p, gatehouse.ActDelete, *f) == nil
	var losing map[string]int
	if canDelete {
		if losing, err = h.store.LosingAccessIn(ctx, d.ID, ids); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	rows := make([]fileRow, len(items))
	for i, it := range items {
		rows[i] = fileRow{Item: it, Shared: counts[it.ID], Losing: losing[it.ID], ModifiedBy: modifiedBy(it.ModifiedByName, it.ModifiedByEmail, it.ModifiedBy)}
	}
	data := &folderData{base: h.base(w, r, pl.rootName()), Drive: d, Folder: crumbs[len(crumbs)-1], Crumbs: crumbs,
		Items: rows, MaxUpload: h.cfg.MaxUpload, Prefix: pl.prefix(), RootURL: pl.folderURL(""), RootName: pl.rootName(), Outside: outside,
		CanWrite:  gatehouse.Authorize(p, gatehouse.ActWrite, *f) == nil,
		CanShare:  gatehouse.Authorize(p, gatehouse.ActShare, *f) == nil,
		CanDelete: canDelete}
	if len(crumbs) > 1 {
		data.Title = data.Folder.Name
	}
	data.Section, data.Error = "files", errMsg
	if next != nil {
		data.More = pl.folderURL(id) + "?after=" + encodeChildCursor(next)
	}
	if r.Method == http.MethodPost && errMsg != "" {
		switch {
		case strings.HasSuffix(r.URL.Path, "/folder"):
			data.NewName = r.PostFormValue("name")
			data.FolderError = errMsg
		case strings.HasSuffix(r.URL.Path, "/upload"):
			data.UploadError = errMsg // the body was a stream: nothing to keep
		case strings.HasSuffix(r.URL.Path, "/rename"):
			data.RenameID, data.RenameName, data.RenameError = r.PathValue("id"), r.PostFormValue("name"), errMsg
		}
	} else if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/folder") {
		data.NewName = r.PostFormValue("name")
	}
	if pl.Site != nil {
		data.Section = "sites"
		if id == d.RootID {
			if data.Site, err = h.sitePanel(r, pl.Site); err != nil {
				h.fail(w, r, err)
				return
			}
			data.Site.CSRF = data.CSRF
			if r.Method == http.MethodPost && errMsg != "" && strings.HasSuffix(r.URL.Path, "/share") {
				data.Site.Fields.tie(siteShareField(errMsg), errMsg)
			}
		}
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
func (h *Handler) formFailed(w http.ResponseWriter, r *http.Request, pl *place, folderID string, err error) {
	code := gatehouse.ErrorCode(err)
	if code == gatehouse.EINTERNAL {
		h.fail(w, r, err)
		return
	}
	httpx.LogError(r, err)
	h.showFolder(w, r, pl, folderID, nil, httpx.Status(code), gatehouse.ErrorMessage(err))
}

func (h *Handler) createFolder(w http.ResponseWriter, r *http.Request) {
	pl, parent, err := h.item(r, gatehouse.ActWrite)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := parent.ID
	it, err := h.store.CreateFolder(r.Context(), actor(r), pl.Drive.ID, id, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		h.formFailed(w, r, pl, id, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Created the folder “%s”.", it.Name))
	redirect(w, r, pl.folderURL(id))
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
	pl, f, ferr := h.item(r, gatehouse.ActWrite)
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
		it, _, perr := h.store.PutFile(r.Context(), actor(r), pl.Drive.ID, id, p.FileName(), p, h.cfg.MaxUpload)
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
		h.formFailed(w, r, pl, id, err)
		return
	}
	setFlash(w, r, uploadedMessage(names))
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"location": pl.folderURL(id)})
		return
	}
	redirect(w, r, pl.folderURL(id))
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
	pl, it, err := h.item(r, gatehouse.ActWrite)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if _, err := h.store.UpdateItem(r.Context(), actor(r), pl.Drive.ID, it.ID, store.ItemUpdate{Name: &name}); err != nil {
		h.formFailed(w, r, pl, it.ParentID, err)
		return
	}
	if name != it.Name {
		setFlash(w, r, fmt.Sprintf("Renamed “%s” to “%s”.", it.Name, name))
	}
	redirect(w, r, pl.folderURL(it.ParentID))
}

func (h *Handler) deleteItem(w http.ResponseWriter, r *http.Request) {
	pl, it, err := h.item(r, gatehouse.ActDelete)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.DeleteItem(r.Context(), actor(r), pl.Drive.ID, it.ID); err != nil {
		h.formFailed(w, r, pl, it.ParentID, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Moved “%s” to the recycle bin. Links on it no longer open.", it.Name))
	redirect(w, r, pl.folderURL(it.ParentID))
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
