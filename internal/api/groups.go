package api

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// groupJSON is Graph's group resource. siteId, a Gatehouse extension,
// names the site a site's group belongs to (null otherwise).
func groupJSON(g *gatehouse.Group) map[string]any {
	var site any
	if g.SiteID != "" {
		site = g.SiteID
	}
	return map[string]any{
		"id": g.ID, "displayName": g.DisplayName, "description": g.Description, "mailNickname": g.MailNickname,
		"securityEnabled": g.SecurityEnabled, "mailEnabled": false, "groupTypes": []string{},
		"createdDateTime": g.CreatedAt, "siteId": site,
	}
}

// memberJSON is a group's member or owner as Graph lists one: a user.
func memberJSON(u *gatehouse.User) map[string]any {
	return map[string]any{
		"@odata.type": "#microsoft.graph.user", "id": u.ID, "displayName": u.DisplayName,
		"mail": u.Email, "userPrincipalName": u.Email, "userType": u.UserType,
	}
}

// errSecurityOnly answers a request for a kind of group Gatehouse does not
// have.
func errSecurityOnly() error {
	return gatehouse.Errorf(gatehouse.EINVALID,
		"Only security groups are supported: securityEnabled must be true, mailEnabled false and groupTypes empty.")
}

// groupKind checks the Graph fields that choose a kind of group.
func groupKind(securityEnabled, mailEnabled *bool, groupTypes []string) error {
	if (securityEnabled != nil && !*securityEnabled) || (mailEnabled != nil && *mailEnabled) || len(groupTypes) > 0 {
		return errSecurityOnly()
	}
	return nil
}

// managedGroup is the group named in the path, when the caller may manage
// it. Guests learn nothing about which groups exist.
func (h *Handler) managedGroup(r *http.Request, c *caller) (*gatehouse.Group, error) {
	if err := gatehouse.AuthorizeGroup(c.Principal, false, gatehouse.GroupFacts{}); err != nil {
		return nil, err
	}
	g, f, err := h.store.GroupFacts(r.Context(), c.Principal, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	// A group the caller may not see is not found, whatever they ask.
	if err := gatehouse.AuthorizeGroupRead(c.Principal, false, f); err != nil {
		return nil, err
	}
	if err := gatehouse.AuthorizeGroup(c.Principal, true, f); err != nil {
		return nil, err
	}
	return g, nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := gatehouse.AuthorizeGroup(c.Principal, false, gatehouse.GroupFacts{}); err != nil {
		return err
	}
	var body struct {
		DisplayName     string   `json:"displayName"`
		Description     string   `json:"description"`
		MailNickname    string   `json:"mailNickname"`
		SecurityEnabled *bool    `json:"securityEnabled"`
		MailEnabled     *bool    `json:"mailEnabled"`
		GroupTypes      []string `json:"groupTypes"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := groupKind(body.SecurityEnabled, body.MailEnabled, body.GroupTypes); err != nil {
		return err
	}
	g, err := h.store.CreateGroup(r.Context(), c.Actor, store.NewGroup{DisplayName: body.DisplayName,
		Description: body.Description, MailNickname: body.MailNickname})
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.cfg.BaseURL+"/v1.0/groups/"+g.ID)
	httpx.WriteJSON(w, http.StatusCreated, groupJSON(g))
	return nil
}

// pageSize reads $top for a page of groups or members. The store returns
// at most 1000 rows, and a page asks for one more than it shows to learn
// whether another follows, so a page shows at most 999: Graph lets a
// server send fewer than $top with a nextLink.
func pageSize(r *http.Request) (int, error) {
	n, err := top(r, 100)
	return min(n, 999), err
}

// groupCursor is where a page of groups ends.
type groupCursor struct {
	Name string `json:"n"`
	ID   string `json:"i"`
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := gatehouse.AuthorizeGroup(c.Principal, false, gatehouse.GroupFacts{}); err != nil {
		return err
	}
	n, err := pageSize(r)
	if err != nil {
		return err
	}
	var after groupCursor
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		if err := decodeToken(tok, &after); err != nil {
			return err
		}
		if strings.ContainsRune(after.Name+after.ID, 0) { // PostgreSQL would fail the query
			return gatehouse.Errorf(gatehouse.EINVALID, "The $skiptoken is not valid; use the @odata.nextLink as given.")
		}
	}
	groups, err := h.store.GroupsFor(r.Context(), c.Principal, after.Name, after.ID, n+1)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(groups) > n {
		groups = groups[:n]
		out["@odata.nextLink"] = h.nextLink(r, encodeToken(groupCursor{groups[n-1].DisplayName, groups[n-1].ID}))
	}
	list := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		list = append(list, groupJSON(g))
	}
	out["value"] = list
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// readGroup is the group named in the path when the caller may see it, or
// with members true, who is in it.
func (h *Handler) readGroup(r *http.Request, c *caller, members bool) (*gatehouse.Group, error) {
	if err := gatehouse.AuthorizeGroup(c.Principal, false, gatehouse.GroupFacts{}); err != nil {
		return nil, err
	}
	g, f, err := h.store.GroupFacts(r.Context(), c.Principal, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return g, gatehouse.AuthorizeGroupRead(c.Principal, members, f)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	g, err := h.readGroup(r, c, false)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, groupJSON(g))
	return nil
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	g, err := h.managedGroup(r, c)
	if err != nil {
		return err
	}
	var body struct {
		DisplayName     *string  `json:"displayName"`
		Description     *string  `json:"description"`
		MailNickname    *string  `json:"mailNickname"`
		SecurityEnabled *bool    `json:"securityEnabled"`
		MailEnabled     *bool    `json:"mailEnabled"`
		GroupTypes      []string `json:"groupTypes"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := groupKind(body.SecurityEnabled, body.MailEnabled, body.GroupTypes); err != nil {
		return err
	}
	if _, err := h.store.UpdateGroup(r.Context(), c.Actor, g.ID, store.GroupPatch{DisplayName: body.DisplayName,
		Description: body.Description, MailNickname: body.MailNickname}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent) // as Graph answers a PATCH of a group
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, c *caller) error {
	g, err := h.managedGroup(r, c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteGroup(r.Context(), c.Actor, g.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// directoryRef reads the user an @odata.id names: {base}/v1.0/directoryObjects/{id
// or address}, or …/v1.0/users/{…} as Graph clients also send.
func (h *Handler) directoryRef(s string) (string, error) {
	bad := gatehouse.Errorf(gatehouse.EINVALID,
		"@odata.id must be %s/v1.0/directoryObjects/{user id or address} (or …/v1.0/users/{…}).", h.cfg.BaseURL)
	s = strings.TrimSpace(s)
	if base := strings.TrimRight(h.cfg.BaseURL, "/"); base != "" && strings.HasPrefix(s, base+"/") {
		s = strings.TrimPrefix(s, base)
	}
	rest, ok := strings.CutPrefix(s, "/v1.0/")
	if !ok {
		return "", bad
	}
	kind, ref, ok := strings.Cut(rest, "/")
	if !ok || ref == "" || strings.ContainsAny(ref, "/?#") {
		return "", bad
	}
	ref, err := url.PathUnescape(ref)
	// A NUL or bytes that are not UTF-8 would fail PostgreSQL's query,
	// not find no one.
	if err != nil || strings.TrimSpace(ref) == "" || len(ref) > 320 || !utf8.ValidString(ref) || strings.ContainsRune(ref, 0) {
		return "", bad
	}
	switch kind {
	case "directoryObjects", "users":
		return ref, nil
	case "groups":
		return "", gatehouse.Errorf(gatehouse.EINVALID, "A group cannot be a member of another group; add its members instead.")
	}
	return "", bad
}

// addGroupMember is POST /v1.0/groups/{id}/members/$ref, or owners/$ref
// for the role gatehouse.GroupOwner.
func (h *Handler) addGroupMember(role string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		g, err := h.managedGroup(r, c)
		if err != nil {
			return err
		}
		var body struct {
			ID *string `json:"@odata.id"`
		}
		if err := httpx.DecodeJSON(w, r, &body); err != nil {
			return err
		}
		if body.ID == nil {
			return gatehouse.Errorf(gatehouse.EINVALID, "@odata.id is required: %s/v1.0/directoryObjects/{user id or address}.", h.cfg.BaseURL)
		}
		ref, err := h.directoryRef(*body.ID)
		if err != nil {
			return err
		}
		if _, err := h.store.AddGroupMember(r.Context(), c.Actor, g.ID, ref, role); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// removeGroupMember is DELETE /v1.0/groups/{id}/members/{userId}/$ref (or
// owners); the user may be named by address too.
func (h *Handler) removeGroupMember(role string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		g, err := h.managedGroup(r, c)
		if err != nil {
			return err
		}
		u, err := h.lookupUser(r, r.PathValue("userId"))
		if err != nil {
			return err
		}
		if err := h.store.RemoveGroupMember(r.Context(), c.Actor, g.ID, u.ID, role); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// listGroupMembers is GET /v1.0/groups/{id}/members (or owners), paged by
// address.
func (h *Handler) listGroupMembers(role string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *caller) error {
		g, err := h.readGroup(r, c, true)
		if err != nil {
			return err
		}
		n, err := pageSize(r)
		if err != nil {
			return err
		}
		ms, err := h.store.GroupMembers(r.Context(), g.ID, role, r.URL.Query().Get("$skiptoken"), n+1)
		if err != nil {
			return err
		}
		out := map[string]any{}
		if len(ms) > n {
			ms = ms[:n]
			out["@odata.nextLink"] = h.nextLink(r, ms[n-1].User.Email)
		}
		list := make([]map[string]any, 0, len(ms))
		for i := range ms {
			list = append(list, memberJSON(&ms[i].User))
		}
		out["value"] = list
		httpx.WriteJSON(w, http.StatusOK, out)
		return nil
	}
}
