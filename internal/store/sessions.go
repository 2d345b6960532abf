package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gatehouse"
)

// SessionTTL is how long a member's web session lasts.
const SessionTTL = 12 * time.Hour

// Sign-in throttling: after a key's free failures within loginWindow, each
// further attempt waits twice as long as the one before, up to loginMaxBlock.
const (
	loginFreeFailures           = 5  // one address from one client
	loginFreeFailuresPerAddress = 50 // one address from anywhere (unknown clients)
	loginFreeFailuresPerClient  = 30 // one client, any address
	loginWindow                 = 15 * time.Minute
	loginMaxBlock               = 15 * time.Minute
)

// Device cookies (OWASP, "Slowing online guessing"): a browser that has
// signed in to an account before carries a secret bound to it. Its
// attempts skip the per-address and per-client limits, so failures from
// elsewhere never block it; it has its own small limit instead.
const (
	// DeviceTTL is how long a device cookie is honoured after its last
	// successful sign-in.
	DeviceTTL         = 180 * 24 * time.Hour
	deviceMaxFailures = 10 // failures in a row before the device counts as unknown
)

var errBadLogin = gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The email address or password is incorrect.")

var errTooManyLogins = gatehouse.Errorf(gatehouse.ETOOMANY, "Too many failed sign-ins. Wait a few minutes and try again, or sign in from a browser you have signed in with before.")

// LoginRequest is one sign-in attempt. Device is the browser's device
// cookie, "" when it has none.
type LoginRequest struct {
	Email, Password     string
	Device              string
	ClientIP, UserAgent string
}

// LoginResult is a successful sign-in: the user, the session secret for
// the session cookie, and the device secret for the device cookie.
type LoginResult struct {
	User    *gatehouse.User
	Session string
	Device  string
}

// Login is SignIn from a browser without a device cookie.
func (s *Store) Login(ctx context.Context, email, password, ip, ua string) (*gatehouse.User, string, error) {
	res, err := s.SignIn(ctx, LoginRequest{Email: email, Password: password, ClientIP: ip, UserAgent: ua})
	if err != nil {
		return nil, "", err
	}
	return res.User, res.Session, nil
}

// SignIn checks a password and opens a web session. Every failure reads
// the same whether or not the account exists; repeated failures are
// refused with ETOOMANY for a while. An attempt with a valid device cookie
// for the account is limited only by that device's own failures.
func (s *Store) SignIn(ctx context.Context, in LoginRequest) (*LoginResult, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	ip := in.ClientIP
	if len(email) > 254 || len(in.Password) > 1024 {
		return nil, errBadLogin
	}
	if len(in.Device) > 128 {
		in.Device = "" // not one of ours: an unknown client
	}
	// One client guessing one address is stopped soon. An address under
	// attack from many places, or one place trying many addresses, only
	// later; a browser with a device cookie not at all by these.
	keys := []throttleKey{
		{key: "pair:" + email + "|" + ip, free: loginFreeFailures},
		// Known browsers are exempt, so an address under attack can shut
		// out unknown clients for the whole block at once.
		{key: "email:" + email, free: loginFreeFailuresPerAddress, fixed: true},
		{key: "ip:" + ip, free: loginFreeFailuresPerClient},
	}
	// Charge the attempt as a failure before checking the password, in one
	// transaction with the block check: parallel guesses each see the ones
	// before them, and the slow hash runs outside any lock.
	device, err := s.chargeLogin(ctx, email, in.Device, keys)
	if err != nil {
		return nil, err
	}
	var hash string
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err == nil {
		err = s.queryRow(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	ok := gatehouse.CheckPassword(hash, in.Password) && u != nil && !u.Disabled

	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// Until the password checks out, the actor is the address that was tried.
	actor := gatehouse.Actor{Principal: gatehouse.Principal{Kind: gatehouse.KindMember, Email: email},
		Origin: gatehouse.Origin{ClientIP: ip, UserAgent: in.UserAgent, Auth: gatehouse.AuthPassword}}
	var data string
	if device {
		data = gatehouse.EventData(map[string]any{"knownDevice": true})
	}
	if !ok {
		r := actorRecord(gatehouse.OpUserLoginFailed, actor)
		r.ResultStatus, r.EventData = "Failed", data
		if err := tx.audit(r); err != nil {
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	res := &LoginResult{User: u, Device: in.Device}
	if device {
		// The device's own count starts again; the address's stays, as the
		// attack on it may go on.
		if _, err := tx.exec(`UPDATE login_devices SET failures = 0, last_used_at = ?, expires_at = ? WHERE hash = ?`,
			micros(tx.now), micros(tx.now.Add(DeviceTTL)), hashSecret(in.Device)); err != nil {
			return nil, err
		}
	} else {
		// Success clears the address's count and refunds the client's charge.
		for _, k := range keys[:2] {
			if _, err := tx.exec(`DELETE FROM login_attempts WHERE key = ?`, k.key); err != nil {
				return nil, err
			}
		}
		if _, err := tx.exec(`UPDATE login_attempts SET failures = failures - 1 WHERE key = ? AND failures > 0`, keys[2].key); err != nil {
			return nil, err
		}
		if res.Device, err = tx.createDevice(u.ID); err != nil {
			return nil, err
		}
	}
	if res.Session, err = tx.createSession(u.ID, SessionTTL); err != nil {
		return nil, err
	}
	actor.Principal = gatehouse.UserPrincipal(u)
	r := actorRecord(gatehouse.OpUserLoggedIn, actor)
	r.EventData = data
	if err := tx.audit(r); err != nil {
		return nil, err
	}
	return res, tx.Commit()
}

// createDevice issues a device cookie's secret for the user, forgetting
// the user's expired ones.
func (tx *Tx) createDevice(userID string) (string, error) {
	if _, err := tx.exec(`DELETE FROM login_devices WHERE user_id = ? AND expires_at <= ?`, userID, micros(tx.now)); err != nil {
		return "", err
	}
	secret := gatehouse.NewSecret("")
	_, err := tx.exec(`INSERT INTO login_devices (hash, user_id, failures, created_at, last_used_at, expires_at) VALUES (?, ?, 0, ?, ?, ?)`,
		hashSecret(secret), userID, micros(tx.now), micros(tx.now), micros(tx.now.Add(DeviceTTL)))
	return secret, err
}

// throttleKey is one count of failed attempts and how many it allows
// before slowing down.
type throttleKey struct {
	key   string
	free  int
	fixed bool // block for loginMaxBlock at once rather than doubling
}

// chargeLogin counts the attempt as a failure: against the device when
// device is a live device cookie of email's account with failures left
// (and then it reports true), and otherwise against every key, refusing
// with ETOOMANY while any of them is blocked.
func (s *Store) chargeLogin(ctx context.Context, email, device string, keys []throttleKey) (bool, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if device != "" {
		// One statement: of parallel attempts with one cookie, at most
		// deviceMaxFailures get past it.
		var id string
		err := tx.queryRow(`UPDATE login_devices SET failures = failures + 1
			WHERE hash = ? AND expires_at > ? AND failures < ? AND user_id = (SELECT id FROM users WHERE email = ?)
			RETURNING user_id`, hashSecret(device), micros(tx.now), deviceMaxFailures, email).Scan(&id)
		if err == nil {
			return true, tx.Commit()
		} else if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
	}
	for _, k := range keys {
		blocked, err := tx.charge(k)
		if err != nil {
			return false, err
		}
		if blocked > micros(tx.now) {
			return false, errTooManyLogins // rolled back: a refused attempt counts nothing
		}
	}
	return false, tx.Commit()
}

// charge counts a failure against key and returns until when the key was
// blocked before it. The count is one upsert, so parallel attempts never
// lose one, and on PostgreSQL the row stays locked to the end of the
// transaction. After free failures within loginWindow each further one
// blocks the key twice as long as the last, up to loginMaxBlock, or that
// long at once for a fixed key.
func (tx *Tx) charge(k throttleKey) (int64, error) {
	now, stale := micros(tx.now), micros(tx.now.Add(-loginWindow))
	var failures int
	var blocked int64
	err := tx.queryRow(`INSERT INTO login_attempts (key, failures, window_start, blocked_until) VALUES (?, 1, ?, 0)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_attempts.window_start < ? THEN 1 ELSE login_attempts.failures + 1 END,
			window_start = CASE WHEN login_attempts.window_start < ? THEN ? ELSE login_attempts.window_start END
		RETURNING failures, blocked_until`, k.key, now, stale, stale, now).Scan(&failures, &blocked)
	if err != nil || failures < k.free {
		return blocked, err
	}
	block := loginMaxBlock
	if !k.fixed {
		block = min(time.Second<<min(failures-k.free, 20), loginMaxBlock)
	}
	until := micros(tx.now.Add(block))
	_, err = tx.exec(`UPDATE login_attempts SET blocked_until = ? WHERE key = ? AND blocked_until < ?`, until, k.key, until)
	return blocked, err
}

func (tx *Tx) createSession(userID string, ttl time.Duration) (string, error) {
	secret := gatehouse.NewSecret("")
	_, err := tx.exec(`INSERT INTO sessions (id, hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		gatehouse.NewID(), hashSecret(secret), userID, micros(tx.now), micros(tx.now.Add(ttl)))
	return secret, err
}

// UserBySession returns the enabled user of a live web session. Returns
// EUNAUTHORIZED.
func (s *Store) UserBySession(ctx context.Context, secret string) (*gatehouse.User, error) {
	u, err := remember(s, ctx, viewKey3("session", hashSecret(secret), "", ""), func() (*gatehouse.User, time.Time, error) {
		return s.userBySession(ctx, secret)
	})
	if err != nil {
		return nil, err
	}
	c := *u
	return &c, nil
}

// userBySession is UserBySession from the database, with when the facts
// end: the session's expiry, or at once for a guest (guestUntil).
func (s *Store) userBySession(ctx context.Context, secret string) (*gatehouse.User, time.Time, error) {
	var end int64
	u, err := scanUser(withColumns{s.queryRow(ctx, `SELECT u.id, u.email, u.display_name, u.user_type, u.is_admin, u.disabled, u.created_at, u.updated_at,
			x.expires_at
		FROM sessions x JOIN users u ON u.id = x.user_id WHERE x.hash = ? AND x.expires_at > ? AND u.disabled = ?`,
		hashSecret(secret), micros(s.Now()), false), []any{&end}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Your session has ended. Please sign in again.")
	}
	if err == nil {
		err = s.refuseExpiredGuest(ctx, u) // guest_expiry.go
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	until := fromMicros(end)
	if g := guestUntil(u); !g.IsZero() {
		until = g
	}
	return u, until, nil
}

// withColumns scans the columns its scanner's caller knows, then extra.
type withColumns struct {
	sc    interface{ Scan(...any) error }
	extra []any
}

func (w withColumns) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.extra...)...) }

// Logout ends a web session.
func (s *Store) Logout(ctx context.Context, secret string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.exec(`DELETE FROM sessions WHERE hash = ?`, hashSecret(secret)); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM session_link_uses WHERE session_hash = ?`, hashSecret(secret)); err != nil {
		return err
	}
	return tx.Commit()
}

// RecordLinkUse appends the SecureLinkUsed record of a session's first use
// of a link, and nothing on later uses: the record says who opened the
// link, not how often a page was loaded. session is the secret of the
// member's or recipient's session cookie. Parallel first uses write one
// record, as the insert decides which one is first.
func (s *Store) RecordLinkUse(ctx context.Context, by gatehouse.Actor, l *gatehouse.Link, session string) error {
	h := hashSecret(session)
	// Only a use already made is remembered: the first one must insert.
	used, err := remember(s, ctx, viewKey3("used", h, l.ID, ""), func() (bool, time.Time, error) {
		var n int
		err := s.queryRow(ctx, `SELECT COUNT(*) FROM session_link_uses WHERE session_hash = ? AND link_id = ?`, h, l.ID).Scan(&n)
		if n == 0 {
			return false, time.Unix(0, 1), err
		}
		return true, time.Time{}, err
	})
	if err != nil || used {
		return err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.exec(`INSERT INTO session_link_uses (session_hash, link_id, used_at) VALUES (?, ?, ?)
		ON CONFLICT (session_hash, link_id) DO NOTHING`, h, l.ID, micros(tx.now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // another request of this session was first
	}
	// No session outlives the longest re-authentication period.
	if _, err := tx.exec(`DELETE FROM session_link_uses WHERE used_at < ?`, micros(tx.now.Add(-(gatehouse.MaxReauthDays+1)*24*time.Hour))); err != nil {
		return err
	}
	it, _, err := s.item(tx, l.DriveID, l.ItemID)
	if err != nil {
		return err
	}
	if err := tx.audit(s.linkRecord(gatehouse.OpSecureLinkUsed, by, it, l)); err != nil {
		return err
	}
	// A recipient's first open ever is some session's first use: the
	// owner's notice is decided here, off the path of every other request.
	queued, err := tx.firstOpen(by, l)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if queued {
		s.wakeOutbox()
	}
	return nil
}
