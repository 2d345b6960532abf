package gatehouse

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Link roles, as Graph's permission roles spell them.
const (
	RoleRead  = "read"
	RoleWrite = "write"
)

// ScopeUsers is the scope of a specific-people ("secure") link.
const ScopeUsers = "users"

// Link is a specific-people sharing link on an item.
type Link struct {
	ID               string // the permission id
	ShareID          string // UniqueSharingId
	Token            string // the secret in webUrl; never in logs or lists
	ItemID           string
	DriveID          string
	CreatedBy        string
	Scope            string
	Role             string
	PreventsDownload bool
	Dormant          bool      // restored from the recycle bin; opens nothing until re-enabled
	NotifyOwner      bool      // mail the owner on a recipient's first open and on their uploads
	ExpiresAt        time.Time // zero: never
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Recipients       []Recipient
	Groups           []LinkGroup
}

// LinkGroup is a group secured to a link: every current member of it is
// on the link.
type LinkGroup struct {
	ID          string
	DisplayName string
	AddedAt     time.Time
}

// Recipient is an address secured to a link.
type Recipient struct {
	Email       string
	DisplayName string // the member's or guest's name; the address for ad hoc recipients
	UserID      string // "" for ad hoc recipients
	UserType    string // Member, Guest, or "" for ad hoc recipients
	InOrg       bool   // the address is the organization's (InOrganization), account or not
	AddedAt     time.Time
	// LastOpenedAt is when they last opened something through the link
	// (zero: never); filled only where a page or answer shows it.
	LastOpenedAt time.Time
}

// External reports whether the recipient is outside the organization.
func (r Recipient) External() bool { return !r.InOrg }

// InOrganization is the one rule for "in the organization": the address is
// in one of the org domains, whether or not it has an account yet. A
// deployment that names no domains has only its member accounts inside.
func InOrganization(email, userType string, domains []string) bool {
	if len(domains) == 0 {
		return userType == UserTypeMember
	}
	return InOrgDomains(email, domains)
}

// Expired reports whether the link has expired at now.
func (l *Link) Expired(now time.Time) bool { return !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) }

// LinkType returns the Graph sharingLink type of a role.
func LinkType(role string) string {
	if role == RoleWrite {
		return "edit"
	}
	return "view"
}

// RoleOfType returns the role of a Graph sharingLink type.
func RoleOfType(t string) (string, error) {
	switch t {
	case "view":
		return RoleRead, nil
	case "edit":
		return RoleWrite, nil
	}
	return "", Errorf(EINVALID, "The link type must be \"view\" or \"edit\".")
}

// ParseRoles reads Graph's roles array, which must name exactly one of read
// or write.
func ParseRoles(roles []string) (string, error) {
	if len(roles) != 1 || (roles[0] != RoleRead && roles[0] != RoleWrite) {
		return "", Errorf(EINVALID, "roles must be [\"read\"] or [\"write\"].")
	}
	return roles[0], nil
}

// Passcode and recipient-session rules; the numbers are the product's.
const (
	PasscodeDigits       = 8
	PasscodeTTL          = 10 * time.Minute
	PasscodeMaxFailures  = 5              // wrong tries that kill one code
	PauseAfterFailures   = 100            // wrong tries per (link, email) …
	PauseFailureWindow   = 24 * time.Hour // … within this window …
	PauseDuration        = time.Hour      // … pause verification this long
	SendMinInterval      = 30 * time.Second
	SendMaxPerHour       = 10 // per (link, email)
	SendMaxPerHourPerIP  = 30
	RecipientSessionTTL  = 24 * time.Hour
	DefaultReauthDays    = 30
	MaxReauthDays        = 365
	MaxRecipientsPerCall = 500
	MaxShareMessage      = 2000 // bytes
)

// NewPasscode returns a uniformly random 8-digit code from crypto/rand.
func NewPasscode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%08d", n.Int64())
}

// NormalizePasscode strips the spaces and dashes people type into codes and
// reports whether what is left has the form of a passcode.
func NormalizePasscode(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	if len(s) != PasscodeDigits {
		return "", false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return s, true
}

// ValidateReauthDays checks the passcode re-authentication period.
func ValidateReauthDays(n int) error {
	if n < 1 || n > MaxReauthDays {
		return Errorf(EINVALID, "The re-authentication period must be from 1 to %d days.", MaxReauthDays)
	}
	return nil
}

// InOrgDomains reports whether email belongs to one of the domains.
func InOrgDomains(email string, domains []string) bool {
	d := EmailDomain(email)
	for _, o := range domains {
		if d == o {
			return true
		}
	}
	return false
}
