package mail

import "errors"

// GuestInvite is what a guest invitation mail says: who invited, their
// message, and where to accept.
type GuestInvite struct {
	InviterName  string
	InviterEmail string
	Message      string // optional customizedMessageBody
	RedeemURL    string
	SiteName     string // the site shared with them, if the invitation comes with one
}

type guestInviteView struct {
	Subject       string
	Inviter       string
	InviterEmail  string // set only when Inviter is a name
	Message       string
	QuotedMessage string
	RedeemURL     string
	SiteName      string
}

// RenderGuestInvite renders the mail that invites someone in as a guest.
func RenderGuestInvite(in GuestInvite) (subject, text, html string, err error) {
	if in.RedeemURL == "" {
		return "", "", "", errors.New("mail: the guest invitation has no redeem link")
	}
	v := guestInviteView{
		Inviter:      oneLine(in.InviterName),
		InviterEmail: oneLine(in.InviterEmail),
		Message:      multiLine(in.Message),
		RedeemURL:    oneLine(in.RedeemURL),
		SiteName:     oneLine(in.SiteName),
	}
	if v.Inviter == "" || v.Inviter == v.InviterEmail {
		v.Inviter, v.InviterEmail = v.InviterEmail, ""
	}
	if v.Inviter == "" {
		v.Inviter = "Someone"
	}
	v.QuotedMessage = quote(v.Message)
	v.Subject = truncate(v.Inviter, maxSubjectItem) + " invited you to Gatehouse"
	if v.SiteName != "" {
		v.Subject = truncate(v.Inviter, maxSubjectItem) + " shared the site \"" + truncate(v.SiteName, maxSubjectItem) + "\" with you"
	}
	text, html, err = render("invite", v)
	return v.Subject, text, html, err
}
