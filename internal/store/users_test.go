package store_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

func TestCreateUser(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			sys := gatehouse.SystemActor()
			u, err := e.CreateUser(ctx, sys, store.NewUser{Email: "  Ann.Smith@Example.COM ", DisplayName: " Ann Smith ", Password: password, IsAdmin: true})
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if u.Email != "ann.smith@example.com" {
				t.Errorf("Email: got %q, want %q", u.Email, "ann.smith@example.com")
			}
			if u.DisplayName != "Ann Smith" || u.UserType != gatehouse.UserTypeMember || !u.IsAdmin || u.Disabled {
				t.Errorf("CreateUser: got %+v, want Ann Smith, an enabled admin member", u)
			}
			if !u.CreatedAt.Equal(e.clock.Now()) {
				t.Errorf("CreatedAt: got %v, want the clock's %v", u.CreatedAt, e.clock.Now())
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserAdded, UserID: "system", ObjectID: "ann.smith@example.com",
				ItemType: "User", TargetUserOrGroupName: "ann.smith@example.com", ResultStatus: "Succeeded"})

			got, err := e.User(ctx, u.ID)
			if err != nil || !reflect.DeepEqual(got, u) {
				t.Errorf("User: got %+v, %v; want %+v", got, err, u)
			}
			got, err = e.UserByEmail(ctx, " ANN.smith@example.com")
			if err != nil || got.ID != u.ID {
				t.Errorf("UserByEmail in another case: got %+v, %v; want user %s", got, err, u.ID)
			}
			if d, err := e.DriveByOwner(ctx, u.ID); err != nil || d.OwnerID != u.ID {
				t.Errorf("DriveByOwner: got %+v, %v; want a drive owned by the new user", d, err)
			}

			records, users := e.auditCount(), 1
			for _, dup := range []string{"ann.smith@example.com", "ANN.SMITH@EXAMPLE.COM", " Ann.Smith@example.com"} {
				_, err := e.CreateUser(ctx, sys, store.NewUser{Email: dup, DisplayName: "Other", Password: password})
				wantCode(t, "CreateUser duplicate "+dup, err, gatehouse.ECONFLICT)
			}
			invalid := []struct {
				name string
				nu   store.NewUser
			}{
				{"bad email", store.NewUser{Email: "not-an-email", DisplayName: "X", Password: password}},
				{"empty email", store.NewUser{Email: "", DisplayName: "X", Password: password}},
				{"display-name address", store.NewUser{Email: "Bob <bob@example.com>", DisplayName: "X", Password: password}},
				{"short password", store.NewUser{Email: "bob@example.com", DisplayName: "Bob", Password: "short"}},
				{"empty password", store.NewUser{Email: "bob@example.com", DisplayName: "Bob"}},
				{"empty name", store.NewUser{Email: "bob@example.com", DisplayName: "", Password: password}},
				{"blank name", store.NewUser{Email: "bob@example.com", DisplayName: "   ", Password: password}},
			}
			for _, tt := range invalid {
				_, err := e.CreateUser(ctx, sys, tt.nu)
				wantCode(t, "CreateUser "+tt.name, err, gatehouse.EINVALID)
			}
			if n, err := e.CountUsers(ctx); err != nil || n != users {
				t.Errorf("CountUsers after refused creations: got %d, %v; want %d", n, err, users)
			}
			if n := e.auditCount(); n != records {
				t.Errorf("audit records after refused creations: got %d, want %d", n, records)
			}
		})
	}
}

func TestUserNotFound(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.user("ann@example.com")
			_, err := e.User(ctx, "no-such-id")
			wantCode(t, "User(unknown)", err, gatehouse.ENOTFOUND)
			_, err = e.UserByEmail(ctx, "bob@example.com")
			wantCode(t, "UserByEmail(unknown)", err, gatehouse.ENOTFOUND)
			_, err = e.DriveByOwner(ctx, "no-such-id")
			wantCode(t, "DriveByOwner(unknown)", err, gatehouse.ENOTFOUND)
			_, err = e.Drive(ctx, "no-such-id")
			wantCode(t, "Drive(unknown)", err, gatehouse.ENOTFOUND)
		})
	}
}

func TestListUsers(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			for _, email := range []string{"carol@example.com", "Alice@example.com", "dave@example.org", "bob@example.com"} {
				e.user(email)
			}
			emails := func(us []*gatehouse.User) string {
				var s []string
				for _, u := range us {
					s = append(s, u.Email)
				}
				return strings.Join(s, " ")
			}
			tests := []struct {
				after string
				limit int
				want  string
			}{
				{"", 0, "alice@example.com bob@example.com carol@example.com dave@example.org"},
				{"", 2, "alice@example.com bob@example.com"},
				{"bob@example.com", 2, "carol@example.com dave@example.org"},
				{"dave@example.org", 2, ""},
			}
			for _, tt := range tests {
				us, err := e.ListUsers(ctx, tt.after, tt.limit)
				if err != nil {
					t.Fatalf("ListUsers: %v", err)
				}
				if got := emails(us); got != tt.want {
					t.Errorf("ListUsers(%q, %d): got %q, want %q", tt.after, tt.limit, got, tt.want)
				}
			}
			if n, err := e.CountUsers(ctx); err != nil || n != 4 {
				t.Errorf("CountUsers: got %d, %v; want 4", n, err)
			}
		})
	}
}

func TestUpdateUser(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			admin := e.user("admin@example.com")
			adminActor := gatehouse.UserActor(admin, "192.0.2.1", "admin-agent")
			ann := e.user("ann@example.com")
			ptr := func(s string) *string { return &s }
			yes, no := true, false

			// Rename.
			e.clock.Advance(time.Minute)
			u, err := e.UpdateUser(ctx, adminActor, ann.ID, store.UserUpdate{DisplayName: ptr("  Ann Renamed ")})
			if err != nil {
				t.Fatalf("UpdateUser rename: %v", err)
			}
			if u.DisplayName != "Ann Renamed" || !u.UpdatedAt.Equal(e.clock.Now()) {
				t.Errorf("UpdateUser rename: got %q at %v, want %q at %v", u.DisplayName, u.UpdatedAt, "Ann Renamed", e.clock.Now())
			}
			if got, _ := e.User(ctx, ann.ID); got.DisplayName != "Ann Renamed" {
				t.Errorf("User after rename: got %q, want %q", got.DisplayName, "Ann Renamed")
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserUpdated, UserID: "admin@example.com", ObjectID: "ann@example.com", ItemType: "User"})
			if !strings.Contains(r.EventData, "Ann Renamed") {
				t.Errorf("UserUpdated EventData: got %s, want the new display name", r.EventData)
			}

			// No change writes no record.
			n := e.auditCount()
			if _, err := e.UpdateUser(ctx, adminActor, ann.ID, store.UserUpdate{DisplayName: ptr("Ann Renamed")}); err != nil {
				t.Fatalf("UpdateUser no-op: %v", err)
			}
			if got := e.auditCount(); got != n {
				t.Errorf("audit records after a no-op update: got %d, want %d", got, n)
			}

			// Refused updates.
			_, err = e.UpdateUser(ctx, adminActor, ann.ID, store.UserUpdate{DisplayName: ptr(" ")})
			wantCode(t, "UpdateUser blank name", err, gatehouse.EINVALID)
			_, err = e.UpdateUser(ctx, adminActor, ann.ID, store.UserUpdate{Password: ptr("short")})
			wantCode(t, "UpdateUser short password", err, gatehouse.EINVALID)
			_, err = e.UpdateUser(ctx, adminActor, "no-such-id", store.UserUpdate{DisplayName: ptr("X")})
			wantCode(t, "UpdateUser unknown user", err, gatehouse.ENOTFOUND)
			_, err = e.UpdateUser(ctx, adminActor, admin.ID, store.UserUpdate{Disabled: &yes})
			wantCode(t, "UpdateUser disable self", err, gatehouse.EINVALID)
			_, err = e.UpdateUser(ctx, adminActor, admin.ID, store.UserUpdate{IsAdmin: &no})
			// admin was created without IsAdmin, so this is a no-op, not a refusal.
			if err != nil {
				t.Errorf("UpdateUser IsAdmin=false on a non-admin: %v", err)
			}
			if got, _ := e.User(ctx, admin.ID); got.Disabled {
				t.Errorf("admin is disabled after refusing to disable self")
			}

			// Disabling ends sessions and stops tokens and sign-in.
			_, secret, err := e.Login(ctx, "ann@example.com", password, "192.0.2.2", "ua")
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			_, token, err := e.CreateToken(ctx, ann.ID, "cli")
			if err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			if _, err := e.UserBySession(ctx, secret); err != nil {
				t.Fatalf("UserBySession before disabling: %v", err)
			}
			u, err = e.UpdateUser(ctx, adminActor, ann.ID, store.UserUpdate{Disabled: &yes})
			if err != nil || !u.Disabled {
				t.Fatalf("UpdateUser disable: got %+v, %v", u, err)
			}
			r = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserUpdated, ObjectID: "ann@example.com"})
			if !strings.Contains(r.EventData, `"accountEnabled":false`) {
				t.Errorf("UserUpdated EventData for disabling: got %s, want accountEnabled false", r.EventData)
			}
			_, err = e.UserBySession(ctx, secret)
			wantCode(t, "UserBySession after disabling", err, gatehouse.EUNAUTHORIZED)
			_, err = e.UserByToken(ctx, token)
			wantCode(t, "UserByToken after disabling", err, gatehouse.EUNAUTHORIZED)
			_, _, err = e.Login(ctx, "ann@example.com", password, "192.0.2.2", "ua")
			wantCode(t, "Login while disabled", err, gatehouse.EUNAUTHORIZED)

			// Enabling again does not revive the old session.
			if _, err := e.UpdateUser(ctx, adminActor, ann.ID, store.UserUpdate{Disabled: &no}); err != nil {
				t.Fatalf("UpdateUser enable: %v", err)
			}
			_, err = e.UserBySession(ctx, secret)
			wantCode(t, "UserBySession of a session from before disabling", err, gatehouse.EUNAUTHORIZED)

			// A new password ends sessions; the new one signs in, the old one not.
			_, secret, err = e.Login(ctx, "ann@example.com", password, "192.0.2.3", "ua")
			if err != nil {
				t.Fatalf("Login after enabling: %v", err)
			}
			if _, err := e.UpdateUser(ctx, adminActor, ann.ID, store.UserUpdate{Password: ptr("a brand new password")}); err != nil {
				t.Fatalf("UpdateUser password: %v", err)
			}
			_, err = e.UserBySession(ctx, secret)
			wantCode(t, "UserBySession after a password change", err, gatehouse.EUNAUTHORIZED)
			_, _, err = e.Login(ctx, "ann@example.com", password, "192.0.2.3", "ua")
			wantCode(t, "Login with the old password", err, gatehouse.EUNAUTHORIZED)
			if _, _, err := e.Login(ctx, "ann@example.com", "a brand new password", "192.0.2.3", "ua"); err != nil {
				t.Errorf("Login with the new password: %v", err)
			}
			r = e.records(gatehouse.AuditFilter{Operation: gatehouse.OpUserUpdated})[0]
			if strings.Contains(r.EventData, "a brand new password") {
				t.Errorf("UserUpdated EventData leaks the password: %s", r.EventData)
			}

			// Admin role: cannot drop one's own.
			if _, err := e.UpdateUser(ctx, gatehouse.SystemActor(), admin.ID, store.UserUpdate{IsAdmin: &yes}); err != nil {
				t.Fatalf("make admin: %v", err)
			}
			_, err = e.UpdateUser(ctx, adminActor, admin.ID, store.UserUpdate{IsAdmin: &no})
			wantCode(t, "UpdateUser remove own admin role", err, gatehouse.EINVALID)
		})
	}
}

func TestDeleteUser(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			admin, adminActor, adminDrive := e.member("admin@example.com")
			ann, annActor, annDrive := e.member("ann@example.com")
			kept := e.file(adminActor, adminDrive, adminDrive.RootID, "kept.txt", "admin's file")

			docs := e.folder(annActor, annDrive, annDrive.RootID, "Docs")
			f := e.file(annActor, annDrive, docs.ID, "a.txt", "v1")
			e.file(annActor, annDrive, docs.ID, "a.txt", "v2") // keeps v1 as a version
			e.file(annActor, annDrive, annDrive.RootID, "b.txt", "b")
			if got := len(e.files("blobs")); got != 4 {
				t.Fatalf("blobs before delete: got %d, want 4", got)
			}
			_, token, err := e.CreateToken(ctx, ann.ID, "cli")
			if err != nil {
				t.Fatal(err)
			}
			_, secret, err := e.Login(ctx, "ann@example.com", password, "192.0.2.2", "ua")
			if err != nil {
				t.Fatal(err)
			}

			wantCode(t, "DeleteUser self", e.DeleteUser(ctx, adminActor, admin.ID), gatehouse.EINVALID)
			wantCode(t, "DeleteUser unknown", e.DeleteUser(ctx, adminActor, "no-such-id"), gatehouse.ENOTFOUND)

			if err := e.DeleteUser(ctx, adminActor, ann.ID); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserDeleted, UserID: "admin@example.com", ObjectID: "ann@example.com", ItemType: "User"})

			_, err = e.User(ctx, ann.ID)
			wantCode(t, "User after delete", err, gatehouse.ENOTFOUND)
			_, err = e.DriveByOwner(ctx, ann.ID)
			wantCode(t, "DriveByOwner after delete", err, gatehouse.ENOTFOUND)
			_, err = e.Item(ctx, annDrive.ID, f.ID)
			wantCode(t, "Item after delete", err, gatehouse.ENOTFOUND)
			_, err = e.UserByToken(ctx, token)
			wantCode(t, "UserByToken after delete", err, gatehouse.EUNAUTHORIZED)
			_, err = e.UserBySession(ctx, secret)
			wantCode(t, "UserBySession after delete", err, gatehouse.EUNAUTHORIZED)
			if n := e.count(`SELECT COUNT(*) FROM items WHERE drive_id = ?`, annDrive.ID); n != 0 {
				t.Errorf("items of the deleted drive: got %d rows, want 0", n)
			}
			if n := e.count(`SELECT COUNT(*) FROM item_versions`); n != 0 {
				t.Errorf("item_versions after delete: got %d rows, want 0", n)
			}
			blobs := e.files("blobs")
			if len(blobs) != 1 || blobs[0] != kept.BlobKey {
				t.Errorf("blobs after delete: got %v, want only the other user's %s", blobs, kept.BlobKey)
			}
			if _, err := e.Item(ctx, adminDrive.ID, kept.ID); err != nil {
				t.Errorf("the other user's file after delete: %v", err)
			}
			// The address is free again.
			if _, err := e.CreateUser(ctx, adminActor, store.NewUser{Email: "ann@example.com", DisplayName: "Ann", Password: password}); err != nil {
				t.Errorf("CreateUser with a deleted user's address: %v", err)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			admin := e.user("admin@example.com")
			ann := e.user("ann@example.com")
			bob := e.user("bob@example.com")

			tok, secret, err := e.CreateToken(ctx, ann.ID, "laptop")
			if err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			if !strings.HasPrefix(secret, "gh_") || len(secret) < 46 {
				t.Errorf("CreateToken secret: got %q, want gh_ and at least 43 characters", secret)
			}
			if tok.UserID != ann.ID || tok.Name != "laptop" || !tok.RevokedAt.IsZero() {
				t.Errorf("CreateToken: got %+v", tok)
			}
			tok2, secret2, err := e.CreateToken(ctx, ann.ID, "ci")
			if err != nil {
				t.Fatal(err)
			}
			if secret2 == secret {
				t.Errorf("two tokens share the secret %q", secret)
			}
			u, err := e.UserByToken(ctx, secret)
			if err != nil || u.ID != ann.ID {
				t.Fatalf("UserByToken: got %+v, %v; want ann", u, err)
			}
			for _, bad := range []string{"", "gh_", secret + "x", strings.ToUpper(secret), secret[:len(secret)-1]} {
				_, err := e.UserByToken(ctx, bad)
				wantCode(t, "UserByToken("+bad+")", err, gatehouse.EUNAUTHORIZED)
			}

			// The secret is not kept: neither in what ListTokens returns nor
			// in any column of the table.
			list, err := e.ListTokens(ctx, ann.ID)
			if err != nil || len(list) != 2 {
				t.Fatalf("ListTokens: got %d, %v; want 2", len(list), err)
			}
			if list[0].ID != tok.ID || list[1].ID != tok2.ID {
				t.Errorf("ListTokens order: got %s, %s; want %s, %s", list[0].ID, list[1].ID, tok.ID, tok2.ID)
			}
			for _, lt := range list {
				v := reflect.ValueOf(*lt)
				for i := 0; i < v.NumField(); i++ {
					if s, ok := v.Field(i).Interface().(string); ok && (strings.Contains(s, secret) || strings.Contains(s, secret2) || strings.Contains(s, secret[3:])) {
						t.Errorf("ListTokens field %s holds the secret", v.Type().Field(i).Name)
					}
				}
			}
			if others, _ := e.ListTokens(ctx, bob.ID); len(others) != 0 {
				t.Errorf("ListTokens(bob): got %d tokens, want 0", len(others))
			}
			rows, err := e.DB().db.QueryContext(ctx, `SELECT id, user_id, name, hash FROM api_tokens`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var cols [4]string
				if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3]); err != nil {
					t.Fatal(err)
				}
				for _, c := range cols {
					for _, s := range []string{secret, secret2} {
						if strings.Contains(c, s) || strings.Contains(c, s[3:]) {
							t.Errorf("api_tokens row %s stores the secret in plain text: %q", cols[0], c)
						}
					}
				}
				if cols[3] == "" {
					t.Errorf("api_tokens row %s has an empty hash", cols[0])
				}
			}
			rows.Close()

			// Revoking is immediate and only affects that token.
			e.clock.Advance(time.Minute)
			if err := e.RevokeToken(ctx, tok.ID); err != nil {
				t.Fatalf("RevokeToken: %v", err)
			}
			_, err = e.UserByToken(ctx, secret)
			wantCode(t, "UserByToken after revoke", err, gatehouse.EUNAUTHORIZED)
			if u, err := e.UserByToken(ctx, secret2); err != nil || u.ID != ann.ID {
				t.Errorf("UserByToken of the other token after revoke: got %v, %v", u, err)
			}
			wantCode(t, "RevokeToken twice", e.RevokeToken(ctx, tok.ID), gatehouse.ENOTFOUND)
			wantCode(t, "RevokeToken unknown", e.RevokeToken(ctx, "no-such-id"), gatehouse.ENOTFOUND)
			list, _ = e.ListTokens(ctx, ann.ID)
			if len(list) != 2 || !list[0].RevokedAt.Equal(e.clock.Now()) || !list[1].RevokedAt.IsZero() {
				t.Errorf("ListTokens after revoke: got %+v, %+v; want the first revoked at %v", list[0], list[1], e.clock.Now())
			}

			// A disabled user's token does not work.
			yes := true
			if _, err := e.UpdateUser(ctx, gatehouse.UserActor(admin, "", ""), ann.ID, store.UserUpdate{Disabled: &yes}); err != nil {
				t.Fatal(err)
			}
			_, err = e.UserByToken(ctx, secret2)
			wantCode(t, "UserByToken of a disabled user", err, gatehouse.EUNAUTHORIZED)
		})
	}
}
