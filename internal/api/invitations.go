package api

import (
	"net/http"
	"net/url"
	"strings"

	"gatehouse"
	"gatehouse/internal/httpx"
	"gatehouse/internal/store"
)

// invitationBody is Graph's invitation as a client sends it.
type invitationBody struct {
	InvitedUserEmailAddress *string `json:"invitedUserEmailAddress"`
	InvitedUserDisplayName  *string `json:"invitedUserDisplayName"`
	InviteRedirectURL       *string `json:"inviteRedirectUrl"`
	SendInvitationMessage   *bool   `json:"sendInvitationMessage"`
	InvitedUserMessageInfo  *struct {
		CustomizedMessageBody *string `json:"customizedMessageBody"`
	} `json:"invitedUserMessageInfo"`
}

// createInvitation is POST /v1.0/invitations: members and administrators
// invite someone outside the organization as a guest, or send a guest's
// invitation again.
func (h *Handler) createInvitation(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := gatehouse.AuthorizeDirectory(c.Principal, gatehouse.ActInvite, ""); err != nil {
		return err
	}
	var b invitationBody
	if err := httpx.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.InvitedUserEmailAddress == nil || strings.TrimSpace(*b.InvitedUserEmailAddress) == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "invitedUserEmailAddress is required.")
	}
	email, err := gatehouse.NormalizeEmail(strings.ToLower(strings.TrimSpace(*b.InvitedUserEmailAddress)))
	if err != nil {
		return err
	}
	if gatehouse.InOrgDomains(email, h.cfg.OrgDomains) {
		return gatehouse.Errorf(gatehouse.EINVALID, "%s is an address of the organization; only people outside it can be invited as guests.", email)
	}
	in := store.InviteRequest{Email: email}
	if b.InvitedUserDisplayName != nil && *b.InvitedUserDisplayName != "" {
		if err := gatehouse.ValidateDisplayName(*b.InvitedUserDisplayName); err != nil {
			return err
		}
		in.DisplayName = *b.InvitedUserDisplayName
	}
	if b.InviteRedirectURL != nil {
		if in.RedirectURL, err = localRedirect(*b.InviteRedirectURL, h.cfg.BaseURL); err != nil {
			return err
		}
	}
	in.SendMessage = b.SendInvitationMessage != nil && *b.SendInvitationMessage
	if b.InvitedUserMessageInfo != nil && b.InvitedUserMessageInfo.CustomizedMessageBody != nil {
		in.Message = *b.InvitedUserMessageInfo.CustomizedMessageBody
		if len(in.Message) > gatehouse.MaxShareMessage {
			return gatehouse.Errorf(gatehouse.EINVALID, "customizedMessageBody is longer than %d bytes.", gatehouse.MaxShareMessage)
		}
	}
	inv, err := h.store.CreateInvitation(r.Context(), c.Actor, in)
	if err != nil {
		return err
	}
	redirect := inv.RedirectURL
	if redirect != "" {
		redirect = h.cfg.BaseURL + redirect
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{
		"@odata.context":          h.cfg.BaseURL + "/v1.0/$metadata#invitations/$entity",
		"id":                      inv.ID,
		"inviteRedeemUrl":         inv.RedeemURL,
		"inviteRedirectUrl":       redirect,
		"invitedUserEmailAddress": inv.Email,
		"invitedUserDisplayName":  in.DisplayName,
		"invitedUserType":         gatehouse.UserTypeGuest,
		"sendInvitationMessage":   in.SendMessage,
		"invitedUser":             map[string]any{"id": inv.UserID},
		"status":                  inv.Status,
	})
	return nil
}

// localRedirect checks where a guest goes after accepting: a path on this
// server, or an address under the base URL (kept as its path), so that an
// invitation never sends anyone elsewhere. "" is the default.
func localRedirect(s, base string) (string, error) {
	bad := gatehouse.Errorf(gatehouse.EINVALID, "inviteRedirectUrl must be a path on this server (such as /) or an address under %s.", base)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if strings.ContainsAny(s, "\\\x00\r\n\t") || len(s) > 2048 {
		return "", bad
	}
	if b := strings.TrimRight(base, "/"); b != "" && (s == b || strings.HasPrefix(s, b+"/") || strings.HasPrefix(s, b+"?")) {
		s = "/" + strings.TrimPrefix(strings.TrimPrefix(s, b), "/")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return "", bad
	}
	return s, nil
}
