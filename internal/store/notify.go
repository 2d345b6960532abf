package store

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"time"

	"gatehouse"
	"gatehouse/internal/mail"
)

// ResendInterval is how often the invitation to one address on one link
// may be sent again.
const ResendInterval = 5 * time.Minute

// OrgName is the organization's name for recipients: --org-name, or the
// first org domain, or "" when neither is set.
func (s *Store) OrgName() string {
	if s.opt.OrgName != "" {
		return s.opt.OrgName
	}
	if len(s.opt.OrgDomains) > 0 {
		return s.opt.OrgDomains[0]
	}
	return ""
}

// setNotifyOwner turns an existing link's owner notices on or off, with
// its record.
func (tx *Tx) setNotifyOwner(by gatehouse.Actor, it *gatehouse.Item, l *gatehouse.Link, on bool) error {
	l.NotifyOwner, l.UpdatedAt = on, tx.now
	if _, err := tx.exec(`UPDATE links SET notify_owner = ?, updated_at = ? WHERE id = ?`, on, micros(tx.now), l.ID); err != nil {
		return err
	}
	r := tx.s.linkRecord(gatehouse.OpSecureLinkUpdated, by, it, l)
	r.EventData = gatehouse.EventData(map[string]any{"notifyOwner": on})
	return tx.audit(r)
}

// alreadyOnLink handles an address a share names that is on the link
// already: it is reported, and with req.Resend its invitation is queued
// again, once per ResendInterval, and recorded.
func (tx *Tx) alreadyOnLink(l *gatehouse.Link, it *gatehouse.Item, by gatehouse.Actor, sharerName string, rcp gatehouse.Recipient, req ShareRequest) error {
	if req.Outcome != nil {
		req.Outcome.AlreadyHadAccess = append(req.Outcome.AlreadyHadAccess, rcp.Email)
	}
	if !req.Resend {
		return nil
	}
	// One statement decides, so parallel resends queue one mail.
	var message string
	err := tx.queryRow(`UPDATE link_recipients SET invited_at = ? WHERE link_id = ? AND email = ? AND invited_at <= ? RETURNING message`,
		micros(tx.now), l.ID, rcp.Email, micros(tx.now.Add(-ResendInterval))).Scan(&message)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // sent within the interval: the one in their mailbox stands
	} else if err != nil {
		return err
	}
	if req.Message != "" {
		message = req.Message
	}
	if err := tx.mailInvitation(l, it, by, sharerName, rcp.Email, message); err != nil {
		return err
	}
	r := tx.s.linkRecord(gatehouse.OpSharingInvitationCreated, by, it, l)
	r.TargetUserOrGroupName, r.TargetUserOrGroupType = targetName(rcp), targetType(rcp)
	r.EventData = gatehouse.EventData(targetData(rcp, map[string]any{"resend": true, "isExternal": rcp.External()}))
	if err := tx.audit(r); err != nil {
		return err
	}
	if req.Outcome != nil {
		req.Outcome.Resent = append(req.Outcome.Resent, rcp.Email)
	}
	return nil
}

// RecordFirstOpen notes a recipient's first successful open of a link and,
// when the link notifies its owner, queues the owner's notice in the same
// transaction. RecordLinkUse does the same on a session's first use of a
// link, which every first open is, so pages need not call this.
func (s *Store) RecordFirstOpen(ctx context.Context, by gatehouse.Actor, l *gatehouse.Link) error {
	queued := false
	err := s.inTx(ctx, func(tx *Tx) (err error) {
		queued, err = tx.firstOpen(by, l)
		return err
	})
	if err == nil && queued {
		s.wakeOutbox()
	}
	return err
}

// firstOpen marks by's first open of l, if this is it, and queues the
// owner's notice. A conditional update (an address on the link) or insert
// (a member reaching it through a group) decides which open is the first,
// so any number of parallel opens queue one notice. It reports whether a
// mail was queued.
func (tx *Tx) firstOpen(by gatehouse.Actor, l *gatehouse.Link) (bool, error) {
	if by.Email == "" {
		return false, nil
	}
	res, err := tx.exec(`UPDATE link_recipients SET first_opened_at = ? WHERE link_id = ? AND email = ? AND first_opened_at = 0`,
		micros(tx.now), l.ID, by.Email)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return tx.noticeOwner(l.ID, by, mail.NoticeOpened, "")
	}
	if by.UserID == "" {
		return false, nil // a recipient by code who opened it before
	}
	// On the link by address and opened before: that first open told the
	// owner, whatever groups they are in too.
	var onLink int
	if err := tx.queryRow(`SELECT COUNT(*) FROM link_recipients WHERE link_id = ? AND email = ?`, l.ID, by.Email).Scan(&onLink); err != nil || onLink > 0 {
		return false, err
	}
	res, err = tx.exec(`INSERT INTO link_member_opens (link_id, user_id, opened_at)
		SELECT ?, ?, CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM link_groups lg JOIN group_members m ON m.group_id = lg.group_id
			AND m.role = ? AND m.user_id = ? WHERE lg.link_id = ?)
		ON CONFLICT (link_id, user_id) DO NOTHING`,
		l.ID, by.UserID, micros(tx.now), gatehouse.GroupMember, by.UserID, l.ID)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil // opened before, or not reached through a group
	}
	return tx.noticeOwner(l.ID, by, mail.NoticeOpened, "")
}

// noticeOwner queues the mail that tells the link's owner what a
// recipient did, if the link, as it stands in tx, notifies them. The
// owner's own actions, and links of owners without a live account, send
// nothing. It reports whether a mail was queued.
func (tx *Tx) noticeOwner(linkID string, by gatehouse.Actor, action, fileName string) (bool, error) {
	var notify, disabled bool
	var itemID, driveID, ownerEmail string
	err := tx.queryRow(`SELECT l.notify_owner, l.item_id, l.drive_id, u.email, u.disabled
		FROM links l JOIN users u ON u.id = l.created_by WHERE l.id = ?`, linkID).Scan(&notify, &itemID, &driveID, &ownerEmail, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil || !notify || disabled || ownerEmail == by.Email {
		return false, err
	}
	it, _, err := tx.s.item(tx, driveID, itemID)
	if err != nil {
		return false, err
	}
	n := mail.Notice{Action: action, Recipient: by.Email, ItemName: it.Name, FileName: fileName, At: tx.now}
	if tx.s.opt.BaseURL != "" {
		// The owner's page of the item: under its site for a site's drive.
		prefix := ""
		var site string
		if err := tx.queryRow(`SELECT id FROM sites WHERE drive_id = ?`, driveID).Scan(&site); err == nil {
			prefix = "/sites/" + url.PathEscape(site)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		n.ItemURL = tx.s.opt.BaseURL + prefix + "/items/" + url.PathEscape(it.ID) + "/access"
	}
	subject, text, html, err := mail.RenderNotice(n)
	if err != nil {
		return false, err
	}
	return true, tx.enqueueMail("notice", mail.Message{To: ownerEmail, Subject: subject, Text: text, HTML: html})
}

// noticeUpload queues the owner's notice of an upload through a link,
// told apart from a replacement by whether the name is taken in the
// folder; it runs under the drive lock, before the commit that stores it.
func (tx *Tx) noticeUpload(l *gatehouse.Link, by gatehouse.Actor, parentID, name string) (bool, error) {
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM items WHERE parent_id = ? AND name_key = ? AND is_folder = ?`,
		parentID, gatehouse.NameKey(name), false).Scan(&n); err != nil {
		return false, err
	}
	action := mail.NoticeUploaded
	if n > 0 {
		action = mail.NoticeReplaced
	}
	return tx.noticeOwner(l.ID, by, action, name)
}

// RecipientContext is what a recipient's pages say about a share: who
// shared it, and, once verified, their message.
type RecipientContext struct {
	SharerName  string // the sharer's display name, or their address
	SharerEmail string
	Message     string // the message sent to this address; "" before verification
}

// LinkContext returns who shared a link and, for email on the link, the
// message they sent with it. Pass email "" before verification: the
// sharer is named (the invitation did so), nothing about the item is.
func (s *Store) LinkContext(ctx context.Context, l *gatehouse.Link, email string) (RecipientContext, error) {
	var c RecipientContext
	err := s.queryRow(ctx, `SELECT display_name, email FROM users WHERE id = ?`, l.CreatedBy).Scan(&c.SharerName, &c.SharerEmail)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	if c.SharerName == "" {
		c.SharerName = c.SharerEmail
	}
	if email != "" {
		err = s.queryRow(ctx, `SELECT message FROM link_recipients WHERE link_id = ? AND email = ?`, l.ID, email).Scan(&c.Message)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
	}
	return c, nil
}
