package gatehouse_test

import (
	"testing"

	"gatehouse"
)

func TestAuthorizeGroup(t *testing.T) {
	ann := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "ann", Email: "ann@example.com"}
	ada := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "ada", Email: "ada@example.com", IsAdmin: true}
	gus := gatehouse.Principal{Kind: gatehouse.KindGuest, UserID: "gus", Email: "gus@partner.test"}
	sam := gatehouse.RecipientPrincipal("sam@partner.test")
	none := gatehouse.GroupFacts{}
	owner := gatehouse.GroupFacts{Owner: true}
	member := gatehouse.GroupFacts{Member: true}
	otherSite := gatehouse.GroupFacts{SiteGroup: true}
	mySite := gatehouse.GroupFacts{SiteGroup: true, InSite: true}
	for _, tc := range []struct {
		name    string
		p       gatehouse.Principal
		manage  bool
		members bool // read who is in it (manage false)
		f       gatehouse.GroupFacts
		want    string
	}{
		{"a member reads any group's name", ann, false, false, none, ""},
		{"a member does not read who is in another's group", ann, false, true, none, gatehouse.EFORBIDDEN},
		{"a group's member reads who is in it", ann, false, true, member, ""},
		{"an owner reads who is in it", ann, false, true, owner, ""},
		{"an administrator reads who is in any group", ada, false, true, none, ""},
		{"a site's group is unknown outside the site", ann, false, false, otherSite, gatehouse.ENOTFOUND},
		{"a site's people read its groups", ann, false, true, mySite, ""},
		{"an administrator reads any site's group", ada, false, true, otherSite, ""},
		{"a guest reads no group", gus, false, false, mySite, gatehouse.EFORBIDDEN},
		{"a recipient reads no group", sam, false, false, none, gatehouse.EFORBIDDEN},
		{"anonymous", gatehouse.Principal{}, false, false, none, gatehouse.EUNAUTHORIZED},
		{"an owner manages", ann, true, false, owner, ""},
		{"a member does not manage", ann, true, false, member, gatehouse.EFORBIDDEN},
		{"an administrator manages", ada, true, false, none, ""},
		{"a guest owner still does not manage", gus, true, false, owner, gatehouse.EFORBIDDEN},
	} {
		var err error
		if tc.manage {
			err = gatehouse.AuthorizeGroup(tc.p, true, tc.f)
		} else {
			err = gatehouse.AuthorizeGroupRead(tc.p, tc.members, tc.f)
		}
		if got := gatehouse.ErrorCode(err); (err == nil) != (tc.want == "") || (err != nil && got != tc.want) {
			t.Errorf("%s: got %v (%s), want %q", tc.name, err, got, tc.want)
		}
	}
}
