package store

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"mime"
	"path"
	"strings"
	"time"

	"gatehouse"
)

const itemColumns = `items.id, items.drive_id, COALESCE(items.parent_id, ''), items.name, items.is_folder, items.size,
	items.sha256, items.blob_key, items.mime_type, items.version, items.created_at, items.modified_at, items.created_by, items.modified_by,
	(SELECT dt.drive_type FROM drives dt WHERE dt.id = items.drive_id),
	COALESCE((SELECT mu.email FROM users mu WHERE mu.id = items.modified_by), ''),
	COALESCE((SELECT mu.display_name FROM users mu WHERE mu.id = items.modified_by), '')`

func scanItem(sc interface{ Scan(...any) error }, extra ...any) (*gatehouse.Item, error) {
	var it gatehouse.Item
	var c, m int64
	dest := append([]any{&it.ID, &it.DriveID, &it.ParentID, &it.Name, &it.IsFolder, &it.Size, &it.SHA256, &it.BlobKey,
		&it.MimeType, &it.Version, &c, &m, &it.CreatedBy, &it.ModifiedBy, &it.DriveType, &it.ModifiedByEmail, &it.ModifiedByName}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	it.CreatedAt, it.ModifiedAt = fromMicros(c), fromMicros(m)
	return &it, nil
}

func (tx *Tx) createDrive(u *gatehouse.User) error {
	d := gatehouse.Drive{ID: gatehouse.NewID(), Type: gatehouse.DriveTypePersonal, OwnerID: u.ID, RootID: gatehouse.NewID()}
	if _, err := tx.exec(`INSERT INTO drives (id, drive_type, owner_id, root_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		d.ID, d.Type, d.OwnerID, d.RootID, micros(tx.now)); err != nil {
		return err
	}
	if _, err := tx.exec(`INSERT INTO drive_owners (drive_id, user_id) VALUES (?, ?)`, d.ID, u.ID); err != nil {
		return err
	}
	_, err := tx.exec(`INSERT INTO items (id, drive_id, parent_id, name, name_key, is_folder, created_at, modified_at, created_by, modified_by)
		VALUES (?, ?, NULL, 'root', 'root', ?, ?, ?, ?, ?)`, d.RootID, d.ID, true, micros(tx.now), micros(tx.now), u.ID, u.ID)
	return err
}

const driveColumns = `id, drive_type, owner_id, root_id, created_at`

func scanDrive(row *sql.Row, extra ...any) (*gatehouse.Drive, error) {
	var d gatehouse.Drive
	var c int64
	var owner sql.NullString
	err := row.Scan(append([]any{&d.ID, &d.Type, &owner, &d.RootID, &c}, extra...)...)
	d.OwnerID = owner.String
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The drive")
	}
	d.CreatedAt = fromMicros(c)
	return &d, err
}

// DriveByOwner returns a user's personal drive. Returns ENOTFOUND.
func (s *Store) DriveByOwner(ctx context.Context, userID string) (*gatehouse.Drive, error) {
	d, err := remember(s, ctx, viewKey3("drive", userID, "", ""), func() (*gatehouse.Drive, time.Time, error) {
		d, err := scanDrive(s.queryRow(ctx, `SELECT `+driveColumns+` FROM drives WHERE owner_id = ? AND drive_type = ?`, userID, gatehouse.DriveTypePersonal))
		return d, time.Time{}, err
	})
	if err != nil {
		return nil, err
	}
	c := *d
	return &c, nil
}

// Drive returns a drive by id. Returns ENOTFOUND.
func (s *Store) Drive(ctx context.Context, id string) (*gatehouse.Drive, error) {
	return scanDrive(s.queryRow(ctx, `SELECT `+driveColumns+` FROM drives WHERE id = ?`, id))
}

// querier reads inside a transaction or, through reader, outside one.
type querier interface {
	queryRow(q string, args ...any) *sql.Row
	query(q string, args ...any) (*sql.Rows, error)
}

type reader struct {
	s   *Store
	ctx context.Context
}

func (r reader) queryRow(q string, args ...any) *sql.Row { return r.s.queryRow(r.ctx, q, args...) }
func (r reader) query(q string, args ...any) (*sql.Rows, error) {
	return r.s.query(r.ctx, q, args...)
}

// item loads an item of a drive, with its parent path, and the drive's
// owner. Returns ENOTFOUND.
func (s *Store) item(q querier, driveID, id string) (*gatehouse.Item, string, error) {
	var rootID, ownerID string
	it, err := scanItem(q.queryRow(`SELECT `+itemColumns+`, d.root_id, COALESCE(d.owner_id, '') FROM items JOIN drives d ON d.id = items.drive_id
		WHERE items.id = ? AND items.drive_id = ?`, id, driveID), &rootID, &ownerID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notFound("The item")
	} else if err != nil {
		return nil, "", err
	}
	if _, err := s.placeItem(q, it, rootID); err != nil {
		return nil, "", err
	}
	return it, ownerID, nil
}

// ancestors returns the ids and names from the root down to id.
func (s *Store) ancestors(q querier, id string) (ids, names []string, err error) {
	rows, err := q.query(`WITH RECURSIVE anc (id, parent_id, name, depth) AS (
			SELECT id, parent_id, name, 0 FROM items WHERE id = ?
			UNION ALL
			SELECT i.id, i.parent_id, i.name, a.depth + 1 FROM items i JOIN anc a ON i.id = a.parent_id WHERE a.depth < 1000
		) SELECT id, name FROM anc ORDER BY depth DESC`, id)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var i, n string
		if err := rows.Scan(&i, &n); err != nil {
			return nil, nil, err
		}
		ids, names = append(ids, i), append(names, n)
	}
	return ids, names, rows.Err()
}

// folderPath returns "/a/b" for folder id ("" for the root or no folder).
func (s *Store) folderPath(q querier, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	_, names, err := s.ancestors(q, id)
	if err != nil || len(names) <= 1 {
		return "", err
	}
	return "/" + strings.Join(names[1:], "/"), nil
}

// Item returns an item of a drive. Returns ENOTFOUND.
func (s *Store) Item(ctx context.Context, driveID, id string) (*gatehouse.Item, error) {
	it, _, err := s.item(reader{s, ctx}, driveID, id)
	return it, err
}

// Breadcrumbs returns the folders from the root down to and including id.
func (s *Store) Breadcrumbs(ctx context.Context, driveID, id string) ([]*gatehouse.Item, error) {
	ids, _, err := s.ancestors(reader{s, ctx}, id)
	if err != nil {
		return nil, err
	}
	var out []*gatehouse.Item
	for _, i := range ids {
		it, err := scanItem(s.queryRow(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ? AND drive_id = ?`, i, driveID))
		if err != nil {
			return nil, notFound("The folder")
		}
		out = append(out, it)
	}
	return out, nil
}

// ChildCursor is the position after the last child of a page.
type ChildCursor struct{ NameKey, ID string }

// Children lists a folder's items by name, a page at a time. Returns
// ENOTFOUND, or EINVALID when the item is a file.
func (s *Store) Children(ctx context.Context, driveID, folderID string, after *ChildCursor, limit int) ([]*gatehouse.Item, *ChildCursor, error) {
	parent, err := s.Item(ctx, driveID, folderID)
	if err != nil {
		return nil, nil, err
	}
	if !parent.IsFolder {
		return nil, nil, gatehouse.Errorf(gatehouse.EINVALID, "%q is a file, not a folder.", parent.Name)
	}
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	var c ChildCursor
	if after != nil {
		c = *after
	}
	// Names are unique in a folder (items_parent_name), so the page is a
	// range of that index in its order, and only folders have children to
	// count: PostgreSQL then counts for this page's folders only.
	rows, err := s.query(ctx, `SELECT `+itemColumns+`, name_key, CASE WHEN items.is_folder THEN (SELECT COUNT(*) FROM items c WHERE c.parent_id = items.id) ELSE 0 END
		FROM items WHERE parent_id = ? AND name_key > ? ORDER BY parent_id, name_key LIMIT ?`,
		folderID, c.NameKey, limit+1)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	childPath := parent.ParentPath + "/" + parent.Name
	if parent.ParentID == "" {
		childPath = ""
	}
	var out []*gatehouse.Item
	var keys []string
	for rows.Next() {
		var key string
		var count int
		it, err := scanItem(rows, &key, &count)
		if err != nil {
			return nil, nil, err
		}
		it.ChildCount = count
		it.ParentPath = childPath
		out, keys = append(out, it), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *ChildCursor
	if len(out) > limit {
		out = out[:limit]
		next = &ChildCursor{NameKey: keys[limit-1], ID: out[limit-1].ID}
	}
	return out, next, nil
}

// itemRecord starts an audit record about an item.
func (s *Store) itemRecord(op string, a gatehouse.Actor, it *gatehouse.Item) *gatehouse.Record {
	r := actorRecord(op, a)
	r.ObjectID = s.opt.BaseURL + "/v1.0/drives/" + it.DriveID + "/items/" + it.ID
	r.ItemType = "File"
	if it.IsFolder {
		r.ItemType = "Folder"
	}
	r.SourceFileName = it.Name
	r.UniqueSharingID = a.ShareID
	r.SourceRelativeURL = it.ParentPath
	if r.SourceRelativeURL == "" {
		r.SourceRelativeURL = "/"
	}
	return r
}

// parentFolder loads the folder that will hold a new or moved item.
func (tx *Tx) parentFolder(driveID, id string) (*gatehouse.Item, error) {
	p, _, err := tx.s.item(tx, driveID, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, notFound("The parent folder")
	} else if err != nil {
		return nil, err
	}
	if !p.IsFolder {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%q is a file, not a folder.", p.Name)
	}
	return p, nil
}

func childPath(parent *gatehouse.Item) string {
	if parent.ParentID == "" {
		return ""
	}
	return parent.ParentPath + "/" + parent.Name
}

func nameTaken(name string) error {
	return gatehouse.Errorf(gatehouse.ECONFLICT, "An item named %q already exists in this folder.", name)
}

// CreateFolder creates a folder. Returns EINVALID, ENOTFOUND or ECONFLICT.
func (s *Store) CreateFolder(ctx context.Context, by gatehouse.Actor, driveID, parentID, name string) (*gatehouse.Item, error) {
	if err := gatehouse.ValidateName(name); err != nil {
		return nil, err
	}
	var it *gatehouse.Item
	err := s.inTx(ctx, func(tx *Tx) error {
		if err := tx.lockDrive(driveID); err != nil {
			return err
		}
		parent, err := tx.parentFolder(driveID, parentID)
		if err != nil {
			return err
		}
		it = &gatehouse.Item{ID: gatehouse.NewID(), DriveID: driveID, DriveType: parent.DriveType, ParentID: parentID, Name: name, IsFolder: true, Version: 1,
			ParentPath: childPath(parent), CreatedAt: tx.now, CreatedBy: by.UserID}
		setModifier(it, by, tx.now)
		if _, err := tx.exec(`INSERT INTO items (id, drive_id, parent_id, name, name_key, is_folder, created_at, modified_at, created_by, modified_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, it.ID, driveID, parentID, name, gatehouse.NameKey(name), true,
			micros(tx.now), micros(tx.now), by.UserID, it.ModifiedBy); err != nil {
			if isUniqueViolation(err) {
				return nameTaken(name)
			}
			return err
		}
		return tx.audit(s.itemRecord(gatehouse.OpFolderCreated, by, it))
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// PutFile stores r as the file name in a folder, replacing the content of an
// existing file of that name and keeping its previous version. It reports
// whether the file is new. Returns EINVALID, ENOTFOUND, ECONFLICT (a folder
// has the name) or ETOOLARGE.
func (s *Store) PutFile(ctx context.Context, by gatehouse.Actor, driveID, parentID, name string, r io.Reader, max int64) (*gatehouse.Item, bool, error) {
	return s.putFile(ctx, by, fileTarget{DriveID: driveID, ParentID: parentID, Name: name}, r, max, s.mayWrite(by, driveID, parentID))
}

// mayWrite decides again, in an upload's commit, that by may still write
// to the item: an upload into a folder shared with someone who is taken
// off the link, or out of a group, while the content arrives is refused.
func (s *Store) mayWrite(by gatehouse.Actor, driveID, id string) func(*Tx) error {
	if by.Kind == gatehouse.KindSystem {
		return nil
	}
	return func(tx *Tx) error {
		_, f, err := s.itemFacts(tx, by.Principal, driveID, id)
		if err == nil {
			err = gatehouse.Authorize(by.Principal, gatehouse.ActWrite, f)
		}
		return err
	}
}

// ReplaceFile stores r as the new content of the file with the id, wherever
// it is by the time the content has arrived, keeping the previous version.
// Returns EINVALID (a folder), ENOTFOUND or ETOOLARGE.
func (s *Store) ReplaceFile(ctx context.Context, by gatehouse.Actor, driveID, itemID string, r io.Reader, max int64) (*gatehouse.Item, error) {
	it, _, err := s.putFile(ctx, by, fileTarget{DriveID: driveID, ItemID: itemID}, r, max, s.mayWrite(by, driveID, itemID))
	return it, err
}

// fileTarget names the file an upload lands on: an existing file by id, or
// a name in a folder.
type fileTarget struct {
	DriveID        string
	ItemID         string
	ParentID, Name string
}

// putFile receives content and commits it; guard, if any, runs first in the
// commit's transaction, so what it checks still holds when the file lands.
func (s *Store) putFile(ctx context.Context, by gatehouse.Actor, t fileTarget, r io.Reader, max int64, guard func(*Tx) error) (*gatehouse.Item, bool, error) {
	// Fail fast on a bad target before receiving the content.
	if t.ItemID != "" {
		if it, err := s.Item(ctx, t.DriveID, t.ItemID); err != nil {
			return nil, false, err
		} else if it.IsFolder {
			return nil, false, notAFile(it)
		}
	} else {
		if err := gatehouse.ValidateName(t.Name); err != nil {
			return nil, false, err
		}
		if p, err := s.Item(ctx, t.DriveID, t.ParentID); err != nil {
			return nil, false, err
		} else if !p.IsFolder {
			return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "%q is a file, not a folder.", p.Name)
		}
	}
	info, err := s.blobs.Put(r, max)
	if err != nil {
		return nil, false, err
	}
	var it *gatehouse.Item
	var created bool
	err = s.inTx(ctx, func(tx *Tx) (err error) {
		it, created, err = s.commitFile(tx, by, t, info.Key, info.Size, info.SHA256, guard)
		return err
	})
	if err != nil {
		s.blobs.Remove(info.Key)
		return nil, false, err
	}
	return it, created, nil
}

func notAFile(it *gatehouse.Item) error {
	return gatehouse.Errorf(gatehouse.EINVALID, "%q is a folder; content can only be uploaded to a file.", it.Name)
}

// commitFile makes the received content the file's current version. The
// drive lock orders it with every other change to the tree, so each upload
// keeps the one before it as a version, none is lost, and an upload by id
// follows a rename or move that committed while the content arrived.
func (s *Store) commitFile(tx *Tx, by gatehouse.Actor, t fileTarget, key string, size int64, sum string, guard func(*Tx) error) (*gatehouse.Item, bool, error) {
	driveID := t.DriveID
	if err := tx.lockDrive(driveID); err != nil {
		return nil, false, err
	}
	if guard != nil {
		if err := guard(tx); err != nil {
			return nil, false, err
		}
	}
	var old *gatehouse.Item
	if t.ItemID != "" {
		it, _, err := s.item(tx, driveID, t.ItemID)
		if err != nil {
			return nil, false, err
		}
		if it.IsFolder {
			return nil, false, notAFile(it)
		}
		old, t.ParentID, t.Name = it, it.ParentID, it.Name
	}
	parentID, name := t.ParentID, t.Name
	parent, err := tx.parentFolder(driveID, parentID)
	if err != nil {
		return nil, false, err
	}
	mt := mime.TypeByExtension(strings.ToLower(path.Ext(name)))
	if mt == "" {
		mt = "application/octet-stream"
	}
	if old == nil {
		old, err = scanItem(tx.queryRow(`SELECT `+itemColumns+` FROM items WHERE parent_id = ? AND name_key = ?`, parentID, gatehouse.NameKey(name)))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, false, err
		}
	}
	if old != nil && old.IsFolder {
		return nil, false, nameTaken(name)
	}
	var it *gatehouse.Item
	op := gatehouse.OpFileUploaded
	if old == nil {
		it = &gatehouse.Item{ID: gatehouse.NewID(), DriveID: driveID, DriveType: parent.DriveType, ParentID: parentID, Name: name, Size: size, SHA256: sum,
			BlobKey: key, MimeType: mt, Version: 1, CreatedAt: tx.now, CreatedBy: by.UserID}
		setModifier(it, by, tx.now)
		if _, err := tx.exec(`INSERT INTO items (id, drive_id, parent_id, name, name_key, is_folder, size, sha256, blob_key, mime_type,
			version, created_at, modified_at, created_by, modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			it.ID, driveID, parentID, name, gatehouse.NameKey(name), false, size, sum, key, mt, 1,
			micros(tx.now), micros(tx.now), by.UserID, it.ModifiedBy); err != nil {
			if isUniqueViolation(err) {
				return nil, false, errRetry // created meanwhile: the next try replaces it
			}
			return nil, false, err
		}
	} else {
		op, it = gatehouse.OpFileModified, old
		prev := old.Version
		if _, err := tx.exec(`INSERT INTO item_versions (id, item_id, version, size, sha256, blob_key, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, gatehouse.NewID(), old.ID, old.Version, old.Size, old.SHA256, old.BlobKey,
			micros(old.ModifiedAt), old.ModifiedBy); err != nil {
			return nil, false, err
		}
		// The name stays as it is: an upload addresses the file by name
		// but does not rename it.
		it.Size, it.SHA256, it.BlobKey, it.MimeType = size, sum, key, mt
		it.Version++
		setModifier(it, by, tx.now)
		res, err := tx.exec(`UPDATE items SET size = ?, sha256 = ?, blob_key = ?, mime_type = ?, version = ?, modified_at = ?, modified_by = ?
			WHERE id = ? AND version = ?`, size, sum, key, mt, it.Version, micros(tx.now), it.ModifiedBy, it.ID, prev)
		if err != nil {
			return nil, false, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, false, err
		} else if n != 1 {
			return nil, false, errRetry // a version check as well as the lock
		}
	}
	it.ParentPath = childPath(parent)
	r := s.itemRecord(op, by, it)
	r.EventData = gatehouse.EventData(map[string]any{"size": size, "sha256": sum, "version": it.Version})
	if err := tx.audit(r); err != nil {
		return nil, false, err
	}
	return it, old == nil, nil
}

// ItemUpdate holds a new name and/or a new parent folder.
type ItemUpdate struct {
	Name     *string
	ParentID *string
}

// UpdateItem renames and/or moves an item. Returns EINVALID, ENOTFOUND or
// ECONFLICT.
func (s *Store) UpdateItem(ctx context.Context, by gatehouse.Actor, driveID, id string, up ItemUpdate) (*gatehouse.Item, error) {
	if up.Name != nil {
		if err := gatehouse.ValidateName(*up.Name); err != nil {
			return nil, err
		}
	}
	var it *gatehouse.Item
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		it, err = s.updateItem(tx, by, driveID, id, up)
		return err
	})
	return it, err
}

// updateItem reads the item under the drive lock, so a rename and a move
// racing each other both land, and a move cannot be undone by a stale write.
func (s *Store) updateItem(tx *Tx, by gatehouse.Actor, driveID, id string, up ItemUpdate) (*gatehouse.Item, error) {
	if err := tx.lockDrive(driveID); err != nil {
		return nil, err
	}
	it, _, err := s.item(tx, driveID, id)
	if err != nil {
		return nil, err
	}
	if it.ParentID == "" {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "The root folder cannot be renamed or moved.")
	}
	var recs []*gatehouse.Record
	renamed := up.Name != nil && *up.Name != it.Name
	moved := up.ParentID != nil && *up.ParentID != it.ParentID
	if moved {
		parent, err := tx.parentFolder(driveID, *up.ParentID)
		if err != nil {
			return nil, err
		}
		ids, _, err := s.ancestors(tx, parent.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range ids {
			if a == it.ID {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "A folder cannot be moved into itself.")
			}
		}
		from := it.ParentPath
		it.ParentID, it.ParentPath = parent.ID, childPath(parent)
		op := gatehouse.OpFileMoved
		if it.IsFolder {
			op = gatehouse.OpFolderMoved
		}
		r := s.itemRecord(op, by, it)
		r.EventData = gatehouse.EventData(map[string]any{"from": from + "/", "to": it.ParentPath + "/"})
		recs = append(recs, r)
	}
	if renamed {
		old := it.Name
		it.Name = *up.Name
		op := gatehouse.OpFileRenamed
		if it.IsFolder {
			op = gatehouse.OpFolderRenamed
		}
		r := s.itemRecord(op, by, it)
		r.EventData = gatehouse.EventData(map[string]any{"oldName": old, "newName": it.Name})
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return it, nil
	}
	setModifier(it, by, tx.now)
	if _, err := tx.exec(`UPDATE items SET name = ?, name_key = ?, parent_id = ?, modified_at = ?, modified_by = ? WHERE id = ?`,
		it.Name, gatehouse.NameKey(it.Name), it.ParentID, micros(tx.now), it.ModifiedBy, it.ID); err != nil {
		if isUniqueViolation(err) {
			return nil, nameTaken(it.Name)
		}
		return nil, err
	}
	for _, r := range recs {
		if err := tx.audit(r); err != nil {
			return nil, err
		}
	}
	return it, nil
}

// subtree selects an item and everything under it. UNION, not UNION ALL,
// so that even a corrupted tree with a cycle ends.
const subtree = `WITH RECURSIVE sub (id) AS (
	SELECT id FROM items WHERE id = ?
	UNION
	SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id)`

// DeleteItem moves an item, with everything inside a folder, to the
// drive's recycle bin (recycle.go); the links on them stop working at once.
// Returns ENOTFOUND or EINVALID for the root.
func (s *Store) DeleteItem(ctx context.Context, by gatehouse.Actor, driveID, id string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		if err := tx.lockDrive(driveID); err != nil {
			return err
		}
		return s.binItem(tx, by, driveID, id)
	})
}

// blobKeys returns the content keys of the items that idQuery selects and
// of all their versions.
func (tx *Tx) blobKeys(idQuery string, args ...any) ([]string, error) {
	q := idQuery
	if strings.HasPrefix(q, "WITH") {
		i := strings.LastIndex(q, "SELECT id FROM sub")
		q = q[:i] + `SELECT blob_key FROM items WHERE id IN (SELECT id FROM sub) AND blob_key <> ''
			UNION ALL SELECT blob_key FROM item_versions WHERE item_id IN (SELECT id FROM sub)`
	} else {
		q = `SELECT blob_key FROM items WHERE id IN (` + q + `) AND blob_key <> ''
			UNION ALL SELECT blob_key FROM item_versions WHERE item_id IN (` + q + `)`
		args = append(args, args...)
	}
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// removeBlobs deletes content after its metadata is gone; what fails here is
// an orphan that the sweep at start removes.
func (s *Store) removeBlobs(keys []string) {
	for _, k := range keys {
		s.blobs.Remove(k)
	}
}

// OpenContent opens the current content of a file.
func (s *Store) OpenContent(it *gatehouse.Item) (io.ReadSeekCloser, error) {
	return s.blobs.Open(it.BlobKey)
}
