package gatehouse

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's minimum (19 MiB, 2 passes), about 22 ms here.
const (
	argonMemory = 19 * 1024
	argonTime   = 2
	argonLanes  = 1
	argonKeyLen = 32
)

// HashPassword returns an argon2id hash in PHC string format.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonLanes, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonLanes,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummyHash is verified against when there is no account, so a sign-in for
// an unknown address takes as long as one for a known address.
var dummyHash = HashPassword("gatehouse-no-such-user")

// CheckPassword reports whether pw matches the PHC-encoded hash. An empty
// hash (no password set) never matches but costs the same.
func CheckPassword(hash, pw string) bool {
	if hash == "" {
		CheckPassword(dummyHash, pw)
		return false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	// A damaged hash must fail, not panic in argon2 or allocate without bound.
	if err1 != nil || err2 != nil || t < 1 || t > 10 || p < 1 || p > 16 || m < 8*uint32(p) || m > 1<<21 ||
		len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
