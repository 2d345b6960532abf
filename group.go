package gatehouse

import (
	"strings"
	"time"
)

// Group is a security group: a principal that links and sites grant
// access to, and through it every current member.
type Group struct {
	ID              string
	DisplayName     string
	Description     string
	MailNickname    string
	SecurityEnabled bool
	// A site's three groups name the site's drive and the access they give
	// to it; other groups have neither.
	DriveID     string
	DriveAccess DriveAccess
	SiteID      string
	CreatedBy   string // user id
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Roles in a group: members are who the group grants access to; owners
// manage the group.
const (
	GroupMember = "member"
	GroupOwner  = "owner"
)

// GroupMembership is a user in a group, in one role.
type GroupMembership struct {
	User    User
	Role    string // GroupMember or GroupOwner
	AddedAt time.Time
}

// TargetTypeGroup is the TargetUserOrGroupType of a group in the audit log.
const TargetTypeGroup = "SecurityGroup"

// ValidateGroup checks a group's name, description and mail nickname.
func ValidateGroup(displayName, description, mailNickname string) error {
	if err := ValidateDisplayName(displayName); err != nil {
		return err
	}
	if len(description) > 1024 {
		return Errorf(EINVALID, "A description can be at most 1024 bytes long.")
	}
	for _, r := range description {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return Errorf(EINVALID, "A description cannot contain control characters.")
		}
	}
	if mailNickname == "" || len(mailNickname) > 64 {
		return Errorf(EINVALID, "mailNickname is required and can be at most 64 characters long.")
	}
	for _, r := range mailNickname {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`@()\[]";:<>,`, r) {
			return Errorf(EINVALID, "mailNickname can contain only ASCII letters, digits and the characters . - _ without spaces.")
		}
	}
	return nil
}

// MailNickname derives a mail nickname from a display name, for groups
// Gatehouse creates itself, such as a site's.
func MailNickname(displayName string) string {
	var b strings.Builder
	for _, r := range displayName {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		}
		if b.Len() >= 56 {
			break
		}
	}
	if b.Len() == 0 {
		return "group"
	}
	return b.String()
}

// GroupFacts are what the decision needs to know about one group for one
// principal.
type GroupFacts struct {
	// Owner is true when the principal owns the group, or, for a site's
	// group, owns the site.
	Owner bool
	// Member is true when the principal is a member of the group.
	Member bool
	// SiteGroup is true for a site's group; InSite when the principal is
	// in one of that site's groups.
	SiteGroup, InSite bool
}

// AuthorizeGroup decides whether p may read groups (manage false) or
// manage the group f describes: change it, delete it, and add and remove
// its members and owners. Members read every group, to share with one;
// administrators manage every group and owners their own. Guests and
// recipients get EFORBIDDEN.
func AuthorizeGroup(p Principal, manage bool, f GroupFacts) error {
	switch {
	case p.Kind == KindSystem:
		return nil
	case p.Kind == Anonymous:
		return Errorf(EUNAUTHORIZED, "Sign in to continue.")
	case p.Kind != KindMember:
		return Errorf(EFORBIDDEN, "Only members of the organization can use groups.")
	case !manage, p.IsAdmin, f.Owner:
		return nil
	}
	return Errorf(EFORBIDDEN, "Only the group's owners and administrators can change this group.")
}

// AuthorizeGroupRead decides whether p may see a group (members false) or
// who is in it (members true). Members see every group's name, to share
// with it, but a site's groups only when they are in the site; who is in a
// group is for its members and owners, and administrators. A group p may
// not see answers ENOTFOUND.
func AuthorizeGroupRead(p Principal, members bool, f GroupFacts) error {
	if err := AuthorizeGroup(p, false, f); err != nil {
		return err
	}
	switch {
	case p.Kind == KindSystem, p.IsAdmin, f.Owner:
		return nil
	case f.SiteGroup && !f.InSite:
		return Errorf(ENOTFOUND, "The group was not found.")
	case !members, f.Member, f.SiteGroup:
		return nil
	}
	return Errorf(EFORBIDDEN, "Only the group's members and owners, and administrators, can see who is in it.")
}
