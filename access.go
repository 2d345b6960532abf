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

// ItemFacts are what the access decision needs to know about one item. The
// store loads them with the item, in the query that finds it.
type ItemFacts struct {
	DriveOwners []string // user ids of the drive's owners
	Ancestry    []string // item ids from the drive's root down to the item itself
	// Via is the link the request came through (the /s/{token} pages), or
	// nil. Only this link can open the item for someone who does not own it.
	Via *LinkFacts
	Now time.Time
}

// LinkFacts are what the decision needs to know about one link.
type LinkFacts struct {
	ItemID        string // the shared item
	Role          string // RoleRead or RoleWrite
	ExpiresAt     time.Time
	OwnerDisabled bool
	Recipients    []string // addresses secured to the link (at least the caller's, if it is one)
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
	owner := p.IsUser() && contains(f.DriveOwners, p.UserID)
	l := f.Via
	if l == nil {
		if owner {
			return nil
		}
		return Errorf(ENOTFOUND, "The item was not found.")
	}
	if !contains(f.Ancestry, l.ItemID) {
		return Errorf(ENOTFOUND, "The item was not found.") // outside the share
	}
	if !owner && !containsFold(l.Recipients, p.Email) {
		return Errorf(EFORBIDDEN, "The address you verified does not have access to this link. Ask the person who shared it, or verify another address.")
	}
	switch act {
	case ActRead, ActDownload:
		return nil
	case ActWrite:
		if l.Role == RoleWrite {
			return nil
		}
		return Errorf(EFORBIDDEN, "This link lets you view, not upload.")
	}
	return Errorf(EFORBIDDEN, "A sharing link does not let you do that.")
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
