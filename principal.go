package gatehouse

// PrincipalKind is the kind of caller a principal is.
type PrincipalKind uint8

// The kinds of principal. The zero value is an anonymous caller, one who
// presented no valid credential.
const (
	Anonymous PrincipalKind = iota
	KindMember
	KindGuest
	KindRecipient // an ad hoc recipient: an address verified with a passcode, no account
	KindSystem    // the command line
)

// Principal is who is asking, whatever the credential: a member, a guest,
// an ad hoc recipient or the system. What the request says besides that
// (address, user agent, link, how it authenticated) is its Origin.
type Principal struct {
	Kind        PrincipalKind
	UserID      string // members and guests; "" otherwise
	Email       string // lower case; the audit UserId
	DisplayName string
	IsAdmin     bool
}

// UserPrincipal returns the principal of a directory user: a member or a
// guest by its userType.
func UserPrincipal(u *User) Principal {
	k := KindMember
	if u.UserType == UserTypeGuest {
		k = KindGuest
	}
	return Principal{Kind: k, UserID: u.ID, Email: u.Email, DisplayName: u.DisplayName, IsAdmin: u.IsAdmin}
}

// RecipientPrincipal returns the principal of an ad hoc recipient who
// verified email.
func RecipientPrincipal(email string) Principal {
	return Principal{Kind: KindRecipient, Email: email, DisplayName: email}
}

// SystemPrincipal is the principal of changes made from the command line.
func SystemPrincipal() Principal {
	return Principal{Kind: KindSystem, Email: "system", DisplayName: "system"}
}

// IsUser reports whether p is a directory user (a member or a guest).
func (p Principal) IsUser() bool { return p.Kind == KindMember || p.Kind == KindGuest }

// UserType is the audit UserType of the principal.
func (p Principal) UserType() string {
	switch p.Kind {
	case KindMember:
		return UserTypeMember
	case KindGuest:
		return UserTypeGuest
	case KindRecipient:
		return UserTypeAdHoc
	case KindSystem:
		return "System"
	}
	return "Anonymous"
}

// How a request authenticated, for the audit log and, later, for policies
// that ask for a stronger method.
const (
	AuthNone     = ""
	AuthPassword = "password" // a web session opened with a password
	AuthToken    = "token"    // an API bearer token
	AuthPasscode = "passcode" // a recipient session opened with an emailed code
	AuthSystem   = "system"
)

// Origin is what a request says besides who sent it.
type Origin struct {
	ClientIP  string
	UserAgent string
	ShareID   string // the UniqueSharingId of the link the request came through, if any
	Auth      string // how the principal authenticated: AuthPassword, AuthToken, ...
}

// Actor is a principal acting through a request: what an audit record is
// built from.
type Actor struct {
	Principal
	Origin
}

// SystemActor is the actor of changes made from the command line.
func SystemActor() Actor {
	return Actor{SystemPrincipal(), Origin{ClientIP: "127.0.0.1", UserAgent: "gatehouse-cli", Auth: AuthSystem}}
}

// UserActor returns the actor for a signed-in user.
func UserActor(u *User, ip, ua string) Actor {
	return Actor{UserPrincipal(u), Origin{ClientIP: ip, UserAgent: ua}}
}
