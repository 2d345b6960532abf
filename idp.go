package gatehouse

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// IdentityProvider is a partner organization's OpenID Connect provider:
// addresses of its domains sign in there instead of with a passcode. The
// client secret is not part of it; the store keeps it sealed and hands it
// only to the sign-in code.
type IdentityProvider struct {
	ID          string
	DisplayName string
	Issuer      string   // exactly as the partner's ID tokens carry it in iss
	ClientID    string   // our client at the partner
	Domains     []string // lower case, sorted; each belongs to this provider only
	Scope       string   // space-separated; always has openid
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DefaultOIDCScope is the scope a provider gets when none is given.
const DefaultOIDCScope = "openid email profile"

// OIDCCallbackPath is where partners send the browser back after sign-in.
const OIDCCallbackPath = "/auth/oidc/callback"

// OIDCRedirectURI is the redirect URI to register at every partner:
// exactly {base-url}/auth/oidc/callback.
func OIDCRedirectURI(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + OIDCCallbackPath
}

// SecretPlaceholder is what answers show for the write-only client
// secret, as Graph does.
const SecretPlaceholder = "****"

// Bounds of a provider's fields.
const (
	maxIssuerLen   = 2048
	maxClientIDLen = 512
	maxSecretLen   = 4096
	maxScopeLen    = 1024
	maxIdPDomains  = 100
)

// Normalize checks a provider's fields and puts them in their stored form:
// trimmed, domains lower-cased, deduplicated and sorted, the scope's
// words single-spaced and defaulted. Returns EINVALID naming the field.
func (p *IdentityProvider) Normalize() error {
	p.DisplayName = strings.TrimSpace(p.DisplayName)
	if err := ValidateDisplayName(p.DisplayName); err != nil {
		return Errorf(EINVALID, "displayName: %s", ErrorMessage(err))
	}
	issuer, err := NormalizeIssuer(p.Issuer)
	if err != nil {
		return err
	}
	p.Issuer = issuer
	p.ClientID = strings.TrimSpace(p.ClientID)
	switch {
	case p.ClientID == "":
		return Errorf(EINVALID, "clientId is required: the client identifier the partner issued for Gatehouse.")
	case len(p.ClientID) > maxClientIDLen:
		return Errorf(EINVALID, "clientId can be at most %d bytes long.", maxClientIDLen)
	case !printable(p.ClientID):
		return Errorf(EINVALID, "clientId can contain only printable characters.")
	}
	if p.Domains, err = NormalizeDomains(p.Domains); err != nil {
		return err
	}
	p.Scope, err = NormalizeScope(p.Scope)
	return err
}

// NormalizeIssuer checks an issuer: an absolute https URL without user
// info, query or fragment; http only for a loopback host, which tests run.
// It is kept as given otherwise, since ID tokens must name it exactly.
func NormalizeIssuer(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (string, error) {
		return "", Errorf(EINVALID, "issuer %s; it should be the partner's address such as https://login.fabrikam.example/.", why)
	}
	if s == "" {
		return bad("is required")
	}
	if len(s) > maxIssuerLen || !printable(s) {
		return bad("is not a URL")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return bad("must be an absolute URL")
	case u.User != nil:
		return bad("cannot contain a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return bad("cannot have a query or a fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return bad("must use https (http only for a loopback address)")
	default:
		return bad("must be an https URL")
	}
	return s, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NormalizeDomains checks a provider's domains: at least one, each a DNS
// name of two labels or more. It returns them lower case, without
// duplicates, sorted.
func NormalizeDomains(in []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		if !ValidDomainName(d) {
			return nil, Errorf(EINVALID, "domains: %q is not a domain name such as fabrikam.example.", truncateUTF8(d, 64))
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "domains must name at least one domain, such as fabrikam.example.")
	}
	if len(out) > maxIdPDomains {
		return nil, Errorf(EINVALID, "domains can name at most %d domains.", maxIdPDomains)
	}
	slices.Sort(out)
	return out, nil
}

// ValidDomainName accepts a lower-case DNS name of at least two labels of
// letters, digits and inner hyphens: the form an email address's domain
// takes.
func ValidDomainName(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// NormalizeScope checks a scope: space-separated OAuth scope tokens that
// include openid. Empty is DefaultOIDCScope.
func NormalizeScope(s string) (string, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return DefaultOIDCScope, nil
	}
	if len(s) > maxScopeLen {
		return "", Errorf(EINVALID, "scope can be at most %d bytes long.", maxScopeLen)
	}
	var out []string
	openid := false
	for _, w := range words {
		for _, c := range w {
			// RFC 6749's scope-token: visible ASCII but " and \.
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return "", Errorf(EINVALID, "scope: %q is not a scope value.", truncateUTF8(w, 64))
			}
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
		openid = openid || w == "openid"
	}
	if !openid {
		return "", Errorf(EINVALID, "scope must include openid, as in %q.", DefaultOIDCScope)
	}
	return strings.Join(out, " "), nil
}

// ValidateClientSecret checks a client secret as given to be stored. The
// message never repeats it.
func ValidateClientSecret(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return Errorf(EINVALID, "clientSecret is required: the client secret the partner issued for Gatehouse.")
	case s == SecretPlaceholder:
		return Errorf(EINVALID, "clientSecret must be the secret the partner issued, not the placeholder %s.", SecretPlaceholder)
	case len(s) > maxSecretLen:
		return Errorf(EINVALID, "clientSecret can be at most %d bytes long.", maxSecretLen)
	case !printable(s):
		return Errorf(EINVALID, "clientSecret can contain only printable characters.")
	}
	return nil
}

// CheckPartnerDomains refuses a partner domain that is one of the
// organization's own: its addresses are members, who sign in here.
func CheckPartnerDomains(domains, orgDomains []string) error {
	for _, d := range domains {
		if containsFold(orgDomains, d) {
			return Errorf(EINVALID, "domains: %s is one of the organization's own domains, so it cannot belong to a partner.", d)
		}
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if strings.ToValidUTF8(s, "") != s {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
