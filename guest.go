package gatehouse

import "strings"

// A guest's state towards the organization, as Graph's externalUserState.
const (
	ExternalPendingAcceptance = "PendingAcceptance"
	ExternalAccepted          = "Accepted"
)

// CreationTypeInvitation is Graph's creationType of a guest who came in by
// an invitation or a link.
const CreationTypeInvitation = "Invitation"

// How an identity signs in, as Graph's objectIdentity.signInType.
const (
	SignInFederated    = "federated"    // through a partner's identity provider
	SignInEmailAddress = "emailAddress" // with a code mailed to the address
)

// AuthPartner is a web session opened through a partner's provider.
const AuthPartner = "partner"

// Identity is one way a user signs in: the issuer and what it calls them.
type Identity struct {
	SignInType       string
	Issuer           string
	IssuerAssignedID string
}

// GuestDisplayName is a new guest's display name: the partner's name
// claim when it is usable, else the address.
func GuestDisplayName(name, email string) string {
	name = strings.TrimSpace(name)
	if name == "" || ValidateDisplayName(name) != nil {
		return email
	}
	return name
}

// MatchIdentity decides a partner sign-in against a user's identities:
// true when (issuer, subject) is one of them, false when the user has none
// at that issuer yet, and EFORBIDDEN when the issuer knows the user under
// another subject: someone else holds that address at the partner now.
func MatchIdentity(ids []Identity, issuer, subject string) (bool, error) {
	for _, id := range ids {
		if id.SignInType != SignInFederated || id.Issuer != issuer {
			continue
		}
		if id.IssuerAssignedID == subject {
			return true, nil
		}
		return false, Errorf(EFORBIDDEN, "This address is linked to another account at its sign-in service, so this sign-in is refused. Ask the person who shared with you for help.")
	}
	return false, nil
}

// PartnerLinked reports whether the user signs in through a partner.
func (u *User) PartnerLinked() bool {
	for _, id := range u.Identities {
		if id.SignInType == SignInFederated {
			return true
		}
	}
	return false
}
