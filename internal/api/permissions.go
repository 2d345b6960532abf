package api

import (
	"net/http"
	"strings"
	"time"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// permissionJSON is the Graph permission resource of a specific-people link.
// withURL adds link.webUrl, which carries the link's secret: only answers
// about one link to its owner include it, never lists.
func (h *Handler) permissionJSON(l *gatehouse.Link, withURL bool) map[string]any {
	grantees := make([]map[string]any, 0, len(l.Recipients))
	for _, r := range l.Recipients {
		u := map[string]any{"displayName": r.DisplayName, "email": r.Email}
		if r.UserID != "" {
			u["id"] = r.UserID
		}
		grantees = append(grantees, map[string]any{"user": u, "isExternal": r.External()})
	}
	for _, g := range l.Groups {
		grantees = append(grantees, map[string]any{"group": map[string]any{"id": g.ID, "displayName": g.DisplayName}, "isExternal": false})
	}
	link := map[string]any{"scope": l.Scope, "type": gatehouse.LinkType(l.Role), "preventsDownload": l.PreventsDownload}
	if withURL {
		link["webUrl"] = h.store.LinkURL(l)
	}
	p := map[string]any{
		"id": l.ID, "roles": []string{l.Role}, "shareId": l.ShareID, "hasPassword": false,
		"link": link, "grantedToIdentitiesV2": grantees, "expirationDateTime": nil,
		"notifyOwner": l.NotifyOwner, // a Gatehouse extension
		"dormant":     l.Dormant,     // a Gatehouse extension: the item was deleted; opens nothing until PATCHed false
	}
	if !l.ExpiresAt.IsZero() {
		p["expirationDateTime"] = l.ExpiresAt
	}
	return p
}

type recipientJSON struct {
	Email    string `json:"email"`
	ObjectID string `json:"objectId"`
	Alias    string `json:"alias"`
}

// emailsOf returns the recipients named by address; one named by neither
// address nor objectId stays, as "", for the store to refuse.
func emailsOf(rs []recipientJSON) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		if r.Email != "" || r.ObjectID == "" {
			out = append(out, r.Email)
		}
	}
	return out
}

// objectIDsOf returns the recipients named by objectId only: groups, or
// users by id.
func objectIDsOf(rs []recipientJSON) []string {
	var out []string
	for _, r := range rs {
		if r.Email == "" && r.ObjectID != "" {
			out = append(out, r.ObjectID)
		}
	}
	return out
}

// checkObjectIDs refuses an objectId holding a NUL, which would fail
// PostgreSQL's lookup rather than find no one.
func checkObjectIDs(rs []recipientJSON) error {
	for _, r := range rs {
		if strings.ContainsRune(r.ObjectID, 0) || len(r.ObjectID) > 128 {
			return gatehouse.Errorf(gatehouse.EINVALID, "No group or user has the objectId %.40q.", r.ObjectID)
		}
	}
	return nil
}

// parseExpiry reads an optional expirationDateTime.
func parseExpiry(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, gatehouse.Errorf(gatehouse.EINVALID, "expirationDateTime must be an RFC 3339 time such as 2026-12-31T23:59:59Z.")
	}
	return t, nil
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActShare)
	if err != nil {
		return err
	}
	var body struct {
		Recipients         []recipientJSON `json:"recipients"`
		Roles              []string        `json:"roles"`
		RequireSignIn      *bool           `json:"requireSignIn"`
		SendInvitation     *bool           `json:"sendInvitation"`
		Message            string          `json:"message"`
		ExpirationDateTime *string         `json:"expirationDateTime"`
		Password           string          `json:"password"`
		RetainInherited    bool            `json:"retainInheritedPermissions"`
		PreventsDownload   bool            `json:"preventsDownload"`
		NotifyOwner        *bool           `json:"notifyOwner"`
		Resend             bool            `json:"resend"` // send the invitation again to those already on the link
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := checkObjectIDs(body.Recipients); err != nil {
		return err
	}
	if body.RequireSignIn != nil && !*body.RequireSignIn {
		return gatehouse.Errorf(gatehouse.EINVALID, "Only links that require sign-in (specific people) can be created: set requireSignIn to true.")
	}
	if body.Password != "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "Passwords are only for anonymous links, which are not supported.")
	}
	role, err := gatehouse.ParseRoles(body.Roles)
	if err != nil {
		return err
	}
	exp, err := parseExpiry(body.ExpirationDateTime)
	if err != nil {
		return err
	}
	send := body.SendInvitation == nil || *body.SendInvitation
	var out store.ShareOutcome
	l, _, err := h.store.Share(r.Context(), c.Actor, store.ShareRequest{DriveID: it.DriveID, ItemID: it.ID, Role: role,
		Emails: emailsOf(body.Recipients), ObjectIDs: objectIDsOf(body.Recipients), Message: body.Message, ExpiresAt: exp, SendInvitation: send,
		PreventsDownload: body.PreventsDownload, NotifyOwner: body.NotifyOwner, Resend: body.Resend && send, Outcome: &out})
	if err != nil {
		return err
	}
	resp := map[string]any{"value": []any{h.permissionJSON(l, true)}}
	addOutcome(resp, &out)
	httpx.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func (h *Handler) createLink(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActShare)
	if err != nil {
		return err
	}
	var body struct {
		Type               string          `json:"type"`
		Scope              string          `json:"scope"`
		Recipients         []recipientJSON `json:"recipients"`
		ExpirationDateTime *string         `json:"expirationDateTime"`
		Message            string          `json:"message"`
		SendInvitation     bool            `json:"sendInvitation"`
		RetainInherited    bool            `json:"retainInheritedPermissions"`
		PreventsDownload   bool            `json:"preventsDownload"`
		NotifyOwner        *bool           `json:"notifyOwner"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := checkObjectIDs(body.Recipients); err != nil {
		return err
	}
	if body.Scope != "" && body.Scope != gatehouse.ScopeUsers {
		return gatehouse.Errorf(gatehouse.EINVALID, "Only links for specific people (scope \"users\") can be created.")
	}
	role, err := gatehouse.RoleOfType(body.Type)
	if err != nil {
		return err
	}
	exp, err := parseExpiry(body.ExpirationDateTime)
	if err != nil {
		return err
	}
	var out store.ShareOutcome
	l, created, err := h.store.Share(r.Context(), c.Actor, store.ShareRequest{DriveID: it.DriveID, ItemID: it.ID, Role: role,
		Emails: emailsOf(body.Recipients), ObjectIDs: objectIDsOf(body.Recipients), Message: body.Message, ExpiresAt: exp, SendInvitation: body.SendInvitation,
		PreventsDownload: body.PreventsDownload, NotifyOwner: body.NotifyOwner, Outcome: &out})
	if err != nil {
		return err
	}
	status := http.StatusOK // Graph answers 200 when the link already existed
	if created {
		status = http.StatusCreated
	}
	resp := h.permissionJSON(l, true)
	addOutcome(resp, &out)
	httpx.WriteJSON(w, status, resp)
	return nil
}

func (h *Handler) listPermissions(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActManageAccess)
	if err != nil {
		return err
	}
	links, err := h.store.Links(r.Context(), it.DriveID, it.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(links))
	for _, l := range links {
		out = append(out, h.permissionJSON(l, false))
	}
	if err := h.withLastAccessed(r.Context(), links, out); err != nil { // shared_byme.go
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (h *Handler) getPermission(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActManageAccess)
	if err != nil {
		return err
	}
	l, err := h.store.Link(r.Context(), it.DriveID, it.ID, r.PathValue("p"))
	if err != nil {
		return err
	}
	p := h.permissionJSON(l, true)
	if err := h.withLastAccessed(r.Context(), []*gatehouse.Link{l}, []map[string]any{p}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) updatePermission(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActManageAccess)
	if err != nil {
		return err
	}
	var body struct {
		Roles              []string `json:"roles"`
		ExpirationDateTime *string  `json:"expirationDateTime"`
		NotifyOwner        *bool    `json:"notifyOwner"`
		Dormant            *bool    `json:"dormant"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Dormant != nil && *body.Dormant {
		return gatehouse.Errorf(gatehouse.EINVALID, "A link becomes dormant when its item is deleted; \"dormant\" can only be set to false, to turn the link on again.")
	}
	var up store.LinkUpdate
	if body.Roles != nil {
		role, err := gatehouse.ParseRoles(body.Roles)
		if err != nil {
			return err
		}
		up.Role = &role
	}
	if body.ExpirationDateTime != nil {
		exp, err := parseExpiry(body.ExpirationDateTime)
		if err != nil {
			return err
		}
		up.ExpiresAt = &exp
	}
	up.NotifyOwner = body.NotifyOwner
	l, err := h.store.UpdateLink(r.Context(), c.Actor, it.DriveID, it.ID, r.PathValue("p"), up)
	if err != nil {
		return err
	}
	if body.Dormant != nil { // recycle.go: a restored item's links wait for this
		if l, err = h.store.EnableLink(r.Context(), c.Actor, it.DriveID, it.ID, l.ID); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, h.permissionJSON(l, true))
	return nil
}

func (h *Handler) deletePermission(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActManageAccess)
	if err != nil {
		return err
	}
	if err := h.store.DeleteLink(r.Context(), c.Actor, it.DriveID, it.ID, r.PathValue("p")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) revokeGrants(w http.ResponseWriter, r *http.Request, c *caller) error {
	it, err := h.item(r, c, gatehouse.ActManageAccess)
	if err != nil {
		return err
	}
	var body struct {
		Grantees []recipientJSON `json:"grantees"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := checkObjectIDs(body.Grantees); err != nil {
		return err
	}
	l, err := h.store.RevokeGrants(r.Context(), c.Actor, it.DriveID, it.ID, r.PathValue("p"), emailsOf(body.Grantees), objectIDsOf(body.Grantees))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.permissionJSON(l, true))
	return nil
}

// grant adds recipients to a link named by its shareId.
func (h *Handler) grant(w http.ResponseWriter, r *http.Request, c *caller) error {
	l, err := h.store.LinkByShareID(r.Context(), r.PathValue("shareId"))
	if err != nil {
		return err
	}
	// Who may share the item first: a link the caller may not share answers
	// exactly like an unknown one, expired or not.
	_, f, err := h.store.ItemFacts(r.Context(), c.Principal, l.DriveID, l.ItemID)
	if err == nil {
		err = gatehouse.Authorize(c.Principal, gatehouse.ActShare, f)
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "The sharing link was not found.")
	} else if err != nil {
		return err
	}
	if l.Expired(f.Now) {
		return gatehouse.Errorf(gatehouse.EGONE, "This link has expired; create a new one to share again.")
	}
	var body struct {
		Recipients []recipientJSON `json:"recipients"`
		Roles      []string        `json:"roles"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := checkObjectIDs(body.Recipients); err != nil {
		return err
	}
	if body.Roles != nil {
		role, err := gatehouse.ParseRoles(body.Roles)
		if err != nil {
			return err
		}
		if role != l.Role {
			return gatehouse.Errorf(gatehouse.EINVALID, "This link gives %q; grant the same role, or use invite for a %q link.", l.Role, role)
		}
	}
	var out store.ShareOutcome
	l, _, err = h.store.Share(r.Context(), c.Actor, store.ShareRequest{DriveID: l.DriveID, ItemID: l.ItemID, Role: l.Role,
		Emails: emailsOf(body.Recipients), ObjectIDs: objectIDsOf(body.Recipients), SendInvitation: true, ShareID: l.ShareID, Outcome: &out})
	if err != nil {
		return err
	}
	resp := map[string]any{"value": []any{h.permissionJSON(l, true)}}
	addOutcome(resp, &out)
	httpx.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// addOutcome adds to a share's answer what the sharer should know beyond
// the link (Gatehouse extensions): warnings about addresses, and who was
// on the link already, so no one is told a mail went out that did not.
func addOutcome(resp map[string]any, out *store.ShareOutcome) {
	if len(out.Warnings) > 0 {
		resp["warnings"] = out.Warnings
	}
	if len(out.AlreadyHadAccess) > 0 {
		resp["alreadyHadAccess"] = out.AlreadyHadAccess
		resp["resent"] = append([]string{}, out.Resent...)
	}
}
