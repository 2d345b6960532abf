package main

import (
	"fmt"
	"slices"
	"testing"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// TestConcurrencyGroupMembers: 16 clients add 16 people to one group at
// once, then all remove one person at once, then the group is deleted
// while people are being added. Every add is kept and recorded once, one
// removal wins, and a deleted group keeps no members.
func TestConcurrencyGroupMembers(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			const n = 16
			var ids []string
			for i := range n {
				ids = append(ids, r.s.addUser(fmt.Sprintf("m%02d@example.com", i), fmt.Sprintf("Member %02d", i), "correct horse battery", false).ID)
			}
			g := r.must(r.token, "POST", "/v1.0/groups", map[string]any{"displayName": "Racers", "mailNickname": "racers", "securityEnabled": true}, 201)["id"].(string)
			ref := func(id string) map[string]any {
				return map[string]any{"@odata.id": r.s.Config.BaseURL + "/v1.0/directoryObjects/" + id}
			}
			res := race(n, func(i int) result { return r.do(r.token, "POST", "/v1.0/groups/"+g+"/members/$ref", ref(ids[i])) })
			noServerErrors(t, "parallel adds", res, 204)
			// And again: adding someone already there changes nothing.
			res = race(n, func(i int) result { return r.do(r.token, "POST", "/v1.0/groups/"+g+"/members/$ref", ref(ids[i%4])) })
			noServerErrors(t, "parallel repeated adds", res, 204)
			members := r.query(`SELECT user_id FROM group_members WHERE group_id = ? AND role = 'member' ORDER BY user_id`, g)
			var got []string
			for _, m := range members {
				got = append(got, m[0])
			}
			want := slices.Sorted(slices.Values(ids))
			if !slices.Equal(got, want) {
				t.Errorf("members after parallel adds: %d, want %d", len(got), n)
			}
			if c := r.count(`SELECT COUNT(*) FROM audit_records WHERE operation = ? AND object_id = ?`, gatehouse.OpAddedToGroup, g); c != n+1 {
				t.Errorf("AddedToGroup records: %d, want %d (the owner and %d members)", c, n+1, n)
			}

			res = race(n, func(int) result { return r.do(r.token, "DELETE", "/v1.0/groups/"+g+"/members/"+ids[0]+"/$ref", nil) })
			noServerErrors(t, "parallel removals of one member", res, 204, 404)
			wins := 0
			for _, x := range res {
				if x.status == 204 {
					wins++
				}
			}
			if wins != 1 || r.count(`SELECT COUNT(*) FROM audit_records WHERE operation = ?`, gatehouse.OpRemovedFromGroup) != 1 {
				t.Errorf("parallel removals of one member: %d won, want 1, each recorded once", wins)
			}

			// Delete the group while 15 clients add people to it.
			res = race(n, func(i int) result {
				if i == 0 {
					return r.do(r.token, "DELETE", "/v1.0/groups/"+g, nil)
				}
				return r.do(r.token, "POST", "/v1.0/groups/"+g+"/members/$ref", ref(ids[0]))
			})
			noServerErrors(t, "adds during the group's deletion", res, 204, 404)
			if res[0].status != 204 {
				t.Errorf("delete the group: %v", res[0])
			}
			if c := r.count(`SELECT COUNT(*) FROM group_members WHERE group_id = ?`, g); c != 0 {
				t.Errorf("%d memberships outlive their group", c)
			}
		})
	}
}

// TestConcurrencyShareWithGroups: 16 clients share one folder with 16
// groups at once: one link, every group on it, each recorded once.
func TestConcurrencyShareWithGroups(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			folder := r.folder(r.root, "Shared")
			const n = 16
			var groups []string
			for i := range n {
				groups = append(groups, r.must(r.token, "POST", "/v1.0/groups", map[string]any{"displayName": fmt.Sprintf("Team %02d", i),
					"mailNickname": fmt.Sprintf("team%02d", i), "securityEnabled": true}, 201)["id"].(string))
			}
			res := race(n, func(i int) result {
				return r.do(r.token, "POST", r.items()+folder+"/invite", map[string]any{
					"recipients": []any{map[string]any{"objectId": groups[i]}}, "roles": []string{"read"}, "sendInvitation": false})
			})
			noServerErrors(t, "parallel shares with groups", res, 200)
			perms := r.permissions(folder)
			if len(perms) != 1 {
				t.Fatalf("%d links after parallel shares, want 1", len(perms))
			}
			if got := len(perms[0]["grantedToIdentitiesV2"].([]any)); got != n {
				t.Errorf("the link holds %d groups, want %d", got, n)
			}
			if ops := r.ops(folder); ops[gatehouse.OpAddedToSecureLink] != n || ops[gatehouse.OpSecureLinkCreated] != 1 {
				t.Errorf("records: %v", ops)
			}
		})
	}
}

// TestConcurrencySiteShare: 16 clients share one site at once, half with
// members (added at once) and half with outside addresses (invited): each
// lands once, in the right group or pending, with its records.
func TestConcurrencySiteShare(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			site := r.must(r.token, "POST", "/v1.0/sites", map[string]any{"displayName": "Race site"}, 201)["id"].(string)
			const n = 16
			var emails []string
			for i := range n {
				if i%2 == 0 {
					emails = append(emails, r.s.addUser(fmt.Sprintf("s%02d@example.com", i), "Site member", "correct horse battery", false).Email)
				} else {
					emails = append(emails, fmt.Sprintf("p%02d@partner.test", i))
				}
			}
			res := race(n, func(i int) result {
				return r.do(r.token, "POST", "/v1.0/sites/"+site+"/share", map[string]any{
					"recipients": []any{map[string]any{"email": emails[i]}}, "role": "write", "message": "welcome"})
			})
			noServerErrors(t, "parallel site shares", res, 200)
			// Everyone shares again at once: nothing new.
			res = race(n, func(i int) result {
				return r.do(r.token, "POST", "/v1.0/sites/"+site+"/share", map[string]any{
					"recipients": []any{map[string]any{"email": emails[i]}}, "role": "write"})
			})
			noServerErrors(t, "parallel repeated site shares", res, 200)
			added := r.count(`SELECT COUNT(*) FROM group_members m JOIN security_groups g ON g.id = m.group_id
				WHERE g.drive_access = 2 AND m.role = 'member'`)
			pending := r.count(`SELECT COUNT(*) FROM pending_group_members`)
			if added != n/2 || pending != n/2 {
				t.Errorf("after parallel site shares: %d added and %d pending, want %d each", added, pending, n/2)
			}
			if c := r.count(`SELECT COUNT(*) FROM audit_records WHERE operation = ?`, gatehouse.OpSharingInvitationCreated); c < n/2 {
				t.Errorf("SharingInvitationCreated records: %d, want at least %d", c, n/2)
			}
			if c := r.count(`SELECT COUNT(*) FROM users WHERE user_type = 'Guest'`); c != n/2 {
				t.Errorf("%d guests, want %d: one per outside address", c, n/2)
			}
		})
	}
}
