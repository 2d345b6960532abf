package main

import (
	"fmt"
	"slices"
	"testing"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// TestConcurrencyViewOnlyLinks: 16 parallel invites of different people to
// one item, half asking for a view-only link (preventsDownload) and half
// not, meet on exactly two links, each with exactly its own half and one
// SecureLinkCreated each. The find-or-create is a read-modify-write that
// the unique index (with the view-only slot) settles.
func TestConcurrencyViewOnlyLinks(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			r := newRacer(t, b)
			id := r.file(r.root, "plan.txt", "x")
			const n = 16
			res := race(n, func(i int) result {
				return r.do(r.token, "POST", r.items()+id+"/invite", map[string]any{
					"recipients": []any{map[string]any{"email": fmt.Sprintf("r%02d@partner.test", i)}}, "roles": []string{"read"},
					"sendInvitation": false, "preventsDownload": i%2 == 0,
				})
			})
			noServerErrors(t, "parallel invites", res, 200)
			perms := r.permissions(id)
			if len(perms) != 2 {
				t.Fatalf("%d links, want one view-only and one plain: %v", len(perms), perms)
			}
			for _, p := range perms {
				viewOnly := p["link"].(map[string]any)["preventsDownload"] == true
				var want []string
				for i := range n {
					if (i%2 == 0) == viewOnly {
						want = append(want, fmt.Sprintf("r%02d@partner.test", i))
					}
				}
				if got := grantees(p); !slices.Equal(got, want) {
					t.Errorf("view-only %v link has %v, want %v", viewOnly, got, want)
				}
			}
			if ops := r.ops(id); ops[gatehouse.OpSecureLinkCreated] != 2 || ops[gatehouse.OpAddedToSecureLink] != n {
				t.Errorf("records: %d SecureLinkCreated (want 2), %d AddedToSecureLink (want %d)", ops[gatehouse.OpSecureLinkCreated], ops[gatehouse.OpAddedToSecureLink], n)
			}
			r.verifyAudit()
		})
	}
}
