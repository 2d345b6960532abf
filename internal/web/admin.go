package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// usersPageSize is how many users one page of the directory lists.
const usersPageSize = 200

type usersData struct {
	base
	Users []*gatehouse.User
	Next  string // address of the next page, if any
	// The add-user form, kept after an error (never the password).
	Email, Name string
	Admin       bool
	Fields      fieldErr
}

func (h *Handler) users(w http.ResponseWriter, r *http.Request) {
	h.showUsers(w, r, http.StatusOK, "")
}

// showUsers renders the directory with an optional error.
func (h *Handler) showUsers(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	after := ""
	if r.Method == http.MethodGet {
		after = r.URL.Query().Get("after")
	}
	users, err := h.store.ListUsers(r.Context(), after, usersPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &usersData{base: h.base(w, r, "Users"), Users: users}
	d.Section, d.Tab, d.Error = "admin", "users", errMsg
	if len(users) == usersPageSize {
		d.Next = "/admin/users?after=" + url.QueryEscape(users[len(users)-1].Email)
	}
	if r.Method == http.MethodPost && r.URL.Path == "/admin/users" {
		d.Email, d.Name, d.Admin = r.PostFormValue("email"), r.PostFormValue("name"), r.PostFormValue("admin") != ""
		if errMsg != "" {
			d.Fields.tie(fieldFor(errMsg, "nu-email", [2]string{"password", "nu-password"}, [2]string{"display name", "nu-name"}), errMsg)
		}
	}
	h.render(w, r, status, "users", d)
}

// adminFailed renders the directory again with the store's message.
func (h *Handler) adminFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	if code == gatehouse.EINTERNAL {
		h.fail(w, r, err)
		return
	}
	httpx.LogError(r, err)
	h.showUsers(w, r, httpx.Status(code), gatehouse.ErrorMessage(err))
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	u, err := h.store.CreateUser(r.Context(), actor(r), store.NewUser{
		Email:       r.PostFormValue("email"),
		DisplayName: r.PostFormValue("name"),
		Password:    r.PostFormValue("password"),
		IsAdmin:     r.PostFormValue("admin") != "",
	})
	if err != nil {
		h.adminFailed(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Added %s (%s).", u.DisplayName, u.Email))
	redirect(w, r, "/admin/users")
}

func (h *Handler) disableUser(w http.ResponseWriter, r *http.Request) { h.setDisabled(w, r, true) }
func (h *Handler) enableUser(w http.ResponseWriter, r *http.Request)  { h.setDisabled(w, r, false) }

func (h *Handler) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	u, err := h.store.UpdateUser(r.Context(), actor(r), r.PathValue("id"), store.UserUpdate{Disabled: &disabled})
	if err != nil {
		h.adminFailed(w, r, err)
		return
	}
	verb := "Enabled"
	if disabled {
		verb = "Disabled"
	}
	setFlash(w, r, fmt.Sprintf("%s %s.", verb, u.Email))
	redirect(w, r, "/admin/users")
}

// auditPageSize is how many records one page of the audit log shows.
const auditPageSize = 100

// operations are the choices of the audit page's operation filter.
var operations = gatehouse.Operations()

// opLabels are the audit page's words for operations; an operation not
// here is shown by its name.
var opLabels = map[string]string{
	gatehouse.OpUserLoggedIn: "Signed in", gatehouse.OpUserLoginFailed: "Sign-in failed",
	gatehouse.OpUserAdded: "User added", gatehouse.OpUserUpdated: "User updated", gatehouse.OpUserDeleted: "User deleted",
	gatehouse.OpFileUploaded: "File uploaded", gatehouse.OpFileModified: "File replaced", gatehouse.OpFileAccessed: "File opened",
	gatehouse.OpFileDownloaded: "File downloaded", gatehouse.OpFileRenamed: "File renamed", gatehouse.OpFileMoved: "File moved",
	gatehouse.OpFileDeleted: "File deleted", gatehouse.OpFolderCreated: "Folder created", gatehouse.OpFolderRenamed: "Folder renamed",
	gatehouse.OpFolderMoved: "Folder moved", gatehouse.OpFolderDeleted: "Folder deleted",
	gatehouse.OpSecureLinkCreated: "Secure link created", gatehouse.OpSecureLinkUpdated: "Secure link changed",
	gatehouse.OpSecureLinkDeleted: "Secure link deleted", gatehouse.OpAddedToSecureLink: "Added to secure link",
	gatehouse.OpRemovedFromSecureLink: "Removed from secure link", gatehouse.OpSecureLinkUsed: "Secure link used",
	gatehouse.OpPasscodeSent: "Code sent", gatehouse.OpPasscodeVerified: "Code verified", gatehouse.OpPasscodeFailed: "Wrong code",
	gatehouse.OpPasscodeVerificationPaused: "Code entry paused", gatehouse.OpSharingPolicyChanged: "Sharing settings changed",
	gatehouse.OpIdentityProviderAdded: "Sign-in provider added", gatehouse.OpIdentityProviderUpdated: "Sign-in provider changed",
	gatehouse.OpIdentityProviderDeleted: "Sign-in provider deleted", gatehouse.OpGuestUserAdded: "Guest added",
	gatehouse.OpSharingInvitationCreated: "Invitation sent", gatehouse.OpSharingInvitationAccepted: "Invitation accepted",
	gatehouse.OpSharingInvitationRevoked: "Invitation revoked", gatehouse.OpGuestAccessExtended: "Guest access extended",
	gatehouse.OpGuestAccessExpired: "Guest access expired", gatehouse.OpGroupAdded: "Group created",
	gatehouse.OpGroupUpdated: "Group changed", gatehouse.OpGroupRemoved: "Group deleted", gatehouse.OpAddedToGroup: "Added to group",
	gatehouse.OpRemovedFromGroup: "Removed from group", gatehouse.OpSiteCollectionCreated: "Site created",
	gatehouse.OpSiteDeleted: "Site deleted", gatehouse.OpFilePreviewed: "File previewed",
	gatehouse.OpFileRestored: "File restored", gatehouse.OpFolderRestored: "Folder restored",
	gatehouse.OpFileDeletedFirstStageRecycleBin: "Deleted from recycle bin",
}

type auditData struct {
	base
	Operations []string
	// The filter as typed, to fill the form again.
	Op, UserID, Object, Sharing, Since, Until string
	Records                                   []*gatehouse.Record
	Next                                      string // address of the next page, if any
	Paged                                     bool   // this is not the first page
	// The export of the whole filter, without paging, in each format.
	ExportCSV, ExportJSONL string
}

// OpLabel is op in words, or op itself when it has none.
func (d *auditData) OpLabel(op string) string {
	if l, ok := opLabels[op]; ok {
		return l
	}
	return op
}

// exportURL is the API export of f in format; the API takes the session.
func exportURL(f gatehouse.AuditFilter, format string) string {
	q := url.Values{"format": {format}}
	for k, v := range map[string]string{"operation": f.Operation, "userIdStartsWith": f.UserIDPrefix,
		"objectId": f.ObjectID, "uniqueSharingId": f.UniqueSharingID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("start", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("end", f.Until.UTC().Format(time.RFC3339Nano))
	}
	return "/v1.0/auditLog/records/export?" + q.Encode()
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &auditData{base: h.base(w, r, "Audit log"), Operations: operations,
		Op: q.Get("op"), UserID: strings.TrimSpace(q.Get("user")), Object: strings.TrimSpace(q.Get("object")),
		Sharing: strings.TrimSpace(q.Get("sharing")), Since: q.Get("since"), Until: q.Get("until")}
	d.Section, d.Tab, d.Wide = "admin", "audit", true
	f, cursor, err := d.filter(q.Get("cursor"))
	if err == nil {
		var next *store.AuditCursor
		d.Records, next, err = h.store.SearchAudit(r.Context(), f, cursor)
		if next != nil {
			q.Set("cursor", strconv.FormatInt(next.Time, 10)+"-"+strconv.FormatInt(next.Seq, 10))
			d.Next = "/admin/audit?" + q.Encode()
		}
		d.Paged = cursor != nil
		d.ExportCSV, d.ExportJSONL = exportURL(f, "csv"), exportURL(f, "jsonl")
	}
	if err != nil {
		code := gatehouse.ErrorCode(err)
		if code == gatehouse.EINTERNAL {
			h.fail(w, r, err)
			return
		}
		d.Error = gatehouse.ErrorMessage(err)
		h.render(w, r, httpx.Status(code), "audit", d)
		return
	}
	h.render(w, r, http.StatusOK, "audit", d)
}

// filter turns the form into a search. A cursor is "micros-seq".
func (d *auditData) filter(cursor string) (gatehouse.AuditFilter, *store.AuditCursor, error) {
	// The user is matched by the start of the address, case-insensitively.
	f := gatehouse.AuditFilter{UserIDPrefix: d.UserID, ObjectID: d.Object, UniqueSharingID: d.Sharing, Limit: auditPageSize}
	if d.Op != "" {
		for _, op := range operations {
			if strings.EqualFold(op, d.Op) {
				f.Operation = op
			}
		}
		if f.Operation == "" {
			return f, nil, gatehouse.Errorf(gatehouse.EINVALID, "%q is not an operation Gatehouse records.", d.Op)
		}
	}
	var err error
	if f.Since, err = parseFormTime("From", d.Since); err != nil {
		return f, nil, err
	}
	if f.Until, err = parseFormTime("To", d.Until); err != nil {
		return f, nil, err
	}
	// The form shows what was understood, in the form the input takes.
	if !f.Since.IsZero() {
		d.Since = f.Since.UTC().Format("2006-01-02T15:04:05")
	}
	if !f.Until.IsZero() {
		d.Until = f.Until.UTC().Format("2006-01-02T15:04:05")
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, nil, gatehouse.Errorf(gatehouse.EINVALID, "“From” must be earlier than “To”.")
	}
	if cursor == "" {
		return f, nil, nil
	}
	ts, seq, ok := strings.Cut(cursor, "-")
	t, err1 := strconv.ParseInt(ts, 10, 64)
	s, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return f, nil, gatehouse.Errorf(gatehouse.EINVALID, "The page address is damaged; start the search again.")
	}
	return f, &store.AuditCursor{Time: t, Seq: s}, nil
}

// parseFormTime reads a datetime-local value, taken as UTC, or RFC 3339.
func parseFormTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, gatehouse.Errorf(gatehouse.EINVALID,
		"“%s” is not a date and time: use 2025-05-01T13:30 (UTC) or RFC 3339 such as 2025-05-01T13:30:00+02:00.", field)
}
