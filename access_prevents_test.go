package gatehouse_test

import (
	"testing"
	"time"

	"gatehouse"
)

// A view-only link (preventsDownload) lets its people read, not download,
// whether they come through the link page or signed in through a grant;
// another grant that allows downloads still does.
func TestAuthorizePreventsDownload(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	sam := gatehouse.RecipientPrincipal("sam@partner.test")
	bob := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "bob", Email: "bob@example.com"}
	base := gatehouse.ItemFacts{Ancestry: []string{"root", "docs", "plan"}, Now: now}
	viewOnly := gatehouse.LinkFacts{ItemID: "docs", Role: gatehouse.RoleWrite, Recipients: []string{"sam@partner.test", "bob@example.com"}, PreventsDownload: true}
	plain := gatehouse.LinkFacts{ItemID: "root", Role: gatehouse.RoleRead, Recipients: []string{"bob@example.com"}}

	via := base
	via.Via = &viewOnly
	grant := base
	grant.Grants = []gatehouse.LinkFacts{viewOnly}
	both := base
	both.Grants = []gatehouse.LinkFacts{viewOnly, plain}
	owner := via
	owner.Access = gatehouse.AccessOwner

	for _, tc := range []struct {
		name string
		p    gatehouse.Principal
		act  gatehouse.Action
		f    gatehouse.ItemFacts
		want string // "" allows
	}{
		{"a recipient reads through the link", sam, gatehouse.ActRead, via, ""},
		{"a recipient downloads through the link", sam, gatehouse.ActDownload, via, gatehouse.EFORBIDDEN},
		{"an edit link's recipient still uploads", sam, gatehouse.ActWrite, via, ""},
		{"the owner through the link page gets what the link gives", bob, gatehouse.ActDownload, owner, gatehouse.EFORBIDDEN},
		{"a member reads through a grant", bob, gatehouse.ActRead, grant, ""},
		{"a member downloads through a grant", bob, gatehouse.ActDownload, grant, gatehouse.EFORBIDDEN},
		{"another grant that allows downloads", bob, gatehouse.ActDownload, both, ""},
	} {
		err := gatehouse.Authorize(tc.p, tc.act, tc.f)
		if got := gatehouse.ErrorCode(err); (err == nil && tc.want != "") || (err != nil && got != tc.want) {
			t.Errorf("%s: got %v (%s), want %q", tc.name, err, got, tc.want)
		}
	}
}
