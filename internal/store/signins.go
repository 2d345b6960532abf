package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"gatehouse"
)

// SigninTTL is how long a partner sign-in may take from the redirect to
// the callback.
const SigninTTL = 10 * time.Minute

// Signin is a partner sign-in under way, between the redirect to the
// partner and its callback.
type Signin struct {
	ProviderID string
	NonceHash  string // SigninHash of the nonce sent to the partner
	Verifier   string // the PKCE code verifier; sealed at rest
	LoginHint  string
	ReturnTo   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// SigninHash is the stored form of a sign-in's state and nonce. Both are
// at least 128 random bits, so a plain hash is enough to make a copy of
// the database useless to an attacker.
func SigninHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

const sealSigninVerifier = "oidc-signin-verifier"

// BeginSignin keeps si under state until ConsumeSignin takes it or
// SigninTTL passes. It also drops sign-ins that expired unfinished.
func (s *Store) BeginSignin(ctx context.Context, state string, si Signin) error {
	if len(state) < 22 || si.ProviderID == "" || si.NonceHash == "" || si.Verifier == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "A sign-in needs a state of at least 128 bits, a provider, a nonce and a code verifier.")
	}
	return s.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`DELETE FROM oidc_signins WHERE expires_at <= ?`, micros(tx.now)); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO oidc_signins (state_hash, provider_id, nonce_hash, verifier, login_hint, return_to, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			SigninHash(state), si.ProviderID, si.NonceHash, tx.s.seal(sealSigninVerifier, si.Verifier),
			si.LoginHint, si.ReturnTo, micros(tx.now), micros(tx.now.Add(SigninTTL)))
		if isUniqueViolation(err) {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "A sign-in with this state is already under way.")
		}
		return err
	})
}

// ErrSigninUnknown answers a callback whose state was never issued, or was
// already used.
var ErrSigninUnknown = gatehouse.Errorf(gatehouse.EINVALID, "This sign-in is unknown or was already used. Please start the sign-in again.")

// ErrSigninExpired answers a callback that came after SigninTTL.
var ErrSigninExpired = gatehouse.Errorf(gatehouse.EINVALID, "This sign-in took longer than 10 minutes. Please start the sign-in again.")

// ConsumeSignin takes the sign-in kept under state, once: the row is
// deleted in the same statement that reads it, so of two callbacks with
// one state only one gets it.
func (s *Store) ConsumeSignin(ctx context.Context, state string) (*Signin, error) {
	var si Signin
	err := s.inTx(ctx, func(tx *Tx) error {
		var created, expires int64
		var sealed string
		err := tx.queryRow(`DELETE FROM oidc_signins WHERE state_hash = ?
			RETURNING provider_id, nonce_hash, verifier, login_hint, return_to, created_at, expires_at`, SigninHash(state)).
			Scan(&si.ProviderID, &si.NonceHash, &sealed, &si.LoginHint, &si.ReturnTo, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrSigninUnknown
		} else if err != nil {
			return err
		}
		si.CreatedAt, si.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
		if !tx.now.Before(si.ExpiresAt) {
			return ErrSigninExpired
		}
		si.Verifier, err = tx.s.open(sealSigninVerifier, sealed)
		return err
	})
	if err != nil {
		// An expired row stays (the refusal rolls back) until the next
		// BeginSignin sweeps it; it can only ever be refused again.
		return nil, err
	}
	return &si, nil
}
