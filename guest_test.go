package gatehouse

import (
	"strings"
	"testing"
)

func TestGuestDisplayName(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"Dana Scully", "Dana Scully"},
		{"  Dana  ", "Dana"},
		{"", "dana@fabrikam.example"},
		{"bad\x01name", "dana@fabrikam.example"},
		{strings.Repeat("x", 300), "dana@fabrikam.example"},
	} {
		if got := GuestDisplayName(c.name, "dana@fabrikam.example"); got != c.want {
			t.Errorf("GuestDisplayName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestMatchIdentity(t *testing.T) {
	ids := []Identity{
		{SignInType: SignInEmailAddress, Issuer: "mail", IssuerAssignedID: "dana@fabrikam.example"},
		{SignInType: SignInFederated, Issuer: "https://idp.fabrikam.example/", IssuerAssignedID: "sub-1"},
	}
	if ok, err := MatchIdentity(ids, "https://idp.fabrikam.example/", "sub-1"); !ok || err != nil {
		t.Errorf("same subject: %v, %v; want linked", ok, err)
	}
	if ok, err := MatchIdentity(ids, "https://idp.fabrikam.example/", "sub-2"); ok || ErrorCode(err) != EFORBIDDEN {
		t.Errorf("other subject: %v, %v; want EFORBIDDEN", ok, err)
	}
	if ok, err := MatchIdentity(ids, "https://idp.contoso.example/", "sub-1"); ok || err != nil {
		t.Errorf("other issuer: %v, %v; want not linked, no error", ok, err)
	}
	if ok, err := MatchIdentity(nil, "https://idp.fabrikam.example/", "sub-1"); ok || err != nil {
		t.Errorf("no identities: %v, %v", ok, err)
	}
	if !(&User{Identities: ids}).PartnerLinked() || (&User{Identities: ids[:1]}).PartnerLinked() {
		t.Error("PartnerLinked is wrong")
	}
}
