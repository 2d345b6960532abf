package gatehouse

import (
	"strings"
	"time"
)

// Action is something a principal may be allowed to do.
type Action uint8

// Actions on an item, then on the directory.
const (
	ActRead         Action = iota + 1 // see an item, list a folder
	ActDownload                       // read a file's content
	ActWrite                          // upload, create folders, rename, move
	ActShare                          // create links and add people to them
	ActManageAccess                   // see, change and remove links and recipients
	ActDelete

	ActReadUsers  // read directory users other than oneself
	ActAdminister // manage users, read the audit log, run the admin pages
	ActInvite     // invite guests: members and administrators
)

// DriveAccess is what a principal may do in a whole drive: the owner of a
// personal drive has AccessOwner; a site's visitors, members and owners
// have read, write and owner through the site's three groups.
type DriveAccess uint8

// Drive access levels, each including the ones before it.
const (
	NoAccess    DriveAccess = iota
	AccessRead              // see and download
	AccessWrite             // also upload, create, rename, move, delete and share
	AccessOwner             // full control: also manage who has access
)

// allows reports whether the drive access level lets its holder take act.
func (a DriveAccess) allows(act Action) bool {
	switch act {
	case ActRead, ActDownload:
		return a >= AccessRead
	case ActWrite, ActShare, ActDelete:
		return a >= AccessWrite
	}
	return a >= AccessOwner
}

// ItemFacts are what the access decision needs to know about one item. The
// store loads them with the item, in the query that finds it.
type ItemFacts struct {
	// Access is the principal's own access to the item's whole drive.
	Access   DriveAccess
	Ancestry []string // item ids from the drive's root down to the item itself
	// Via is the link the request came through (the /s/{token} pages), or
	// nil. Only this link can open the item for someone who does not own it.
	Via *LinkFacts
	// Grants are the links on the item's ancestry that a member or guest
	// is on, by address or through a group: what opens an item shared with
	// them when they come to it signed in rather than through a link page.
	Grants []LinkFacts
	Now    time.Time
}

// LinkFacts are what the decision needs to know about one link.
type LinkFacts struct {
	ItemID        string // the shared item
	Role          string // RoleRead or RoleWrite
	ExpiresAt     time.Time
	OwnerDisabled bool
	Recipients    []string // addresses secured to the link (at least the caller's, if it is one)
	// GroupMember is true when the principal is a current member of a
	// group secured to the link.
	GroupMember bool
	// PreventsDownload makes the link view only: its people may preview
	// files but get no route that hands them the bytes to keep.
	PreventsDownload bool
}

// Usable reports, as EGONE, a link that has expired at now or whose owner
// was disabled: removing the owner ends what they shared at once.
func (l *LinkFacts) Usable(now time.Time) error {
	if !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) {
		return Errorf(EGONE, "This link has expired. Ask the person who shared it for a new one.")
	}
	if l.OwnerDisabled {
		return Errorf(EGONE, "This link is no longer available. Ask the person who shared it.")
	}
	return nil
}

// Authorize decides whether p may take act on the item that f describes. It
// does no I/O: the caller loads the facts. Errors:
//   - EUNAUTHORIZED: no credential;
//   - EGONE: the link the request came through has expired or its owner was
//     disabled;
//   - EFORBIDDEN: the caller came through a link that does not let them do
//     this;
//   - ENOTFOUND: anything else, as if the item did not exist.
func Authorize(p Principal, act Action, f ItemFacts) error {
	if act >= ActReadUsers {
		return Errorf(EINVALID, "That is not an action on an item.")
	}
	// A link that no longer stands opens nothing, for anyone; whoever holds
	// its address may learn that much.
	if f.Via != nil {
		if err := f.Via.Usable(f.Now); err != nil {
			return err
		}
	}
	switch p.Kind {
	case KindSystem:
		return nil
	case Anonymous:
		return Errorf(EUNAUTHORIZED, "Sign in to continue.")
	}
	access := NoAccess
	if p.IsUser() {
		access = f.Access
	}
	l := f.Via
	if l == nil {
		if access.allows(act) {
			return nil
		}
		return authorizeGrants(p, act, f, access)
	}
	if !contains(f.Ancestry, l.ItemID) {
		return Errorf(ENOTFOUND, "The item was not found.") // outside the share
	}
	if access == NoAccess && !l.has(p) {
		return Errorf(EFORBIDDEN, "The address you verified does not have access to this link. Ask the person who shared it, or verify another address.")
	}
	return l.allows(act)
}

// has reports whether p is on the link, by address or through a group.
func (l *LinkFacts) has(p Principal) bool {
	return containsFold(l.Recipients, p.Email) || (p.IsUser() && l.GroupMember)
}

// allows decides an action of someone on the link by the link's role.
func (l *LinkFacts) allows(act Action) error {
	switch act {
	case ActRead:
		return nil
	case ActDownload:
		if l.PreventsDownload {
			return Errorf(EFORBIDDEN, "This link lets you view the files, not download them. Ask the person who shared it if you need a copy.")
		}
		return nil
	case ActWrite:
		if l.Role == RoleWrite {
			return nil
		}
		return Errorf(EFORBIDDEN, "This link lets you view, not upload.")
	}
	return Errorf(EFORBIDDEN, "A sharing link does not let you do that.")
}

// authorizeGrants decides for a member or guest who came to the item
// signed in and whose drive access does not let them take act: a usable
// link on the item's ancestry that they are on may.
func authorizeGrants(p Principal, act Action, f ItemFacts, access DriveAccess) error {
	var refused error
	if p.IsUser() {
		for i := range f.Grants {
			g := &f.Grants[i]
			if g.Usable(f.Now) != nil || !contains(f.Ancestry, g.ItemID) {
				continue
			}
			if refused = g.allows(act); refused == nil {
				return nil
			}
		}
	}
	switch {
	case refused != nil:
		return refused
	case access == AccessRead:
		return Errorf(EFORBIDDEN, "You can view this site's files, not change them. Ask a site owner for edit access.")
	case access == AccessWrite:
		return Errorf(EFORBIDDEN, "Only the site's owners can do that.")
	}
	return Errorf(ENOTFOUND, "The item was not found.")
}

// AuthorizeDirectory decides whether p may take act on the directory.
// subject is the id or address of the user being read, if any: anyone may
// read themselves. It is decided before any lookup, so a refusal says
// nothing about who exists.
func AuthorizeDirectory(p Principal, act Action, subject string) error {
	switch {
	case act < ActReadUsers:
		return Errorf(EINVALID, "That is not an action on the directory.")
	case p.Kind == KindSystem:
		return nil
	case p.Kind == Anonymous:
		return Errorf(EUNAUTHORIZED, "Sign in to continue.")
	case !p.IsUser():
		return Errorf(EFORBIDDEN, "Only members of the organization can do this.")
	case p.IsAdmin:
		return nil
	case act == ActInvite && p.Kind == KindMember:
		return nil
	case act == ActInvite:
		return Errorf(EFORBIDDEN, "Only members of the organization can invite guests.")
	}
	if act == ActReadUsers {
		if subject != "" && (subject == p.UserID || strings.EqualFold(subject, p.Email)) {
			return nil
		}
		return Errorf(EFORBIDDEN, "Only administrators can read other users.")
	}
	return Errorf(EFORBIDDEN, "Only administrators can do this.")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
