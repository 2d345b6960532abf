package store_test

import (
	"slices"
	"testing"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// TestSearchAuditUserPrefix: UserIDPrefix matches the start of the UserId,
// case-insensitively, and only the start, on both backends.
func TestSearchAuditUserPrefix(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			users := []string{"ac@example.com", "ada@example.com", "adam@example.com", "adé@example.com", "ae@example.com",
				"éve@example.com", "être@example.com", "zz\U0010FFFF@example.com", "bob.ada@example.com"}
			for _, u := range users {
				by := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindMember, Email: u}}
				if err := e.RecordAccess(ctx, by, gatehouse.OpFileAccessed, &gatehouse.Item{ID: "i", DriveID: "d", Name: "a.txt"}); err != nil {
					t.Fatal(err)
				}
			}
			for prefix, want := range map[string][]string{
				"ad":                  {"ada@example.com", "adam@example.com", "adé@example.com"},
				"ADA":                 {"ada@example.com", "adam@example.com"},
				"ada@":                {"ada@example.com"},
				"ada@example.com":     {"ada@example.com"},
				"ada@example.comx":    nil,
				"é":                   {"éve@example.com"},
				"zz\U0010FFFF":        {"zz\U0010FFFF@example.com"},
				"\U0010FFFF":          nil,
				"example.com":         nil, // a prefix, not a substring
				"bob.ada@example.com": {"bob.ada@example.com"},
			} {
				var got []string
				for _, r := range e.records(gatehouse.AuditFilter{Operation: gatehouse.OpFileAccessed, UserIDPrefix: prefix}) {
					got = append(got, r.UserID)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("UserIDPrefix %q: got %q, want %q", prefix, got, want)
				}
			}
			for _, bad := range []string{"a\x00", "a\xff"} {
				_, _, err := e.SearchAudit(ctx, gatehouse.AuditFilter{UserIDPrefix: bad}, nil)
				wantCode(t, "UserIDPrefix "+bad, err, gatehouse.EINVALID)
			}
		})
	}
}
