package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gatehouse"
)

const userColumns = `id, email, display_name, user_type, is_admin, disabled, created_at, updated_at`

func scanUser(sc interface{ Scan(...any) error }) (*gatehouse.User, error) {
	var u gatehouse.User
	var c, up int64
	if err := sc.Scan(&u.ID, &u.Email, &u.DisplayName, &u.UserType, &u.IsAdmin, &u.Disabled, &c, &up); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(c), fromMicros(up)
	return &u, nil
}

// NewUser is what it takes to create a member.
type NewUser struct {
	Email       string
	DisplayName string
	Password    string
	IsAdmin     bool
}

// CreateUser adds a member with a personal drive. Returns EINVALID or
// ECONFLICT when the address is taken.
func (s *Store) CreateUser(ctx context.Context, by gatehouse.Actor, nu NewUser) (*gatehouse.User, error) {
	email, err := gatehouse.NormalizeEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	if err := gatehouse.ValidateDisplayName(nu.DisplayName); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidatePassword(nu.Password); err != nil {
		return nil, err
	}
	hash := gatehouse.HashPassword(nu.Password) // slow: outside the transaction
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	u := &gatehouse.User{ID: gatehouse.NewID(), Email: email, DisplayName: strings.TrimSpace(nu.DisplayName),
		UserType: gatehouse.UserTypeMember, IsAdmin: nu.IsAdmin, CreatedAt: tx.now, UpdatedAt: tx.now}
	if _, err := tx.exec(`INSERT INTO users (id, email, display_name, user_type, is_admin, password_hash, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Email, u.DisplayName, u.UserType, u.IsAdmin, hash, false, micros(tx.now), micros(tx.now)); err != nil {
		if isUniqueViolation(err) {
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "A user with the address %s already exists.", email)
		}
		return nil, err
	}
	if err := tx.createDrive(u); err != nil {
		return nil, err
	}
	r := actorRecord(gatehouse.OpUserAdded, by)
	r.ObjectID, r.ItemType = u.Email, "User"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
	r.EventData = gatehouse.EventData(map[string]any{"displayName": u.DisplayName, "isAdmin": u.IsAdmin})
	if err := tx.audit(r); err != nil {
		return nil, err
	}
	return u, tx.Commit()
}

// User returns the user with the id. Returns ENOTFOUND.
func (s *Store) User(ctx context.Context, id string) (*gatehouse.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The user")
	}
	if err == nil {
		err = s.fillGuests(ctx, u)
	}
	return u, err
}

// UserByEmail returns the user with the address. Returns ENOTFOUND.
func (s *Store) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The user")
	}
	if err == nil {
		err = s.fillGuests(ctx, u)
	}
	return u, err
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// ListUsers returns users ordered by address, after the given address.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]*gatehouse.User, error) {
	return s.ListUsersOfType(ctx, "", after, limit)
}

// ListUsersOfType is ListUsers of one userType only; "" lists every user.
func (s *Store) ListUsersOfType(ctx context.Context, userType, after string, limit int) ([]*gatehouse.User, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q, args := `SELECT `+userColumns+` FROM users WHERE email > ?`, []any{after}
	if userType != "" {
		q, args = q+` AND user_type = ?`, append(args, userType)
	}
	rows, err := s.query(ctx, q+` ORDER BY email LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*gatehouse.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, s.fillGuests(ctx, out...)
}

// UserUpdate holds the fields to change; nil fields stay as they are.
type UserUpdate struct {
	DisplayName *string
	Disabled    *bool
	IsAdmin     *bool
	Password    *string
}

// UpdateUser changes a user. Disabling a user ends their sessions at once
// and suspends their tokens until re-enabled. Returns ENOTFOUND or EINVALID.
func (s *Store) UpdateUser(ctx context.Context, by gatehouse.Actor, id string, up UserUpdate) (*gatehouse.User, error) {
	var hash string
	if up.Password != nil {
		if err := gatehouse.ValidatePassword(*up.Password); err != nil {
			return nil, err
		}
		hash = gatehouse.HashPassword(*up.Password)
	}
	if up.DisplayName != nil {
		if err := gatehouse.ValidateDisplayName(*up.DisplayName); err != nil {
			return nil, err
		}
	}
	var u *gatehouse.User
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		u, err = tx.updateUser(by, id, up, hash)
		return err
	})
	return u, err
}

// lockUser reads a user and, on PostgreSQL, locks the row until the
// transaction ends, so changes to one account apply one after another.
func (tx *Tx) lockUser(id string) (*gatehouse.User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	if tx.s.postgres {
		q += ` FOR UPDATE`
	}
	u, err := scanUser(tx.queryRow(q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The user")
	}
	return u, err
}

func (tx *Tx) updateUser(by gatehouse.Actor, id string, up UserUpdate, hash string) (*gatehouse.User, error) {
	u, err := tx.lockUser(id)
	if err != nil {
		return nil, err
	}
	changed := map[string]any{}
	if up.DisplayName != nil && strings.TrimSpace(*up.DisplayName) != u.DisplayName {
		u.DisplayName = strings.TrimSpace(*up.DisplayName)
		changed["displayName"] = u.DisplayName
	}
	if up.Disabled != nil && *up.Disabled != u.Disabled {
		if *up.Disabled && u.ID == by.UserID {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "You cannot disable your own account.")
		}
		u.Disabled = *up.Disabled
		changed["accountEnabled"] = !u.Disabled
	}
	if up.IsAdmin != nil && *up.IsAdmin != u.IsAdmin {
		if !*up.IsAdmin && u.ID == by.UserID {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "You cannot remove your own administrator role.")
		}
		u.IsAdmin = *up.IsAdmin
		changed["isAdmin"] = u.IsAdmin
	}
	if hash != "" {
		changed["password"] = "changed"
	}
	if len(changed) == 0 {
		return u, nil
	}
	u.UpdatedAt = tx.now
	if _, err := tx.exec(`UPDATE users SET display_name = ?, disabled = ?, is_admin = ?, updated_at = ? WHERE id = ?`,
		u.DisplayName, u.Disabled, u.IsAdmin, micros(tx.now), u.ID); err != nil {
		return nil, err
	}
	if hash != "" {
		if _, err := tx.exec(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, u.ID); err != nil {
			return nil, err
		}
	}
	if u.Disabled || hash != "" {
		// A disabled account or a new password ends every open session,
		// including those opened with a passcode to the same address.
		if _, err := tx.exec(`DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
			return nil, err
		}
		if _, err := tx.exec(`DELETE FROM recipient_sessions WHERE email = ?`, u.Email); err != nil {
			return nil, err
		}
	}
	r := actorRecord(gatehouse.OpUserUpdated, by)
	r.ObjectID, r.ItemType = u.Email, "User"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
	r.EventData = gatehouse.EventData(changed)
	if err := tx.audit(r); err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser removes a user with their drive, sessions and tokens. Returns
// ENOTFOUND or EINVALID for oneself.
func (s *Store) DeleteUser(ctx context.Context, by gatehouse.Actor, id string) error {
	if id == by.UserID {
		return gatehouse.Errorf(gatehouse.EINVALID, "You cannot delete your own account.")
	}
	var keys []string
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		keys, err = tx.deleteUser(by, id)
		return err
	})
	if err != nil {
		return err
	}
	s.removeBlobs(keys)
	return nil
}

// deleteUser takes the drive's lock before the user's, in the order every
// change to the tree takes them, and returns the content keys to remove.
func (tx *Tx) deleteUser(by gatehouse.Actor, id string) ([]string, error) {
	var driveID string
	if err := tx.queryRow(`SELECT id FROM drives WHERE owner_id = ?`, id).Scan(&driveID); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if driveID != "" {
		if err := tx.lockDrive(driveID); err != nil {
			return nil, err
		}
	}
	// A guest's places on links change those links: their drives are
	// locked first too, in id order.
	drives, err := tx.guestLinkDrives(id)
	if err != nil {
		return nil, err
	}
	for _, d := range drives {
		if err := tx.lockDrive(d); err != nil {
			return nil, err
		}
	}
	u, err := tx.lockUser(id)
	if err != nil {
		return nil, err
	}
	if u.UserType == gatehouse.UserTypeGuest {
		if err := tx.removeGuest(by, u); err != nil {
			return nil, err
		}
	}
	keys, err := tx.blobKeys(`SELECT i.id FROM items i JOIN drives d ON d.id = i.drive_id WHERE d.owner_id = ?`, id)
	if err != nil {
		return nil, err
	}
	// The user's links end with their records, as if deleted one by one.
	if driveID != "" {
		if err := tx.deleteDriveLinks(by, driveID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.exec(`DELETE FROM recipient_sessions WHERE email = ?`, u.Email); err != nil {
		return nil, err
	}
	if err := tx.leaveGroups(by, u.ID); err != nil {
		return nil, err
	}
	for _, q := range []string{
		`DELETE FROM item_versions WHERE item_id IN (SELECT i.id FROM items i JOIN drives d ON d.id = i.drive_id WHERE d.owner_id = ?)`,
		`DELETE FROM items WHERE drive_id IN (SELECT id FROM drives WHERE owner_id = ?)`,
		`DELETE FROM drives WHERE owner_id = ?`,
		`DELETE FROM sessions WHERE user_id = ?`,
		`DELETE FROM api_tokens WHERE user_id = ?`,
		`DELETE FROM users WHERE id = ?`,
	} {
		if _, err := tx.exec(q, id); err != nil {
			return nil, err
		}
	}
	r := actorRecord(gatehouse.OpUserDeleted, by)
	r.ObjectID, r.ItemType = u.Email, "User"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
	return keys, tx.audit(r)
}

// guestLinkDrives returns the drives of the links a guest is on, in id
// order; none for a member, whose places stay with the address.
func (tx *Tx) guestLinkDrives(id string) ([]string, error) {
	rows, err := tx.query(`SELECT DISTINCT links.drive_id FROM users u JOIN link_recipients r ON r.email = u.email
		JOIN links ON links.id = r.link_id WHERE u.id = ? AND u.user_type = ? ORDER BY links.drive_id`, id, gatehouse.UserTypeGuest)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// removeGuest revokes a pending guest's invitation and takes the guest off
// every link, each recorded, before the account goes.
func (tx *Tx) removeGuest(by gatehouse.Actor, u *gatehouse.User) error {
	var state string
	if err := tx.queryRow(`SELECT external_user_state FROM users WHERE id = ?`, u.ID).Scan(&state); err != nil {
		return err
	}
	if state == gatehouse.ExternalPendingAcceptance {
		r := actorRecord(gatehouse.OpSharingInvitationRevoked, by)
		r.ObjectID, r.ItemType = u.Email, "User"
		r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
		sites, err := tx.pendingSites(u.ID) // sites.go
		if err != nil {
			return err
		}
		if len(sites) > 0 {
			r.EventData = gatehouse.EventData(map[string]any{"siteIds": sites})
		}
		if err := tx.audit(r); err != nil {
			return err
		}
	}
	links, err := tx.links(`SELECT `+prefixed("links.", linkColumns)+` FROM link_recipients r JOIN links ON links.id = r.link_id
		WHERE r.email = ? ORDER BY r.added_at, links.id`, u.Email)
	if err != nil {
		return err
	}
	rcp := gatehouse.Recipient{Email: u.Email, DisplayName: u.DisplayName, UserID: u.ID, UserType: u.UserType}
	for _, l := range links {
		it, _, err := tx.s.item(tx, l.DriveID, l.ItemID)
		if err != nil {
			return err
		}
		if err := tx.removeRecipient(by, it, l, rcp); err != nil {
			return err
		}
	}
	_, err = tx.exec(`DELETE FROM guest_attestations WHERE email = ?`, u.Email)
	return err
}

// hashSecret is how bearer tokens and session cookies are stored: they carry
// 256 random bits, so a fast hash suffices and lookups stay indexable.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Token is an API bearer token's metadata; the secret is shown once.
type Token struct {
	ID        string
	UserID    string
	Name      string
	CreatedAt time.Time
	RevokedAt time.Time
}

// CreateToken issues a bearer token for the user and returns its secret.
func (s *Store) CreateToken(ctx context.Context, userID, name string) (*Token, string, error) {
	secret := gatehouse.NewSecret("gh_")
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback()
	t := &Token{ID: gatehouse.NewID(), UserID: userID, Name: name, CreatedAt: tx.now}
	if _, err := tx.exec(`INSERT INTO api_tokens (id, user_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, userID, name, hashSecret(secret), micros(tx.now)); err != nil {
		return nil, "", err
	}
	return t, secret, tx.Commit()
}

// ListTokens returns a user's tokens, never their secrets.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]*Token, error) {
	rows, err := s.query(ctx, `SELECT id, user_id, name, created_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY created_at`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Token
	for rows.Next() {
		var t Token
		var c, r int64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &c, &r); err != nil {
			return nil, err
		}
		t.CreatedAt, t.RevokedAt = fromMicros(c), fromMicros(r)
		out = append(out, &t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token at once. Returns ENOTFOUND.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.exec(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, micros(tx.now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("The token")
	}
	return tx.Commit()
}

// UserByToken returns the enabled user a bearer token belongs to. Returns
// EUNAUTHORIZED for unknown, revoked or disabled.
func (s *Store) UserByToken(ctx context.Context, secret string) (*gatehouse.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT u.id, u.email, u.display_name, u.user_type, u.is_admin, u.disabled, u.created_at, u.updated_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ? AND t.revoked_at = 0 AND u.disabled = ?`, hashSecret(secret), false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The access token is not valid.")
	}
	if err == nil {
		err = s.refuseExpiredGuest(ctx, u)
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}
