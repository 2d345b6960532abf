package web

import (
	"net/http"

	"gatehouse"
	"gatehouse/internal/authn"
)

// shareContext is what a recipient's pages say about a share. Before
// verification only Sharer and Org are set: the invitation mail named
// both, and nothing about the item may show before the address is proven.
type shareContext struct {
	Sharer     string // the sharer's name, or address
	Org        string // the organization's name
	Message    string // the sharer's message to this address
	Permission string // "can view", "can upload and replace"
	Expiry     string // "through Dec 15, end of day, UTC"; "" never
}

// senderContext names the sharer and the organization of a link, for the
// pages before verification. A link that cannot be read gives an empty
// context, and the page its neutral wording.
func (h *Handler) senderContext(r *http.Request, l *gatehouse.Link) shareContext {
	var sc shareContext
	if l == nil {
		return sc
	}
	c, err := h.store.LinkContext(r.Context(), l, "")
	if err != nil {
		return sc
	}
	sc.Sharer, sc.Org = c.SharerName, h.store.OrgName()
	return sc
}

// verifiedContext is the whole context, for a caller who may open the
// link: their message, what the link lets them do, and until when.
func (h *Handler) verifiedContext(r *http.Request, l *gatehouse.Link, c *authn.Caller) (shareContext, error) {
	lc, err := h.store.LinkContext(r.Context(), l, c.Email)
	if err != nil {
		return shareContext{}, err
	}
	return shareContext{Sharer: lc.SharerName, Org: h.store.OrgName(), Message: lc.Message,
		Permission: permissionText(l), Expiry: expiryText(l.ExpiresAt, h.store.Now())}, nil
}

// permissionText words what a link lets its recipients do.
func permissionText(l *gatehouse.Link) string {
	if l.Role == gatehouse.RoleWrite {
		return "can upload and replace"
	}
	return "can view"
}

// json is the context as a script sees it once verified.
func (sc shareContext) json(l *gatehouse.Link) map[string]any {
	out := map[string]any{"sharedBy": sc.Sharer, "permission": sc.Permission, "roles": []string{l.Role},
		"expirationDateTime": nil}
	if sc.Org != "" {
		out["organization"] = sc.Org
	}
	if sc.Message != "" {
		out["message"] = sc.Message
	}
	if !l.ExpiresAt.IsZero() {
		out["expirationDateTime"] = l.ExpiresAt
	}
	return out
}
