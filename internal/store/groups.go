package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"gatehouse"
)

// Groups: the group's row, its members and owners, and what it is
// secured to. Every change writes its record in the same transaction.

const groupColumns = `g.id, g.display_name, g.description, g.mail_nickname, g.security_enabled, COALESCE(g.drive_id, ''), g.drive_access,
	COALESCE((SELECT s.id FROM sites s WHERE s.drive_id = g.drive_id), ''), g.created_by, g.created_at, g.updated_at`

func scanGroup(sc interface{ Scan(...any) error }, extra ...any) (*gatehouse.Group, error) {
	var g gatehouse.Group
	var c, u int64
	if err := sc.Scan(append([]any{&g.ID, &g.DisplayName, &g.Description, &g.MailNickname, &g.SecurityEnabled, &g.DriveID,
		&g.DriveAccess, &g.SiteID, &g.CreatedBy, &c, &u}, extra...)...); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = fromMicros(c), fromMicros(u)
	return &g, nil
}

// NewGroup is what it takes to create a group.
type NewGroup struct {
	DisplayName, Description, MailNickname string
}

// GroupPatch changes a group; nil fields stay.
type GroupPatch struct {
	DisplayName, Description, MailNickname *string
}

// Group returns a group by id. Returns ENOTFOUND.
func (s *Store) Group(ctx context.Context, id string) (*gatehouse.Group, error) {
	return s.group(reader{s, ctx}, id, "")
}

func (s *Store) group(q querier, id, lock string) (*gatehouse.Group, error) {
	g, err := scanGroup(q.queryRow(`SELECT `+groupColumns+` FROM security_groups g WHERE g.id = ?`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The group")
	}
	return g, err
}

// GroupFacts loads a group and the facts about it for p. Returns ENOTFOUND.
func (s *Store) GroupFacts(ctx context.Context, p gatehouse.Principal, id string) (*gatehouse.Group, gatehouse.GroupFacts, error) {
	var f gatehouse.GroupFacts
	g, err := scanGroup(s.queryRow(ctx, `SELECT `+groupColumns+`, `+groupOwnerExpr+`,
			EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.role = 'member' AND m.user_id = ?),
			g.drive_id IS NOT NULL, `+inSiteExpr+`
		FROM security_groups g WHERE g.id = ?`,
		p.UserID, p.UserID, p.UserID, p.UserID, id), &f.Owner, &f.Member, &f.SiteGroup, &f.InSite)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, f, notFound("The group")
	}
	return g, f, err
}

// groupOwnerExpr is true when the user (both arguments) owns the group g,
// or owns the site whose group it is.
const groupOwnerExpr = `(EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.role = 'owner' AND m.user_id = ?)
	OR EXISTS (SELECT 1 FROM security_groups sg JOIN group_members m ON m.group_id = sg.id AND m.role = 'member'
		WHERE g.drive_id IS NOT NULL AND sg.drive_id = g.drive_id AND sg.drive_access = 3 AND m.user_id = ?))`

// inSiteExpr is true when the user (the argument) is in one of the groups
// of the site whose group g is.
const inSiteExpr = `EXISTS (SELECT 1 FROM security_groups sg JOIN group_members m ON m.group_id = sg.id AND m.role = 'member'
		WHERE g.drive_id IS NOT NULL AND sg.drive_id = g.drive_id AND m.user_id = ?)`

// Groups lists every group by display name after the cursor (display
// name, id), for administrators.
func (s *Store) Groups(ctx context.Context, afterName, afterID string, limit int) ([]*gatehouse.Group, error) {
	return s.GroupsFor(ctx, gatehouse.SystemPrincipal(), afterName, afterID, limit)
}

// GroupsFor is Groups as p may see them: administrators all, others every
// group but the groups of sites they are not in.
func (s *Store) GroupsFor(ctx context.Context, p gatehouse.Principal, afterName, afterID string, limit int) ([]*gatehouse.Group, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q, args := `SELECT `+groupColumns+` FROM security_groups g
		WHERE (g.display_name > ? OR (g.display_name = ? AND g.id > ?))`, []any{afterName, afterName, afterID}
	if p.Kind != gatehouse.KindSystem && !p.IsAdmin {
		q, args = q+` AND (g.drive_id IS NULL OR `+inSiteExpr+`)`, append(args, p.UserID)
	}
	rows, err := s.query(ctx, q+` ORDER BY g.display_name, g.id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*gatehouse.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// CreateGroup adds a group with its creator as its owner.
func (s *Store) CreateGroup(ctx context.Context, by gatehouse.Actor, ng NewGroup) (*gatehouse.Group, error) {
	ng.DisplayName, ng.MailNickname = strings.TrimSpace(ng.DisplayName), strings.TrimSpace(ng.MailNickname)
	if err := gatehouse.ValidateGroup(ng.DisplayName, ng.Description, ng.MailNickname); err != nil {
		return nil, err
	}
	var g *gatehouse.Group
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		g = &gatehouse.Group{ID: gatehouse.NewID(), DisplayName: ng.DisplayName, Description: ng.Description,
			MailNickname: ng.MailNickname, SecurityEnabled: true}
		if err := tx.createGroup(by, g); err != nil {
			return err
		}
		if by.UserID == "" {
			return nil
		}
		_, err = tx.addGroupMember(by, g, by.UserID, gatehouse.GroupOwner)
		return err
	})
	return g, err
}

// createGroup inserts g (its DriveID and DriveAccess set for a site's) and
// records GroupAdded.
func (tx *Tx) createGroup(by gatehouse.Actor, g *gatehouse.Group) error {
	g.CreatedBy, g.CreatedAt, g.UpdatedAt = by.UserID, tx.now, tx.now
	var drive any
	if g.DriveID != "" {
		drive = g.DriveID
	}
	if _, err := tx.exec(`INSERT INTO security_groups (id, display_name, description, mail_nickname, security_enabled, drive_id,
		drive_access, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.DisplayName, g.Description, g.MailNickname, true, drive, int(g.DriveAccess), g.CreatedBy, micros(tx.now), micros(tx.now)); err != nil {
		return err
	}
	r := groupRecord(gatehouse.OpGroupAdded, by, g)
	r.EventData = gatehouse.EventData(map[string]any{"GroupId": g.ID, "GroupName": g.DisplayName, "mailNickname": g.MailNickname, "siteId": g.SiteID})
	return tx.audit(r)
}

// UpdateGroup changes a group's name, description or nickname. A site's
// groups keep their names, which say whose they are.
func (s *Store) UpdateGroup(ctx context.Context, by gatehouse.Actor, id string, p GroupPatch) (*gatehouse.Group, error) {
	var g *gatehouse.Group
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		if g, err = tx.s.group(tx, id, tx.forUpdate()); err != nil {
			return err
		}
		changed := map[string]any{}
		if p.DisplayName != nil && *p.DisplayName != g.DisplayName {
			if g.SiteID != "" {
				return gatehouse.Errorf(gatehouse.EINVALID, "A site's groups are named after the site; rename the site instead.")
			}
			g.DisplayName, changed["displayName"] = strings.TrimSpace(*p.DisplayName), strings.TrimSpace(*p.DisplayName)
		}
		if p.Description != nil && *p.Description != g.Description {
			g.Description, changed["description"] = *p.Description, *p.Description
		}
		if p.MailNickname != nil && *p.MailNickname != g.MailNickname {
			g.MailNickname, changed["mailNickname"] = strings.TrimSpace(*p.MailNickname), strings.TrimSpace(*p.MailNickname)
		}
		if err := gatehouse.ValidateGroup(g.DisplayName, g.Description, g.MailNickname); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		g.UpdatedAt = tx.now
		if _, err := tx.exec(`UPDATE security_groups SET display_name = ?, description = ?, mail_nickname = ?, updated_at = ? WHERE id = ?`,
			g.DisplayName, g.Description, g.MailNickname, micros(tx.now), g.ID); err != nil {
			return err
		}
		r := groupRecord(gatehouse.OpGroupUpdated, by, g)
		changed["GroupId"], changed["GroupName"] = g.ID, g.DisplayName
		r.EventData = gatehouse.EventData(changed)
		return tx.audit(r)
	})
	return g, err
}

// DeleteGroup removes a group: everyone in it loses what it was granted
// at once. A site's groups go with the site only.
func (s *Store) DeleteGroup(ctx context.Context, by gatehouse.Actor, id string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		g, err := tx.s.group(tx, id, tx.forUpdate())
		if err != nil {
			return err
		}
		if g.SiteID != "" {
			return gatehouse.Errorf(gatehouse.EINVALID, "%q belongs to a site; delete the site, or remove people from the group.", g.DisplayName)
		}
		return tx.deleteGroup(by, g)
	})
}

// deleteGroup records the group's removal from each link it was secured
// to, then GroupRemoved, and deletes it with its memberships.
func (tx *Tx) deleteGroup(by gatehouse.Actor, g *gatehouse.Group) error {
	links, err := tx.links(`SELECT `+prefixed("links.", linkColumns)+` FROM link_groups lg JOIN links ON links.id = lg.link_id
		WHERE lg.group_id = ?`, g.ID)
	if err != nil {
		return err
	}
	for _, l := range links {
		it, _, err := tx.s.item(tx, l.DriveID, l.ItemID)
		if err != nil {
			return err
		}
		r := tx.s.linkRecord(gatehouse.OpRemovedFromSecureLink, by, it, l)
		r.TargetUserOrGroupName, r.TargetUserOrGroupType = g.DisplayName, gatehouse.TargetTypeGroup
		r.EventData = gatehouse.EventData(map[string]any{"GroupId": g.ID, "GroupName": g.DisplayName, "reason": "group deleted"})
		if err := tx.audit(r); err != nil {
			return err
		}
	}
	if _, err := tx.exec(`DELETE FROM security_groups WHERE id = ?`, g.ID); err != nil {
		return err
	}
	r := groupRecord(gatehouse.OpGroupRemoved, by, g)
	r.EventData = gatehouse.EventData(map[string]any{"GroupId": g.ID, "GroupName": g.DisplayName})
	return tx.audit(r)
}

func groupRecord(op string, by gatehouse.Actor, g *gatehouse.Group) *gatehouse.Record {
	r := actorRecord(op, by)
	r.ObjectID, r.ItemType = g.ID, "Group"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = g.DisplayName, gatehouse.TargetTypeGroup
	return r
}

// AddGroupMember adds a directory user, named by id or address, to the
// group in the role (gatehouse.GroupMember or GroupOwner). Adding someone
// already there changes nothing. Returns EINVALID for an address outside
// the directory or a group, ENOTFOUND for an unknown id.
func (s *Store) AddGroupMember(ctx context.Context, by gatehouse.Actor, groupID, ref, role string) (*gatehouse.User, error) {
	var u *gatehouse.User
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		g, err := tx.s.group(tx, groupID, tx.forShare())
		if err != nil {
			return err
		}
		if u, err = tx.directoryUser(ref); err != nil {
			return err
		}
		_, err = tx.addGroupMember(by, g, u.ID, role)
		return err
	})
	return u, err
}

// forShare locks the rows read against deletion on PostgreSQL, so a
// member is never added to a group being deleted.
func (tx *Tx) forShare() string {
	if tx.s.postgres {
		return ` FOR SHARE`
	}
	return ""
}

// directoryUser finds the user a membership names by id or address.
func (tx *Tx) directoryUser(ref string) (*gatehouse.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 320 || !utf8.ValidString(ref) || strings.ContainsRune(ref, 0) {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "Name a user by their id or address.")
	}
	if strings.Contains(ref, "@") {
		email, err := gatehouse.NormalizeEmail(ref)
		if err != nil {
			return nil, err
		}
		u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE email = ?`, email))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, gatehouse.Errorf(gatehouse.EINVALID,
				"%s is not in the directory. Only members and guests can be in a group: invite them as a guest first, then add them.", email)
		}
		return u, err
	}
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM security_groups WHERE id = ?`, ref).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "A group cannot be a member of another group; add its members instead.")
		}
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No user with the id %q was found.", ref)
	}
	return u, err
}

// addGroupMember adds the user to g in the role and records AddedToGroup,
// once: it reports whether the user was not there already.
func (tx *Tx) addGroupMember(by gatehouse.Actor, g *gatehouse.Group, userID, role string) (bool, error) {
	if role != gatehouse.GroupMember && role != gatehouse.GroupOwner {
		return false, gatehouse.Errorf(gatehouse.EINVALID, "A group role is member or owner.")
	}
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`+tx.forShare(), userID))
	if errors.Is(err, sql.ErrNoRows) {
		return false, notFound("The user")
	} else if err != nil {
		return false, err
	}
	res, err := tx.exec(`INSERT INTO group_members (group_id, user_id, role, added_by, added_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (group_id, role, user_id) DO NOTHING`, g.ID, u.ID, role, by.UserID, micros(tx.now))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	return true, tx.audit(memberRecord(gatehouse.OpAddedToGroup, by, g, u, role))
}

// RemoveGroupMember takes the user out of the group's role: what the group
// granted them ends with this commit. Returns ENOTFOUND when they were
// not there.
func (s *Store) RemoveGroupMember(ctx context.Context, by gatehouse.Actor, groupID, userID, role string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		g, err := tx.s.group(tx, groupID, tx.forShare())
		if err != nil {
			return err
		}
		return tx.removeGroupMember(by, g, userID, role)
	})
}

func (tx *Tx) removeGroupMember(by gatehouse.Actor, g *gatehouse.Group, userID, role string) error {
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("The user")
	} else if err != nil {
		return err
	}
	res, err := tx.exec(`DELETE FROM group_members WHERE group_id = ? AND role = ? AND user_id = ?`, g.ID, role, u.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if role == gatehouse.GroupOwner {
			return gatehouse.Errorf(gatehouse.ENOTFOUND, "%s is not an owner of %s.", u.Email, g.DisplayName)
		}
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "%s is not a member of %s.", u.Email, g.DisplayName)
	}
	return tx.audit(memberRecord(gatehouse.OpRemovedFromGroup, by, g, u, role))
}

// memberRecord names the member by address (their user principal name),
// with their type, and the group in EventData.
func memberRecord(op string, by gatehouse.Actor, g *gatehouse.Group, u *gatehouse.User, role string) *gatehouse.Record {
	r := actorRecord(op, by)
	r.ObjectID, r.ItemType = g.ID, "Group"
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = u.Email, u.UserType
	data := map[string]any{"GroupId": g.ID, "GroupName": g.DisplayName, "role": role, "memberDisplayName": u.DisplayName}
	if g.SiteID != "" {
		data["siteId"] = g.SiteID
	}
	r.EventData = gatehouse.EventData(data)
	return r
}

// GroupMembers lists the users in the group's role by address, after the
// given address.
func (s *Store) GroupMembers(ctx context.Context, groupID, role, after string, limit int) ([]gatehouse.GroupMembership, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT `+prefixed("u.", userColumns)+`, m.role, m.added_at
		FROM group_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = ? AND m.role = ? AND u.email > ? ORDER BY u.email LIMIT ?`, groupID, role, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.GroupMembership{}
	for rows.Next() {
		var m gatehouse.GroupMembership
		var added int64
		if err := rows.Scan(&m.User.ID, &m.User.Email, &m.User.DisplayName, &m.User.UserType, &m.User.IsAdmin, &m.User.Disabled,
			new(int64), new(int64), &m.Role, &added); err != nil {
			return nil, err
		}
		m.AddedAt = fromMicros(added)
		out = append(out, m)
	}
	return out, rows.Err()
}

// leaveGroups takes a user being deleted out of every group, each removal
// recorded as if made one by one.
func (tx *Tx) leaveGroups(by gatehouse.Actor, userID string) error {
	rows, err := tx.query(`SELECT group_id, role FROM group_members WHERE user_id = ? ORDER BY group_id, role`, userID)
	if err != nil {
		return err
	}
	var ms [][2]string
	for rows.Next() {
		var m [2]string
		if err := rows.Scan(&m[0], &m[1]); err != nil {
			rows.Close()
			return err
		}
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range ms {
		g, err := tx.s.group(tx, m[0], "")
		if err != nil {
			return err
		}
		if err := tx.removeGroupMember(by, g, userID, m[1]); err != nil {
			return err
		}
	}
	return nil
}

// PendingGroupMembers lists the guests a site was shared with who have not
// redeemed their invitation yet, by address: they join the group when
// they do.
func (s *Store) PendingGroupMembers(ctx context.Context, groupID string, limit int) ([]gatehouse.GroupMembership, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT `+prefixed("u.", userColumns)+`, p.added_at
		FROM pending_group_members p JOIN users u ON u.id = p.user_id
		WHERE p.group_id = ? ORDER BY u.email LIMIT ?`, groupID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.GroupMembership{}
	for rows.Next() {
		m := gatehouse.GroupMembership{Role: gatehouse.GroupMember}
		var added int64
		if err := rows.Scan(&m.User.ID, &m.User.Email, &m.User.DisplayName, &m.User.UserType, &m.User.IsAdmin, &m.User.Disabled,
			new(int64), new(int64), &added); err != nil {
			return nil, err
		}
		m.AddedAt = fromMicros(added)
		out = append(out, m)
	}
	return out, rows.Err()
}
