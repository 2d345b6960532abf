package gatehouse

import (
	"net/mail"
	"strings"
	"time"
)

// User types, as Microsoft Graph spells them.
const (
	UserTypeMember = "Member"
	UserTypeGuest  = "Guest"
	// UserTypeAdHoc is the audit UserType of an ad hoc external recipient,
	// who has no account.
	UserTypeAdHoc = "AdHocRecipient"
)

// User is a directory user.
type User struct {
	ID          string
	Email       string // lower case; also the userPrincipalName
	DisplayName string
	UserType    string
	IsAdmin     bool
	Disabled    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Guests only (see guest.go); empty for members.
	ExternalUserState          string
	ExternalUserStateChangedAt time.Time
	CreationType               string
	Identities                 []Identity
}

// NormalizeEmail lower-cases and checks an email address. Display names
// ("Ann <ann@x>") are refused: an address is what gets secured to a link.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 || !strings.Contains(EmailDomain(s), ".") {
		return "", Errorf(EINVALID, "%q is not a valid email address.", s)
	}
	return strings.ToLower(s), nil
}

// EmailDomain returns the part of an address after the @.
func EmailDomain(email string) string {
	return strings.ToLower(email[strings.LastIndexByte(email, '@')+1:])
}

// ValidateDisplayName checks a display name.
func ValidateDisplayName(name string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(EINVALID, "A display name is required.")
	}
	if len(name) > 256 {
		return Errorf(EINVALID, "A display name can be at most 256 bytes long.")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return Errorf(EINVALID, "A display name cannot contain control characters.")
		}
	}
	return nil
}

// ValidatePassword checks a new password against the minimum we accept.
func ValidatePassword(pw string) error {
	if len(pw) < 10 {
		return Errorf(EINVALID, "A password must be at least 10 characters long.")
	}
	if len(pw) > 1024 {
		return Errorf(EINVALID, "A password can be at most 1024 characters long.")
	}
	return nil
}
