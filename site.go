package gatehouse

import "time"

// Site is a team space: a document library with its own owners, members
// and visitors, who are the members of the site's three groups.
type Site struct {
	ID          string
	DisplayName string
	Description string
	DriveID     string
	CreatedBy   string // user id
	CreatedAt   time.Time
	// The site's groups, by the access they give.
	OwnersGroupID, MembersGroupID, VisitorsGroupID string
}

// Site roles, as POST /v1.0/sites/{id}/share names them.
const (
	SiteRoleRead  = "read"
	SiteRoleWrite = "write"
	SiteRoleOwner = "owner"
)

// SiteAccess returns the drive access of a site role.
func SiteAccess(role string) (DriveAccess, error) {
	switch role {
	case SiteRoleRead:
		return AccessRead, nil
	case SiteRoleWrite:
		return AccessWrite, nil
	case SiteRoleOwner:
		return AccessOwner, nil
	}
	return NoAccess, Errorf(EINVALID, "The role must be \"read\", \"write\" or \"owner\".")
}

// SiteGroupName is the display name of a site's group of the access.
func SiteGroupName(site string, a DriveAccess) string {
	switch a {
	case AccessOwner:
		return site + " Owners"
	case AccessWrite:
		return site + " Members"
	}
	return site + " Visitors"
}
