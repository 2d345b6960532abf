package gatehouse_test

import (
	"testing"
	"time"

	"gatehouse"
)

func TestAuthorize(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ann := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "ann", Email: "ann@example.com"}
	bob := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "bob", Email: "bob@example.com"}
	gus := gatehouse.Principal{Kind: gatehouse.KindGuest, UserID: "gus", Email: "gus@partner.test"}
	sam := gatehouse.RecipientPrincipal("sam@partner.test")
	admin := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "ada", Email: "ada@example.com", IsAdmin: true}
	anon := gatehouse.Principal{}
	sys := gatehouse.SystemPrincipal()

	// Ann's drive: root > docs > plan.txt, and docs shared with Sam.
	own := gatehouse.ItemFacts{Access: gatehouse.AccessOwner, Ancestry: []string{"root", "docs", "plan"}, Now: now}
	// The same item as others see it: the facts the store loads for them.
	as := func(a gatehouse.DriveAccess, grants ...gatehouse.LinkFacts) gatehouse.ItemFacts {
		f := own
		f.Access, f.Grants = a, grants
		return f
	}
	grant := func(item, role string, mod func(*gatehouse.LinkFacts)) gatehouse.LinkFacts {
		l := gatehouse.LinkFacts{ItemID: item, Role: role, GroupMember: true}
		if mod != nil {
			mod(&l)
		}
		return l
	}
	others := as(gatehouse.NoAccess)
	via := func(role string, mod func(*gatehouse.LinkFacts)) gatehouse.ItemFacts {
		f := others
		l := &gatehouse.LinkFacts{ItemID: "docs", Role: role, Recipients: []string{"SAM@partner.test", "bob@example.com"}}
		if mod != nil {
			mod(l)
		}
		f.Via = l
		return f
	}
	viewLink, editLink := via(gatehouse.RoleRead, nil), via(gatehouse.RoleWrite, nil)
	owned := func(f gatehouse.ItemFacts) gatehouse.ItemFacts { f.Access = gatehouse.AccessOwner; return f }
	expired := via(gatehouse.RoleRead, func(l *gatehouse.LinkFacts) { l.ExpiresAt = now })
	ownerGone := via(gatehouse.RoleRead, func(l *gatehouse.LinkFacts) { l.OwnerDisabled = true })
	sibling := via(gatehouse.RoleRead, func(l *gatehouse.LinkFacts) { l.ItemID = "docs2" })
	// Bob is in a group secured to a link: through the link page, and
	// signed in through the API, where the link is one of his grants.
	groupLink := via(gatehouse.RoleRead, func(l *gatehouse.LinkFacts) { l.Recipients, l.GroupMember = nil, true })
	viewGrant, editGrant := as(gatehouse.NoAccess, grant("docs", gatehouse.RoleRead, nil)), as(gatehouse.NoAccess, grant("docs", gatehouse.RoleWrite, nil))
	expiredGrant := as(gatehouse.NoAccess, grant("docs", gatehouse.RoleWrite, func(l *gatehouse.LinkFacts) { l.ExpiresAt = now }))
	goneGrant := as(gatehouse.NoAccess, grant("docs", gatehouse.RoleWrite, func(l *gatehouse.LinkFacts) { l.OwnerDisabled = true }))
	otherGrant := as(gatehouse.NoAccess, grant("docs2", gatehouse.RoleWrite, nil))
	twoGrants := as(gatehouse.NoAccess, grant("docs", gatehouse.RoleRead, nil), grant("root", gatehouse.RoleWrite, nil))

	all := []gatehouse.Action{gatehouse.ActRead, gatehouse.ActDownload, gatehouse.ActWrite, gatehouse.ActShare, gatehouse.ActManageAccess, gatehouse.ActDelete}
	for _, tc := range []struct {
		name string
		p    gatehouse.Principal
		acts []gatehouse.Action
		f    gatehouse.ItemFacts
		want string // "" allows
	}{
		{"owner may do anything", ann, all, own, ""},
		{"owner reads through their own link", ann, all[:2], owned(viewLink), ""},
		{"owner uploads only through an edit link", ann, all[2:3], owned(viewLink), gatehouse.EFORBIDDEN},
		{"owner uploads through their edit link", ann, all[2:3], owned(editLink), ""},
		{"system may do anything", sys, all, own, ""},
		{"anonymous", anon, all, own, gatehouse.EUNAUTHORIZED},
		{"anonymous through a link", anon, all[:2], viewLink, gatehouse.EUNAUTHORIZED},
		{"another member without a link", bob, all, others, gatehouse.ENOTFOUND},
		{"an administrator is not an owner", admin, all, others, gatehouse.ENOTFOUND},
		{"a guest without a link", gus, all, others, gatehouse.ENOTFOUND},
		{"a recipient without a link", sam, all, others, gatehouse.ENOTFOUND},
		{"recipient reads through the link (address in any case)", sam, all[:2], viewLink, ""},
		{"member on the link reads", bob, all[:2], viewLink, ""},
		{"recipient cannot upload through a view link", sam, all[2:3], viewLink, gatehouse.EFORBIDDEN},
		{"recipient uploads through an edit link", sam, all[2:3], editLink, ""},
		{"recipient never shares, manages or deletes", sam, all[3:], editLink, gatehouse.EFORBIDDEN},
		{"a guest not on the link", gus, all[:2], viewLink, gatehouse.EFORBIDDEN},
		{"an expired link opens nothing", sam, all[:2], expired, gatehouse.EGONE},
		{"an expired link says so before asking who you are", anon, all[:1], expired, gatehouse.EGONE},
		{"an expired link opens nothing, even for its owner", ann, all[:1], owned(expired), gatehouse.EGONE},
		{"a disabled owner's link opens nothing", sam, all[:2], ownerGone, gatehouse.EGONE},
		{"an item outside the shared folder", sam, all[:2], sibling, gatehouse.ENOTFOUND},
		{"a site owner may do anything", bob, all, as(gatehouse.AccessOwner), ""},
		{"a site member edits, shares and deletes", bob, []gatehouse.Action{gatehouse.ActRead, gatehouse.ActDownload, gatehouse.ActWrite, gatehouse.ActShare, gatehouse.ActDelete}, as(gatehouse.AccessWrite), ""},
		{"a site member does not manage access", bob, all[4:5], as(gatehouse.AccessWrite), gatehouse.EFORBIDDEN},
		{"a site visitor reads", gus, all[:2], as(gatehouse.AccessRead), ""},
		{"a site visitor changes nothing", gus, all[2:], as(gatehouse.AccessRead), gatehouse.EFORBIDDEN},
		{"drive access is for users, not recipients", sam, all, as(gatehouse.AccessOwner), gatehouse.ENOTFOUND},
		{"a group member reads through the link page", bob, all[:2], groupLink, ""},
		{"group membership does not count for a recipient", sam, all[:2], groupLink, gatehouse.EFORBIDDEN},
		{"a view grant reads", bob, all[:2], viewGrant, ""},
		{"a view grant does not write", bob, all[2:3], viewGrant, gatehouse.EFORBIDDEN},
		{"an edit grant writes", gus, all[2:3], editGrant, ""},
		{"a grant never shares, manages or deletes", bob, all[3:], editGrant, gatehouse.EFORBIDDEN},
		{"an expired grant opens nothing", bob, all[:3], expiredGrant, gatehouse.ENOTFOUND},
		{"a disabled owner's grant opens nothing", bob, all[:3], goneGrant, gatehouse.ENOTFOUND},
		{"a grant on another folder opens nothing here", bob, all[:3], otherGrant, gatehouse.ENOTFOUND},
		{"the best of two grants counts", bob, all[:3], twoGrants, ""},
		{"grants are for users, not recipients", sam, all[:2], viewGrant, gatehouse.ENOTFOUND},
		{"a visitor with an edit grant writes", gus, all[2:3], as(gatehouse.AccessRead, grant("docs", gatehouse.RoleWrite, nil)), ""},
		{"directory actions are not item actions", ann, []gatehouse.Action{gatehouse.ActAdminister}, own, gatehouse.EINVALID},
	} {
		for _, act := range tc.acts {
			err := gatehouse.Authorize(tc.p, act, tc.f)
			if got := gatehouse.ErrorCode(err); (err == nil) != (tc.want == "") || (err != nil && got != tc.want) {
				t.Errorf("%s, action %d: got %v (%s), want %q", tc.name, act, err, got, tc.want)
			}
		}
	}
}

func TestAuthorizeDirectory(t *testing.T) {
	ann := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "ann", Email: "ann@example.com"}
	admin := gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "ada", Email: "ada@example.com", IsAdmin: true}
	gus := gatehouse.Principal{Kind: gatehouse.KindGuest, UserID: "gus", Email: "gus@partner.test"}
	sam := gatehouse.RecipientPrincipal("sam@partner.test")
	for _, tc := range []struct {
		name    string
		p       gatehouse.Principal
		act     gatehouse.Action
		subject string
		want    string
	}{
		{"admin administers", admin, gatehouse.ActAdminister, "", ""},
		{"admin reads anyone", admin, gatehouse.ActReadUsers, "bob", ""},
		{"member cannot administer", ann, gatehouse.ActAdminister, "", gatehouse.EFORBIDDEN},
		{"member reads themselves by id", ann, gatehouse.ActReadUsers, "ann", ""},
		{"member reads themselves by address", ann, gatehouse.ActReadUsers, "ANN@example.com", ""},
		{"member cannot read others", ann, gatehouse.ActReadUsers, "bob", gatehouse.EFORBIDDEN},
		{"guest cannot administer", gus, gatehouse.ActAdminister, "", gatehouse.EFORBIDDEN},
		{"member invites", ann, gatehouse.ActInvite, "", ""},
		{"admin invites", admin, gatehouse.ActInvite, "", ""},
		{"guest cannot invite", gus, gatehouse.ActInvite, "", gatehouse.EFORBIDDEN},
		{"recipient cannot invite", sam, gatehouse.ActInvite, "", gatehouse.EFORBIDDEN},
		{"anonymous cannot invite", gatehouse.Principal{}, gatehouse.ActInvite, "", gatehouse.EUNAUTHORIZED},
		{"recipient has no directory", sam, gatehouse.ActReadUsers, "sam@partner.test", gatehouse.EFORBIDDEN},
		{"anonymous", gatehouse.Principal{}, gatehouse.ActReadUsers, "", gatehouse.EUNAUTHORIZED},
		{"system", gatehouse.SystemPrincipal(), gatehouse.ActAdminister, "", ""},
		{"item actions are not directory actions", admin, gatehouse.ActRead, "", gatehouse.EINVALID},
	} {
		err := gatehouse.AuthorizeDirectory(tc.p, tc.act, tc.subject)
		if got := gatehouse.ErrorCode(err); (err == nil) != (tc.want == "") || (err != nil && got != tc.want) {
			t.Errorf("%s: got %v (%s), want %q", tc.name, err, got, tc.want)
		}
	}
}
