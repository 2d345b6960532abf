package store_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/testenv"
)

// b2bGuest turns B2B integration on and makes email a guest the way it
// happens: a verified link code.
func b2bGuest(t *testing.T, e *linkEnv, email string) *gatehouse.User {
	t.Helper()
	yes := true
	if _, err := e.UpdateSharingSettings(ctx, gatehouse.SystemActor(), gatehouse.SharingSettingsPatch{IsB2BIntegrationEnabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(email, e.send(email, "198.51.100.7")); err != nil {
		t.Fatalf("verify: %v", err)
	}
	u, err := e.UserByEmail(ctx, email)
	if err != nil {
		t.Fatalf("no guest after the verified code: %v", err)
	}
	return u
}

// sendGuestCode asks for a sign-in code and returns it as mailed, or "".
func (e *linkEnv) sendGuestCode(email, ip string) string {
	e.t.Helper()
	before := e.count(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'passcode'`, email)
	if err := e.SendGuestCode(ctx, email, ip, "ua"); err != nil {
		e.t.Fatalf("SendGuestCode(%s): %v", email, err)
	}
	if e.count(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'passcode'`, email) == before {
		return ""
	}
	return e.deliver(email)
}

func TestB2BGuestAfterPasscode(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test", "off@partner.test", "owner@example.com")
			// Off (the default): a verified code makes no account.
			if _, err := e.verify("off@partner.test", e.send("off@partner.test", "198.51.100.7")); err != nil {
				t.Fatal(err)
			}
			if n := e.count(`SELECT COUNT(*) FROM users WHERE email = ?`, "off@partner.test"); n != 0 {
				t.Fatalf("B2B off: %d users for the recipient", n)
			}
			u := b2bGuest(t, e, "ext@partner.test")
			if u.UserType != gatehouse.UserTypeGuest || u.ExternalUserState != gatehouse.ExternalAccepted || u.CreationType != gatehouse.CreationTypeInvitation {
				t.Errorf("guest %+v", u)
			}
			want := gatehouse.Identity{SignInType: "emailAddress", Issuer: "mail", IssuerAssignedID: "ext@partner.test"}
			if len(u.Identities) != 1 || u.Identities[0] != want {
				t.Errorf("identities %+v, want %+v", u.Identities, want)
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpGuestUserAdded, UserID: "ext@partner.test", UserType: "Guest", TargetUserOrGroupName: "ext@partner.test"})
			if !strings.Contains(r.EventData, `"emailAddress"`) {
				t.Errorf("EventData %s", r.EventData)
			}
			// Verifying again leaves the guest as is.
			e.clock.Advance(time.Minute)
			if _, err := e.verify("ext@partner.test", e.send("ext@partner.test", "198.51.100.7")); err != nil {
				t.Fatal(err)
			}
			if n := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpGuestUserAdded})); n != 1 {
				t.Errorf("%d GuestUserAdded records, want 1", n)
			}
			// A member's address never becomes a guest.
			if _, err := e.verify("owner@example.com", e.send("owner@example.com", "198.51.100.7")); err != nil {
				t.Fatal(err)
			}
			if m, err := e.UserByEmail(ctx, "owner@example.com"); err != nil || m.UserType != gatehouse.UserTypeMember || len(m.Identities) != 0 {
				t.Errorf("the member became %+v (%v)", m, err)
			}
			if n := e.count(`SELECT COUNT(*) FROM users`); n != 2 {
				t.Errorf("%d users, want the owner and one guest", n)
			}
		})
	}
}

func TestGuestCodeSignIn(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			const ip = "192.0.2.10"
			// Strangers and members get no code, nor does a guest before B2B made one.
			if e.sendGuestCode("ext@partner.test", ip) != "" || e.sendGuestCode("owner@example.com", ip) != "" || e.sendGuestCode("nobody@else.test", ip) != "" {
				t.Fatal("a sign-in code went to someone who is not a guest")
			}
			u := b2bGuest(t, e, "ext@partner.test")
			e.clock.Advance(time.Minute)

			code := e.sendGuestCode("ext@partner.test", ip)
			if len(code) != 8 {
				t.Fatalf("no code for the guest: %q", code)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpPasscodeSent, UserID: "ext@partner.test", UserType: "Guest"})
			if n := e.count(`SELECT COUNT(*) FROM guest_codes WHERE code_hash LIKE ?`, "%"+code+"%"); n != 0 {
				t.Error("the code is stored in the clear")
			}
			// A link code for the same address does not sign in here.
			linkCode := e.send("ext@partner.test", ip)
			if linkCode == "" {
				t.Fatal("no link code")
			}
			if _, err := e.SignInGuestWithCode(ctx, "ext@partner.test", linkCode, ip, "ua"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("a link code signed in: %v", err)
			}
			r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "ext@partner.test", ResultStatus: "Failed"})
			if !strings.Contains(r.EventData, "wrong_code") {
				t.Errorf("EventData %s", r.EventData)
			}

			gs, err := e.SignInGuestWithCode(ctx, " EXT@partner.test", code, ip, "ua")
			if err != nil {
				t.Fatalf("sign-in with the code: %v", err)
			}
			if gs.User.ID != u.ID || gs.Session == "" {
				t.Fatalf("signed in %+v", gs)
			}
			if got, err := e.UserBySession(ctx, gs.Session); err != nil || got.ID != u.ID {
				t.Errorf("the session is not the guest's: %v", err)
			}
			r = e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoggedIn, UserID: "ext@partner.test", UserType: "Guest", ClientIP: ip})
			if !strings.Contains(r.EventData, `"auth":"passcode"`) {
				t.Errorf("UserLoggedIn EventData %s", r.EventData)
			}
			// Single use.
			if _, err := e.SignInGuestWithCode(ctx, "ext@partner.test", code, ip, "ua"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("the code was used twice: %v", err)
			}

			// Expired after ten minutes.
			e.clock.Advance(time.Minute)
			code = e.sendGuestCode("ext@partner.test", ip)
			e.clock.Advance(gatehouse.PasscodeTTL)
			if _, err := e.SignInGuestWithCode(ctx, "ext@partner.test", code, ip, "ua"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("an expired code signed in: %v", err)
			}

			// Five tries per client address: the right code after five wrong
			// ones fails from that address, and still works from another.
			code = e.sendGuestCode("ext@partner.test", ip)
			for range gatehouse.PasscodeMaxFailures {
				if _, err := e.SignInGuestWithCode(ctx, "ext@partner.test", wrongCode(code), ip, "ua"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("wrong code: %v", err)
				}
			}
			_, err = e.SignInGuestWithCode(ctx, "ext@partner.test", code, ip, "ua")
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID || gatehouse.ErrorMessage(err) != gatehouseErrBadCode {
				t.Errorf("sixth try: %v", err)
			}
			if _, err := e.SignInGuestWithCode(ctx, "ext@partner.test", code, "192.0.2.11", "ua"); err != nil {
				t.Errorf("from another client address: %v", err)
			}

			// A disabled guest gets no code.
			e.clock.Advance(time.Minute)
			e.exec(`UPDATE users SET disabled = ? WHERE id = ?`, true, u.ID)
			if e.sendGuestCode("ext@partner.test", ip) != "" {
				t.Error("a disabled guest got a code")
			}
		})
	}
}

// gatehouseErrBadCode is the one answer of every failed sign-in by code.
const gatehouseErrBadCode = "That code didn't work. Check the latest email we sent, or ask for a new code."

func TestGuestCodeSendLimits(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			b2bGuest(t, e, "ext@partner.test")
			e.clock.Advance(time.Minute)
			sent := 0
			// One per 30 s: asking every 10 s for an hour sends at most 10,
			// never two within 30 s.
			last := time.Time{}
			for range 360 {
				if e.sendGuestCode("ext@partner.test", "192.0.2.20") != "" {
					if !last.IsZero() && e.clock.Now().Sub(last) < gatehouse.SendMinInterval {
						t.Fatalf("two codes within %s", e.clock.Now().Sub(last))
					}
					last = e.clock.Now()
					sent++
				}
				e.clock.Advance(10 * time.Second)
			}
			if sent != gatehouse.SendMaxPerHour {
				t.Errorf("codes in an hour: %d, want %d", sent, gatehouse.SendMaxPerHour)
			}

			// Per client: SendMaxPerHourPerIP an hour across guests.
			e.clock.Advance(2 * time.Hour)
			var guests []string
			for i := range gatehouse.SendMaxPerHourPerIP + 1 {
				m := "g" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@partner.test"
				guests = append(guests, m)
				e.exec(`INSERT INTO users (id, email, display_name, user_type, is_admin, password_hash, disabled, created_at, updated_at,
					external_user_state, external_user_state_changed_at, creation_type) VALUES (?, ?, ?, 'Guest', ?, '', ?, 0, 0, 'Accepted', ?, 'Invitation')`,
					gatehouse.NewID(), m, m, false, false, e.clock.Now().UnixMicro())
			}
			for i, m := range guests[:gatehouse.SendMaxPerHourPerIP] {
				if e.sendGuestCode(m, "203.0.113.9") == "" {
					t.Fatalf("send %d from one client refused", i+1)
				}
			}
			if e.sendGuestCode(guests[gatehouse.SendMaxPerHourPerIP], "203.0.113.9") != "" {
				t.Error("a 31st code from one client within the hour")
			}
			e.clock.Advance(gatehouse.SendMinInterval) // the refused request counts for the address too
			if e.sendGuestCode(guests[gatehouse.SendMaxPerHourPerIP], "203.0.113.10") == "" {
				t.Error("another client was refused too")
			}
		})
	}
}
