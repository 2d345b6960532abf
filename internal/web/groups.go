package web

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// Admin → Groups: every security group, and one group's members and
// owners. Site groups are listed too; their sites' pages manage them the
// same way.

// groupsPageSize is how many groups one page lists.
const groupsPageSize = 200

// groupMembersLimit is how many members and owners a group's page shows.
const groupMembersLimit = 1000

type groupsData struct {
	base
	Groups []*gatehouse.Group
	Next   string
	// The create form, kept after an error, and the error's field.
	Name, Description, MailNickname string
	Fields                          fieldErr
}

type groupData struct {
	base
	Group   *gatehouse.Group
	Members []gatehouse.GroupMembership
	Owners  []gatehouse.GroupMembership
	// The add form, kept after an error, and the error's field.
	Ref, Role string
	Fields    fieldErr
}

func groupURL(id string) string { return "/admin/groups/" + url.PathEscape(id) }

func (h *Handler) groups(w http.ResponseWriter, r *http.Request) {
	h.showGroups(w, r, http.StatusOK, "")
}

// showGroups renders the list with an optional error. The cursor of a
// page is the last group's display name and id, NUL-separated.
func (h *Handler) showGroups(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	var afterName, afterID string
	if a := r.URL.Query().Get("after"); a != "" && r.Method == http.MethodGet {
		if b, err := base64.RawURLEncoding.DecodeString(a); err == nil {
			afterName, afterID, _ = strings.Cut(string(b), "\x00")
		}
	}
	gs, err := h.store.Groups(r.Context(), afterName, afterID, groupsPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &groupsData{base: h.base(w, r, "Groups"), Groups: gs}
	d.Section, d.Tab, d.Error = "admin", "groups", errMsg
	if len(gs) == groupsPageSize {
		last := gs[len(gs)-1]
		d.Next = "/admin/groups?after=" + base64.RawURLEncoding.EncodeToString([]byte(last.DisplayName+"\x00"+last.ID))
	}
	if r.Method == http.MethodPost {
		d.Name, d.Description, d.MailNickname = r.PostFormValue("name"), r.PostFormValue("description"), r.PostFormValue("mailNickname")
		if errMsg != "" {
			d.Fields.tie(fieldFor(errMsg, "ng-name", [2]string{"mailnickname", "ng-nick"}, [2]string{"description", "ng-description"}), errMsg)
		}
	}
	h.render(w, r, status, "groups", d)
}

// createGroup is POST /admin/groups. Without a mail nickname one is made
// from the name.
func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	nick := strings.TrimSpace(r.PostFormValue("mailNickname"))
	if nick == "" {
		nick = gatehouse.MailNickname(name)
	}
	g, err := h.store.CreateGroup(r.Context(), actor(r), store.NewGroup{DisplayName: name,
		Description: strings.TrimSpace(r.PostFormValue("description")), MailNickname: nick})
	if err != nil {
		if code := gatehouse.ErrorCode(err); code != gatehouse.EINTERNAL {
			httpx.LogError(r, err)
			h.showGroups(w, r, httpx.Status(code), gatehouse.ErrorMessage(err))
			return
		}
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, fmt.Sprintf("Created the group “%s”. You are its owner.", g.DisplayName))
	redirect(w, r, groupURL(g.ID))
}

// managedGroup loads the group of the path for one who may manage it.
func (h *Handler) managedGroup(r *http.Request) (*gatehouse.Group, error) {
	g, f, err := h.store.GroupFacts(r.Context(), callerFrom(r).Principal, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return g, gatehouse.AuthorizeGroup(callerFrom(r).Principal, true, f)
}

func (h *Handler) group(w http.ResponseWriter, r *http.Request) {
	g, err := h.managedGroup(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showGroup(w, r, g, http.StatusOK, "")
}

func (h *Handler) showGroup(w http.ResponseWriter, r *http.Request, g *gatehouse.Group, status int, errMsg string) {
	ctx := r.Context()
	members, err := h.store.GroupMembers(ctx, g.ID, gatehouse.GroupMember, "", groupMembersLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	owners, err := h.store.GroupMembers(ctx, g.ID, gatehouse.GroupOwner, "", groupMembersLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &groupData{base: h.base(w, r, g.DisplayName), Group: g, Members: members, Owners: owners, Role: gatehouse.GroupMember}
	d.Section, d.Tab, d.Error = "admin", "groups", errMsg
	if r.Method == http.MethodPost {
		d.Ref, d.Role = r.PostFormValue("ref"), r.PostFormValue("role")
		// Only the add form's refusals belong to a field; a removal's is
		// about a row, and the notice says it.
		if errMsg != "" && strings.HasSuffix(r.URL.Path, "/members") {
			d.Fields.tie(fieldFor(errMsg, "am-ref", [2]string{"group role", "am-role"}), errMsg)
		}
	}
	h.render(w, r, status, "group", d)
}

// groupDone reports a change to a group and shows it again; a refusal
// shows it with the store's message.
func (h *Handler) groupDone(w http.ResponseWriter, r *http.Request, g *gatehouse.Group, err error, msg string) {
	if err != nil {
		if code := gatehouse.ErrorCode(err); code != gatehouse.EINTERNAL {
			httpx.LogError(r, err)
			h.showGroup(w, r, g, httpx.Status(code), gatehouse.ErrorMessage(err))
			return
		}
		h.fail(w, r, err)
		return
	}
	setFlash(w, r, msg)
	redirect(w, r, groupURL(g.ID))
}

// roleName words a group role for people.
func roleName(role string) string {
	if role == gatehouse.GroupOwner {
		return "an owner"
	}
	return "a member"
}

// addGroupMember is POST /admin/groups/{id}/members: ref is an address or
// a user id.
func (h *Handler) addGroupMember(w http.ResponseWriter, r *http.Request) {
	g, err := h.managedGroup(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	role := r.PostFormValue("role")
	u, err := h.store.AddGroupMember(r.Context(), actor(r), g.ID, r.PostFormValue("ref"), role)
	msg := ""
	if err == nil {
		msg = fmt.Sprintf("Added %s to %s as %s.", u.DisplayName, g.DisplayName, roleName(role))
	}
	h.groupDone(w, r, g, err, msg)
}

// removeGroupMember is POST /admin/groups/{id}/remove with the user's id
// and the role to take them out of.
func (h *Handler) removeGroupMember(w http.ResponseWriter, r *http.Request) {
	g, err := h.managedGroup(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	role := r.PostFormValue("role")
	userID := r.PostFormValue("user")
	name := userID
	if u, uerr := h.store.User(r.Context(), userID); uerr == nil {
		name = u.DisplayName
	}
	err = h.store.RemoveGroupMember(r.Context(), actor(r), g.ID, userID, role)
	h.groupDone(w, r, g, err, fmt.Sprintf("Removed %s from %s: they are no longer %s.", name, g.DisplayName, roleName(role)))
}

// deleteGroup is POST /admin/groups/{id}/delete.
func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	g, err := h.managedGroup(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.DeleteGroup(r.Context(), actor(r), g.ID); err != nil {
		h.groupDone(w, r, g, err, "")
		return
	}
	setFlash(w, r, fmt.Sprintf("Deleted the group “%s”. Its members lost the access it gave them.", g.DisplayName))
	redirect(w, r, "/admin/groups")
}
