package gatehouse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Audit operations, named as in the Microsoft 365 audit log.
const (
	OpUserLoggedIn    = "UserLoggedIn"
	OpUserLoginFailed = "UserLoginFailed"
	OpUserAdded       = "UserAdded"
	OpUserUpdated     = "UserUpdated"
	OpUserDeleted     = "UserDeleted"
	OpFileUploaded    = "FileUploaded"
	OpFileModified    = "FileModified"
	OpFileAccessed    = "FileAccessed"
	OpFileDownloaded  = "FileDownloaded"
	OpFilePreviewed   = "FilePreviewed"
	OpFileRenamed     = "FileRenamed"
	OpFileMoved       = "FileMoved"
	OpFileDeleted     = "FileDeleted"
	OpFolderCreated   = "FolderCreated"
	OpFolderRenamed   = "FolderRenamed"
	OpFolderMoved     = "FolderMoved"
	OpFolderDeleted   = "FolderDeleted"

	// An earlier version of a file was made its current version again.
	OpFileVersionRestored = "FileVersionRestored"

	// The recycle bin: FileDeleted and FolderDeleted move an item there;
	// these take it back out, or purge it and its content for good.
	OpFileRestored                    = "FileRestored"
	OpFolderRestored                  = "FolderRestored"
	OpFileDeletedFirstStageRecycleBin = "FileDeletedFirstStageRecycleBin"

	OpSecureLinkCreated          = "SecureLinkCreated"
	OpSecureLinkUpdated          = "SecureLinkUpdated"
	OpSecureLinkDeleted          = "SecureLinkDeleted"
	OpAddedToSecureLink          = "AddedToSecureLink"
	OpRemovedFromSecureLink      = "RemovedFromSecureLink"
	OpSecureLinkUsed             = "SecureLinkUsed"
	OpPasscodeSent               = "PasscodeSent"
	OpPasscodeVerified           = "PasscodeVerified"
	OpPasscodeFailed             = "PasscodeFailed"
	OpPasscodeVerificationPaused = "PasscodeVerificationPaused"

	OpSharingPolicyChanged = "SharingPolicyChanged"

	OpIdentityProviderAdded   = "IdentityProviderAdded"
	OpIdentityProviderUpdated = "IdentityProviderUpdated"
	OpIdentityProviderDeleted = "IdentityProviderDeleted"

	OpGuestUserAdded = "GuestUserAdded"

	OpSharingInvitationCreated  = "SharingInvitationCreated"
	OpSharingInvitationAccepted = "SharingInvitationAccepted"
	OpSharingInvitationRevoked  = "SharingInvitationRevoked"

	OpGroupAdded       = "GroupAdded"
	OpGroupUpdated     = "GroupUpdated"
	OpGroupRemoved     = "GroupRemoved"
	OpAddedToGroup     = "AddedToGroup"
	OpRemovedFromGroup = "RemovedFromGroup"

	OpSiteCollectionCreated = "SiteCollectionCreated"
	OpSiteDeleted           = "SiteDeleted"

	// Gatehouse extensions: an administrator extended a guest's access,
	// and a guest's access was first refused as expired.
	OpGuestAccessExtended = "GuestAccessExtended"
	OpGuestAccessExpired  = "GuestAccessExpired"
)

// Operations returns every audit operation, for checking search filters.
func Operations() []string {
	return []string{OpUserLoggedIn, OpUserLoginFailed, OpUserAdded, OpUserUpdated, OpUserDeleted,
		OpFileUploaded, OpFileModified, OpFileAccessed, OpFileDownloaded, OpFilePreviewed, OpFileRenamed, OpFileMoved, OpFileDeleted,
		OpFileVersionRestored, OpFolderCreated, OpFolderRenamed, OpFolderMoved, OpFolderDeleted,
		OpSecureLinkCreated, OpSecureLinkUpdated, OpSecureLinkDeleted, OpAddedToSecureLink, OpRemovedFromSecureLink,
		OpSecureLinkUsed, OpPasscodeSent, OpPasscodeVerified, OpPasscodeFailed, OpPasscodeVerificationPaused,
		OpSharingPolicyChanged, OpIdentityProviderAdded, OpIdentityProviderUpdated, OpIdentityProviderDeleted,
		OpGuestUserAdded, OpSharingInvitationCreated, OpSharingInvitationAccepted, OpSharingInvitationRevoked,
		OpGuestAccessExtended, OpGuestAccessExpired,
		OpGroupAdded, OpGroupUpdated, OpGroupRemoved, OpAddedToGroup, OpRemovedFromGroup,
		OpSiteCollectionCreated, OpSiteDeleted,
		OpFileRestored, OpFolderRestored, OpFileDeletedFirstStageRecycleBin}
}

// Record is one audit record, with the fields of the Microsoft 365 audit
// schema plus its place in the hash chain.
type Record struct {
	Seq                   int64     `json:"-"`
	ID                    string    `json:"Id"`
	CreationTime          time.Time `json:"CreationTime"`
	Operation             string    `json:"Operation"`
	UserID                string    `json:"UserId"`
	UserType              string    `json:"UserType"`
	ClientIP              string    `json:"ClientIP"`
	UserAgent             string    `json:"UserAgent"`
	ObjectID              string    `json:"ObjectId"`
	ItemType              string    `json:"ItemType"`
	SourceFileName        string    `json:"SourceFileName"`
	SourceRelativeURL     string    `json:"SourceRelativeUrl"`
	TargetUserOrGroupName string    `json:"TargetUserOrGroupName"`
	TargetUserOrGroupType string    `json:"TargetUserOrGroupType"`
	UniqueSharingID       string    `json:"UniqueSharingId"`
	EventData             string    `json:"EventData"`
	ResultStatus          string    `json:"ResultStatus"`
	PrevHash              string    `json:"-"`
	Hash                  string    `json:"-"`
}

// AuditFilter selects audit records. Zero fields match everything.
type AuditFilter struct {
	Operation       string
	UserID          string
	UserIDPrefix    string // case-insensitive: records whose UserId starts with it
	ObjectID        string
	UniqueSharingID string
	Since, Until    time.Time // Since inclusive, Until exclusive
	BeforeSeq       int64     // paging: only records older than this
	Limit           int
}

// GenesisHash is the PrevHash of the first record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ChainHash returns the hash of r chained to prev: SHA-256 over the previous
// hash and a canonical encoding of every field, each length-prefixed so no
// two distinct records encode alike.
func ChainHash(prev string, r *Record) string { return KeyedChainHash(nil, prev, r) }

// KeyedChainHash is ChainHash as an HMAC under key, so that whoever can
// write the database but lacks the key cannot rewrite the chain; a nil key
// gives the plain SHA-256 of ChainHash.
func KeyedChainHash(key []byte, prev string, r *Record) string {
	h := sha256.New()
	if key != nil {
		h = hmac.New(sha256.New, key)
	}
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
		h.Write([]byte{','})
	}
	field("gatehouse-audit-v1")
	field(prev)
	field(strconv.FormatInt(r.Seq, 10))
	field(r.ID)
	field(r.CreationTime.UTC().Format(time.RFC3339Nano))
	for _, s := range []string{r.Operation, r.UserID, r.UserType, r.ClientIP, r.UserAgent,
		r.ObjectID, r.ItemType, r.SourceFileName, r.SourceRelativeURL, r.TargetUserOrGroupName,
		r.TargetUserOrGroupType, r.UniqueSharingID, r.EventData, r.ResultStatus} {
		field(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EventData encodes extra details of a record as a JSON object.
func EventData(kv map[string]any) string {
	if len(kv) == 0 {
		return ""
	}
	b, _ := json.Marshal(kv) // maps of plain values always encode
	return string(b)
}

// Bounds of the fields a client can set, so that no request writes an
// unbounded value into the append-only log.
const (
	MaxAuditUserAgent = 512
	MaxAuditAddress   = 254
)

// Clamp bounds the fields of r that come from outside: the user agent, the
// addresses and the client IP. Values are cut at a rune boundary and
// otherwise kept as given; outputs escape them.
func (r *Record) Clamp() {
	r.UserAgent = truncateUTF8(r.UserAgent, MaxAuditUserAgent)
	r.UserID = truncateUTF8(r.UserID, MaxAuditAddress)
	r.TargetUserOrGroupName = truncateUTF8(r.TargetUserOrGroupName, MaxAuditAddress)
	r.ClientIP = truncateUTF8(r.ClientIP, 64)
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune. Invalid
// UTF-8 becomes U+FFFD first: PostgreSQL's TEXT refuses it.
func truncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
