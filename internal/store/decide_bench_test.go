package store_test

import (
	"fmt"
	"testing"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// BenchmarkDecideThroughGroups is the access decision alone (load the
// facts, decide) for the owner of a file 20 folders deep and for a member
// of 50 groups, one of which the top folder was shared with. The
// difference of their ns/op is what deciding through groups adds to a
// request; the budget is 0.5 ms.
func BenchmarkDecideThroughGroups(b *testing.B) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			decideBench(b, newEnv(b, backend))
		})
	}
}

func decideBench(b *testing.B, e *env) {
	ann, annActor, d := e.member("ann@example.com")
	bob, _, _ := e.member("bob@example.com")
	top := e.folder(annActor, d, d.RootID, "shared")
	parent := top.ID
	for i := 1; i < 20; i++ {
		parent = e.folder(annActor, d, parent, fmt.Sprintf("level %d", i)).ID
	}
	file := e.file(annActor, d, parent, "deep.txt", "deep")
	var shareWith string
	for i := 0; i < 50; i++ {
		g, err := e.CreateGroup(ctx, annActor, store.NewGroup{DisplayName: fmt.Sprintf("Team %02d", i), MailNickname: fmt.Sprintf("team%02d", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.AddGroupMember(ctx, annActor, g.ID, bob.ID, gatehouse.GroupMember); err != nil {
			b.Fatal(err)
		}
		if i == 25 {
			shareWith = g.ID
		}
	}
	if _, _, err := e.Share(ctx, annActor, store.ShareRequest{DriveID: d.ID, ItemID: top.ID, Role: gatehouse.RoleRead, ObjectIDs: []string{shareWith}}); err != nil {
		b.Fatal(err)
	}
	if e.Postgres() {
		// As autovacuum would have by now: without statistics PostgreSQL
		// plans for tables of unknown size.
		e.exec(`ANALYZE`)
	}
	decide := func(u *gatehouse.User) func(b *testing.B) {
		return func(b *testing.B) {
			p := gatehouse.UserPrincipal(u)
			for i := 0; i < b.N; i++ {
				_, f, err := e.ItemFacts(ctx, p, d.ID, file.ID)
				if err == nil {
					err = gatehouse.Authorize(p, gatehouse.ActDownload, f)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for round := 0; round < 3; round++ {
		b.Run(fmt.Sprintf("owner/round%d", round), decide(ann))
		b.Run(fmt.Sprintf("group-member/round%d", round), decide(bob))
	}
}
