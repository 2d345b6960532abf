package store

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"gatehouse"
	"gatehouse/internal/mail"
)

const linkColumns = `id, share_id, token, item_id, drive_id, created_by, scope, role, prevents_download, dormant, notify_owner, expires_at, created_at, updated_at`

func (s *Store) scanLink(sc interface{ Scan(...any) error }, extra ...any) (*gatehouse.Link, error) {
	var l gatehouse.Link
	var exp, c, u int64
	if err := sc.Scan(append([]any{&l.ID, &l.ShareID, &l.Token, &l.ItemID, &l.DriveID, &l.CreatedBy, &l.Scope, &l.Role,
		&l.PreventsDownload, &l.Dormant, &l.NotifyOwner, &exp, &c, &u}, extra...)...); err != nil {
		return nil, err
	}
	l.ExpiresAt, l.CreatedAt, l.UpdatedAt = fromMicros(exp), fromMicros(c), fromMicros(u)
	token, err := s.openToken(l.Token)
	if err != nil {
		return nil, err
	}
	l.Token = token
	return &l, nil
}

// ShareRequest is one invite or createLink call.
type ShareRequest struct {
	DriveID, ItemID string
	Role            string
	Emails          []string
	Message         string
	ExpiresAt       time.Time // zero: never
	SendInvitation  bool
	ShareID         string // add to this link (grant) rather than the item's link of the role
	// ObjectIDs are Graph recipients' objectId: groups are secured to the
	// link, users added by their address.
	ObjectIDs []string
	// PreventsDownload asks for a view-only link: preview, no download.
	PreventsDownload bool
	// NotifyOwner, when set, turns the owner's notices on or off: for a
	// new link, and recorded as a change for an existing one.
	NotifyOwner *bool
	// NotifyOwnerIfNew sets the owner's notices of a link this share
	// creates, and leaves an existing link's as they are: the share form's
	// box, checked by default, must not turn on again notices the owner
	// turned off on the link they add people to. NotifyOwner wins.
	NotifyOwnerIfNew *bool
	// Resend queues the invitation again for addresses already on the
	// link (at most once per ResendInterval each), instead of nothing.
	Resend bool
	// Outcome, when set, is filled with what the sharer should be told.
	Outcome *ShareOutcome
}

// ShareOutcome is what a share did beyond the link: who was already on it,
// whose invitation went out again, and warnings about addresses.
type ShareOutcome struct {
	AlreadyHadAccess []string // addresses that were on the link before
	Resent           []string // of those, the ones whose invitation was queued again
	Warnings         []ShareWarning
}

// ShareWarning is a note about one address of a share.
type ShareWarning struct {
	Email string `json:"email"`
	Code  string `json:"code"` // WarnNoAccountYet
}

// WarnNoAccountYet warns of an organization address with no account: it
// cannot sign in to open the link until it gets one.
const WarnNoAccountYet = "noAccountYet"

// viewOnlySlot is the slot of view-only links in the unique index
// links_unique (item, scope, role, expiry, slot): a view-only link is a
// different link from the downloadable one with the same role and expiry,
// and slots of links older than the index count up from 0.
const viewOnlySlot = -1

// slotOf is the slot that takes new recipients for a kind of link.
func slotOf(preventsDownload bool) int {
	if preventsDownload {
		return viewOnlySlot
	}
	return 0
}

// Share secures the addresses to the item's specific-people link of the
// role, creating the link if there is none, and queues the invitations, all
// in one transaction. Only new recipients are added and audited. It reports
// whether the link is new. Returns EINVALID or ENOTFOUND.
func (s *Store) Share(ctx context.Context, by gatehouse.Actor, req ShareRequest) (*gatehouse.Link, bool, error) {
	var emails []string
	var err error
	if len(req.Emails) > 0 || len(req.ObjectIDs) == 0 {
		if emails, err = normalizeEmails(req.Emails); err != nil {
			return nil, false, err
		}
	}
	if len(emails)+len(req.ObjectIDs) > gatehouse.MaxRecipientsPerCall {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "At most %d recipients can be added at once.", gatehouse.MaxRecipientsPerCall)
	}
	if len(req.Message) > gatehouse.MaxShareMessage {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The message can be at most %d characters long.", gatehouse.MaxShareMessage)
	}
	// The message is kept with each recipient, to show them after they
	// verify: it must be text a database column holds.
	if !utf8.ValidString(req.Message) || strings.ContainsRune(req.Message, 0) {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The message must be plain text, without NUL characters.")
	}
	if req.Role != gatehouse.RoleRead && req.Role != gatehouse.RoleWrite {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "roles must be [\"read\"] or [\"write\"].")
	}
	var l *gatehouse.Link
	var created bool
	err = s.inTx(ctx, func(tx *Tx) (err error) {
		// objectIds name groups or users; users join the addresses.
		groups, users, err := tx.objects(req.ObjectIDs)
		if err != nil {
			return err
		}
		l, created, err = s.share(tx, by, req, mergeEmails(emails, users), groups)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	s.wakeOutbox()
	return l, created, nil
}

// share finds or creates the link under the drive lock; the unique index on
// (item, scope, role, expiry) backs it, so parallel shares meet on one link.
func (s *Store) share(tx *Tx, by gatehouse.Actor, req ShareRequest, emails []string, groups []*gatehouse.Group) (*gatehouse.Link, bool, error) {
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(tx.now) {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The expiration date must be in the future.")
	}
	if err := tx.lockDrive(req.DriveID); err != nil {
		return nil, false, err
	}
	it, _, err := s.item(tx, req.DriveID, req.ItemID)
	if err != nil {
		return nil, false, err
	}
	if it.ParentID == "" {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The root folder cannot be shared; share a folder or file inside it.")
	}
	var l *gatehouse.Link
	if req.ShareID != "" {
		l, err = s.scanLink(tx.queryRow(`SELECT `+linkColumns+` FROM links WHERE share_id = ? AND item_id = ?`, req.ShareID, it.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, notFound("The sharing link")
		}
	} else {
		// A different expiry is a different link: recipients added with
		// one expiry never get a link that lasts longer, or shorter. So is
		// a view-only one, which lives in a slot of its own.
		l, err = s.scanLink(tx.queryRow(`SELECT `+linkColumns+` FROM links WHERE item_id = ? AND role = ? AND scope = ?
		AND expires_at = ? AND slot = ? AND prevents_download = ?`, it.ID, req.Role, gatehouse.ScopeUsers, micros(req.ExpiresAt),
			slotOf(req.PreventsDownload), req.PreventsDownload))
	}
	created := false
	if errors.Is(err, sql.ErrNoRows) {
		created = true
		l = &gatehouse.Link{ID: gatehouse.NewID(), ShareID: gatehouse.NewUUID(), Token: gatehouse.NewSecret(""),
			ItemID: it.ID, DriveID: it.DriveID, CreatedBy: by.UserID, Scope: gatehouse.ScopeUsers, Role: req.Role, NotifyOwner: true,
			PreventsDownload: req.PreventsDownload, ExpiresAt: req.ExpiresAt, CreatedAt: tx.now, UpdatedAt: tx.now}
		if req.NotifyOwner != nil {
			l.NotifyOwner = *req.NotifyOwner
		} else if req.NotifyOwnerIfNew != nil {
			l.NotifyOwner = *req.NotifyOwnerIfNew
		}
		if _, err := tx.exec(`INSERT INTO links (`+linkColumns+`, token_hash, slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.ShareID, s.sealToken(l.Token), l.ItemID, l.DriveID, l.CreatedBy, l.Scope, l.Role, l.PreventsDownload, l.Dormant, l.NotifyOwner,
			micros(l.ExpiresAt), micros(tx.now), micros(tx.now), hashSecret(l.Token), slotOf(l.PreventsDownload)); err != nil {
			if isUniqueViolation(err) {
				return nil, false, errRetry // created meanwhile: the next try adds to it
			}
			return nil, false, err
		}
		r := s.linkRecord(gatehouse.OpSecureLinkCreated, by, it, l)
		data := map[string]any{"role": l.Role, "scope": l.Scope, "expirationDateTime": timeOrEmpty(l.ExpiresAt)}
		if l.PreventsDownload {
			data["preventsDownload"] = true
		}
		if !l.NotifyOwner {
			data["notifyOwner"] = false
		}
		r.EventData = gatehouse.EventData(data)
		if err := tx.audit(r); err != nil {
			return nil, false, err
		}
	} else if err != nil {
		return nil, false, err
	} else if req.NotifyOwner != nil && *req.NotifyOwner != l.NotifyOwner {
		if err := tx.setNotifyOwner(by, it, l, *req.NotifyOwner); err != nil {
			return nil, false, err
		}
	}
	if l.Dormant {
		// Adding people must not turn on, unnoticed, a link the owner has
		// not chosen to turn on again after a restore (recycle.go).
		return nil, false, gatehouse.Errorf(gatehouse.ECONFLICT, "This item's %s link is off since the item was deleted and restored. Turn it on again under Share (or PATCH the permission with \"dormant\": false), then add people to it.", gatehouse.LinkType(l.Role))
	}
	if err := tx.addRecipients(l, it, by, emails, req); err != nil {
		return nil, false, err
	}
	if err := tx.addGroups(l, it, by, groups, req); err != nil {
		return nil, false, err
	}
	if err := tx.fillLink(l); err != nil {
		return nil, false, err
	}
	return l, created, nil
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func normalizeEmails(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "Add at least one recipient.")
	}
	if len(in) > gatehouse.MaxRecipientsPerCall {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "At most %d recipients can be added at once.", gatehouse.MaxRecipientsPerCall)
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range in {
		n, err := gatehouse.NormalizeEmail(e)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// linkRecord starts an audit record about a link on an item.
func (s *Store) linkRecord(op string, by gatehouse.Actor, it *gatehouse.Item, l *gatehouse.Link) *gatehouse.Record {
	r := s.itemRecord(op, by, it)
	r.UniqueSharingID = l.ShareID
	return r
}

func (tx *Tx) addRecipients(l *gatehouse.Link, it *gatehouse.Item, by gatehouse.Actor, emails []string, req ShareRequest) error {
	sharerName, err := tx.sharerName(by)
	if err != nil {
		return err
	}
	invited := int64(0)
	if req.SendInvitation {
		invited = micros(tx.now)
	}
	for _, email := range emails {
		res, err := tx.exec(`INSERT INTO link_recipients (link_id, email, added_at, added_by, message, invited_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (link_id, email) DO NOTHING`, l.ID, email, micros(tx.now), by.UserID, req.Message, invited)
		if err != nil {
			return err
		}
		rcp, err := tx.recipientOf(email)
		if err != nil {
			return err
		}
		if rcp.InOrg && rcp.UserID == "" && req.Outcome != nil {
			req.Outcome.Warnings = append(req.Outcome.Warnings, ShareWarning{Email: email, Code: WarnNoAccountYet})
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Already secured to the link: nothing to record, and no mail
			// unless the sharer asked to send the invitation again.
			if err := tx.alreadyOnLink(l, it, by, sharerName, rcp, req); err != nil {
				return err
			}
			continue
		}
		r := tx.s.linkRecord(gatehouse.OpAddedToSecureLink, by, it, l)
		r.TargetUserOrGroupName, r.TargetUserOrGroupType = targetName(rcp), targetType(rcp)
		r.EventData = gatehouse.EventData(targetData(rcp, map[string]any{"isExternal": rcp.External(), "role": l.Role}))
		if err := tx.audit(r); err != nil {
			return err
		}
		if req.SendInvitation {
			if err := tx.mailInvitation(l, it, by, sharerName, email, req.Message); err != nil {
				return err
			}
		}
	}
	return nil
}

// recipientOf reads what the directory knows of an address, and whether
// it is the organization's.
func (tx *Tx) recipientOf(email string) (gatehouse.Recipient, error) {
	rcp := gatehouse.Recipient{Email: email}
	if err := tx.queryRow(`SELECT id, user_type, display_name FROM users WHERE email = ?`, email).Scan(&rcp.UserID, &rcp.UserType, &rcp.DisplayName); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return rcp, err
	}
	rcp.InOrg = gatehouse.InOrganization(email, rcp.UserType, tx.s.opt.OrgDomains)
	return rcp, nil
}

func (tx *Tx) sharerName(by gatehouse.Actor) (string, error) {
	var name string
	if by.UserID != "" {
		if err := tx.queryRow(`SELECT display_name FROM users WHERE id = ?`, by.UserID).Scan(&name); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	return name, nil
}

// mailInvitation queues the invitation to a link for one address: from
// the sharer "via" the configured sender, replies to the sharer, saying
// what the link allows and how this address gets in.
func (tx *Tx) mailInvitation(l *gatehouse.Link, it *gatehouse.Item, by gatehouse.Actor, sharerName, email, message string) error {
	rcp, err := tx.recipientOf(email)
	if err != nil {
		return err
	}
	inv := mail.Invitation{SharerName: sharerName, SharerEmail: by.Email, ItemName: it.Name, Message: message,
		LinkURL: tx.s.LinkURL(l), IsFolder: it.IsFolder, CanEdit: l.Role == gatehouse.RoleWrite, OrgName: tx.s.OrgName()}
	if !l.ExpiresAt.IsZero() {
		exp := l.ExpiresAt
		inv.ExpiresAt = &exp
	}
	// Only the organization's addresses sign in; the wording follows the
	// rule of the link page, InOrgDomains.
	if gatehouse.InOrgDomains(rcp.Email, tx.s.opt.OrgDomains) {
		inv.Access = mail.AccessSignIn
		if rcp.UserID == "" {
			inv.Access = mail.AccessNoAccount
		}
	}
	subject, text, html, err := mail.RenderInvitation(inv)
	if err != nil {
		return err
	}
	m := mail.Message{To: rcp.Email, Subject: subject, Text: text, HTML: html}
	if sharerName == "" {
		sharerName = by.Email
	}
	m.From = mail.OnBehalf(sharerName, tx.s.opt.MailFrom)
	if _, err := gatehouse.NormalizeEmail(by.Email); err == nil {
		m.ReplyTo = by.Email
	}
	return tx.enqueueMail("invitation", m)
}

// targetType is the TargetUserOrGroupType of a recipient: Member for an
// address of the organization, account or not; Guest for a guest account;
// External for everyone else.
func targetType(r gatehouse.Recipient) string {
	switch {
	case r.InOrg:
		return gatehouse.UserTypeMember
	case r.UserType == gatehouse.UserTypeGuest:
		return gatehouse.UserTypeGuest
	}
	return "External"
}

// targetName is the TargetUserOrGroupName of a recipient: a guest's
// friendly name as the directory has it now (admins rename guests), else
// the address.
func targetName(r gatehouse.Recipient) string {
	if r.UserType == gatehouse.UserTypeGuest && r.DisplayName != "" {
		return r.DisplayName
	}
	return r.Email
}

// targetData adds a guest's address to a record's EventData, since the
// target names the guest by their friendly name.
func targetData(r gatehouse.Recipient, data map[string]any) map[string]any {
	if targetName(r) != r.Email {
		data["targetEmail"] = r.Email
	}
	return data
}

// LinkURL is the address a recipient opens: {base-url}/s/{token}.
func (s *Store) LinkURL(l *gatehouse.Link) string { return s.opt.BaseURL + "/s/" + l.Token }

// recipientsQuery lists a link's recipients with the names of those who
// have accounts.
const recipientsQuery = `SELECT r.email, COALESCE(u.display_name, ''), COALESCE(u.id, ''), COALESCE(u.user_type, ''), r.added_at
		FROM link_recipients r LEFT JOIN users u ON u.email = r.email WHERE r.link_id = ? ORDER BY r.added_at, r.email`

func (tx *Tx) recipients(linkID string) ([]gatehouse.Recipient, error) {
	return tx.s.scanRecipients(tx.query(recipientsQuery, linkID))
}

func (s *Store) scanRecipients(rows *sql.Rows, err error) ([]gatehouse.Recipient, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.Recipient{}
	for rows.Next() {
		var r gatehouse.Recipient
		var at int64
		if err := rows.Scan(&r.Email, &r.DisplayName, &r.UserID, &r.UserType, &at); err != nil {
			return nil, err
		}
		if r.DisplayName == "" {
			r.DisplayName = r.Email // ad hoc recipients are known by their address
		}
		r.AddedAt = fromMicros(at)
		r.InOrg = gatehouse.InOrganization(r.Email, r.UserType, s.opt.OrgDomains)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Links returns the item's links with their recipients; callers have
// already found the item.
func (s *Store) Links(ctx context.Context, driveID, itemID string) ([]*gatehouse.Link, error) {
	rows, err := s.query(ctx, `SELECT `+linkColumns+` FROM links WHERE item_id = ? AND drive_id = ? ORDER BY created_at`, itemID, driveID)
	if err != nil {
		return nil, err
	}
	var links []*gatehouse.Link
	for rows.Next() {
		l, err := s.scanLink(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		links = append(links, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, l := range links {
		if err := s.fillLink(ctx, l); err != nil {
			return nil, err
		}
	}
	return links, nil
}

func (s *Store) linkRecipients(ctx context.Context, linkID string) ([]gatehouse.Recipient, error) {
	return s.scanRecipients(s.query(ctx, recipientsQuery, linkID))
}

// Link returns one link of an item. Returns ENOTFOUND.
func (s *Store) Link(ctx context.Context, driveID, itemID, id string) (*gatehouse.Link, error) {
	l, err := s.scanLink(s.queryRow(ctx, `SELECT `+linkColumns+` FROM links WHERE id = ? AND item_id = ? AND drive_id = ?`, id, itemID, driveID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The permission")
	} else if err != nil {
		return nil, err
	}
	return l, s.fillLink(ctx, l)
}

// LinkByShareID returns a link by its UniqueSharingId. Returns ENOTFOUND.
func (s *Store) LinkByShareID(ctx context.Context, shareID string) (*gatehouse.Link, error) {
	l, err := s.scanLink(s.queryRow(ctx, `SELECT `+linkColumns+` FROM links WHERE share_id = ?`, strings.ToLower(shareID)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The sharing link")
	} else if err != nil {
		return nil, err
	}
	return l, s.fillLink(ctx, l)
}

// LinkByToken returns the link a token opens, for the passcode pages that
// act on a link before anyone has verified. Unknown and deleted tokens are
// ENOTFOUND; expired links, and links of a disabled owner, are EGONE.
func (s *Store) LinkByToken(ctx context.Context, token string) (*gatehouse.Link, error) {
	l, _, f, err := s.RecipientLink(ctx, token, "")
	if err != nil {
		return nil, err
	}
	if err := f.Via.Usable(f.Now); err != nil {
		return nil, err
	}
	return l, nil
}

// LinkUpdate holds the fields of a link to change.
type LinkUpdate struct {
	Role        *string
	ExpiresAt   *time.Time // zero time removes the expiry
	NotifyOwner *bool
}

// UpdateLink changes a link's role or expiry. Returns EINVALID or ENOTFOUND.
func (s *Store) UpdateLink(ctx context.Context, by gatehouse.Actor, driveID, itemID, id string, up LinkUpdate) (*gatehouse.Link, error) {
	var l *gatehouse.Link
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		l, err = s.updateLink(tx, by, driveID, itemID, id, up)
		return err
	})
	return l, err
}

func (s *Store) updateLink(tx *Tx, by gatehouse.Actor, driveID, itemID, id string, up LinkUpdate) (*gatehouse.Link, error) {
	if err := tx.lockDrive(driveID); err != nil {
		return nil, err
	}
	l, it, err := tx.link(driveID, itemID, id)
	if err != nil {
		return nil, err
	}
	changed := map[string]any{}
	if up.Role != nil && *up.Role != l.Role {
		if *up.Role != gatehouse.RoleRead && *up.Role != gatehouse.RoleWrite {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "roles must be [\"read\"] or [\"write\"].")
		}
		l.Role = *up.Role
		changed["role"] = l.Role
	}
	if up.ExpiresAt != nil && !up.ExpiresAt.Equal(l.ExpiresAt) {
		if !up.ExpiresAt.IsZero() && !up.ExpiresAt.After(tx.now) {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "The expiration date must be in the future.")
		}
		l.ExpiresAt = *up.ExpiresAt
		changed["expirationDateTime"] = timeOrEmpty(l.ExpiresAt)
	}
	if up.NotifyOwner != nil && *up.NotifyOwner != l.NotifyOwner {
		l.NotifyOwner = *up.NotifyOwner
		changed["notifyOwner"] = l.NotifyOwner
	}
	if len(changed) > 0 {
		l.UpdatedAt = tx.now
		if _, err := tx.exec(`UPDATE links SET role = ?, expires_at = ?, notify_owner = ?, updated_at = ? WHERE id = ?`,
			l.Role, micros(l.ExpiresAt), l.NotifyOwner, micros(tx.now), l.ID); err != nil {
			if isUniqueViolation(err) {
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "This item already has a link with that role and expiry; add the people to it instead.")
			}
			return nil, err
		}
		r := s.linkRecord(gatehouse.OpSecureLinkUpdated, by, it, l)
		r.EventData = gatehouse.EventData(changed)
		if err := tx.audit(r); err != nil {
			return nil, err
		}
	}
	if err := tx.fillLink(l); err != nil {
		return nil, err
	}
	return l, nil
}

func (tx *Tx) link(driveID, itemID, id string) (*gatehouse.Link, *gatehouse.Item, error) {
	l, err := tx.s.scanLink(tx.queryRow(`SELECT `+linkColumns+` FROM links WHERE id = ? AND item_id = ? AND drive_id = ?`, id, itemID, driveID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("The permission")
	} else if err != nil {
		return nil, nil, err
	}
	it, _, err := tx.s.item(tx, driveID, itemID)
	return l, it, err
}

// RevokeRecipients removes addresses from a link, ending their access at
// once. Addresses not on the link are ignored. Returns ENOTFOUND.
func (s *Store) RevokeRecipients(ctx context.Context, by gatehouse.Actor, driveID, itemID, id string, emails []string) (*gatehouse.Link, error) {
	norm, err := normalizeEmails(emails)
	if err != nil {
		return nil, err
	}
	var l *gatehouse.Link
	err = s.inTx(ctx, func(tx *Tx) (err error) {
		l, err = tx.revokeRecipients(by, driveID, itemID, id, norm)
		return err
	})
	return l, err
}

func (tx *Tx) revokeRecipients(by gatehouse.Actor, driveID, itemID, id string, norm []string) (*gatehouse.Link, error) {
	if err := tx.lockDrive(driveID); err != nil {
		return nil, err
	}
	l, it, err := tx.link(driveID, itemID, id)
	if err != nil {
		return nil, err
	}
	current, err := tx.recipients(l.ID)
	if err != nil {
		return nil, err
	}
	remove := map[string]bool{}
	for _, e := range norm {
		remove[e] = true
	}
	for _, rcp := range current {
		if remove[rcp.Email] {
			if err := tx.removeRecipient(by, it, l, rcp); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.fillLink(l); err != nil {
		return nil, err
	}
	return l, nil
}

func (tx *Tx) removeRecipient(by gatehouse.Actor, it *gatehouse.Item, l *gatehouse.Link, rcp gatehouse.Recipient) error {
	for _, q := range []string{
		`DELETE FROM link_recipients WHERE link_id = ? AND email = ?`,
		`DELETE FROM passcodes WHERE link_id = ? AND email = ?`, // a code sent before removal must not open it later
	} {
		if _, err := tx.exec(q, l.ID, rcp.Email); err != nil {
			return err
		}
	}
	r := tx.s.linkRecord(gatehouse.OpRemovedFromSecureLink, by, it, l)
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = targetName(rcp), targetType(rcp)
	r.EventData = gatehouse.EventData(targetData(rcp, map[string]any{"isExternal": rcp.External()}))
	return tx.audit(r)
}

// DeleteLink removes every recipient of a link, then the link; each step is
// audited and access ends at once. Returns ENOTFOUND.
func (s *Store) DeleteLink(ctx context.Context, by gatehouse.Actor, driveID, itemID, id string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		if err := tx.lockDrive(driveID); err != nil {
			return err
		}
		l, it, err := tx.link(driveID, itemID, id)
		if err != nil {
			return err
		}
		return tx.deleteLink(by, it, l)
	})
}

func (tx *Tx) deleteLink(by gatehouse.Actor, it *gatehouse.Item, l *gatehouse.Link) error {
	rcps, err := tx.recipients(l.ID)
	if err != nil {
		return err
	}
	for _, rcp := range rcps {
		if err := tx.removeRecipient(by, it, l, rcp); err != nil {
			return err
		}
	}
	groups, err := tx.linkGroups(l.ID)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := tx.removeLinkGroup(by, it, l, g); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`DELETE FROM passcodes WHERE link_id = ?`,
		`DELETE FROM passcode_failures WHERE link_id = ?`,
		`DELETE FROM verification_pauses WHERE link_id = ?`,
		`DELETE FROM links WHERE id = ?`,
	} {
		if _, err := tx.exec(q, l.ID); err != nil {
			return err
		}
	}
	return tx.audit(tx.s.linkRecord(gatehouse.OpSecureLinkDeleted, by, it, l))
}

// links reads the links a query selects, all of them before the caller
// changes anything: a transaction has one statement open at a time.
func (tx *Tx) links(q string, args ...any) ([]*gatehouse.Link, error) {
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*gatehouse.Link
	for rows.Next() {
		l, err := tx.s.scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// deleteDriveLinks deletes, with their audit records, every link on a
// drive that is going away: those on live items and those on items in its
// recycle bin, whose rows would otherwise go by cascade without the
// SecureLinkDeleted and RemovedFromSecureLink records a live link gets.
func (tx *Tx) deleteDriveLinks(by gatehouse.Actor, driveID string) error {
	links, err := tx.links(`SELECT `+linkColumns+` FROM links WHERE drive_id = ? ORDER BY created_at, id`, driveID)
	if err != nil {
		return err
	}
	for _, l := range links {
		it, _, err := tx.s.item(tx, l.DriveID, l.ItemID)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			// In the bin, so not placed: read as it is, as a purge does.
			it, err = scanItem(tx.queryRow(`SELECT `+itemColumns+` FROM items WHERE id = ?`, l.ItemID))
		}
		if err != nil {
			return err
		}
		if err := tx.deleteLink(by, it, l); err != nil {
			return err
		}
	}
	return nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// IsRecipient reports whether email is secured to the link.
func (s *Store) IsRecipient(ctx context.Context, linkID, email string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM link_recipients WHERE link_id = ? AND email = ?`, linkID, strings.ToLower(email)).Scan(&n)
	return n > 0, err
}

// PutFileThroughLink stores an upload made through an edit link: into the
// shared folder or a folder inside it, or over the shared file itself. The
// upload may take long, so the commit asks the access decision again, on
// facts read in the commit's transaction: the link still stands, the
// uploader is still on it (or owns the drive), and the target is still
// inside the share. Returns EFORBIDDEN, ENOTFOUND, EGONE and PutFile's codes.
func (s *Store) PutFileThroughLink(ctx context.Context, by gatehouse.Actor, l *gatehouse.Link, parentID, name string, r io.Reader, max int64) (*gatehouse.Item, bool, error) {
	queued := false
	guard := func(tx *Tx) error {
		queued = false // a retried transaction decides again
		f, shared, err := tx.linkWriteFacts(by.Principal, l.ID)
		if err != nil {
			return err
		}
		if shared.IsFolder {
			if f.Ancestry, _, err = s.ancestors(tx, parentID); err != nil {
				return err
			}
		} else {
			// A file link replaces that file and nothing else, even if it
			// was renamed or moved meanwhile.
			if shared.ParentID != parentID || gatehouse.NameKey(shared.Name) != gatehouse.NameKey(name) {
				return gatehouse.Errorf(gatehouse.ECONFLICT, "The shared file was renamed or moved; reload the page and try again.")
			}
			f.Ancestry = []string{shared.ID}
		}
		if err := gatehouse.Authorize(by.Principal, gatehouse.ActWrite, f); err != nil {
			return err
		}
		// The owner's notice commits with the upload, or not at all.
		queued, err = tx.noticeUpload(l, by, parentID, name)
		return err
	}
	it, created, err := s.putFile(ctx, by, fileTarget{DriveID: l.DriveID, ParentID: parentID, Name: name}, r, max, guard)
	if err == nil && queued {
		s.wakeOutbox()
	}
	return it, created, err
}

// linkWriteFacts reads, in tx, the link's facts for p and its shared item.
func (tx *Tx) linkWriteFacts(p gatehouse.Principal, linkID string) (gatehouse.ItemFacts, *gatehouse.Item, error) {
	var onLink, inGroup, ownerDisabled bool
	var access gatehouse.DriveAccess
	l, err := tx.s.scanLink(tx.queryRow(`SELECT `+prefixed("links.", linkColumns)+`,
			EXISTS (SELECT 1 FROM link_recipients r WHERE r.link_id = links.id AND r.email = ?),
			EXISTS (SELECT 1 FROM link_groups lg JOIN group_members m ON m.group_id = lg.group_id AND m.role = 'member'
				WHERE lg.link_id = links.id AND m.user_id = ?),
			`+accessTo("links.drive_id")+`,
			COALESCE(u.disabled, FALSE)
		FROM links JOIN drives d ON d.id = links.drive_id LEFT JOIN users u ON u.id = d.owner_id
		WHERE links.id = ?`, p.Email, p.UserID, p.UserID, p.UserID, linkID), &onLink, &inGroup, &access, &ownerDisabled)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.ItemFacts{}, nil, notFound("The link")
	} else if err != nil {
		return gatehouse.ItemFacts{}, nil, err
	}
	f := tx.s.linkFacts(l, p, access, onLink, inGroup, ownerDisabled)
	f.Now = tx.now
	shared, _, err := tx.s.item(tx, l.DriveID, l.ItemID)
	return f, shared, err
}
