package store_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// inviteMail takes the pending mail as sent and returns the last message
// of kind to email.
func (e *env) inviteMail(email, kind string) *store.OutboxMessage {
	e.t.Helper()
	msgs, err := e.ClaimMail(ctx, 1000, time.Hour)
	if err != nil {
		e.t.Fatalf("ClaimMail: %v", err)
	}
	var got *store.OutboxMessage
	for i, m := range msgs {
		if m.To == email && m.Kind == kind {
			got = &msgs[i]
		}
		if err := e.MailSent(ctx, m.ID); err != nil {
			e.t.Fatalf("MailSent: %v", err)
		}
	}
	return got
}

func redeemToken(t *testing.T, inv *store.Invitation) string {
	t.Helper()
	_, tok, ok := strings.Cut(inv.RedeemURL, "https://files.example.com/invite/")
	if !ok || len(tok) < 43 {
		t.Fatalf("redeem URL %q", inv.RedeemURL)
	}
	return tok
}

func TestInvitations(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, alice, _ := e.member("alice@corp.example")
			req := store.InviteRequest{Email: "Erin@Outside.example", DisplayName: "Erin", RedirectURL: "/shared", SendMessage: true, Message: "Welcome"}

			inv, err := e.CreateInvitation(ctx, alice, req)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Status != gatehouse.ExternalPendingAcceptance || inv.Email != "erin@outside.example" || inv.Resent {
				t.Fatalf("invitation %+v", inv)
			}
			e.wantAudit(gatehouse.Record{Operation: gatehouse.OpSharingInvitationCreated, UserID: "alice@corp.example",
				TargetUserOrGroupName: "erin@outside.example"})
			u, err := e.User(ctx, inv.UserID)
			if err != nil || u.UserType != gatehouse.UserTypeGuest || u.DisplayName != "Erin" ||
				u.ExternalUserState != gatehouse.ExternalPendingAcceptance || u.CreationType != gatehouse.CreationTypeInvitation {
				t.Fatalf("guest %+v, %v", u, err)
			}
			if n := e.count(`SELECT COUNT(*) FROM invitations WHERE token_hash LIKE ?`, "%"+redeemToken(t, inv)+"%"); n != 0 {
				t.Error("the redeem token is stored in the clear")
			}
			m := e.inviteMail("erin@outside.example", "invite")
			if m == nil || !strings.Contains(m.Text, inv.RedeemURL) || !strings.Contains(m.Text, "Welcome") {
				t.Fatalf("invitation mail %+v", m)
			}
			first := redeemToken(t, inv)

			t.Run("a member is refused", func(t *testing.T) {
				_, err := e.CreateInvitation(ctx, alice, store.InviteRequest{Email: "alice@corp.example"})
				wantCode(t, "inviting a member", err, gatehouse.EINVALID)
			})

			t.Run("resend: one account, the old link dead", func(t *testing.T) {
				again, err := e.CreateInvitation(ctx, alice, store.InviteRequest{Email: "erin@outside.example", RedirectURL: "/shared"})
				if err != nil {
					t.Fatal(err)
				}
				if !again.Resent || again.UserID != inv.UserID || again.RedeemURL == inv.RedeemURL {
					t.Fatalf("resend %+v", again)
				}
				if n := e.count(`SELECT COUNT(*) FROM users WHERE email = ?`, "erin@outside.example"); n != 1 {
					t.Fatalf("%d accounts", n)
				}
				if m := e.inviteMail("erin@outside.example", "invite"); m != nil {
					t.Error("mailed without sendInvitationMessage")
				}
				_, err = e.InvitationByToken(ctx, first)
				wantCode(t, "the replaced token", err, gatehouse.ENOTFOUND)
				inv = again
			})
			tok := redeemToken(t, inv)

			t.Run("wrong code, then the right one", func(t *testing.T) {
				if err := e.SendInvitationCode(ctx, tok, "198.51.100.7", "ua"); err != nil {
					t.Fatal(err)
				}
				m := e.inviteMail("erin@outside.example", "passcode")
				if m == nil {
					t.Fatal("no code mailed")
				}
				code := eightDigits.FindString(m.Text)
				if _, err := e.RedeemInvitationCode(ctx, tok, wrongCode(code), "198.51.100.7", "ua"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("wrong code: %v", err)
				}
				e.wantAudit(gatehouse.Record{Operation: gatehouse.OpPasscodeFailed, UserID: "erin@outside.example", ResultStatus: "Failed"})
				// A second send within SendMinInterval mails nothing and says so to no one.
				if err := e.SendInvitationCode(ctx, tok, "198.51.100.7", "ua"); err != nil {
					t.Fatal(err)
				}
				if m := e.inviteMail("erin@outside.example", "passcode"); m != nil {
					t.Error("a second code within the send interval")
				}
				red, err := e.RedeemInvitationCode(ctx, tok, code, "198.51.100.7", "ua")
				if err != nil {
					t.Fatal(err)
				}
				if red.RedirectURL != "/shared" || red.Session == "" {
					t.Fatalf("redeemed %+v", red)
				}
				got, err := e.UserBySession(ctx, red.Session)
				if err != nil || got.ID != inv.UserID {
					t.Fatalf("session user %+v, %v", got, err)
				}
				u, _ := e.User(ctx, inv.UserID)
				want := gatehouse.Identity{SignInType: gatehouse.SignInEmailAddress, Issuer: "mail", IssuerAssignedID: "erin@outside.example"}
				if u.ExternalUserState != gatehouse.ExternalAccepted || len(u.Identities) != 1 || u.Identities[0] != want {
					t.Fatalf("accepted guest %+v", u)
				}
				recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationAccepted})
				if len(recs) != 1 || recs[0].UserID != "erin@outside.example" || recs[0].UserType != gatehouse.UserTypeGuest {
					t.Fatalf("accepted records %+v", recs)
				}
			})

			t.Run("second redemption refused", func(t *testing.T) {
				_, err := e.RedeemInvitationCode(ctx, tok, "12345678", "198.51.100.7", "ua")
				wantCode(t, "second redemption", err, gatehouse.EGONE)
				wantCode(t, "send after redemption", e.SendInvitationCode(ctx, tok, "198.51.100.7", "ua"), gatehouse.EGONE)
			})

			t.Run("an accepted guest invited again redeems again", func(t *testing.T) {
				again, err := e.CreateInvitation(ctx, alice, store.InviteRequest{Email: "erin@outside.example"})
				if err != nil {
					t.Fatal(err)
				}
				if again.Status != gatehouse.ExternalAccepted {
					t.Errorf("status %q, want Accepted kept", again.Status)
				}
				e.clock.Advance(gatehouse.SendMinInterval)
				tok := redeemToken(t, again)
				if err := e.SendInvitationCode(ctx, tok, "198.51.100.7", "ua"); err != nil {
					t.Fatal(err)
				}
				code := eightDigits.FindString(e.inviteMail("erin@outside.example", "passcode").Text)
				if _, err := e.RedeemInvitationCode(ctx, tok, code, "198.51.100.7", "ua"); err != nil {
					t.Fatal(err)
				}
				if u, _ := e.User(ctx, again.UserID); len(u.Identities) != 1 {
					t.Errorf("identities %+v", u.Identities)
				}
			})

			t.Run("revoked (guest deleted) refused", func(t *testing.T) {
				inv2, err := e.CreateInvitation(ctx, alice, store.InviteRequest{Email: "frank@outside.example"})
				if err != nil {
					t.Fatal(err)
				}
				e.exec(`DELETE FROM users WHERE id = ?`, inv2.UserID)
				_, err = e.InvitationByToken(ctx, redeemToken(t, inv2))
				wantCode(t, "revoked", err, gatehouse.ENOTFOUND)
			})

			t.Run("five wrong tries kill a code", func(t *testing.T) {
				inv3, err := e.CreateInvitation(ctx, alice, store.InviteRequest{Email: "gil@outside.example"})
				if err != nil {
					t.Fatal(err)
				}
				tok3 := redeemToken(t, inv3)
				if err := e.SendInvitationCode(ctx, tok3, "198.51.100.8", "ua"); err != nil {
					t.Fatal(err)
				}
				code := eightDigits.FindString(e.inviteMail("gil@outside.example", "passcode").Text)
				for range gatehouse.PasscodeMaxFailures {
					if _, err := e.RedeemInvitationCode(ctx, tok3, wrongCode(code), "198.51.100.8", "ua"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
						t.Fatalf("wrong try: %v", err)
					}
				}
				_, err = e.RedeemInvitationCode(ctx, tok3, code, "198.51.100.8", "ua")
				wantCode(t, "the right code after five wrong tries", err, gatehouse.EINVALID)
				e.clock.Advance(gatehouse.SendMinInterval)
				if err := e.SendInvitationCode(ctx, tok3, "198.51.100.8", "ua"); err != nil {
					t.Fatal(err)
				}
				code = eightDigits.FindString(e.inviteMail("gil@outside.example", "passcode").Text)
				e.clock.Advance(gatehouse.PasscodeTTL)
				_, err = e.RedeemInvitationCode(ctx, tok3, code, "198.51.100.8", "ua")
				wantCode(t, "an expired code", err, gatehouse.EINVALID)
			})
		})
	}
}

func TestInvitationThroughPartner(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, alice, _ := e.member("alice@corp.example")
			inv, err := e.CreateInvitation(ctx, alice, store.InviteRequest{Email: "dana@fabrikam.example", RedirectURL: "/"})
			if err != nil {
				t.Fatal(err)
			}
			tok := redeemToken(t, inv)

			t.Run("another identity is refused", func(t *testing.T) {
				in := danaSignIn("sub-1")
				in.Email, in.Invitation = "fox@fabrikam.example", tok
				_, err := e.SignInGuest(ctx, in, guestOrigin)
				wantCode(t, "wrong identity", err, gatehouse.EFORBIDDEN)
				u, _ := e.User(ctx, inv.UserID)
				if u.ExternalUserState != gatehouse.ExternalPendingAcceptance || len(u.Identities) != 0 {
					t.Fatalf("guest after a refused redemption %+v", u)
				}
			})

			t.Run("a wrong token is refused", func(t *testing.T) {
				in := danaSignIn("sub-1")
				in.Invitation = tok + "x"
				_, err := e.SignInGuest(ctx, in, guestOrigin)
				wantCode(t, "wrong token", err, gatehouse.ENOTFOUND)
				r := e.wantAudit(gatehouse.Record{Operation: gatehouse.OpUserLoginFailed, UserID: "dana@fabrikam.example"})
				if !strings.Contains(r.EventData, "invitation_invalid") {
					t.Errorf("EventData %s", r.EventData)
				}
			})

			in := danaSignIn("sub-1")
			in.Invitation = tok
			gs, err := e.SignInGuest(ctx, in, guestOrigin)
			if err != nil {
				t.Fatal(err)
			}
			if gs.Created || gs.User.ID != inv.UserID || gs.RedirectURL != "/" || gs.User.ExternalUserState != gatehouse.ExternalAccepted {
				t.Fatalf("redeemed through the partner %+v", gs)
			}
			want := gatehouse.Identity{SignInType: gatehouse.SignInFederated, Issuer: partnerIssuer, IssuerAssignedID: "sub-1"}
			if len(gs.User.Identities) != 1 || gs.User.Identities[0] != want {
				t.Fatalf("identities %+v", gs.User.Identities)
			}
			if n := len(e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSharingInvitationAccepted})); n != 1 {
				t.Fatalf("%d accepted records", n)
			}

			_, err = e.SignInGuest(ctx, in, guestOrigin)
			wantCode(t, "second redemption through the partner", err, gatehouse.EGONE)
		})
	}
}
