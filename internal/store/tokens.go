package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Link tokens are kept so that an owner can copy a link again, but sealed
// with AES-GCM under a key derived from the node's key file: a copy of the
// database alone yields no working link. Lookups go by the token's hash.
const sealedPrefix = "enc1:"

// setTokenKey derives the sealing key from the deployment key.
func (s *Store) setTokenKey(key []byte) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse-link-token-key"))
	block, _ := aes.NewCipher(m.Sum(nil)) // a 32-byte key always makes a cipher
	s.tokenAEAD, _ = cipher.NewGCM(block)
}

// sealToken returns the stored form of a link token; without a key file
// (some tests) it is the token itself.
func (s *Store) sealToken(token string) string {
	if s.tokenAEAD == nil {
		return token
	}
	nonce := make([]byte, s.tokenAEAD.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.tokenAEAD.Seal(nonce, nonce, []byte(token), nil))
}

// openToken reverses sealToken.
func (s *Store) openToken(stored string) (string, error) {
	b64, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	if s.tokenAEAD == nil {
		return "", errors.New("store: a sealed link token needs the key file")
	}
	b, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(b) < s.tokenAEAD.NonceSize() {
		return "", errors.New("store: a sealed link token is damaged")
	}
	n := s.tokenAEAD.NonceSize()
	plain, err := s.tokenAEAD.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", errors.New("store: a sealed link token does not open with this key file")
	}
	return string(plain), nil
}
