package store_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// eventData decodes a record's EventData.
func eventData(t *testing.T, r *gatehouse.Record) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.EventData), &m); err != nil {
		t.Fatalf("%s EventData %q: %v", r.Operation, r.EventData, err)
	}
	return m
}

// memberEmails lists the addresses in the group's role.
func (e *env) memberEmails(groupID, role string) []string {
	e.t.Helper()
	ms, err := e.GroupMembers(ctx, groupID, role, "", 0)
	if err != nil {
		e.t.Fatalf("GroupMembers: %v", err)
	}
	out := []string{}
	for _, m := range ms {
		out = append(out, m.User.Email)
	}
	return out
}

// TestGroupMembership: only directory users join a group (an ad hoc address
// is told to invite a guest first, a group is refused), guests may, a second
// add changes nothing, and every change writes its one record.
func TestGroupMembership(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			alice, by, _ := e.member("alice@example.com")
			bob := e.user("bob@example.com")
			inv, err := e.CreateInvitation(ctx, by, store.InviteRequest{Email: "erin@outside.example"})
			if err != nil {
				t.Fatal(err)
			}

			g, err := e.CreateGroup(ctx, by, store.NewGroup{DisplayName: "Finance", Description: "Money", MailNickname: "finance"})
			if err != nil {
				t.Fatalf("CreateGroup: %v", err)
			}
			if g.ID == "" || !g.SecurityEnabled || g.SiteID != "" || g.CreatedBy != alice.ID {
				t.Fatalf("group %+v", g)
			}
			if got := e.memberEmails(g.ID, gatehouse.GroupOwner); !slices.Equal(got, []string{"alice@example.com"}) {
				t.Errorf("owners after create: %v", got)
			}
			if recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGroupAdded}); len(recs) != 1 ||
				recs[0].ObjectID != g.ID || recs[0].TargetUserOrGroupName != "Finance" ||
				recs[0].TargetUserOrGroupType != gatehouse.TargetTypeGroup || recs[0].UserID != "alice@example.com" {
				t.Errorf("GroupAdded records %+v", recs)
			}

			// An address outside the directory is an ad hoc recipient.
			_, err = e.AddGroupMember(ctx, by, g.ID, "zed@nowhere.example", gatehouse.GroupMember)
			wantCode(t, "ad hoc address", err, gatehouse.EINVALID)
			if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, "invite them as a guest first") {
				t.Errorf("ad hoc message %q", msg)
			}
			// A group cannot be a member, by id.
			other, err := e.CreateGroup(ctx, by, store.NewGroup{DisplayName: "Other", MailNickname: "other"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.AddGroupMember(ctx, by, g.ID, other.ID, gatehouse.GroupMember)
			wantCode(t, "group as member", err, gatehouse.EINVALID)
			if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, "cannot be a member of another group") {
				t.Errorf("nested message %q", msg)
			}
			_, err = e.AddGroupMember(ctx, by, g.ID, "no-such-id", gatehouse.GroupMember)
			wantCode(t, "unknown id", err, gatehouse.ENOTFOUND)
			_, err = e.AddGroupMember(ctx, by, "no-such-group", bob.ID, gatehouse.GroupMember)
			wantCode(t, "unknown group", err, gatehouse.ENOTFOUND)
			_, err = e.AddGroupMember(ctx, by, g.ID, bob.ID, "admin")
			wantCode(t, "unknown role", err, gatehouse.EINVALID)
			if n := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpAddedToGroup, ObjectID: g.ID})); n != 1 {
				t.Errorf("%d AddedToGroup records after the refusals, want 1 (the creator)", n)
			}

			// A guest (by address) and a member (by id) join; twice is once.
			u, err := e.AddGroupMember(ctx, by, g.ID, "Erin@Outside.example", gatehouse.GroupMember)
			if err != nil || u.ID != inv.UserID {
				t.Fatalf("add guest: %+v, %v", u, err)
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpAddedToGroup, UserID: "alice@example.com", ObjectID: g.ID,
				TargetUserOrGroupName: "erin@outside.example"})
			if d := eventData(t, r); r.TargetUserOrGroupType != gatehouse.UserTypeGuest || d["GroupId"] != g.ID || d["GroupName"] != "Finance" {
				t.Errorf("guest AddedToGroup %+v", r)
			}
			for range 2 {
				if _, err := e.AddGroupMember(ctx, by, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
					t.Fatalf("add bob: %v", err)
				}
			}
			recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpAddedToGroup, ObjectID: g.ID})
			if len(recs) != 3 || recs[0].TargetUserOrGroupName != "bob@example.com" || recs[0].TargetUserOrGroupType != gatehouse.UserTypeMember {
				t.Errorf("AddedToGroup records after adding bob twice: %d, newest %+v", len(recs), recs[0])
			}
			if d := eventData(t, recs[0]); d["GroupId"] != g.ID || d["GroupName"] != "Finance" {
				t.Errorf("bob's AddedToGroup EventData %v", d)
			}
			if got := e.memberEmails(g.ID, gatehouse.GroupMember); !slices.Equal(got, []string{"bob@example.com", "erin@outside.example"}) {
				t.Errorf("members: %v", got)
			}
			// An owner is not a member by being an owner.
			if _, err := e.AddGroupMember(ctx, by, g.ID, "bob@example.com", gatehouse.GroupOwner); err != nil {
				t.Fatal(err)
			}
			if got := e.memberEmails(g.ID, gatehouse.GroupOwner); !slices.Equal(got, []string{"alice@example.com", "bob@example.com"}) {
				t.Errorf("owners: %v", got)
			}

			// Removal records RemovedFromGroup; removing again is ENOTFOUND.
			if err := e.RemoveGroupMember(ctx, by, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
				t.Fatalf("remove bob: %v", err)
			}
			r = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpRemovedFromGroup, UserID: "alice@example.com", ObjectID: g.ID,
				TargetUserOrGroupName: "bob@example.com"})
			if d := eventData(t, r); r.TargetUserOrGroupType != gatehouse.UserTypeMember || d["GroupId"] != g.ID || d["GroupName"] != "Finance" {
				t.Errorf("RemovedFromGroup %+v", r)
			}
			before := e.auditCount()
			err = e.RemoveGroupMember(ctx, by, g.ID, bob.ID, gatehouse.GroupMember)
			wantCode(t, "remove twice", err, gatehouse.ENOTFOUND)
			if e.auditCount() != before {
				t.Errorf("a refused removal wrote a record")
			}
			if got := e.memberEmails(g.ID, gatehouse.GroupMember); !slices.Equal(got, []string{"erin@outside.example"}) {
				t.Errorf("members after removal: %v", got)
			}
			if got := e.memberEmails(g.ID, gatehouse.GroupOwner); !slices.Equal(got, []string{"alice@example.com", "bob@example.com"}) {
				t.Errorf("owners after bob left the members: %v", got)
			}

			// Update records what changed, with the group's new name.
			name, desc := "Finance team", "Money matters"
			if _, err := e.UpdateGroup(ctx, by, g.ID, store.GroupPatch{DisplayName: &name, Description: &desc}); err != nil {
				t.Fatalf("UpdateGroup: %v", err)
			}
			r = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpGroupUpdated, UserID: "alice@example.com", ObjectID: g.ID,
				TargetUserOrGroupName: "Finance team"})
			if d := eventData(t, r); d["GroupId"] != g.ID || d["GroupName"] != "Finance team" || d["displayName"] != name ||
				d["description"] != desc || d["mailNickname"] != nil {
				t.Errorf("GroupUpdated EventData %v", d)
			}
			before = e.auditCount()
			if _, err := e.UpdateGroup(ctx, by, g.ID, store.GroupPatch{DisplayName: &name}); err != nil || e.auditCount() != before {
				t.Errorf("an update that changes nothing: %v, %d records written", err, e.auditCount()-before)
			}
			bad := "no spaces allowed"
			_, err = e.UpdateGroup(ctx, by, g.ID, store.GroupPatch{MailNickname: &bad})
			wantCode(t, "bad nickname", err, gatehouse.EINVALID)
			if got, _ := e.Group(ctx, g.ID); got == nil || got.DisplayName != name || got.MailNickname != "finance" {
				t.Errorf("group after updates: %+v", got)
			}

			// Deletion records GroupRemoved and takes the memberships along.
			if err := e.DeleteGroup(ctx, by, g.ID); err != nil {
				t.Fatalf("DeleteGroup: %v", err)
			}
			r = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpGroupRemoved, UserID: "alice@example.com", ObjectID: g.ID,
				TargetUserOrGroupName: "Finance team"})
			if d := eventData(t, r); d["GroupId"] != g.ID || d["GroupName"] != "Finance team" {
				t.Errorf("GroupRemoved EventData %v", d)
			}
			_, err = e.Group(ctx, g.ID)
			wantCode(t, "deleted group", err, gatehouse.ENOTFOUND)
			if n := e.count(`SELECT COUNT(*) FROM group_members WHERE group_id = ?`, g.ID); n != 0 {
				t.Errorf("%d memberships left after deletion", n)
			}
			err = e.DeleteGroup(ctx, by, g.ID)
			wantCode(t, "delete twice", err, gatehouse.ENOTFOUND)
		})
	}
}

// TestGroupsPaging: groups list by name, then id, across pages.
func TestGroupsPaging(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, _ := e.member("alice@example.com")
			for _, name := range []string{"Delta", "Alpha", "Charlie", "Bravo", "Bravo"} {
				if _, err := e.CreateGroup(ctx, by, store.NewGroup{DisplayName: name, MailNickname: strings.ToLower(name)}); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			afterName, afterID := "", ""
			for range 10 {
				page, err := e.Groups(ctx, afterName, afterID, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, g := range page {
					got = append(got, g.DisplayName)
				}
				afterName, afterID = page[len(page)-1].DisplayName, page[len(page)-1].ID
			}
			if want := []string{"Alpha", "Bravo", "Bravo", "Charlie", "Delta"}; !slices.Equal(got, want) {
				t.Errorf("groups by page: %v, want %v", got, want)
			}
		})
	}
}

// TestGroupMembersParallel: 16 clients add and remove the same people in
// one group at once. Nothing fails but removing someone absent; the final
// membership is what the calls left; each real change has one record, so
// each person's records alternate Added, Removed, Added… in the log.
func TestGroupMembersParallel(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, _ := e.member("owner@example.com")
			g, err := e.CreateGroup(ctx, by, store.NewGroup{DisplayName: "Busy", MailNickname: "busy"})
			if err != nil {
				t.Fatal(err)
			}
			var users []*gatehouse.User
			for i := range 6 {
				users = append(users, e.user(fmt.Sprintf("u%d@example.com", i)))
			}
			const clients, ops = 16, 25
			var mu sync.Mutex
			removed := map[string]int{} // successful removals by address
			parallel(clients, func(c int) {
				rng := rand.New(rand.NewPCG(uint64(c), 9))
				for range ops {
					u := users[rng.IntN(len(users))]
					if rng.IntN(2) == 0 {
						if _, err := e.AddGroupMember(ctx, by, g.ID, u.ID, gatehouse.GroupMember); err != nil {
							t.Errorf("client %d: add %s: %v", c, u.Email, err)
						}
						continue
					}
					err := e.RemoveGroupMember(ctx, by, g.ID, u.ID, gatehouse.GroupMember)
					switch {
					case err == nil:
						mu.Lock()
						removed[u.Email]++
						mu.Unlock()
					case gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND:
						t.Errorf("client %d: remove %s: %v", c, u.Email, err)
					}
				}
			})

			final := map[string]bool{}
			for _, m := range e.memberEmails(g.ID, gatehouse.GroupMember) {
				final[m] = true
			}
			// Oldest first: the log is newest first.
			var recs []*gatehouse.Record
			for _, op := range []string{gatehouse.OpAddedToGroup, gatehouse.OpRemovedFromGroup} {
				recs = append(recs, e.records(gatehouse.AuditFilter{Operation: op, ObjectID: g.ID})...)
			}
			slices.SortFunc(recs, func(a, b *gatehouse.Record) int { return cmp.Compare(a.Seq, b.Seq) })
			history := map[string][]string{}
			for _, r := range recs {
				if eventData(t, r)["role"] == gatehouse.GroupMember {
					history[r.TargetUserOrGroupName] = append(history[r.TargetUserOrGroupName], r.Operation)
				}
			}
			changes := 0
			for _, u := range users {
				h := history[u.Email]
				changes += len(h)
				for i, op := range h {
					want := gatehouse.OpAddedToGroup
					if i%2 == 1 {
						want = gatehouse.OpRemovedFromGroup
					}
					if op != want {
						t.Errorf("%s: records %v do not alternate", u.Email, h)
						break
					}
				}
				if in := len(h)%2 == 1; in != final[u.Email] {
					t.Errorf("%s: member at the end %v, but records %v", u.Email, final[u.Email], h)
				}
				if n := len(h) / 2; n != removed[u.Email] {
					t.Errorf("%s: %d successful removals, %d RemovedFromGroup records", u.Email, removed[u.Email], n)
				}
			}
			if changes == 0 {
				t.Errorf("no membership changed: the test exercised nothing")
			}
			t.Logf("%d changes, %d members at the end", changes, len(final))
		})
	}
}
