package gatehouse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// Every download hashes a record: the encoding goes into one pooled
	// buffer, and the keyed MAC is reused rather than keyed again.
	st := chainStates.get(key)
	b := st.buf[:0]
	b = chainField(b, "gatehouse-audit-v1")
	b = chainField(b, prev)
	var num [40]byte
	b = chainFieldBytes(b, strconv.AppendInt(num[:0], r.Seq, 10))
	b = chainField(b, r.ID)
	var tm [64]byte
	b = chainFieldBytes(b, r.CreationTime.UTC().AppendFormat(tm[:0], time.RFC3339Nano))
	for _, s := range [...]string{r.Operation, r.UserID, r.UserType, r.ClientIP, r.UserAgent,
		r.ObjectID, r.ItemType, r.SourceFileName, r.SourceRelativeURL, r.TargetUserOrGroupName,
		r.TargetUserOrGroupType, r.UniqueSharingID, r.EventData, r.ResultStatus} {
		b = chainField(b, s)
	}
	sum := st.sum[:]
	if st.mac == nil {
		st.sum = sha256.Sum256(b)
	} else {
		st.mac.Reset()
		st.mac.Write(b)
		sum = st.mac.Sum(st.sum[:0])
	}
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum)
	st.buf = b
	chainStates.put(st)
	return string(out[:])
}

// chainField appends s length-prefixed: "len:s,".
func chainField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

func chainFieldBytes(b, s []byte) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// chainState is a hashing buffer with the MAC for one key (nil: none).
type chainState struct {
	key string
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// chainPool keeps chainStates. A process uses one key, so states keyed
// otherwise are simply dropped when they come back.
type chainPool struct {
	last atomic.Pointer[keyedPool]
}

type keyedPool struct {
	key   string
	isNil bool
	pool  sync.Pool
}

var chainStates chainPool

func (c *chainPool) get(key []byte) *chainState {
	kp := c.last.Load()
	if kp == nil || kp.isNil != (key == nil) || kp.key != string(key) {
		kp = &keyedPool{key: string(key), isNil: key == nil}
		c.last.Store(kp)
	}
	if st, ok := kp.pool.Get().(*chainState); ok {
		return st
	}
	st := &chainState{key: kp.key, buf: make([]byte, 0, 512)}
	if key != nil {
		st.mac = hmac.New(sha256.New, []byte(kp.key))
	}
	return st
}

func (c *chainPool) put(st *chainState) {
	if cap(st.buf) > 64<<10 {
		return // one huge record should not pin its buffer
	}
	kp := c.last.Load()
	if kp != nil && kp.isNil == (st.mac == nil) && kp.key == st.key {
		kp.pool.Put(st)
	}
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
