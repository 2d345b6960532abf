package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"gatehouse"
)

// The recycle bin. Deleting an item moves it, and all it holds, out of the
// tree in one transaction: the top item's parent_id becomes binParent+id,
// which no item has, and its deleted_* columns say when, by whom and from
// where. What lies under it keeps its parent, so restoring is one update.
// Every lookup that places an item (placeItem, placeFor) finds its
// ancestry no longer reaches the drive's root and answers not found, so
// nothing in the bin opens by any route. Links on the subtree become
// dormant in the same transaction and stay so after a restore until the
// owner turns them on again.

// binParent prefixes the parent_id of an item in the bin: not an id (ids
// have no slash), never empty (which would mean the root), and unique, so
// that two binned items of one name never meet in items_parent_name.
const binParent = "recycled/"

// BinItem is an item in a drive's recycle bin, as deleted.
type BinItem struct {
	Item *gatehouse.Item // Size is a folder's total content
	// DeletedFrom is the folder it was deleted from, and DeletedPath that
	// folder's path then ("" for the top of the drive).
	DeletedFrom, DeletedPath string
	DeletedAt                time.Time
	// DeletedBy is the deleter's user id, with their address and name.
	DeletedBy, DeletedByEmail, DeletedByName string
}

// BinCursor is the position after the last item of a page of the bin.
type BinCursor struct {
	DeletedAt int64
	ID        string
}

const binColumns = itemColumns + `, items.deleted_at, items.deleted_by, items.deleted_from, items.deleted_path,
	COALESCE((SELECT du.email FROM users du WHERE du.id = items.deleted_by), ''),
	COALESCE((SELECT du.display_name FROM users du WHERE du.id = items.deleted_by), '')`

func scanBinItem(sc interface{ Scan(...any) error }, extra ...any) (*BinItem, error) {
	var b BinItem
	var at int64
	it, err := scanItem(sc, append([]any{&at, &b.DeletedBy, &b.DeletedFrom, &b.DeletedPath, &b.DeletedByEmail, &b.DeletedByName}, extra...)...)
	if err != nil {
		return nil, err
	}
	b.Item, b.DeletedAt = it, fromMicros(at)
	it.ParentPath = b.DeletedPath
	return &b, nil
}

func notInBin() error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, "The item was not found in the recycle bin.")
}

// binItem moves an item and its subtree to the drive's recycle bin and
// makes the links on them dormant, recording FileDeleted or FolderDeleted.
// The caller holds the drive lock.
func (s *Store) binItem(tx *Tx, by gatehouse.Actor, driveID, id string) error {
	it, _, err := s.item(tx, driveID, id)
	if err != nil {
		return err
	}
	if it.ParentID == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "The root folder cannot be deleted.")
	}
	res, err := tx.exec(subtree+` UPDATE links SET dormant = ?, updated_at = ? WHERE dormant = ? AND item_id IN (SELECT id FROM sub)`,
		id, true, micros(tx.now), false)
	if err != nil {
		return err
	}
	dormant, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE items SET parent_id = ?, deleted_at = ?, deleted_by = ?, deleted_from = ?, deleted_path = ? WHERE id = ?`,
		binParent+it.ID, micros(tx.now), modifier(by), it.ParentID, it.ParentPath, it.ID); err != nil {
		return err
	}
	op := gatehouse.OpFileDeleted
	if it.IsFolder {
		op = gatehouse.OpFolderDeleted
	}
	r := s.itemRecord(op, by, it)
	r.EventData = gatehouse.EventData(map[string]any{"recycleBin": true, "linksMadeDormant": dormant})
	return tx.audit(r)
}

// RecycleBin lists a drive's recycle bin, newest deletion first, a page at
// a time. Folders carry the total size of the files they hold.
func (s *Store) RecycleBin(ctx context.Context, driveID string, after *BinCursor, limit int) ([]*BinItem, *BinCursor, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q := `SELECT ` + binColumns + ` FROM items WHERE items.drive_id = ? AND items.deleted_at > 0`
	args := []any{driveID}
	if after != nil {
		q += ` AND (items.deleted_at < ? OR (items.deleted_at = ? AND items.id < ?))`
		args = append(args, after.DeletedAt, after.DeletedAt, after.ID)
	}
	rows, err := s.query(ctx, q+` ORDER BY items.deleted_at DESC, items.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []*BinItem
	for rows.Next() {
		b, err := scanBinItem(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows.Close()
	var next *BinCursor
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = &BinCursor{DeletedAt: micros(last.DeletedAt), ID: last.Item.ID}
	}
	for _, b := range out {
		if b.Item.IsFolder {
			if err := s.queryRow(ctx, subtree+` SELECT COALESCE(SUM(items.size), 0), COUNT(*) - 1 FROM items JOIN sub ON sub.id = items.id`,
				b.Item.ID).Scan(&b.Item.Size, &b.Item.ChildCount); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, next, nil
}

// BinItem returns an item at the top of a drive's recycle bin. Returns
// ENOTFOUND.
func (s *Store) BinItem(ctx context.Context, driveID, id string) (*BinItem, error) {
	b, err := scanBinItem(s.queryRow(ctx, `SELECT `+binColumns+` FROM items WHERE items.id = ? AND items.drive_id = ? AND items.deleted_at > 0`, id, driveID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notInBin()
	}
	return b, err
}

// binned loads an item at the top of the drive's recycle bin, in tx.
func (tx *Tx) binned(driveID, id string) (*BinItem, string, error) {
	var rootID string
	b, err := scanBinItem(tx.queryRow(`SELECT `+binColumns+`, d.root_id FROM items JOIN drives d ON d.id = items.drive_id
		WHERE items.id = ? AND items.drive_id = ? AND items.deleted_at > 0`, id, driveID), &rootID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notInBin()
	}
	return b, rootID, err
}

// RestoreItem puts an item of the recycle bin back where it was deleted
// from, or at the top of the drive when that folder is gone or in the bin
// itself. A name taken there meanwhile gets " (1)", " (2)"… before its
// extension. Its links stay dormant. Records FileRestored or
// FolderRestored. Returns ENOTFOUND (not in the bin) or ECONFLICT.
func (s *Store) RestoreItem(ctx context.Context, by gatehouse.Actor, driveID, id string) (*gatehouse.Item, error) {
	var it *gatehouse.Item
	err := s.inTx(ctx, func(tx *Tx) error {
		if err := tx.lockDrive(driveID); err != nil {
			return err
		}
		b, rootID, err := tx.binned(driveID, id)
		if err != nil {
			return err
		}
		parentID := b.DeletedFrom
		if p, _, err := s.item(tx, driveID, parentID); gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || err == nil && !p.IsFolder {
			parentID = rootID
		} else if err != nil {
			return err
		}
		name, err := tx.freeName(parentID, b.Item.Name, b.Item.IsFolder)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE items SET parent_id = ?, name = ?, name_key = ?, deleted_at = 0, deleted_by = '', deleted_from = '', deleted_path = ''
			WHERE id = ?`, parentID, name, gatehouse.NameKey(name), id); err != nil {
			if isUniqueViolation(err) {
				return nameTaken(name)
			}
			return err
		}
		if it, _, err = s.item(tx, driveID, id); err != nil {
			return err
		}
		op := gatehouse.OpFileRestored
		if it.IsFolder {
			op = gatehouse.OpFolderRestored
		}
		r := s.itemRecord(op, by, it)
		data := map[string]any{"deletedFrom": orSlash(b.DeletedPath), "restoredTo": orSlash(it.ParentPath)}
		if name != b.Item.Name {
			data["originalName"] = b.Item.Name
		}
		r.EventData = gatehouse.EventData(data)
		return tx.audit(r)
	})
	return it, err
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// freeName returns name, or the first of "name (1)", "name (2)"… that no
// item in the folder has: restoring never fails on a name taken meanwhile.
func (tx *Tx) freeName(parentID, name string, folder bool) (string, error) {
	base, ext := name, ""
	if !folder {
		if e := path.Ext(name); e != "" && e != name {
			base, ext = strings.TrimSuffix(name, e), e
		}
	}
	for i := 0; i < 100; i++ {
		cand := name
		if i > 0 {
			cand = fmt.Sprintf("%s (%d)%s", base, i, ext)
			if gatehouse.ValidateName(cand) != nil {
				break
			}
		}
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM items WHERE parent_id = ? AND name_key = ?`, parentID, gatehouse.NameKey(cand)).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return cand, nil
		}
	}
	return "", gatehouse.Errorf(gatehouse.ECONFLICT, "The folder already holds %q and its numbered copies; rename or move one of them, then restore again.", name)
}

// PurgeItem removes an item of the recycle bin for good, with what it
// holds, every version and the links on them, recording
// FileDeletedFirstStageRecycleBin. The content goes after the commit.
// Returns ENOTFOUND when the item is not in the bin.
func (s *Store) PurgeItem(ctx context.Context, by gatehouse.Actor, driveID, id string) error {
	return s.purge(ctx, by, driveID, []string{id}, time.Time{}, "purged")
}

// EmptyRecycleBin purges everything in a drive's recycle bin, recording
// FileDeletedFirstStageRecycleBin for each item at its top. It returns how
// many items it purged.
func (s *Store) EmptyRecycleBin(ctx context.Context, by gatehouse.Actor, driveID string) (int, error) {
	n := 0
	for {
		// Pages of 100 keep each transaction, and what it holds locked,
		// small; a deletion racing the emptying may land in a later page.
		page, _, err := s.RecycleBin(ctx, driveID, nil, 100)
		if err != nil || len(page) == 0 {
			return n, err
		}
		ids := make([]string, len(page))
		for i, b := range page {
			ids[i] = b.Item.ID
		}
		if err := s.purge(ctx, by, driveID, ids, time.Time{}, "emptied"); err != nil {
			return n, err
		}
		n += len(ids)
	}
}

// purge purges the bin items ids of a drive in one transaction. With a
// non-zero before, only those deleted before it (the sweep, which a restore
// may have beaten) and missing ones are skipped; otherwise a missing one is
// ENOTFOUND.
func (s *Store) purge(ctx context.Context, by gatehouse.Actor, driveID string, ids []string, before time.Time, reason string) error {
	var keys []string
	err := s.inTx(ctx, func(tx *Tx) error {
		keys = nil
		if err := tx.lockDrive(driveID); err != nil {
			return err
		}
		for _, id := range ids {
			b, _, err := tx.binned(driveID, id)
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND && (len(ids) > 1 || !before.IsZero()) {
				continue // restored or purged meanwhile
			} else if err != nil {
				return err
			}
			if !before.IsZero() && !b.DeletedAt.Before(before) {
				continue
			}
			k, err := tx.purgeBinned(by, b, reason)
			if err != nil {
				return err
			}
			keys = append(keys, k...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.removeBlobs(keys)
	return nil
}

// purgeBinned deletes a bin item's subtree and returns its content keys.
func (tx *Tx) purgeBinned(by gatehouse.Actor, b *BinItem, reason string) ([]string, error) {
	id := b.Item.ID
	keys, err := tx.blobKeys(subtree+` SELECT id FROM sub`, id)
	if err != nil {
		return nil, err
	}
	// The links go first, each with its records, as a deletion did before
	// the bin; their items are read as they are, since none is placed.
	links, err := tx.links(subtree+` SELECT `+prefixed("links.", linkColumns)+` FROM links JOIN sub ON sub.id = links.item_id`, id)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		it, err := scanItem(tx.queryRow(`SELECT `+itemColumns+` FROM items WHERE id = ?`, l.ItemID))
		if err != nil {
			return nil, err
		}
		if err := tx.deleteLink(by, it, l); err != nil {
			return nil, err
		}
	}
	var files int
	if err := tx.queryRow(subtree+` SELECT COUNT(*) FROM items JOIN sub ON sub.id = items.id WHERE items.is_folder = ?`, id, false).Scan(&files); err != nil {
		return nil, err
	}
	if _, err := tx.exec(subtree+` DELETE FROM item_versions WHERE item_id IN (SELECT id FROM sub)`, id); err != nil {
		return nil, err
	}
	if _, err := tx.exec(subtree+` DELETE FROM items WHERE id IN (SELECT id FROM sub)`, id); err != nil {
		return nil, err
	}
	r := tx.s.itemRecord(gatehouse.OpFileDeletedFirstStageRecycleBin, by, b.Item)
	r.EventData = gatehouse.EventData(map[string]any{"reason": reason, "deletedDateTime": b.DeletedAt.UTC().Format(time.RFC3339Nano), "files": files})
	return keys, tx.audit(r)
}

// PurgeExpiredRecycleBin purges what has been in any recycle bin longer
// than the recycleBinRetentionDays setting, as FileDeletedFirstStageRecycleBin
// by the system. It returns how many items it purged.
func (s *Store) PurgeExpiredRecycleBin(ctx context.Context) (int, error) {
	st, err := s.SharingSettings(ctx)
	if err != nil {
		return 0, err
	}
	before := s.Now().Add(-time.Duration(st.RecycleBinRetentionDays) * 24 * time.Hour)
	n := 0
	for {
		rows, err := s.query(ctx, `SELECT drive_id, id FROM items WHERE deleted_at > 0 AND deleted_at < ? ORDER BY deleted_at LIMIT 100`, micros(before))
		if err != nil {
			return n, err
		}
		type ref struct{ drive, id string }
		var page []ref
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.drive, &r.id); err != nil {
				rows.Close()
				return n, err
			}
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(page) == 0 {
			return n, err
		}
		for _, r := range page {
			if err := s.purge(ctx, gatehouse.SystemActor(), r.drive, []string{r.id}, before, "expired"); err != nil {
				return n, err
			}
			n++
		}
	}
}

// LosingAccess counts the people who would lose access if the item were
// deleted: the distinct addresses on live links on it and under it, and
// the members of groups on those links.
func (s *Store) LosingAccess(ctx context.Context, driveID, itemID string) (int, error) {
	var n int
	err := s.queryRow(ctx, subtree+` SELECT COUNT(*) FROM (
			SELECT r.email FROM link_recipients r JOIN links l ON l.id = r.link_id JOIN sub ON sub.id = l.item_id
			WHERE l.drive_id = ? AND l.dormant = ?
			UNION
			SELECT LOWER(u.email) FROM link_groups lg JOIN links l ON l.id = lg.link_id JOIN sub ON sub.id = l.item_id
				JOIN group_members m ON m.group_id = lg.group_id AND m.role = 'member' JOIN users u ON u.id = m.user_id
			WHERE l.drive_id = ? AND l.dormant = ?
		) people`, itemID, driveID, false, driveID, false).Scan(&n)
	return n, err
}

// EnableLink turns a dormant link on again, recorded as SecureLinkUpdated
// with dormant false; a link already on is left as it is. The item must be
// out of the bin. Returns ENOTFOUND.
func (s *Store) EnableLink(ctx context.Context, by gatehouse.Actor, driveID, itemID, id string) (*gatehouse.Link, error) {
	var l *gatehouse.Link
	err := s.inTx(ctx, func(tx *Tx) error {
		if err := tx.lockDrive(driveID); err != nil {
			return err
		}
		var it *gatehouse.Item
		var err error
		if l, it, err = tx.link(driveID, itemID, id); err != nil {
			return err
		}
		if l.Dormant {
			l.Dormant, l.UpdatedAt = false, tx.now
			if _, err := tx.exec(`UPDATE links SET dormant = ?, updated_at = ? WHERE id = ?`, false, micros(tx.now), l.ID); err != nil {
				return err
			}
			r := s.linkRecord(gatehouse.OpSecureLinkUpdated, by, it, l)
			r.EventData = gatehouse.EventData(map[string]any{"dormant": false})
			if err := tx.audit(r); err != nil {
				return err
			}
		}
		return tx.fillLink(l)
	})
	return l, err
}

// LosingAccessIn is LosingAccess for the items of a folder page, in one
// query: it walks up from the drive's live links, which are few, rather
// than down every folder of the page, which may hold the whole drive.
func (s *Store) LosingAccessIn(ctx context.Context, driveID string, ids []string) (map[string]int, error) {
	out := make(map[string]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in := "?" + strings.Repeat(", ?", len(ids)-1)
	args := []any{driveID, false}
	for _, id := range ids {
		args = append(args, id)
	}
	// The list's length varies, so the text is not worth a cached statement.
	rows, err := s.read.QueryContext(ctx, s.rebind(`WITH RECURSIVE up (link_id, id, parent_id) AS (
			SELECT l.id, i.id, i.parent_id FROM links l JOIN items i ON i.id = l.item_id WHERE l.drive_id = ? AND l.dormant = ?
			UNION
			SELECT up.link_id, i.id, i.parent_id FROM items i JOIN up ON i.id = up.parent_id)
		SELECT up.id, COUNT(DISTINCT p.email) FROM up JOIN (
			SELECT r.link_id, r.email FROM link_recipients r
			UNION
			SELECT lg.link_id, LOWER(u.email) FROM link_groups lg
				JOIN group_members m ON m.group_id = lg.group_id AND m.role = 'member' JOIN users u ON u.id = m.user_id
		) p ON p.link_id = up.link_id
		WHERE up.id IN (`+in+`) GROUP BY up.id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
