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

// Secrets the store must keep (link tokens, so an owner can copy a link
// again; outgoing mail until it is delivered) are sealed with AES-GCM under
// a key derived from the node's key file: a copy of the database alone
// yields no working link and no passcode. Each sealed value is bound to its
// purpose as authenticated data, so one cannot stand in for another.
const sealedPrefix = "enc1:"

// setTokenKey derives the sealing key from the deployment key.
func (s *Store) setTokenKey(key []byte) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse-link-token-key"))
	block, _ := aes.NewCipher(m.Sum(nil)) // a 32-byte key always makes a cipher
	s.tokenAEAD, _ = cipher.NewGCM(block)
}

// seal returns the stored form of plain for purpose; without a key file
// (some tests) it is plain itself. Link tokens have the empty purpose, as
// they were sealed before there were others.
func (s *Store) seal(purpose, plain string) string {
	if s.tokenAEAD == nil {
		return plain
	}
	nonce := make([]byte, s.tokenAEAD.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.tokenAEAD.Seal(nonce, nonce, []byte(plain), aad(purpose)))
}

// open reverses seal. A value that was stored unsealed comes back as it is.
func (s *Store) open(purpose, stored string) (string, error) {
	b64, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	if s.tokenAEAD == nil {
		return "", errors.New("store: a sealed value needs the key file")
	}
	b, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(b) < s.tokenAEAD.NonceSize() {
		return "", errors.New("store: a sealed value is damaged")
	}
	n := s.tokenAEAD.NonceSize()
	plain, err := s.tokenAEAD.Open(nil, b[:n], b[n:], aad(purpose))
	if err != nil {
		return "", errors.New("store: a sealed value does not open with this key file, or was moved from where it was sealed")
	}
	return string(plain), nil
}

func aad(purpose string) []byte {
	if purpose == "" {
		return nil
	}
	return []byte("gatehouse-seal-v1\x00" + purpose)
}

// sealToken returns the stored form of a link token.
func (s *Store) sealToken(token string) string { return s.seal("", token) }

// openToken reverses sealToken.
func (s *Store) openToken(stored string) (string, error) { return s.open("", stored) }
