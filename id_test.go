package gatehouse_test

import (
	"regexp"
	"strings"
	"testing"

	"gatehouse"
)

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := gatehouse.NewUUID()
		if !re.MatchString(id) {
			t.Fatalf("NewUUID: got %q, want a lower-case version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewUUID: got %q twice", id)
		}
		seen[id] = true
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{16}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := gatehouse.NewID()
		if !re.MatchString(id) {
			t.Fatalf("NewID: got %q, want 16 characters of lower-case Crockford base32", id)
		}
		if seen[id] {
			t.Fatalf("NewID: got %q twice", id)
		}
		seen[id] = true
	}
}

func TestNewSecret(t *testing.T) {
	// Secrets guard accounts and links: at least 43 base32 characters,
	// which is well over 128 bits of randomness.
	re := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]+$`)
	for _, prefix := range []string{"", "gh_", "s_"} {
		seen := map[string]bool{}
		for range 200 {
			s := gatehouse.NewSecret(prefix)
			body, ok := strings.CutPrefix(s, prefix)
			if !ok {
				t.Fatalf("NewSecret(%q): got %q, want that prefix", prefix, s)
			}
			if len(body) < 43 {
				t.Fatalf("NewSecret(%q): got %d characters after the prefix (%q), want at least 43", prefix, len(body), body)
			}
			if !re.MatchString(body) {
				t.Fatalf("NewSecret(%q): got %q, want only base32 characters after the prefix", prefix, s)
			}
			if seen[s] {
				t.Fatalf("NewSecret(%q): got %q twice", prefix, s)
			}
			seen[s] = true
		}
	}
}
