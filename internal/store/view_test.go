package store_test

import (
	"context"
	"testing"
	"time"

	"gatehouse"
	"gatehouse/internal/store"
	"gatehouse/internal/testenv"
)

// The view saves the download path its queries, yet a request decided
// from it gets its record, and so its content, only if nothing it was
// decided on has changed by the commit: a change by another node (or the
// CLI, another process) that this node's view has not heard of included.
func TestViewDecidesAgainstCurrentState(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			u, by, d := e.member("ann@example.com")
			f := e.file(by, d, d.RootID, "a.txt", "a")
			other := e.open(t.TempDir()) // another node on the same database
			tok, secret, err := e.CreateToken(ctx, u.ID, "sync")
			if err != nil {
				t.Fatal(err)
			}
			read := func() (context.Context, *store.ViewUse, *gatehouse.Item, error) {
				return e.viewRead(secret, d.ID, f.ID)
			}
			download := func(c context.Context, it *gatehouse.Item) error {
				return e.RecordAccessData(c, by, gatehouse.OpFileDownloaded, it, nil)
			}

			// A second read comes from the view: a rename behind the
			// store's back, which raises no epoch, does not show.
			if _, _, _, err := read(); err != nil {
				t.Fatal(err)
			}
			e.exec(`UPDATE items SET name = 'behind.txt' WHERE id = ?`, f.ID)
			c, use, it, err := read()
			if err != nil || it.Name != "a.txt" {
				t.Fatalf("second read: %v, %+v; want a.txt from the view", err, it)
			}
			if err := download(c, it); err != nil || use.Stale() {
				t.Fatalf("download with nothing changed: %v (stale %v)", err, use.Stale())
			}
			e.exec(`UPDATE items SET name = 'a.txt' WHERE id = ?`, f.ID)

			// Another node revokes the token. This node's view has not
			// heard and still answers, but the record does not commit.
			if err := other.RevokeToken(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
			c, use, it, err = read()
			if err != nil {
				t.Fatalf("read after the revocation elsewhere: %v (want it from the view)", err)
			}
			before := e.auditCount()
			if err := download(c, it); err == nil || !use.Stale() {
				t.Fatalf("download on a revoked token: %v (stale %v); want refused and stale", err, use.Stale())
			}
			if n := e.auditCount() - before; n != 0 {
				t.Fatalf("%d records for a download refused at the commit", n)
			}
			// Decided again from the database, the token is refused.
			if _, _, _, err := e.TokenItemFacts(ctx, secret, d.ID, f.ID); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Fatalf("fresh read: %v, want unauthorized", err)
			}
			c, use, _, err = read()
			if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Fatalf("read from the view after the refusal: %v, want unauthorized", err)
			}

			// A change elsewhere that touches none of a request's facts
			// (another token, a commit without audit records) costs the
			// request a second read, not its download.
			_, secret2, err := e.CreateToken(ctx, u.ID, "laptop")
			if err != nil {
				t.Fatal(err)
			}
			read2 := func() (context.Context, *store.ViewUse, *gatehouse.Item) {
				c, use, it, err := e.viewRead(secret2, d.ID, f.ID)
				if err != nil {
					t.Fatal(err)
				}
				return c, use, it
			}
			read2()
			if _, _, err := other.CreateToken(ctx, u.ID, "phone"); err != nil {
				t.Fatal(err)
			}
			c, use, it = read2()
			before = e.auditCount()
			if err := download(c, it); err != nil || use.Stale() {
				t.Fatalf("download after an unrelated change: %v (stale %v)", err, use.Stale())
			}
			if n := e.auditCount() - before; n != 1 {
				t.Fatalf("%d records for one download", n)
			}
		})
	}
}

// What the view holds ends with the session it came from: a web session
// read from the view a moment before it expires is not one after.
func TestViewEndsWithTheSession(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.member("ann@example.com")
			_, secret, err := e.Login(ctx, "ann@example.com", password, "192.0.2.1", "test")
			if err != nil {
				t.Fatal(err)
			}
			read := func() error {
				c, _ := store.Remembering(ctx)
				_, err := e.UserBySession(c, secret)
				return err
			}
			if err := read(); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(store.SessionTTL - time.Second)
			if err := read(); err != nil {
				t.Fatalf("a second before the session ends: %v", err)
			}
			e.clock.Advance(time.Second)
			if err := read(); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Fatalf("when the session ends: %v, want unauthorized", err)
			}
		})
	}
}

// Delivering mail changes nothing a download is decided on, so it leaves
// the epoch alone: a busy outbox on another node must not send every
// download back to the database. A rename behind the store's back, which
// raises no epoch either, shows whether the download was decided again.
func TestMailDeliveryKeepsTheView(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			other := e.open(t.TempDir())
			u, by, d := e.member("ann@example.com")
			f := e.file(by, d, d.RootID, "a.txt", "a")
			e.queueInvitations(2) // mail waiting in the outbox
			_, secret, err := e.CreateToken(ctx, u.ID, "sync")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := e.viewRead(secret, d.ID, f.ID); err != nil {
				t.Fatal(err)
			}
			e.exec(`UPDATE items SET name = 'behind.txt' WHERE id = ?`, f.ID)

			msgs, err := other.ClaimMail(ctx, 10, time.Minute)
			if err != nil || len(msgs) == 0 {
				t.Fatalf("ClaimMail: %d, %v", len(msgs), err)
			}
			if err := other.MailSent(ctx, msgs[0].ID); err != nil {
				t.Fatal(err)
			}
			if len(msgs) > 1 {
				if err := other.MailFailed(ctx, msgs[1].ID, "421 try later", time.Now().Add(time.Minute), false); err != nil {
					t.Fatal(err)
				}
			}

			c, use, it, err := e.viewRead(secret, d.ID, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.RecordAccessData(c, by, gatehouse.OpFileDownloaded, it, nil); err != nil || use.Stale() {
				t.Fatalf("download after mail was delivered: %v (stale %v); want it decided from the view", err, use.Stale())
			}
		})
	}
}

// viewRead reads a token download's facts as the download route does:
// from the view when it can.
func (e *env) viewRead(secret, driveID, itemID string) (context.Context, *store.ViewUse, *gatehouse.Item, error) {
	c, use := store.Remembering(ctx)
	_, it, _, err := e.TokenItemFacts(c, secret, driveID, itemID)
	return c, use, it, err
}

// A code request and a passcode verification write only the code, its
// tries and use, the client's throttle, the mail and a new session, so
// they leave the access epoch alone and remembered downloads keep being
// decided from the view; a verification that makes the address a guest
// (B2B integration) raises it.
func TestVerificationKeepsTheView(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newLinkEnv(t, b, "ext@partner.test", "new@partner.test")
			other := e.open(t.TempDir()) // the verifications come to another node
			verify := func(email, code, ip string) error {
				_, err := other.VerifyPasscode(ctx, e.link.Token, email, code, false, ip, "ua")
				return err
			}
			_, secret, err := e.CreateToken(ctx, e.owner.UserID, "sync")
			if err != nil {
				t.Fatal(err)
			}
			// download reports whether the download found its facts
			// changed when its record was to commit.
			download := func() bool {
				t.Helper()
				c, use, it, err := e.viewRead(secret, e.item.DriveID, e.item.ID)
				if err != nil {
					t.Fatal(err)
				}
				err = e.RecordAccessData(c, e.owner, gatehouse.OpFileDownloaded, it, nil)
				if use.Stale() != (gatehouse.ErrorCode(err) == gatehouse.ECONFLICT) || err != nil && !use.Stale() {
					t.Fatalf("download: %v (stale %v)", err, use.Stale())
				}
				return use.Stale()
			}
			epoch := func() int { return e.count(`SELECT epoch FROM audit_head WHERE id = 1`) }

			// The settings row is made once, on the first read, which
			// raises the epoch; a deployment has it from then on.
			if _, err := e.SharingSettings(ctx); err != nil {
				t.Fatal(err)
			}
			download()
			// Behind the store's back: only a raised epoch would tell.
			e.exec(`UPDATE items SET name = 'behind.txt' WHERE id = ?`, e.item.ID)
			before := epoch()
			if err := other.SendPasscode(ctx, e.link.Token, "ext@partner.test", "192.0.2.1", "ua"); err != nil {
				t.Fatal(err)
			}
			code := e.deliver("ext@partner.test")
			if err := verify("ext@partner.test", wrongCode(code), "192.0.2.1"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("wrong code: %v", err)
			}
			if err := verify("ext@partner.test", code, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			if got := epoch(); got != before {
				t.Errorf("a code request and two verifications raised the epoch from %d to %d", before, got)
			}
			if download() {
				t.Errorf("the download after the verifications was checked again; want it decided from the view")
			}

			yes := true
			if _, err := e.UpdateSharingSettings(ctx, gatehouse.SystemActor(), gatehouse.SharingSettingsPatch{IsB2BIntegrationEnabled: &yes}); err != nil {
				t.Fatal(err)
			}
			code = e.send("new@partner.test", "192.0.2.2")
			download() // the view hears of the settings' change
			e.exec(`UPDATE items SET name = 'behind-again.txt' WHERE id = ?`, e.item.ID)
			before = epoch()
			if err := verify("new@partner.test", code, "192.0.2.2"); err != nil {
				t.Fatal(err)
			}
			if e.count(`SELECT COUNT(*) FROM users WHERE email = ? AND user_type = ?`, "new@partner.test", gatehouse.UserTypeGuest) != 1 {
				t.Fatalf("the verification with B2B integration made no guest")
			}
			if got := epoch(); got != before+1 {
				t.Errorf("the verification that made a guest took the epoch from %d to %d, want one raise", before, got)
			}
			if !download() {
				t.Errorf("the download after a guest was made was decided from the view, which missed a change")
			}
		})
	}
}

// A verification finds its link in the view, but is decided on the link
// as of its batch: a link whose owner another node disabled, or that it
// deleted, since this node remembered it opens no session.
func TestVerificationSeesTheCurrentLink(t *testing.T) {
	for _, b := range testenv.Backends() {
		for _, c := range []struct {
			name   string
			change func(e *linkEnv, other *store.Store) error
			want   string
		}{
			{"owner disabled", func(e *linkEnv, other *store.Store) error {
				yes := true
				_, err := other.UpdateUser(ctx, gatehouse.SystemActor(), e.owner.UserID, store.UserUpdate{Disabled: &yes})
				return err
			}, gatehouse.EGONE},
			{"link deleted", func(e *linkEnv, other *store.Store) error {
				return other.DeleteLink(ctx, e.owner, e.item.DriveID, e.item.ID, e.link.ID)
			}, gatehouse.ENOTFOUND},
		} {
			t.Run(b.Name+"/"+c.name, func(t *testing.T) {
				e := newLinkEnv(t, b, "ext@partner.test")
				other := e.open(t.TempDir())
				code := e.send("ext@partner.test", "192.0.2.1")
				// A wrong try leaves the link in this node's view.
				if _, err := e.verify("ext@partner.test", wrongCode(code)); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("wrong code: %v", err)
				}
				if err := c.change(e, other); err != nil {
					t.Fatal(err)
				}
				sess, err := e.verify("ext@partner.test", code)
				if err == nil {
					t.Fatalf("the code opened a session for %s after the change on another node", sess.Email)
				}
				if gatehouse.ErrorCode(err) != c.want {
					t.Errorf("verification after the change: %v, want %s", err, c.want)
				}
				if n := e.count(`SELECT COUNT(*) FROM recipient_sessions`); n != 0 {
					t.Errorf("%d recipient sessions, want none", n)
				}
			})
		}
	}
}
