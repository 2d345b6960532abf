package gatehouse

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizeIssuer(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		why      string // in the refusal's message; "" when accepted
	}{
		{"https://login.fabrikam.example/", "https://login.fabrikam.example/", ""},
		{" https://login.fabrikam.example/tenant/v2.0 ", "https://login.fabrikam.example/tenant/v2.0", ""},
		{"http://127.0.0.1:5556/dex", "http://127.0.0.1:5556/dex", ""},
		{"http://localhost:4444/", "http://localhost:4444/", ""},
		{"http://[::1]:4444", "http://[::1]:4444", ""},
		{"", "", "required"},
		{"http://login.fabrikam.example/", "", "https"},
		{"http://127.0.0.1.evil.example/", "", "https"},
		{"ftp://login.fabrikam.example/", "", "https"},
		{"login.fabrikam.example", "", "absolute"},
		{"/relative", "", "absolute"},
		{"https://", "", "absolute"},
		{"https://user:pw@login.fabrikam.example/", "", "user name"},
		{"https://login.fabrikam.example/?x=1", "", "query"},
		{"https://login.fabrikam.example/#frag", "", "fragment"},
		{"https://login.fabrikam.example/\x00", "", "not a URL"},
		{"https://" + strings.Repeat("a", 2100) + ".example/", "", "not a URL"},
	} {
		got, err := NormalizeIssuer(tc.in)
		if tc.why == "" {
			if err != nil || got != tc.want {
				t.Errorf("NormalizeIssuer(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "issuer") || !strings.Contains(ErrorMessage(err), tc.why) {
			t.Errorf("NormalizeIssuer(%q): got %q, %v; want EINVALID naming issuer and %q", tc.in, got, err, tc.why)
		}
	}
}

func TestNormalizeDomains(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string // nil: refused
	}{
		{[]string{"Fabrikam.Example", " fabrikam.example ", "eu.fabrikam.example"}, []string{"eu.fabrikam.example", "fabrikam.example"}},
		{[]string{"a-b.c0.example"}, []string{"a-b.c0.example"}},
		{nil, nil},
		{[]string{}, nil},
		{[]string{" "}, nil},
		{[]string{"localhost"}, nil},
		{[]string{"dana@fabrikam.example"}, nil},
		{[]string{"-fabrikam.example"}, nil},
		{[]string{"fabrikam..example"}, nil},
		{[]string{"fabrikam.example", "xn--bad_.example"}, nil},
		{[]string{strings.Repeat("a", 64) + ".example"}, nil},
	} {
		got, err := NormalizeDomains(tc.in)
		if tc.want == nil {
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "domains") {
				t.Errorf("NormalizeDomains(%q): got %q, %v; want EINVALID naming domains", tc.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("NormalizeDomains(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeScope(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", DefaultOIDCScope},
		{"   ", DefaultOIDCScope},
		{"openid", "openid"},
		{" openid  email openid profile ", "openid email profile"},
		{"email profile", ""},
		{"openid em\"ail", ""},
		{"openid e\\mail", ""},
		{"openid é", ""},
		{"OpenID email", ""},
	} {
		got, err := NormalizeScope(tc.in)
		if tc.want == "" {
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "scope") {
				t.Errorf("NormalizeScope(%q): got %q, %v; want EINVALID naming scope", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeScope(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestValidateClientSecret(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"s3cret-value", true},
		{"with spaces and ünicode", true},
		{"", false},
		{"   ", false},
		{SecretPlaceholder, false},
		{"line\nbreak-secret", false},
		{strings.Repeat("x", 4097), false},
	} {
		err := ValidateClientSecret(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("ValidateClientSecret(%.20q): got %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err != nil && (!strings.Contains(ErrorMessage(err), "clientSecret") || len(tc.in) > 4 && strings.Contains(ErrorMessage(err), tc.in)) {
			t.Errorf("ValidateClientSecret(%.20q): message %q should name clientSecret and not repeat it", tc.in, ErrorMessage(err))
		}
	}
}

func TestIdentityProviderNormalize(t *testing.T) {
	p := IdentityProvider{DisplayName: " Fabrikam ", Issuer: "https://login.fabrikam.example/", ClientID: " client ",
		Domains: []string{"Fabrikam.example"}}
	if err := p.Normalize(); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	if p.DisplayName != "Fabrikam" || p.ClientID != "client" || !slices.Equal(p.Domains, []string{"fabrikam.example"}) || p.Scope != DefaultOIDCScope {
		t.Errorf("Normalize: got %+v", p)
	}
	for field, spoil := range map[string]func(*IdentityProvider){
		"displayName": func(p *IdentityProvider) { p.DisplayName = " " },
		"issuer":      func(p *IdentityProvider) { p.Issuer = "http://login.fabrikam.example/" },
		"clientId":    func(p *IdentityProvider) { p.ClientID = "" },
		"clientId ":   func(p *IdentityProvider) { p.ClientID = "a\x01b" },
		"domains":     func(p *IdentityProvider) { p.Domains = nil },
		"scope":       func(p *IdentityProvider) { p.Scope = "email" },
	} {
		q := p
		spoil(&q)
		if err := q.Normalize(); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), strings.TrimSpace(field)) {
			t.Errorf("Normalize with a bad %s: got %v, want EINVALID naming it", field, err)
		}
	}
}

func TestCheckPartnerDomains(t *testing.T) {
	org := []string{"example.com", "corp.example"}
	if err := CheckPartnerDomains([]string{"fabrikam.example", "sub.example.com"}, org); err != nil {
		t.Errorf("partner domains: %v", err)
	}
	err := CheckPartnerDomains([]string{"fabrikam.example", "example.com"}, org)
	if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "example.com is one of the organization's") {
		t.Errorf("an org domain: got %v, want EINVALID naming it", err)
	}
	if err := CheckPartnerDomains([]string{"corp.example"}, nil); err != nil {
		t.Errorf("no org domains: %v", err)
	}
}

func TestOIDCRedirectURI(t *testing.T) {
	for base, want := range map[string]string{
		"https://files.example.com":      "https://files.example.com/auth/oidc/callback",
		"https://files.example.com/":     "https://files.example.com/auth/oidc/callback",
		"http://127.0.0.1:8080":          "http://127.0.0.1:8080/auth/oidc/callback",
		"https://example.com/gatehouse/": "https://example.com/gatehouse/auth/oidc/callback",
	} {
		if got := OIDCRedirectURI(base); got != want {
			t.Errorf("OIDCRedirectURI(%q): got %q, want %q", base, got, want)
		}
	}
}
