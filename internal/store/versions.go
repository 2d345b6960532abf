package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gatehouse"
)

// Version is one version of a file: its current content or a kept one.
type Version struct {
	Number     int
	Size       int64
	SHA256     string
	BlobKey    string
	ModifiedAt time.Time
	// ModifiedBy is a user id or an ad hoc recipient's address, as in
	// items.modified_by; the user's email and name are read with it.
	ModifiedBy, ModifiedByEmail, ModifiedByName string
}

// modifier is what items.modified_by holds for by: a user's id, or the
// address of an ad hoc recipient, who has no id but must still be shown.
func modifier(by gatehouse.Actor) string {
	if by.Kind == gatehouse.KindRecipient {
		return by.Email
	}
	return by.UserID
}

// setModifier marks it as changed by by at now.
func setModifier(it *gatehouse.Item, by gatehouse.Actor, now time.Time) {
	it.ModifiedAt, it.ModifiedBy = now, modifier(by)
	it.ModifiedByEmail, it.ModifiedByName = "", ""
	if by.IsUser() {
		it.ModifiedByEmail, it.ModifiedByName = by.Email, by.DisplayName
	}
}

// currentVersion is the version an item's own row holds.
func currentVersion(it *gatehouse.Item) Version {
	return Version{Number: it.Version, Size: it.Size, SHA256: it.SHA256, BlobKey: it.BlobKey, ModifiedAt: it.ModifiedAt,
		ModifiedBy: it.ModifiedBy, ModifiedByEmail: it.ModifiedByEmail, ModifiedByName: it.ModifiedByName}
}

// versionColumns reads a kept version with who made it, in one join.
const versionColumns = `v.version, v.size, v.sha256, v.blob_key, v.created_at, v.created_by,
	COALESCE(u.email, ''), COALESCE(u.display_name, '')
	FROM item_versions v LEFT JOIN users u ON u.id = v.created_by`

func scanVersion(sc interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var at int64
	err := sc.Scan(&v.Number, &v.Size, &v.SHA256, &v.BlobKey, &at, &v.ModifiedBy, &v.ModifiedByEmail, &v.ModifiedByName)
	v.ModifiedAt = fromMicros(at)
	return v, err
}

// Versions lists a file's versions, the current one first, as the caller
// loaded and was allowed the item. Returns EINVALID for a folder.
func (s *Store) Versions(ctx context.Context, it *gatehouse.Item) ([]Version, error) {
	if it.IsFolder {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "%q is a folder; only files have versions.", it.Name)
	}
	rows, err := s.query(ctx, `SELECT `+versionColumns+` WHERE v.item_id = ? AND v.version < ? ORDER BY v.version DESC`, it.ID, it.Version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Version{currentVersion(it)}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Version returns version n of a file. Returns ENOTFOUND or EINVALID for a
// folder.
func (s *Store) Version(ctx context.Context, it *gatehouse.Item, n int) (Version, error) {
	if it.IsFolder {
		return Version{}, gatehouse.Errorf(gatehouse.EINVALID, "%q is a folder; only files have versions.", it.Name)
	}
	return s.version(reader{s, ctx}, it, n)
}

func (s *Store) version(q querier, it *gatehouse.Item, n int) (Version, error) {
	if n == it.Version {
		return currentVersion(it), nil
	}
	v, err := scanVersion(q.queryRow(`SELECT `+versionColumns+` WHERE v.item_id = ? AND v.version = ? AND v.version < ?`, it.ID, n, it.Version))
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, notFound("The version")
	}
	return v, err
}

// RestoreVersion makes version n of a file its new current version; the
// current content is kept as a version, as an upload keeps it. Returns
// ENOTFOUND, EINVALID (a folder, or n is already current) or EFORBIDDEN.
func (s *Store) RestoreVersion(ctx context.Context, by gatehouse.Actor, driveID, itemID string, n int) (*gatehouse.Item, error) {
	var it *gatehouse.Item
	err := s.inTx(ctx, func(tx *Tx) error {
		if err := tx.lockDrive(driveID); err != nil {
			return err
		}
		// Decided again under the lock, as an upload is.
		if guard := s.mayWrite(by, driveID, itemID); guard != nil {
			if err := guard(tx); err != nil {
				return err
			}
		}
		var err error
		if it, _, err = s.item(tx, driveID, itemID); err != nil {
			return err
		}
		if it.IsFolder {
			return gatehouse.Errorf(gatehouse.EINVALID, "%q is a folder; only files have versions.", it.Name)
		}
		if n == it.Version {
			return gatehouse.Errorf(gatehouse.EINVALID, "Version %d.0 is already the current version.", n)
		}
		v, err := s.version(tx, it, n)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO item_versions (id, item_id, version, size, sha256, blob_key, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, gatehouse.NewID(), it.ID, it.Version, it.Size, it.SHA256, it.BlobKey,
			micros(it.ModifiedAt), it.ModifiedBy); err != nil {
			return err
		}
		// The restored version and the new current one share the content.
		prev := it.Version
		it.Size, it.SHA256, it.BlobKey = v.Size, v.SHA256, v.BlobKey
		it.Version++
		setModifier(it, by, tx.now)
		if _, err := tx.exec(`UPDATE items SET size = ?, sha256 = ?, blob_key = ?, version = ?, modified_at = ?, modified_by = ?
			WHERE id = ? AND version = ?`, it.Size, it.SHA256, it.BlobKey, it.Version, micros(tx.now), it.ModifiedBy, it.ID, prev); err != nil {
			return err
		}
		r := s.itemRecord(gatehouse.OpFileVersionRestored, by, it)
		r.EventData = gatehouse.EventData(map[string]any{"restoredFrom": n, "version": it.Version, "size": it.Size, "sha256": it.SHA256})
		return tx.audit(r)
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}
