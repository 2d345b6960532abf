package gatehouse

// SiteAction is something a principal may do to a site as a whole; what
// they may do inside its drive is Authorize's to decide.
type SiteAction uint8

// Site actions.
const (
	SiteCreate SiteAction = iota + 1 // create a new site
	SiteRead                         // see the site and its drive
	SiteManage                       // share the site, delete it
)

// AuthorizeSite decides whether p, whose access to the site's drive is
// access, may take act. Any member may create a site; its visitors,
// members and owners see it; its owners and administrators manage it.
// A site the principal cannot see answers ENOTFOUND, as if it did not
// exist.
func AuthorizeSite(p Principal, act SiteAction, access DriveAccess) error {
	switch {
	case p.Kind == KindSystem:
		return nil
	case p.Kind == Anonymous:
		return Errorf(EUNAUTHORIZED, "Sign in to continue.")
	case !p.IsUser():
		return Errorf(EFORBIDDEN, "Only members of the organization and guests can use sites.")
	}
	switch act {
	case SiteCreate:
		if p.Kind == KindMember {
			return nil
		}
		return Errorf(EFORBIDDEN, "Only members of the organization can create sites.")
	case SiteRead:
		if p.IsAdmin || access >= AccessRead {
			return nil
		}
	case SiteManage:
		if p.IsAdmin || access >= AccessOwner {
			return nil
		}
		if access >= AccessRead {
			return Errorf(EFORBIDDEN, "Only the site's owners and administrators can do this.")
		}
	default:
		return Errorf(EINVALID, "That is not an action on a site.")
	}
	return Errorf(ENOTFOUND, "The site was not found.")
}
