package gatehouse_test

import (
	"regexp"
	"strings"
	"testing"

	"gatehouse"
)

func TestHashPassword(t *testing.T) {
	h1 := gatehouse.HashPassword("correct horse battery")
	h2 := gatehouse.HashPassword("correct horse battery")
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h1) {
		t.Fatalf("HashPassword: got %q, want a PHC argon2id string with a 16-byte salt and 32-byte key", h1)
	}
	if h1 == h2 {
		t.Errorf("HashPassword: two hashes of one password are equal (%s), want different salts", h1)
	}
	if strings.Contains(h1, "correct horse") {
		t.Errorf("HashPassword: the hash %q contains the password", h1)
	}
}

// corrupt returns hash with PHC field i (split on "$") replaced by v.
func corrupt(hash string, i int, v string) string {
	parts := strings.Split(hash, "$")
	parts[i] = v
	return strings.Join(parts, "$")
}

func TestCheckPassword(t *testing.T) {
	const pw = "correct horse battery"
	hash := gatehouse.HashPassword(pw)
	parts := strings.Split(hash, "$")
	tests := []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"right", hash, pw, true},
		{"wrong", hash, "correct horse battery!", false},
		{"case differs", hash, strings.ToUpper(pw), false},
		{"empty password", hash, "", false},
		{"empty hash", "", pw, false},
		{"empty hash and password", "", "", false},
		{"garbage", "not a hash", pw, false},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", pw, false},
		{"argon2i", corrupt(hash, 1, "argon2i"), pw, false},
		{"missing field", strings.Join(parts[:5], "$"), pw, false},
		{"extra field", hash + "$x", pw, false},
		{"bad params", corrupt(hash, 3, "m=x,t=y,p=z"), pw, false},
		{"bad salt", corrupt(hash, 4, "!!!"), pw, false},
		{"bad key", corrupt(hash, 5, "!!!"), pw, false},
		{"other salt", corrupt(hash, 4, "AAAAAAAAAAAAAAAAAAAAAA"), pw, false},
		{"truncated key", corrupt(hash, 5, parts[5][:20]), pw, false},
		// A stored hash that lost its key must never match every password.
		{"empty key", corrupt(hash, 5, ""), pw, false},
		{"empty key, other password", corrupt(hash, 5, ""), "anything at all", false},
		// Malformed parameters must fail closed, not panic.
		{"zero passes", corrupt(hash, 3, "m=19456,t=0,p=1"), pw, false},
		{"zero lanes", corrupt(hash, 3, "m=19456,t=2,p=0"), pw, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("CheckPassword(%q, %q) panicked: %v; want %v", tt.hash, tt.pw, p, tt.want)
				}
			}()
			if got := gatehouse.CheckPassword(tt.hash, tt.pw); got != tt.want {
				t.Errorf("CheckPassword(%q, %q): got %v, want %v", tt.hash, tt.pw, got, tt.want)
			}
		})
	}
}
