package store_test

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

var eightDigits = regexp.MustCompile(`\b\d{8}\b`)

// linkEnv is a store with one file shared with recipients.
type linkEnv struct {
	*env
	owner gatehouse.Actor
	item  *gatehouse.Item
	link  *gatehouse.Link
}

func newLinkEnv(t *testing.T, b testenv.Backend, emails ...string) *linkEnv {
	e := newEnv(t, b)
	_, by, d := e.member("owner@example.com")
	it := e.file(by, d, d.RootID, "plan.txt", "the plan")
	l, created, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: it.ID, Role: gatehouse.RoleRead, Emails: emails, SendInvitation: true})
	if err != nil || !created {
		t.Fatalf("Share: %v (created %v)", err, created)
	}
	return &linkEnv{env: e, owner: by, item: it, link: l}
}

// send asks for a code and returns it as the recipient reads it from the
// mail, or "" when no new mail was queued.
func (e *linkEnv) send(email, ip string) string {
	e.t.Helper()
	before := e.count(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'passcode'`, email)
	if err := e.SendPasscode(ctx, e.link.Token, email, ip, "ua"); err != nil {
		e.t.Fatalf("SendPasscode(%s): %v", email, err)
	}
	if e.count(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'passcode'`, email) == before {
		return ""
	}
	var id, to, text string
	r := e.DB()
	if err := r.db.QueryRowContext(ctx, r.rebind(`SELECT id, to_addr, text_body FROM outbox WHERE to_addr = ? AND kind = 'passcode' ORDER BY created_at DESC LIMIT 1`), email).Scan(&id, &to, &text); err != nil {
		e.t.Fatal(err)
	}
	text, err := e.OpenMailBody(id, to, "text", text)
	if err != nil {
		e.t.Fatal(err)
	}
	return eightDigits.FindString(text)
}

func (e *linkEnv) verify(email, code string) (*store.RecipientSession, error) {
	return e.VerifyPasscode(ctx, e.link.Token, email, code, false, 30, "198.51.100.7", "ua")
}

func wrongCode(code string) string {
	if code == "00000000" {
		return "00000001"
	}
	return "00000000"
}

func TestPasscodeSendLimits(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			if e.send("stranger@partner.test", "192.0.2.1") != "" {
				t.Errorf("a code was mailed to an address that is not on the link")
			}
			if e.send("ext@partner.test", "192.0.2.1") == "" {
				t.Fatal("no code for the recipient")
			}
			if e.send("ext@partner.test", "192.0.2.1") != "" {
				t.Errorf("a second code within 30 s")
			}
			for i := 2; i <= gatehouse.SendMaxPerHour; i++ {
				e.clock.Advance(31 * time.Second)
				if e.send("ext@partner.test", "192.0.2.1") == "" {
					t.Fatalf("send %d within the hour refused", i)
				}
			}
			e.clock.Advance(31 * time.Second)
			if e.send("ext@partner.test", "192.0.2.1") != "" {
				t.Errorf("an 11th code within the hour")
			}
			e.clock.Advance(time.Hour)
			if e.send("ext@partner.test", "192.0.2.1") == "" {
				t.Errorf("no code an hour later")
			}
		})
	}
}

func TestPasscodeSendLimitPerIP(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var emails []string
			for i := range gatehouse.SendMaxPerHourPerIP + 1 {
				emails = append(emails, "r"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@partner.test")
			}
			e := newLinkEnv(t, b, emails...)
			for i, m := range emails[:gatehouse.SendMaxPerHourPerIP] {
				if e.send(m, "203.0.113.5") == "" {
					t.Fatalf("send %d from one address refused", i+1)
				}
			}
			if e.send(emails[gatehouse.SendMaxPerHourPerIP], "203.0.113.5") != "" {
				t.Errorf("a 31st code from one client address within the hour")
			}
			if e.send(emails[gatehouse.SendMaxPerHourPerIP], "203.0.113.6") == "" {
				t.Errorf("another client address was refused too")
			}
		})
	}
}

func TestPasscodeVerify(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test", "other@partner.test")
			code := e.send("ext@partner.test", "192.0.2.1")

			// Bound to (link, email): the right code for another address fails.
			_, err := e.verify("other@partner.test", code)
			wantCode(t, "code for another address", err, gatehouse.EINVALID)
			generic := gatehouse.ErrorMessage(err)
			sess, err := e.verify("ext@partner.test", code)
			if err != nil || sess.Email != "ext@partner.test" || !sess.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
				t.Fatalf("verify: %+v %v", sess, err)
			}
			if email, err := e.RecipientBySession(ctx, sess.Secret); err != nil || email != "ext@partner.test" {
				t.Errorf("RecipientBySession: %q %v", email, err)
			}
			// Single use.
			_, err = e.verify("ext@partner.test", code)
			if gatehouse.ErrorMessage(err) != generic {
				t.Errorf("used code: %v, want the generic failure", err)
			}
			// Sessions end after 24 h, or after the re-authentication period with remember.
			e.clock.Advance(24*time.Hour + time.Second)
			if _, err := e.RecipientBySession(ctx, sess.Secret); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Errorf("session after 24 h: %v", err)
			}
			code = e.send("ext@partner.test", "192.0.2.1")
			long, err := e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", code, true, 7, "198.51.100.7", "ua")
			if err != nil || !long.ExpiresAt.Equal(e.clock.Now().Add(7*24*time.Hour)) || !long.Remember {
				t.Errorf("remembered session: %+v %v", long, err)
			}

			// Expiry after 10 minutes.
			e.clock.Advance(time.Minute)
			code = e.send("ext@partner.test", "192.0.2.1")
			e.clock.Advance(gatehouse.PasscodeTTL)
			if _, err := e.verify("ext@partner.test", code); gatehouse.ErrorMessage(err) != generic {
				t.Errorf("expired code: %v", err)
			}

			// Five wrong tries kill the code.
			e.clock.Advance(time.Minute)
			code = e.send("ext@partner.test", "192.0.2.1")
			for range gatehouse.PasscodeMaxFailures {
				e.verify("ext@partner.test", wrongCode(code))
			}
			if _, err := e.verify("ext@partner.test", code); gatehouse.ErrorMessage(err) != generic {
				t.Errorf("code after 5 wrong tries: %v", err)
			}
			// A newer code replaces the old one.
			e.clock.Advance(time.Minute)
			old := e.send("ext@partner.test", "192.0.2.1")
			e.clock.Advance(time.Minute)
			fresh := e.send("ext@partner.test", "192.0.2.1")
			if _, err := e.verify("ext@partner.test", old); err == nil && old != fresh {
				t.Errorf("a replaced code still verifies")
			}
			if _, err := e.verify("ext@partner.test", fresh); err != nil {
				t.Errorf("fresh code: %v", err)
			}
			recs := e.records(gatehouse.AuditFilter{UniqueSharingID: e.link.ShareID})
			seen := map[string]int{}
			for _, r := range recs {
				seen[r.Operation]++
				if r.Operation == gatehouse.OpPasscodeVerified && (r.UserID != "ext@partner.test" || r.UserType != gatehouse.UserTypeAdHoc) {
					t.Errorf("PasscodeVerified record: %+v", r)
				}
			}
			if seen[gatehouse.OpPasscodeSent] == 0 || seen[gatehouse.OpPasscodeVerified] != 3 || seen[gatehouse.OpPasscodeFailed] == 0 {
				t.Errorf("passcode records: %v", seen)
			}
		})
	}
}

func TestPasscodePause(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			// Tries without a live code do not count: they cannot lock anyone out.
			for range 2 * gatehouse.PauseAfterFailures {
				e.verify("ext@partner.test", "12345678")
			}
			if pauses, _ := e.Pauses(ctx); len(pauses) != 0 {
				t.Fatalf("tries without a code paused the recipient: %+v", pauses)
			}
			// 100 wrong tries against live codes take 20 codes (5 kill each).
			for i := range gatehouse.PauseAfterFailures / gatehouse.PasscodeMaxFailures {
				e.clock.Advance(31 * time.Second)
				if i%(gatehouse.SendMaxPerHour-1) == 0 { // leave room for one more send

					e.clock.Advance(time.Hour)
				}
				code := e.send("ext@partner.test", "192.0.2.1")
				if code == "" {
					t.Fatalf("code %d was not sent", i)
				}
				for range gatehouse.PasscodeMaxFailures {
					e.verify("ext@partner.test", wrongCode(code))
				}
			}
			pauses, err := e.Pauses(ctx)
			if err != nil || len(pauses) != 1 || pauses[0].Email != "ext@partner.test" || pauses[0].ShareID != e.link.ShareID {
				t.Fatalf("Pauses: %+v %v", pauses, err)
			}
			if r := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpPasscodeVerificationPaused}); len(r) != 1 {
				t.Errorf("PasscodeVerificationPaused records: %d", len(r))
			}
			// While paused, no code is sent and even a right code fails.
			e.clock.Advance(time.Minute)
			if e.send("ext@partner.test", "192.0.2.1") != "" {
				t.Errorf("a code was sent while paused")
			}
			// The pause lasts an hour; an admin can clear it sooner.
			_, admin, _ := e.member("admin@example.com")
			if err := e.ClearPause(ctx, admin, e.link.ShareID, "ext@partner.test"); err != nil {
				t.Fatalf("ClearPause: %v", err)
			}
			e.clock.Advance(31 * time.Second)
			code := e.send("ext@partner.test", "192.0.2.1")
			if _, err := e.verify("ext@partner.test", code); err != nil {
				t.Errorf("verify after the pause was cleared: %v", err)
			}
			wantCode(t, "clear again", e.ClearPause(ctx, admin, e.link.ShareID, "ext@partner.test"), gatehouse.ENOTFOUND)
		})
	}
}

func TestLinkRevocation(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test", "two@partner.test")
			code := e.send("ext@partner.test", "192.0.2.1")
			if _, err := e.verify("ext@partner.test", code); err != nil {
				t.Fatal(err)
			}
			pending := e.send("two@partner.test", "192.0.2.1")
			l, err := e.RevokeRecipients(ctx, e.owner, e.link.DriveID, e.item.ID, e.link.ID, []string{"EXT@partner.test", "two@partner.test"})
			if err != nil || len(l.Recipients) != 0 {
				t.Fatalf("RevokeRecipients: %+v %v", l, err)
			}
			if ok, _ := e.IsRecipient(ctx, e.link.ID, "ext@partner.test"); ok {
				t.Errorf("removed address is still a recipient")
			}
			// A code mailed before removal does not open the link after it.
			if _, err := e.verify("two@partner.test", pending); err == nil {
				t.Errorf("a code sent before removal verified after it")
			}
			rec := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpRemovedFromSecureLink})
			if len(rec) != 2 || rec[0].UniqueSharingID != e.link.ShareID || rec[0].TargetUserOrGroupName == "" {
				t.Errorf("RemovedFromSecureLink records: %+v", rec)
			}

			// Disabling the owner ends their links at once; enabling brings them back.
			owner, err := e.UserByEmail(ctx, "owner@example.com")
			if err != nil {
				t.Fatal(err)
			}
			_, admin, _ := e.member("admin@example.com")
			disabled, enabled := true, false
			if _, err := e.UpdateUser(ctx, admin, owner.ID, store.UserUpdate{Disabled: &disabled}); err != nil {
				t.Fatal(err)
			}
			_, err = e.LinkByToken(ctx, e.link.Token)
			wantCode(t, "link of a disabled owner", err, gatehouse.EGONE)
			_, _, _, err = e.LinkForRecipient(ctx, e.link.Token, "")
			wantCode(t, "link of a disabled owner, for a recipient", err, gatehouse.EGONE)
			if _, err := e.UpdateUser(ctx, admin, owner.ID, store.UserUpdate{Disabled: &enabled}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.LinkByToken(ctx, e.link.Token); err != nil {
				t.Errorf("link after the owner is enabled again: %v", err)
			}

			// Expiry: the link answers EGONE once past it.
			exp := e.clock.Now().Add(time.Hour)
			if _, err := e.UpdateLink(ctx, e.owner, e.link.DriveID, e.item.ID, e.link.ID, store.LinkUpdate{ExpiresAt: &exp}); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Hour)
			_, err = e.LinkByToken(ctx, e.link.Token)
			wantCode(t, "expired link", err, gatehouse.EGONE)

			// Deleting the item deletes its links, with their records.
			if err := e.DeleteItem(ctx, e.owner, e.link.DriveID, e.item.ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.LinkByToken(ctx, e.link.Token)
			wantCode(t, "link of a deleted item", err, gatehouse.ENOTFOUND)
			if r := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpSecureLinkDeleted}); len(r) != 1 {
				t.Errorf("SecureLinkDeleted records: %d", len(r))
			}
			if n, brk, err := e.VerifyAudit(ctx); err != nil || brk != nil {
				t.Errorf("VerifyAudit after %d: %+v %v", n, brk, err)
			}
		})
	}
}

// Delivered mail keeps no body, so no code or link lingers in the outbox.
func TestSentMailForgetsItsBody(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			if e.send("ext@partner.test", "192.0.2.1") == "" {
				t.Fatal("no code")
			}
			msgs, err := e.ClaimMail(ctx, 10, time.Minute)
			if err != nil || len(msgs) != 2 {
				t.Fatalf("ClaimMail: %d messages, %v", len(msgs), err)
			}
			for _, m := range msgs {
				if err := e.MailSent(ctx, m.ID); err != nil {
					t.Fatal(err)
				}
			}
			if n := e.count(`SELECT COUNT(*) FROM outbox WHERE text_body <> '' OR html_body <> ''`); n != 0 {
				t.Errorf("%d sent messages keep their bodies", n)
			}
		})
	}
}

// onRead runs fn once, when the upload's content is first read: a change
// made while an upload is in flight.
type onRead struct {
	r  io.Reader
	fn func()
}

func (o *onRead) Read(p []byte) (int, error) {
	if o.fn != nil {
		o.fn()
		o.fn = nil
	}
	return o.r.Read(p)
}

func TestUploadThroughLinkRechecksAtCommit(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			_, by, d := e.member("owner@example.com")
			shared := e.folder(by, d, d.RootID, "Drop")
			sub := e.folder(by, d, shared.ID, "Sub")
			l, _, err := e.Share(ctx, by, store.ShareRequest{DriveID: d.ID, ItemID: shared.ID, Role: gatehouse.RoleWrite, Emails: []string{"ext@partner.test"}})
			if err != nil {
				t.Fatal(err)
			}
			ext := gatehouse.Actor{Email: "ext@partner.test", UserType: gatehouse.UserTypeAdHoc, ShareID: l.ShareID}
			if _, _, err := e.PutFileThroughLink(ctx, ext, l, shared.ID, "a.txt", strings.NewReader("a"), 1<<20); err != nil {
				t.Fatalf("upload: %v", err)
			}
			// The subfolder leaves the share while the upload runs.
			moveOut := &onRead{r: strings.NewReader("b"), fn: func() {
				root := d.RootID
				if _, err := e.UpdateItem(ctx, by, d.ID, sub.ID, store.ItemUpdate{ParentID: &root}); err != nil {
					t.Fatal(err)
				}
			}}
			_, _, err = e.PutFileThroughLink(ctx, ext, l, sub.ID, "b.txt", moveOut, 1<<20)
			wantCode(t, "upload into a folder moved out of the share", err, gatehouse.ENOTFOUND)
			// The recipient is removed while the upload runs.
			revoke := &onRead{r: strings.NewReader("c"), fn: func() {
				if _, err := e.RevokeRecipients(ctx, by, d.ID, shared.ID, l.ID, []string{"ext@partner.test"}); err != nil {
					t.Fatal(err)
				}
			}}
			_, _, err = e.PutFileThroughLink(ctx, ext, l, shared.ID, "c.txt", revoke, 1<<20)
			wantCode(t, "upload by a recipient removed meanwhile", err, gatehouse.EFORBIDDEN)
			kids, _, _ := e.Children(ctx, d.ID, shared.ID, nil, 10)
			if len(kids) != 1 || kids[0].Name != "a.txt" {
				t.Errorf("shared folder holds %d items, want only a.txt", len(kids))
			}
			if n := len(e.files("blobs")); n != 1 {
				t.Errorf("%d blobs on disk, want 1: refused uploads must leave nothing", n)
			}
			recs := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpFileUploaded, UserID: "ext@partner.test"})
			if len(recs) != 1 || recs[0].UniqueSharingID != l.ShareID {
				t.Errorf("recipient upload records: %+v", recs)
			}
		})
	}
}
