package gatehouse

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Drive is a tree of items owned by one member.
type Drive struct {
	ID        string
	OwnerID   string
	RootID    string
	CreatedAt time.Time
}

// Item is a file or a folder in a drive.
type Item struct {
	ID         string
	DriveID    string
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
	ModifiedBy string // user id
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
		if r < 0x20 || r == 0x7f {
			return Errorf(EINVALID, "A name cannot contain control characters.")
		}
		if strings.ContainsRune(`/\:*?"<>|`, r) {
			return Errorf(EINVALID, `A name cannot contain any of / \ : * ? " < > |.`)
		}
	}
	return nil
}

// NameKey is the key under which names are unique in a folder: OneDrive
// names are case-insensitive.
func NameKey(name string) string { return strings.ToLower(name) }
