package api

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// driveItem is the Graph driveItem resource.
type driveItem struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ETag                 string         `json:"eTag"`
	CTag                 string         `json:"cTag"`
	Size                 int64          `json:"size"`
	CreatedDateTime      time.Time      `json:"createdDateTime"`
	LastModifiedDateTime time.Time      `json:"lastModifiedDateTime"`
	WebURL               string         `json:"webUrl"`
	CreatedBy            identitySet    `json:"createdBy"`
	LastModifiedBy       identitySet    `json:"lastModifiedBy"`
	ParentReference      *itemReference `json:"parentReference,omitempty"`
	File                 *fileFacet     `json:"file,omitempty"`
	Folder               *folderFacet   `json:"folder,omitempty"`
	Root                 *struct{}      `json:"root,omitempty"`
	DownloadURL          string         `json:"@microsoft.graph.downloadUrl,omitempty"`
}

type identitySet struct {
	User identity `json:"user"`
}

type identity struct {
	ID          string `json:"id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

type itemReference struct {
	DriveID   string `json:"driveId"`
	DriveType string `json:"driveType"`
	ID        string `json:"id,omitempty"`
	Path      string `json:"path,omitempty"`
}

type fileFacet struct {
	MimeType string `json:"mimeType"`
	Hashes   struct {
		SHA256 string `json:"sha256Hash"`
	} `json:"hashes"`
}

type folderFacet struct {
	ChildCount int `json:"childCount"`
}

func (h *Handler) itemJSON(it *gatehouse.Item) driveItem {
	d := driveItem{
		ID: it.ID, Name: it.Name, ETag: it.ETag(), CTag: it.ETag(), Size: it.Size,
		CreatedDateTime: it.CreatedAt, LastModifiedDateTime: it.ModifiedAt,
		WebURL:         h.cfg.BaseURL + "/files/" + it.ID,
		CreatedBy:      identitySet{identity{ID: it.CreatedBy}},
		LastModifiedBy: modifiedBy(it.ModifiedBy, it.ModifiedByEmail, it.ModifiedByName),
	}
	if it.ParentID == "" {
		d.Root = &struct{}{}
		d.ParentReference = &itemReference{DriveID: it.DriveID, DriveType: driveType(it)}
	} else {
		d.ParentReference = &itemReference{DriveID: it.DriveID, DriveType: driveType(it), ID: it.ParentID, Path: "/drive/root:" + it.ParentPath}
	}
	if it.IsFolder {
		d.Folder = &folderFacet{ChildCount: it.ChildCount}
	} else {
		d.File = &fileFacet{MimeType: it.MimeType}
		d.File.Hashes.SHA256 = strings.ToUpper(it.SHA256) // Graph spells hashes in upper-case hex
		d.WebURL = h.cfg.BaseURL + "/items/" + it.ID + "/download"
	}
	return d
}

// drive returns a drive and its root if the caller may take act on the
// drive, which the decision answers on the root's facts. A drive the caller
// may not use answers as if it did not exist.
func (h *Handler) drive(r *http.Request, c *caller, id string, act gatehouse.Action) (*gatehouse.Drive, error) {
	d, f, err := h.store.DriveFacts(r.Context(), c.Principal, id)
	if err == nil {
		err = gatehouse.Authorize(c.Principal, act, f)
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "The drive was not found.")
	} else if err != nil {
		return nil, err
	}
	return d, nil
}

// myDrive is the caller's personal drive, decided as drive.
func (h *Handler) myDrive(r *http.Request, c *caller, act gatehouse.Action) (*gatehouse.Drive, error) {
	if c.Kind == gatehouse.KindGuest {
		return nil, errNoGuestDrive()
	}
	return h.drive(r, c, "", act)
}

// root is a drive's root folder, for the routes that show it.
func (h *Handler) root(r *http.Request, d *gatehouse.Drive) (*gatehouse.Item, error) {
	return h.store.Item(r.Context(), d.ID, d.RootID)
}

// item returns the item of the path if the caller may take act on it.
func (h *Handler) item(r *http.Request, c *caller, act gatehouse.Action) (*gatehouse.Item, error) {
	return h.itemOf(r, c, act, r.PathValue("d"), r.PathValue("i"))
}

// itemOf returns an item of a drive if the caller may take act on it: its
// owner, a site's members by their access, or someone an item above it
// was shared with, whose link decides.
func (h *Handler) itemOf(r *http.Request, c *caller, act gatehouse.Action, driveID, id string) (*gatehouse.Item, error) {
	it, f, err := h.store.ItemFacts(r.Context(), c.Principal, driveID, id)
	if err != nil {
		return nil, err
	}
	if err := gatehouse.Authorize(c.Principal, act, f); err != nil {
		return nil, err
	}
	return it, nil
}

func (h *Handler) getMyDrive(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.myDrive(r, c, gatehouse.ActRead)
	if err != nil {
		return err
	}
	return h.writeDrive(w, r, c, d)
}

func (h *Handler) getDrive(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.drive(r, c, r.PathValue("d"), gatehouse.ActRead)
	if err != nil {
		return err
	}
	return h.writeDrive(w, r, c, d)
}

func (h *Handler) writeDrive(w http.ResponseWriter, r *http.Request, c *caller, d *gatehouse.Drive) error {
	owner := c.User
	if d.OwnerID != c.UserID {
		// Not the caller's personal drive; the owner shown is its user, if any.
		if d.OwnerID == "" {
			owner = nil
		} else if u, err := h.store.User(r.Context(), d.OwnerID); err != nil {
			return err
		} else {
			owner = u
		}
	}
	out := h.driveJSON(d, owner)
	if d.Type == gatehouse.DriveTypeLibrary {
		// A site's library is named and found as its site shows it.
		st, err := h.store.SiteByDrive(r.Context(), d.ID)
		if err != nil {
			return err
		}
		out["name"], out["webUrl"] = "Documents", h.store.SiteURL(st.ID)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) driveJSON(d *gatehouse.Drive, owner *gatehouse.User) map[string]any {
	out := map[string]any{
		"id": d.ID, "driveType": d.Type, "name": "OneDrive", "createdDateTime": d.CreatedAt,
		"webUrl": h.cfg.BaseURL + "/files",
		"root":   map[string]string{"id": d.RootID},
	}
	if owner != nil {
		out["owner"] = map[string]any{"user": map[string]string{"id": owner.ID, "displayName": owner.DisplayName, "email": owner.Email}}
	}
	return out
}

func (h *Handler) getMyRoot(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.myDrive(r, c, gatehouse.ActRead)
	if err != nil {
		return err
	}
	root, err := h.root(r, d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.itemJSON(root))
	return nil
}

func (h *Handler) getDriveRoot(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.drive(r, c, r.PathValue("d"), gatehouse.ActRead)
	if err != nil {
		return err
	}
	root, err := h.root(r, d)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.itemJSON(root))
	return nil
}

func (h *Handler) getItem(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActRead)
	if err != nil {
		return err
	}
	if !it.IsFolder {
		if err := h.store.RecordAccess(r.Context(), c.Actor, gatehouse.OpFileAccessed, it); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, h.itemJSON(it))
	return nil
}

func (h *Handler) listMyRootChildren(w http.ResponseWriter, r *http.Request, c *caller) error {
	d, err := h.myDrive(r, c, gatehouse.ActRead)
	if err != nil {
		return err
	}
	return h.writeChildren(w, r, d.ID, d.RootID)
}

func (h *Handler) listChildren(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActRead)
	if err != nil {
		return err
	}
	return h.writeChildren(w, r, it.DriveID, it.ID)
}

func (h *Handler) writeChildren(w http.ResponseWriter, r *http.Request, driveID, folderID string) error {
	n, err := top(r, 200)
	if err != nil {
		return err
	}
	var after *store.ChildCursor
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		after = new(store.ChildCursor)
		if err := decodeToken(tok, after); err != nil {
			return err
		}
	}
	kids, next, err := h.store.Children(r.Context(), driveID, folderID, after, n)
	if err != nil {
		return err
	}
	out := map[string]any{"value": mapItems(h, kids)}
	if next != nil {
		out["@odata.nextLink"] = h.nextLink(r, encodeToken(next))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func mapItems(h *Handler, items []*gatehouse.Item) []driveItem {
	out := make([]driveItem, 0, len(items))
	for _, it := range items {
		out = append(out, h.itemJSON(it))
	}
	return out
}

// encodeToken and decodeToken make opaque paging tokens.
func encodeToken(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "The $skiptoken is not valid; use the @odata.nextLink as given.")
	}
	return nil
}

func (h *Handler) createFolder(w http.ResponseWriter, r *http.Request, c *caller) error {
	parent, err := h.item(r, c, gatehouse.ActWrite)
	if err != nil {
		return err
	}
	var body struct {
		Name     string           `json:"name"`
		Folder   *json.RawMessage `json:"folder"`
		Conflict string           `json:"@microsoft.graph.conflictBehavior"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Folder == nil {
		return gatehouse.Errorf(gatehouse.EINVALID, `Only folders can be created here: send {"name": "…", "folder": {}}; upload files with PUT …:/{name}:/content.`)
	}
	if body.Conflict != "" && body.Conflict != "fail" {
		return gatehouse.Errorf(gatehouse.EINVALID, "Only the conflict behavior \"fail\" is supported.")
	}
	it, err := h.store.CreateFolder(r.Context(), c.Actor, parent.DriveID, parent.ID, body.Name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, h.itemJSON(it))
	return nil
}

// upload handles PUT …/items/{parent}:/{name}:/content (create or replace by
// name) and PUT …/items/{id}/content (replace by id).
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, c *caller) error {
	driveID, rest := r.PathValue("d"), r.PathValue("rest")
	var upload func(body io.Reader) (*gatehouse.Item, bool, error)
	if p, tail, ok := strings.Cut(rest, ":/"); ok && strings.HasSuffix(tail, ":/content") {
		// Decided on the folder it lands in.
		parent, err := h.itemOf(r, c, gatehouse.ActWrite, driveID, p)
		if err != nil {
			return err
		}
		upload = func(body io.Reader) (*gatehouse.Item, bool, error) {
			return h.store.PutFile(r.Context(), c.Actor, driveID, parent.ID, strings.TrimSuffix(tail, ":/content"), body, h.cfg.MaxUpload)
		}
	} else if id, ok := strings.CutSuffix(rest, "/content"); ok && !strings.Contains(id, "/") {
		if _, err := h.itemOf(r, c, gatehouse.ActWrite, driveID, id); err != nil {
			return err
		}
		// By id, the upload lands on that file even if it is renamed or
		// moved while the content arrives.
		upload = func(body io.Reader) (*gatehouse.Item, bool, error) {
			it, err := h.store.ReplaceFile(r.Context(), c.Actor, driveID, id, body, h.cfg.MaxUpload)
			return it, false, err
		}
	} else {
		return gatehouse.Errorf(gatehouse.EINVALID, "Upload with PUT /v1.0/drives/{drive}/items/{parent}:/{name}:/content.")
	}
	if r.ContentLength > h.cfg.MaxUpload {
		return gatehouse.Errorf(gatehouse.ETOOLARGE, "The file is larger than the limit of %d MiB.", h.cfg.MaxUpload>>20)
	}
	it, created, err := upload(http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, h.itemJSON(it))
	return nil
}

func (h *Handler) updateItem(w http.ResponseWriter, r *http.Request, c *caller) error {
	cur, err := h.item(r, c, gatehouse.ActWrite)
	if err != nil {
		return err
	}
	var body struct {
		Name            *string `json:"name"`
		ParentReference *struct {
			ID      string `json:"id"`
			DriveID string `json:"driveId"`
		} `json:"parentReference"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	var up store.ItemUpdate
	up.Name = body.Name
	if body.ParentReference != nil {
		if body.ParentReference.DriveID != "" && body.ParentReference.DriveID != cur.DriveID {
			return gatehouse.Errorf(gatehouse.EINVALID, "Items can only be moved within their own drive.")
		}
		if strings.ContainsRune(body.ParentReference.ID, 0) { // PostgreSQL would fail the lookup
			return gatehouse.Errorf(gatehouse.EINVALID, "parentReference.id is not the id of a folder.")
		}
		// A move needs the right to write where the item goes, too.
		if _, err := h.itemOf(r, c, gatehouse.ActWrite, cur.DriveID, body.ParentReference.ID); err != nil {
			return err
		}
		up.ParentID = &body.ParentReference.ID
	}
	if up.Name == nil && up.ParentID == nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "Send a new name and/or parentReference.id.")
	}
	it, err := h.store.UpdateItem(r.Context(), c.Actor, cur.DriveID, cur.ID, up)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.itemJSON(it))
	return nil
}

func (h *Handler) deleteItem(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActDelete)
	if err != nil {
		return err
	}
	if err := h.store.DeleteItem(r.Context(), c.Actor, it.DriveID, it.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
