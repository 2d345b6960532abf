package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"gatehouse"
)

// Sites: a document library with its own row and three groups, whose
// members are the site's owners, members and visitors. The access
// decision reads the groups (accessTo); nothing here grants otherwise.
// Site changes are authorized here, in their transaction, with
// gatehouse.AuthorizeSite, so the access they check is the one they see.

const siteColumns = `s.id, s.display_name, s.description, s.drive_id, s.created_by, s.created_at,
	COALESCE((SELECT MIN(g.id) FROM security_groups g WHERE g.drive_id = s.drive_id AND g.drive_access = 3), ''),
	COALESCE((SELECT MIN(g.id) FROM security_groups g WHERE g.drive_id = s.drive_id AND g.drive_access = 2), ''),
	COALESCE((SELECT MIN(g.id) FROM security_groups g WHERE g.drive_id = s.drive_id AND g.drive_access = 1), '')`

func scanSite(sc interface{ Scan(...any) error }, extra ...any) (*gatehouse.Site, error) {
	var st gatehouse.Site
	var c int64
	err := sc.Scan(append([]any{&st.ID, &st.DisplayName, &st.Description, &st.DriveID, &st.CreatedBy, &c,
		&st.OwnersGroupID, &st.MembersGroupID, &st.VisitorsGroupID}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The site")
	} else if err != nil {
		return nil, err
	}
	st.CreatedAt = fromMicros(c)
	return &st, nil
}

// NewSite is what it takes to create a site.
type NewSite struct {
	DisplayName, Description string
}

// SiteURL is a site's webUrl: its page, and the ObjectId of its records.
func (s *Store) SiteURL(id string) string { return s.opt.BaseURL + "/sites/" + id }

// CreateSite creates a site in one transaction: its drive (a document
// library, with no owner of its own) and root folder, its row, its three
// groups, and its creator in the owners' group, which makes them an owner
// of all three (groupOwnerExpr). Any member may; guests may not.
func (s *Store) CreateSite(ctx context.Context, by gatehouse.Actor, ns NewSite) (*gatehouse.Site, error) {
	if err := gatehouse.AuthorizeSite(by.Principal, gatehouse.SiteCreate, gatehouse.NoAccess); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(ns.DisplayName)
	nick := siteNickname(name)
	// The longest of the groups' names stands for all three.
	if err := gatehouse.ValidateGroup(gatehouse.SiteGroupName(name, gatehouse.AccessRead), ns.Description, nick+"-visitors"); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidateDisplayName(name); err != nil {
		return nil, err
	}
	var st *gatehouse.Site
	err := s.inTx(ctx, func(tx *Tx) error {
		st = &gatehouse.Site{ID: gatehouse.NewID(), DisplayName: name, Description: ns.Description, DriveID: gatehouse.NewID(),
			CreatedBy: by.UserID, CreatedAt: tx.now}
		rootID := gatehouse.NewID()
		if _, err := tx.exec(`INSERT INTO drives (id, drive_type, owner_id, root_id, created_at) VALUES (?, ?, NULL, ?, ?)`,
			st.DriveID, gatehouse.DriveTypeLibrary, rootID, micros(tx.now)); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO items (id, drive_id, parent_id, name, name_key, is_folder, created_at, modified_at, created_by, modified_by)
			VALUES (?, ?, NULL, 'root', 'root', ?, ?, ?, ?, ?)`, rootID, st.DriveID, true, micros(tx.now), micros(tx.now), by.UserID, by.UserID); err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO sites (id, drive_id, display_name, description, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			st.ID, st.DriveID, st.DisplayName, st.Description, st.CreatedBy, micros(tx.now)); err != nil {
			return err
		}
		r := tx.s.siteRecord(gatehouse.OpSiteCollectionCreated, by, st)
		r.EventData = gatehouse.EventData(map[string]any{"siteId": st.ID, "displayName": st.DisplayName, "driveId": st.DriveID})
		if err := tx.audit(r); err != nil {
			return err
		}
		var owners *gatehouse.Group
		for _, g := range []struct {
			access gatehouse.DriveAccess
			id     *string
			who    string
		}{
			{gatehouse.AccessOwner, &st.OwnersGroupID, "owners"},
			{gatehouse.AccessWrite, &st.MembersGroupID, "members"},
			{gatehouse.AccessRead, &st.VisitorsGroupID, "visitors"},
		} {
			grp := &gatehouse.Group{ID: gatehouse.NewID(), DisplayName: gatehouse.SiteGroupName(name, g.access),
				Description: "The " + g.who + " of the site " + name + ".", MailNickname: nick + "-" + g.who,
				SecurityEnabled: true, DriveID: st.DriveID, DriveAccess: g.access, SiteID: st.ID}
			if err := tx.createGroup(by, grp); err != nil {
				return err
			}
			*g.id = grp.ID
			if owners == nil {
				owners = grp
			}
		}
		if by.UserID == "" {
			return nil
		}
		_, err := tx.addGroupMember(by, owners, by.UserID, gatehouse.GroupMember)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// siteNickname is the stem of a site's groups' mail nicknames, short
// enough for the longest suffix.
func siteNickname(name string) string {
	n := gatehouse.MailNickname(name)
	if len(n) > 48 {
		n = n[:48]
	}
	return n
}

func (s *Store) siteRecord(op string, by gatehouse.Actor, st *gatehouse.Site) *gatehouse.Record {
	r := actorRecord(op, by)
	r.ObjectID, r.ItemType = s.SiteURL(st.ID), "Site"
	r.SourceFileName = st.DisplayName
	return r
}

// Site returns a site by id. Returns ENOTFOUND.
func (s *Store) Site(ctx context.Context, id string) (*gatehouse.Site, error) {
	return scanSite(s.queryRow(ctx, `SELECT `+siteColumns+` FROM sites s WHERE s.id = ?`, id))
}

// SiteByDrive returns the site whose drive is driveID. Returns ENOTFOUND.
func (s *Store) SiteByDrive(ctx context.Context, driveID string) (*gatehouse.Site, error) {
	return scanSite(s.queryRow(ctx, `SELECT `+siteColumns+` FROM sites s WHERE s.drive_id = ?`, driveID))
}

// SiteFacts loads a site and p's access to its drive, for
// gatehouse.AuthorizeSite. Returns ENOTFOUND.
func (s *Store) SiteFacts(ctx context.Context, p gatehouse.Principal, id string) (*gatehouse.Site, gatehouse.DriveAccess, error) {
	var access gatehouse.DriveAccess
	st, err := scanSite(s.queryRow(ctx, `SELECT `+siteColumns+`, `+accessTo("s.drive_id")+` FROM sites s WHERE s.id = ?`,
		p.UserID, p.UserID, id), &access)
	if err != nil {
		return nil, gatehouse.NoAccess, err
	}
	if p.UserID == "" {
		access = gatehouse.NoAccess
	}
	return st, access, nil
}

// site is SiteFacts inside tx for by, with the site's row locked by lock.
func (tx *Tx) site(p gatehouse.Principal, id, lock string) (*gatehouse.Site, gatehouse.DriveAccess, error) {
	var access gatehouse.DriveAccess
	st, err := scanSite(tx.queryRow(`SELECT `+siteColumns+`, `+accessTo("s.drive_id")+` FROM sites s WHERE s.id = ?`+lock,
		p.UserID, p.UserID, id), &access)
	if err != nil {
		return nil, gatehouse.NoAccess, err
	}
	if p.UserID == "" {
		access = gatehouse.NoAccess
	}
	return st, access, nil
}

// Sites lists the sites p can see, by display name, after the site whose
// id is after: those whose groups p is a member of; administrators and the
// system see every site.
func (s *Store) Sites(ctx context.Context, p gatehouse.Principal, after string, limit int) ([]*gatehouse.Site, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	all := p.IsAdmin || p.Kind == gatehouse.KindSystem
	rows, err := s.query(ctx, `SELECT `+siteColumns+` FROM sites s
		WHERE (? OR EXISTS (SELECT 1 FROM security_groups g JOIN group_members m ON m.group_id = g.id AND m.role = 'member'
			WHERE g.drive_id = s.drive_id AND m.user_id = ?))
		AND (? = '' OR s.display_name > (SELECT a.display_name FROM sites a WHERE a.id = ?)
			OR (s.display_name = (SELECT a.display_name FROM sites a WHERE a.id = ?) AND s.id > ?))
		ORDER BY s.display_name, s.id LIMIT ?`, all, p.UserID, after, after, after, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*gatehouse.Site{}
	for rows.Next() {
		st, err := scanSite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// SiteRecipient names someone to share a site with: a directory user by
// ObjectID (id or address), or an address by Email.
type SiteRecipient struct {
	Email, ObjectID string
}

// SiteShare is a request to share a site.
type SiteShare struct {
	Recipients []SiteRecipient
	Role       string // gatehouse.SiteRoleRead, SiteRoleWrite or SiteRoleOwner
	Message    string // for the invitation mail
	// OrgDomains are the organization's own domains: an address in one of
	// them that is not in the directory is never invited as a guest.
	OrgDomains []string
}

// SiteShareResult is what became of one recipient.
type SiteShareResult struct {
	Email, UserID, Role string
	State               string // SiteShareAdded or SiteShareInvited
}

// States of a site share's recipient.
const (
	SiteShareAdded   = "added"   // in the role's group now
	SiteShareInvited = "invited" // a pending guest, in the group once they redeem
)

// ShareSite gives people the role on the site, in one transaction: members
// and guests who have accepted go into the role's group at once; any other
// address gets a guest invitation (never an ad hoc recipient), as
// CreateInvitation makes one, naming the site, and joins the group when it
// redeems. Site owners and administrators only. Returns EINVALID for a
// bad role, message or address, ENOTFOUND for an unknown user id.
func (s *Store) ShareSite(ctx context.Context, by gatehouse.Actor, siteID string, sh SiteShare) ([]SiteShareResult, error) {
	access, err := gatehouse.SiteAccess(sh.Role)
	if err != nil {
		return nil, err
	}
	switch {
	case len(sh.Recipients) == 0:
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "Name at least one recipient.")
	case len(sh.Recipients) > gatehouse.MaxRecipientsPerCall:
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "A site can be shared with at most %d recipients at a time.", gatehouse.MaxRecipientsPerCall)
	case len(sh.Message) > gatehouse.MaxShareMessage:
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "The message is longer than %d bytes.", gatehouse.MaxShareMessage)
	}
	var out []SiteShareResult
	invited := false
	err = s.inTx(ctx, func(tx *Tx) error {
		out, invited = nil, false
		st, mine, err := tx.site(by.Principal, siteID, tx.forShare())
		if err != nil {
			return err
		}
		if err := gatehouse.AuthorizeSite(by.Principal, gatehouse.SiteManage, mine); err != nil {
			return err
		}
		g, err := tx.s.group(tx, siteGroupID(st, access), tx.forShare())
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, rcp := range sh.Recipients {
			res, err := tx.shareSiteWith(by, st, g, rcp, sh)
			if err != nil {
				return err
			}
			if seen[res.UserID] {
				continue
			}
			seen[res.UserID] = true
			res.Role = sh.Role
			invited = invited || res.State == SiteShareInvited
			out = append(out, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if invited {
		s.wakeOutbox()
	}
	return out, nil
}

func siteGroupID(st *gatehouse.Site, a gatehouse.DriveAccess) string {
	switch a {
	case gatehouse.AccessOwner:
		return st.OwnersGroupID
	case gatehouse.AccessWrite:
		return st.MembersGroupID
	}
	return st.VisitorsGroupID
}

// shareSiteWith adds one recipient to g, or invites them.
func (tx *Tx) shareSiteWith(by gatehouse.Actor, st *gatehouse.Site, g *gatehouse.Group, rcp SiteRecipient, sh SiteShare) (SiteShareResult, error) {
	var u *gatehouse.User
	var email string
	var err error
	switch {
	case strings.TrimSpace(rcp.ObjectID) != "":
		if u, err = tx.directoryUser(rcp.ObjectID); err != nil {
			return SiteShareResult{}, err
		}
		email = u.Email
	case strings.TrimSpace(rcp.Email) != "":
		if email, err = gatehouse.NormalizeEmail(strings.ToLower(strings.TrimSpace(rcp.Email))); err != nil {
			return SiteShareResult{}, err
		}
		u, err = scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users WHERE email = ?`, email))
		if errors.Is(err, sql.ErrNoRows) {
			u = nil
		} else if err != nil {
			return SiteShareResult{}, err
		}
	default:
		return SiteShareResult{}, gatehouse.Errorf(gatehouse.EINVALID, "Each recipient needs an email or an objectId.")
	}
	if u != nil && u.UserType == gatehouse.UserTypeGuest {
		var state string
		if err := tx.queryRow(`SELECT external_user_state FROM users WHERE id = ?`, u.ID).Scan(&state); err != nil {
			return SiteShareResult{}, err
		}
		if state == gatehouse.ExternalPendingAcceptance {
			u = nil // not yet in: invited again, and joins on redemption
		}
	}
	if u != nil {
		if _, err := tx.addGroupMember(by, g, u.ID, gatehouse.GroupMember); err != nil {
			return SiteShareResult{}, err
		}
		return SiteShareResult{Email: u.Email, UserID: u.ID, State: SiteShareAdded}, nil
	}
	// The checks POST /v1.0/invitations makes before inviting.
	if err := gatehouse.AuthorizeDirectory(by.Principal, gatehouse.ActInvite, ""); err != nil {
		return SiteShareResult{}, err
	}
	if gatehouse.InOrgDomains(email, sh.OrgDomains) {
		return SiteShareResult{}, gatehouse.Errorf(gatehouse.EINVALID,
			"%s is an address of the organization but not in the directory; only people outside it can be invited as guests.", email)
	}
	inv, err := tx.invite(by, email, InviteRequest{Email: email, RedirectURL: "/sites/" + st.ID, SendMessage: true, Message: sh.Message,
		objectID: tx.s.SiteURL(st.ID), siteName: st.DisplayName})
	if err != nil {
		return SiteShareResult{}, err
	}
	if _, err := tx.exec(`INSERT INTO pending_group_members (group_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, user_id) DO NOTHING`, g.ID, inv.UserID, by.UserID, micros(tx.now)); err != nil {
		return SiteShareResult{}, err
	}
	return SiteShareResult{Email: email, UserID: inv.UserID, State: SiteShareInvited}, nil
}

// joinPendingGroups puts a guest who has just redeemed an invitation into
// the groups of the sites shared with them meanwhile, each recorded as
// AddedToGroup by the guest's redemption.
func (tx *Tx) joinPendingGroups(userID string, actor gatehouse.Actor) error {
	rows, err := tx.query(`SELECT group_id FROM pending_group_members WHERE user_id = ? ORDER BY added_at, group_id`, userID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	if actor.UserID == "" {
		actor.UserID, actor.Kind = userID, gatehouse.KindGuest
	}
	for _, id := range ids {
		g, err := tx.s.group(tx, id, tx.forShare())
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			continue // its site was deleted meanwhile
		} else if err != nil {
			return err
		}
		if _, err := tx.addGroupMember(actor, g, userID, gatehouse.GroupMember); err != nil {
			return err
		}
	}
	_, err = tx.exec(`DELETE FROM pending_group_members WHERE user_id = ?`, userID)
	return err
}

// pendingSites returns the ids of the sites a pending guest would join on
// redemption, for the record of the invitation's revocation.
func (tx *Tx) pendingSites(userID string) ([]string, error) {
	rows, err := tx.query(`SELECT DISTINCT s.id FROM pending_group_members p JOIN security_groups g ON g.id = p.group_id
		JOIN sites s ON s.drive_id = g.drive_id WHERE p.user_id = ? ORDER BY s.id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DeleteSite removes a site in one transaction: its links, each with its
// records, its three groups (GroupRemoved), its items, versions, drive and
// row, then SiteDeleted; its content goes after the commit. Everyone loses
// access at once. Site owners and administrators only.
func (s *Store) DeleteSite(ctx context.Context, by gatehouse.Actor, id string) error {
	var keys []string
	err := s.inTx(ctx, func(tx *Tx) error {
		keys = nil
		st, _, err := tx.site(by.Principal, id, "")
		if err != nil {
			return err
		}
		// The drive's lock first, in the order every change to a tree takes it.
		if err := tx.lockDrive(st.DriveID); err != nil {
			return err
		}
		st, access, err := tx.site(by.Principal, id, tx.forUpdate())
		if err != nil {
			return err
		}
		if err := gatehouse.AuthorizeSite(by.Principal, gatehouse.SiteManage, access); err != nil {
			return err
		}
		if keys, err = tx.blobKeys(`SELECT id FROM items WHERE drive_id = ?`, st.DriveID); err != nil {
			return err
		}
		if err := tx.deleteDriveLinks(by, st.DriveID); err != nil {
			return err
		}
		for _, gid := range []string{st.OwnersGroupID, st.MembersGroupID, st.VisitorsGroupID} {
			if gid == "" {
				continue
			}
			g, err := tx.s.group(tx, gid, tx.forUpdate())
			if err != nil {
				return err
			}
			if err := tx.deleteGroup(by, g); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM item_versions WHERE item_id IN (SELECT id FROM items WHERE drive_id = ?)`,
			`DELETE FROM items WHERE drive_id = ?`,
			`DELETE FROM sites WHERE drive_id = ?`,
			`DELETE FROM security_groups WHERE drive_id = ?`,
			`DELETE FROM drives WHERE id = ?`,
		} {
			if _, err := tx.exec(q, st.DriveID); err != nil {
				return err
			}
		}
		r := tx.s.siteRecord(gatehouse.OpSiteDeleted, by, st)
		r.EventData = gatehouse.EventData(map[string]any{"siteId": st.ID, "displayName": st.DisplayName, "driveId": st.DriveID})
		return tx.audit(r)
	})
	if err != nil {
		return err
	}
	s.removeBlobs(keys)
	return nil
}
