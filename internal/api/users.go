package api

import (
	"net/http"
	"regexp"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

func userJSON(u *gatehouse.User) map[string]any {
	ids := make([]map[string]string, 0, len(u.Identities))
	for _, id := range u.Identities {
		ids = append(ids, map[string]string{"signInType": id.SignInType, "issuer": id.Issuer, "issuerAssignedId": id.IssuerAssignedID})
	}
	var state, stateAt any // null for members, as in Graph
	if u.ExternalUserState != "" {
		state, stateAt = u.ExternalUserState, u.ExternalUserStateChangedAt
	}
	var creation any
	if u.CreationType != "" {
		creation = u.CreationType
	}
	return map[string]any{
		"id": u.ID, "displayName": u.DisplayName, "mail": u.Email, "userPrincipalName": u.Email,
		"userType": u.UserType, "accountEnabled": !u.Disabled, "createdDateTime": u.CreatedAt,
		"isAdmin": u.IsAdmin, "externalUserState": state, "externalUserStateChangeDateTime": stateAt,
		"creationType": creation, "identities": ids,
	}
}

func (h *Handler) getMe(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := gatehouse.AuthorizeDirectory(c.Principal, gatehouse.ActReadUsers, c.UserID); err != nil {
		return err
	}
	// Re-read: the session's user leaves out the guest fields.
	u, err := h.store.User(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, userJSON(u))
	return nil
}

// lookupUser finds a user by id or, as Graph allows, by userPrincipalName.
func (h *Handler) lookupUser(r *http.Request, key string) (*gatehouse.User, error) {
	if strings.Contains(key, "@") {
		return h.store.UserByEmail(r.Context(), key)
	}
	return h.store.User(r.Context(), key)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	key := r.PathValue("id")
	// Asked before any lookup, so the answer says nothing about who exists.
	if err := gatehouse.AuthorizeDirectory(c.Principal, gatehouse.ActReadUsers, key); err != nil {
		return err
	}
	u, err := h.lookupUser(r, key)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, c *caller) error {
	n, err := pageSize(r) // at most 999 with a nextLink, as groups
	if err != nil {
		return err
	}
	userType, err := userTypeFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	after := r.URL.Query().Get("$skiptoken")
	users, err := h.store.ListUsersOfType(r.Context(), userType, after, n+1)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(users) > n {
		users = users[:n]
		out["@odata.nextLink"] = h.nextLink(r, users[n-1].Email)
	}
	list := make([]map[string]any, 0, len(users))
	for _, u := range users {
		list = append(list, userJSON(u))
	}
	out["value"] = list
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

var userTypeFilterRE = regexp.MustCompile(`^(?i)\s*userType\s+eq\s+'(guest|member)'\s*$`)

// userTypeFilter reads the one $filter the user list supports, Graph's
// userType eq 'Guest' (or 'Member'); "" without a filter.
func userTypeFilter(f string) (string, error) {
	if f == "" {
		return "", nil
	}
	m := userTypeFilterRE.FindStringSubmatch(f)
	if m == nil {
		return "", gatehouse.Errorf(gatehouse.EINVALID, "The only $filter supported here is userType eq 'Guest' or userType eq 'Member'.")
	}
	if strings.EqualFold(m[1], gatehouse.UserTypeGuest) {
		return gatehouse.UserTypeGuest, nil
	}
	return gatehouse.UserTypeMember, nil
}

type passwordProfile struct {
	Password                      string `json:"password"`
	ForceChangePasswordNextSignIn bool   `json:"forceChangePasswordNextSignIn"`
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body struct {
		DisplayName       string           `json:"displayName"`
		Mail              string           `json:"mail"`
		UserPrincipalName string           `json:"userPrincipalName"`
		MailNickname      string           `json:"mailNickname"`
		AccountEnabled    *bool            `json:"accountEnabled"`
		PasswordProfile   *passwordProfile `json:"passwordProfile"`
		IsAdmin           bool             `json:"isAdmin"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	email := body.Mail
	if email == "" {
		email = body.UserPrincipalName
	}
	if body.PasswordProfile == nil {
		return gatehouse.Errorf(gatehouse.EINVALID, "A passwordProfile with a password is required.")
	}
	u, err := h.store.CreateUser(r.Context(), c.Actor, store.NewUser{Email: email, DisplayName: body.DisplayName,
		Password: body.PasswordProfile.Password, IsAdmin: body.IsAdmin})
	if err != nil {
		return err
	}
	if body.AccountEnabled != nil && !*body.AccountEnabled {
		disabled := true
		if u, err = h.store.UpdateUser(r.Context(), c.Actor, u.ID, store.UserUpdate{Disabled: &disabled}); err != nil {
			return err
		}
	}
	w.Header().Set("Location", h.cfg.BaseURL+"/v1.0/users/"+u.ID)
	httpx.WriteJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := h.lookupUser(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	var body struct {
		DisplayName     *string          `json:"displayName"`
		AccountEnabled  *bool            `json:"accountEnabled"`
		PasswordProfile *passwordProfile `json:"passwordProfile"`
		IsAdmin         *bool            `json:"isAdmin"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	up := store.UserUpdate{DisplayName: body.DisplayName, IsAdmin: body.IsAdmin}
	if body.AccountEnabled != nil {
		disabled := !*body.AccountEnabled
		up.Disabled = &disabled
	}
	if body.PasswordProfile != nil {
		up.Password = &body.PasswordProfile.Password
	}
	if _, err := h.store.UpdateUser(r.Context(), c.Actor, u.ID, up); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent) // as Graph answers a PATCH of a user
	return nil
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := h.lookupUser(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.store.DeleteUser(r.Context(), c.Actor, u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// extendGuestAccess restarts a guest's access period (a Gatehouse
// extension of Graph) and answers the guest.
func (h *Handler) extendGuestAccess(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := h.lookupUser(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if u, err = h.store.ExtendGuestAccess(r.Context(), c.Actor, u.ID); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	n, err := top(r, 100)
	if err != nil {
		return err
	}
	f, err := auditQueryFilter(q) // the export's filters, userIdStartsWith included
	if err != nil {
		return err
	}
	f.Limit = n
	var after *store.AuditCursor
	if tok := q.Get("$skiptoken"); tok != "" {
		after = new(store.AuditCursor)
		if err := decodeToken(tok, after); err != nil {
			return err
		}
	}
	recs, next, err := h.store.SearchAudit(r.Context(), f, after)
	if err != nil {
		return err
	}
	out := map[string]any{"value": recs}
	if next != nil {
		out["@odata.nextLink"] = h.nextLink(r, encodeToken(next))
	}
	if recs == nil {
		out["value"] = []any{}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
