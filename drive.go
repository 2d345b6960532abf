package gatehouse

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Drive types, as Graph's driveType spells them.
const (
	DriveTypePersonal = "personal"
	DriveTypeLibrary  = "documentLibrary" // a site's; none exist yet
)

// Drive is a tree of items. Its owners may do anything in it; a personal
// drive has one, the user it belongs to.
type Drive struct {
	ID        string
	Type      string
	OwnerID   string // the user of a personal drive; "" for other types
	RootID    string
	CreatedAt time.Time
}

// Item is a file or a folder in a drive.
type Item struct {
	ID         string
	DriveID    string
	DriveType  string // the drive's type, as the store reads it with the item
	ParentID   string // "" for the root
	Name       string
	IsFolder   bool
	Size       int64
	SHA256     string // hex; files only
	BlobKey    string // files only
	MimeType   string
	Version    int
	ChildCount int    // folders only, filled by the store where cheap
	ParentPath string // path of the containing folder from the root, "/a/b"; "" at the top
	CreatedAt  time.Time
	ModifiedAt time.Time
	CreatedBy  string // user id
	ModifiedBy string // user id; an ad hoc recipient's address

	// Who ModifiedBy is, read with the item ("" for an address or a
	// deleted user).
	ModifiedByEmail, ModifiedByName string
}

// ETag is the entity tag of the item's current content.
func (it *Item) ETag() string {
	if it.IsFolder {
		return `"` + it.ID + `,` + strconv.Itoa(it.Version) + `"`
	}
	return `"` + it.SHA256 + `"`
}

// ValidateName checks an item name against OneDrive's rules.
func ValidateName(name string) error {
	switch {
	case name == "":
		return Errorf(EINVALID, "A name cannot be empty.")
	case name == "." || name == "..":
		return Errorf(EINVALID, "%q cannot be used as a name.", name)
	case len(name) > 255:
		return Errorf(EINVALID, "A name can be at most 255 bytes long.")
	case !utf8.ValidString(name):
		return Errorf(EINVALID, "A name must be valid UTF-8.")
	case strings.TrimSpace(name) != name:
		return Errorf(EINVALID, "A name cannot start or end with a space.")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return Errorf(EINVALID, "A name cannot contain control characters or line breaks.")
		}
		if isBidiControl(r) {
			// They reorder what is shown: "e\u202Egnp.exe" reads as "eexe.png".
			return Errorf(EINVALID, "A name cannot contain invisible text-direction characters (U+%04X); they can make a name look like another, such as a program passing for a picture.", r)
		}
		if strings.ContainsRune(`/\:*?"<>|`, r) {
			return Errorf(EINVALID, `A name cannot contain any of / \ : * ? " < > |.`)
		}
	}
	return nil
}

// isBidiControl reports whether r is a Unicode bidirectional formatting
// character: the marks LRM, RLM and ALM, the embeddings and overrides
// U+202A–U+202E and the isolates U+2066–U+2069.
func isBidiControl(r rune) bool {
	switch {
	case r == '\u200E', r == '\u200F', r == '\u061C':
		return true
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// NameKey is the key under which names are unique in a folder: OneDrive
// names are case-insensitive.
func NameKey(name string) string { return strings.ToLower(name) }
