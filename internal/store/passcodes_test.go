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
// mail, or "" when no new mail was queued. The mail is taken from the
// outbox as the worker would deliver it, so the stored form of the body
// does not matter.
func (e *linkEnv) send(email, ip string) string {
	e.t.Helper()
	before := e.count(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'passcode'`, email)
	if err := e.SendPasscode(ctx, e.link.Token, email, ip, "ua"); err != nil {
		e.t.Fatalf("SendPasscode(%s): %v", email, err)
	}
	if e.count(`SELECT COUNT(*) FROM outbox WHERE to_addr = ? AND kind = 'passcode'`, email) == before {
		return ""
	}
	return e.deliver(email)
}

// deliver takes every pending mail from the outbox as sent, and returns
// the code of the last passcode mail to email among them, or "".
func (e *linkEnv) deliver(email string) string {
	e.t.Helper()
	msgs, err := e.ClaimMail(ctx, 1000, time.Hour)
	if err != nil {
		e.t.Fatalf("ClaimMail: %v", err)
	}
	code := ""
	for _, m := range msgs {
		if m.To == email && m.Kind == "passcode" {
			code = eightDigits.FindString(m.Text)
		}
		if err := e.MailSent(ctx, m.ID); err != nil {
			e.t.Fatalf("MailSent: %v", err)
		}
	}
	return code
}

func (e *linkEnv) verify(email, code string) (*store.RecipientSession, error) {
	return e.VerifyPasscode(ctx, e.link.Token, email, code, false, "198.51.100.7", "ua")
}

func wrongCode(code string) string {
	if code == "00000000" {
		return "00000001"
	}
	return "00000000"
}

// TestPasscodeSendLimits: one code per 30 s and SendMaxPerHour an hour
// for a pair, spread so that the hour cannot be spent in its first minutes.
func TestPasscodeSendLimits(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			if e.send("stranger@partner.test", "192.0.2.1") != "" {
				t.Errorf("a code was mailed to an address that is not on the link")
			}
			start := e.clock.Now()
			if e.send("ext@partner.test", "192.0.2.1") == "" {
				t.Fatal("no code for the recipient")
			}
			if e.send("ext@partner.test", "192.0.2.1") != "" {
				t.Errorf("a second code within 30 s")
			}
			// Ask every 31 s for two hours.
			sent := []time.Time{start}
			for e.clock.Now().Before(start.Add(2 * time.Hour)) {
				e.clock.Advance(31 * time.Second)
				if e.send("ext@partner.test", "192.0.2.1") != "" {
					sent = append(sent, e.clock.Now())
				}
			}
			within := func(end time.Time, d time.Duration) int {
				n := 0
				for _, at := range sent {
					if at.After(end.Add(-d)) && !at.After(end) {
						n++
					}
				}
				return n
			}
			if n := within(start.Add(time.Hour-time.Second), time.Hour); n != gatehouse.SendMaxPerHour {
				t.Errorf("codes in the first hour: got %d, want %d", n, gatehouse.SendMaxPerHour)
			}
			if n := within(start.Add(time.Hour+5*time.Minute), 5*time.Minute); n == 0 {
				t.Errorf("no code in the first minutes of the second hour")
			}
			for _, at := range sent {
				if n := within(at, time.Hour); n > gatehouse.SendMaxPerHour {
					t.Errorf("%d codes in the hour up to %s, want at most %d", n, at.Sub(start), gatehouse.SendMaxPerHour)
				}
				if n := within(at, gatehouse.PasscodeTTL); n > gatehouse.SendMaxPerHour-int(time.Hour/gatehouse.PasscodeTTL)+1 {
					t.Errorf("%d codes in the code lifetime up to %s, want at most 5", n, at.Sub(start))
				}
				if n := within(at, gatehouse.SendMinInterval); n > 1 {
					t.Errorf("%d codes within 30 s at %s", n, at.Sub(start))
				}
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
			// The refused request still counts for the address, as any
			// address's does: the next is taken SendMinInterval later.
			e.clock.Advance(gatehouse.SendMinInterval)
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

			// Bound to (link, email): the right code for another address
			// fails, and no code was asked for that address: none can work.
			_, err := e.verify("other@partner.test", code)
			wantCode(t, "code for another address", err, gatehouse.EINVALID)
			if !store.CodeNoLongerValid(err) {
				t.Errorf("code for an address nobody asked a code for: %v, want codeNoLongerValid", err)
			}
			sess, err := e.verify("ext@partner.test", code)
			if err != nil || sess.Email != "ext@partner.test" || !sess.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
				t.Fatalf("verify: %+v %v", sess, err)
			}
			if p, err := e.RecipientBySession(ctx, sess.Secret); err != nil || p != gatehouse.RecipientPrincipal("ext@partner.test") {
				t.Errorf("RecipientBySession: %+v %v; want the recipient ext@partner.test", p, err)
			}
			// Single use.
			_, err = e.verify("ext@partner.test", code)
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID || store.CodeNoLongerValid(err) {
				t.Errorf("used code: %v, want invalidCode, as a stranger's wrong try", err)
			}
			// Sessions end after 24 h, or after the re-authentication period with remember.
			e.clock.Advance(24*time.Hour + time.Second)
			if _, err := e.RecipientBySession(ctx, sess.Secret); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Errorf("session after 24 h: %v", err)
			}
			code = e.send("ext@partner.test", "192.0.2.1")
			seven := 7
			if _, err := e.UpdateSharingSettings(ctx, gatehouse.SystemActor(), gatehouse.SharingSettingsPatch{EmailAttestationReAuthDays: &seven}); err != nil {
				t.Fatal(err)
			}
			long, err := e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", code, true, "198.51.100.7", "ua")
			if err != nil || !long.ExpiresAt.Equal(e.clock.Now().Add(7*24*time.Hour)) || !long.Remember {
				t.Errorf("remembered session: %+v %v", long, err)
			}

			// Expiry after 10 minutes.
			e.clock.Advance(time.Minute)
			code = e.send("ext@partner.test", "192.0.2.1")
			e.clock.Advance(gatehouse.PasscodeTTL)
			if _, err := e.verify("ext@partner.test", code); gatehouse.ErrorCode(err) != gatehouse.EINVALID || !store.CodeNoLongerValid(err) {
				t.Errorf("expired code: %v, want codeNoLongerValid", err)
			}

			// Five wrong tries kill the code for the client that made them,
			// and for nobody else.
			e.clock.Advance(time.Minute)
			code = e.send("ext@partner.test", "192.0.2.1")
			for i := range gatehouse.PasscodeMaxFailures {
				_, err := e.verify("ext@partner.test", wrongCode(code))
				if last := i == gatehouse.PasscodeMaxFailures-1; gatehouse.ErrorCode(err) != gatehouse.EINVALID || store.CodeNoLongerValid(err) != last {
					t.Errorf("wrong try %d: %v, want codeNoLongerValid %v", i+1, err, last)
				}
			}
			if _, err := e.verify("ext@partner.test", code); gatehouse.ErrorCode(err) != gatehouse.EINVALID || !store.CodeNoLongerValid(err) {
				t.Errorf("code after 5 wrong tries: %v, want codeNoLongerValid", err)
			}
			if _, err := e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", code, false, "192.0.2.1", "ua"); err != nil {
				t.Errorf("the code from another client after 5 wrong tries elsewhere: %v", err)
			}
			// A newer code leaves the older one live: both reached the mailbox.
			e.clock.Advance(time.Minute)
			old := e.send("ext@partner.test", "192.0.2.1")
			e.clock.Advance(time.Minute)
			fresh := e.send("ext@partner.test", "192.0.2.1")
			if _, err := e.verify("ext@partner.test", old); err != nil {
				t.Errorf("the older of two live codes: %v", err)
			}
			if _, err := e.verify("ext@partner.test", fresh); err != nil && old != fresh {
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
			if seen[gatehouse.OpPasscodeSent] == 0 || seen[gatehouse.OpPasscodeVerified] != 5 || seen[gatehouse.OpPasscodeFailed] == 0 {
				t.Errorf("passcode records: %v", seen)
			}
		})
	}
}

// TestPasscodePause: 100 failures in 24 h pause one client address for the
// pair, and only it; an admin can clear the pause.
func TestPasscodePause(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			const attacker, recipient = "203.0.113.9", "192.0.2.1"
			code := e.send("ext@partner.test", recipient)
			for i := range gatehouse.PauseAfterFailures {
				if i%40 == 0 {
					e.clock.Advance(16 * time.Minute) // past the client's verify throttle
				}
				e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", "12345678", false, attacker, "ua")
			}
			pauses, err := e.Pauses(ctx)
			if err != nil || len(pauses) != 1 || pauses[0].Email != "ext@partner.test" || pauses[0].ShareID != e.link.ShareID ||
				pauses[0].ClientIP != attacker || !pauses[0].PausedUntil.Equal(e.clock.Now().Add(gatehouse.PauseDuration)) {
				t.Fatalf("Pauses: %+v %v", pauses, err)
			}
			if r := e.records(gatehouse.AuditFilter{Operation: gatehouse.OpPasscodeVerificationPaused}); len(r) != 1 {
				t.Errorf("PasscodeVerificationPaused records: %d", len(r))
			}
			// While paused, the client gets no code and even a right one fails.
			e.clock.Advance(time.Minute)
			if e.send("ext@partner.test", attacker) != "" {
				t.Errorf("a code was sent to a paused client")
			}
			e.clock.Advance(time.Minute)
			code = e.send("ext@partner.test", recipient)
			if code == "" {
				t.Fatal("the recipient's own client got no code")
			}
			if _, err := e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", code, false, attacker, "ua"); err == nil {
				t.Errorf("a paused client verified")
			}
			// The recipient's client is not paused.
			if _, err := e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", code, false, recipient, "ua"); err != nil {
				t.Errorf("the recipient's client while another is paused: %v", err)
			}
			// The pause lasts an hour; an admin can clear it sooner.
			_, admin, _ := e.member("admin@example.com")
			wantCode(t, "clear another address's pause", e.ClearPause(ctx, admin, e.link.ShareID, "ext@partner.test", recipient), gatehouse.ENOTFOUND)
			if err := e.ClearPause(ctx, admin, e.link.ShareID, "ext@partner.test", attacker); err != nil {
				t.Fatalf("ClearPause: %v", err)
			}
			e.clock.Advance(31 * time.Second)
			code = e.send("ext@partner.test", attacker)
			if _, err := e.VerifyPasscode(ctx, e.link.Token, "ext@partner.test", code, false, attacker, "ua"); err != nil {
				t.Errorf("verify after the pause was cleared: %v", err)
			}
			wantCode(t, "clear again", e.ClearPause(ctx, admin, e.link.ShareID, "ext@partner.test", ""), gatehouse.ENOTFOUND)
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
			_, p, f, err := e.RecipientLink(ctx, e.link.Token, "")
			if err != nil || p.Kind != gatehouse.Anonymous {
				t.Fatalf("RecipientLink without a session: %+v %v; want the link and no principal", p, err)
			}
			wantCode(t, "link of a disabled owner, for a recipient", gatehouse.Authorize(gatehouse.RecipientPrincipal("ext@partner.test"), gatehouse.ActRead, f), gatehouse.EGONE)
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

			// Deleting the item makes its links dormant; purging it from the
			// recycle bin deletes them, with their records.
			if err := e.DeleteItem(ctx, e.owner, e.link.DriveID, e.item.ID); err != nil {
				t.Fatal(err)
			}
			_, err = e.LinkByToken(ctx, e.link.Token)
			wantCode(t, "link of a deleted item", err, gatehouse.ENOTFOUND)
			if err := e.PurgeItem(ctx, e.owner, e.link.DriveID, e.item.ID); err != nil {
				t.Fatal(err)
			}
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
			if err := e.SendPasscode(ctx, e.link.Token, "ext@partner.test", "192.0.2.1", "ua"); err != nil {
				t.Fatal(err)
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
			ext := gatehouse.Actor{Principal: gatehouse.RecipientPrincipal("ext@partner.test"), Origin: gatehouse.Origin{ShareID: l.ShareID}}
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

// TestPasscodeAnswersAlike: a recipient's address and a stranger's get the
// same answers, step by step, to code requests (when a new one may be
// asked for) and to wrong tries (invalidCode, then codeNoLongerValid after
// the client's fifth wrong try or PasscodeTTL after the last request).
func TestPasscodeAnswersAlike(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test")
			const ip, other = "192.0.2.1", "192.0.2.2"
			type answer struct {
				after time.Duration
				code  string
				msg   string
			}
			// request asks for a code; try tries a wrong one.
			request := func(email, client string) answer {
				if err := e.SendPasscode(ctx, e.link.Token, email, client, "ua"); err != nil {
					t.Fatalf("SendPasscode(%s): %v", email, err)
				}
				d, err := e.PasscodeResendAfter(ctx, e.link.Token, email)
				if err != nil {
					t.Fatalf("PasscodeResendAfter(%s): %v", email, err)
				}
				return answer{after: d}
			}
			try := func(email, client string) answer {
				_, err := e.VerifyPasscode(ctx, e.link.Token, email, "00000000", false, client, "ua")
				if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("wrong code for %s: %v, want EINVALID", email, err)
				}
				a := answer{code: "invalidCode", msg: gatehouse.ErrorMessage(err)}
				if store.CodeNoLongerValid(err) {
					a.code = "codeNoLongerValid"
				}
				return a
			}
			steps := []struct {
				name    string
				advance time.Duration
				do      func(email string) answer
				want    answer
			}{
				{"first request", 0, func(m string) answer { return request(m, ip) }, answer{after: 30 * time.Second}},
				{"request 10 s later", 10 * time.Second, func(m string) answer { return request(m, ip) }, answer{after: 20 * time.Second}},
				{"wrong try 1", 0, func(m string) answer { return try(m, ip) }, answer{code: "invalidCode"}},
				{"wrong try 2", 0, func(m string) answer { return try(m, ip) }, answer{code: "invalidCode"}},
				{"wrong try 3", 0, func(m string) answer { return try(m, ip) }, answer{code: "invalidCode"}},
				{"wrong try 4", 0, func(m string) answer { return try(m, ip) }, answer{code: "invalidCode"}},
				{"wrong try 5", 0, func(m string) answer { return try(m, ip) }, answer{code: "codeNoLongerValid"}},
				{"wrong try 6", 0, func(m string) answer { return try(m, ip) }, answer{code: "codeNoLongerValid"}},
				{"another client's wrong try", 0, func(m string) answer { return try(m, other) }, answer{code: "invalidCode"}},
				{"request after 30 s", 20 * time.Second, func(m string) answer { return request(m, ip) }, answer{after: 30 * time.Second}},
				{"wrong try after the new request", 0, func(m string) answer { return try(m, ip) }, answer{code: "invalidCode"}},
				{"resend wait over", 31 * time.Second, func(m string) answer { return request(m, other) }, answer{after: 30 * time.Second}},
				{"wrong try 10 min after the last request", gatehouse.PasscodeTTL, func(m string) answer { return try(m, ip) }, answer{code: "codeNoLongerValid"}},
			}
			for _, st := range steps {
				e.clock.Advance(st.advance)
				got := map[string]answer{}
				for _, m := range []string{"ext@partner.test", "nobody@partner.test"} {
					got[m] = st.do(m)
				}
				if got["ext@partner.test"] != got["nobody@partner.test"] {
					t.Errorf("%s: recipient %+v, stranger %+v", st.name, got["ext@partner.test"], got["nobody@partner.test"])
				}
				if a := got["ext@partner.test"]; a.after != st.want.after || a.code != st.want.code {
					t.Errorf("%s: %+v, want %+v", st.name, a, st.want)
				}
			}
			// Only the requests SendMinInterval apart sent a code, and only
			// to the recipient.
			if n := e.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'passcode' AND to_addr = ?`, "ext@partner.test"); n != 3 {
				t.Errorf("codes mailed to the recipient: %d, want 3", n)
			}
			if n := e.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'passcode' AND to_addr = ?`, "nobody@partner.test"); n != 0 {
				t.Errorf("codes mailed to a stranger: %d", n)
			}
		})
	}
}
