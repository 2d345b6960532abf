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
	loginFreeFailuresPerAddress = 50 // one address from anywhere
	loginFreeFailuresPerClient  = 30 // one client, any address
	loginWindow                 = 15 * time.Minute
	loginMaxBlock               = 15 * time.Minute
)

var errBadLogin = gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The email address or password is incorrect.")

// Login checks a password and opens a web session, returning the session
// secret for the cookie. Every failure reads the same whether or not the
// account exists; repeated failures are refused with ETOOMANY for a while.
func (s *Store) Login(ctx context.Context, email, password, ip, ua string) (*gatehouse.User, string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 254 || len(password) > 1024 {
		return nil, "", errBadLogin
	}
	// One client guessing one address is stopped soon. An address under
	// attack from many places, or one place trying many addresses, only
	// later, so nobody can lock a member out from a single machine.
	keys := []throttleKey{
		{"pair:" + email + "|" + ip, loginFreeFailures},
		{"email:" + email, loginFreeFailuresPerAddress},
		{"ip:" + ip, loginFreeFailuresPerClient},
	}
	// Charge the attempt as a failure before checking the password, in one
	// transaction with the block check: parallel guesses each see the ones
	// before them, and the slow hash runs outside any lock.
	if err := s.chargeLogin(ctx, keys); err != nil {
		return nil, "", err
	}
	var hash string
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err == nil {
		err = s.queryRow(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", err
	}
	ok := gatehouse.CheckPassword(hash, password) && u != nil && !u.Disabled

	tx, err := s.begin(ctx)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback()
	actor := gatehouse.Actor{Email: email, UserType: gatehouse.UserTypeMember, ClientIP: ip, UserAgent: ua}
	if !ok {
		r := actorRecord(gatehouse.OpUserLoginFailed, actor)
		r.ResultStatus = "Failed"
		if err := tx.audit(r); err != nil {
			return nil, "", err
		}
		if err := tx.Commit(); err != nil {
			return nil, "", err
		}
		return nil, "", errBadLogin
	}
	// Success clears the address's count and refunds the client's charge.
	for _, k := range keys[:2] {
		if _, err := tx.exec(`DELETE FROM login_attempts WHERE key = ?`, k.key); err != nil {
			return nil, "", err
		}
	}
	if _, err := tx.exec(`UPDATE login_attempts SET failures = failures - 1 WHERE key = ? AND failures > 0`, keys[2].key); err != nil {
		return nil, "", err
	}
	secret, err := tx.createSession(u.ID, SessionTTL)
	if err != nil {
		return nil, "", err
	}
	actor.UserType = u.UserType
	if err := tx.audit(actorRecord(gatehouse.OpUserLoggedIn, actor)); err != nil {
		return nil, "", err
	}
	return u, secret, tx.Commit()
}

// chargeLogin refuses with ETOOMANY while a key is blocked, and otherwise
// counts the attempt against every key.
// throttleKey is one count of failed attempts and how many it allows
// before slowing down.
type throttleKey struct {
	key  string
	free int
}

func (s *Store) chargeLogin(ctx context.Context, keys []throttleKey) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	lock := ""
	if s.postgres {
		// Row locks make parallel attempts for one key take turns, so each
		// sees the count of those before it; SQLite has a single writer.
		lock = ` FOR UPDATE`
	}
	for _, k := range keys {
		if _, err := tx.exec(`INSERT INTO login_attempts (key, failures, window_start, blocked_until) VALUES (?, 0, ?, 0)
			ON CONFLICT (key) DO NOTHING`, k.key, micros(tx.now)); err != nil {
			return err
		}
		var until int64
		if err := tx.queryRow(`SELECT blocked_until FROM login_attempts WHERE key = ?`+lock, k.key).Scan(&until); err != nil {
			return err
		}
		if until > micros(tx.now) {
			return gatehouse.Errorf(gatehouse.ETOOMANY, "Too many failed sign-ins. Wait a minute and try again.")
		}
	}
	for _, k := range keys {
		if err := tx.attemptFailed(k.key, k.free); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// attemptFailed counts a failure against key; after free failures within
// loginWindow each further one blocks the key twice as long as the last.
func (tx *Tx) attemptFailed(key string, free int) error {
	var failures int
	var start int64
	err := tx.queryRow(`SELECT failures, window_start FROM login_attempts WHERE key = ?`, key).Scan(&failures, &start)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && fromMicros(start).Add(loginWindow).Before(tx.now)) {
		failures, start = 0, micros(tx.now)
	} else if err != nil {
		return err
	}
	failures++
	var until int64
	if failures >= free {
		block := time.Second << min(failures-free, 20)
		until = micros(tx.now.Add(min(block, loginMaxBlock)))
	}
	_, err = tx.exec(`INSERT INTO login_attempts (key, failures, window_start, blocked_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, blocked_until = excluded.blocked_until`,
		key, failures, start, until)
	return err
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
	u, err := scanUser(s.queryRow(ctx, `SELECT u.id, u.email, u.display_name, u.user_type, u.is_admin, u.disabled, u.created_at, u.updated_at
		FROM sessions x JOIN users u ON u.id = x.user_id WHERE x.hash = ? AND x.expires_at > ? AND u.disabled = ?`,
		hashSecret(secret), micros(s.Now()), false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Your session has ended. Please sign in again.")
	}
	return u, err
}

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
	return tx.Commit()
}
