package gatehouse_test

import (
	"strings"
	"testing"

	"gatehouse"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		wantCode string
	}{
		{"ann@example.com", "ann@example.com", ""},
		{"Ann@Example.COM", "ann@example.com", ""},
		{"  ann@example.com \t", "ann@example.com", ""},
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", ""},
		{"", "", gatehouse.EINVALID},
		{"   ", "", gatehouse.EINVALID},
		{"ann", "", gatehouse.EINVALID},
		{"ann@", "", gatehouse.EINVALID},
		{"@example.com", "", gatehouse.EINVALID},
		{"ann@@example.com", "", gatehouse.EINVALID},
		{"ann@localhost", "", gatehouse.EINVALID},
		// The dot rule is about the domain: a dot in the local part must not
		// let a single-label domain through.
		{"first.last@localhost", "", gatehouse.EINVALID},
		{"Ann <ann@example.com>", "", gatehouse.EINVALID},
		{"<ann@example.com>", "", gatehouse.EINVALID},
		{"ann@example.com, bob@example.com", "", gatehouse.EINVALID},
		{"ann smith@example.com", "", gatehouse.EINVALID},
		{"ann@example.com\r\nBcc: x@example.com", "", gatehouse.EINVALID},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com", "", gatehouse.EINVALID}, // 259 bytes
	}
	for _, tt := range tests {
		got, err := gatehouse.NormalizeEmail(tt.in)
		if code := gatehouse.ErrorCode(err); code != tt.wantCode {
			t.Errorf("NormalizeEmail(%q): got code %q (%v), want %q", tt.in, code, err, tt.wantCode)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizeEmail(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEmailDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ann@example.com", "example.com"},
		{"ann@Example.COM", "example.com"},
		{`"a@b"@example.org`, "example.org"},
	}
	for _, tt := range tests {
		if got := gatehouse.EmailDomain(tt.in); got != tt.want {
			t.Errorf("EmailDomain(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidateDisplayName(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"Ann Smith", ""},
		{"Zoë", ""},
		{strings.Repeat("a", 256), ""},
		{"", gatehouse.EINVALID},
		{"   ", gatehouse.EINVALID},
		{strings.Repeat("a", 257), gatehouse.EINVALID},
		{"Ann\nSmith", gatehouse.EINVALID},
		{"Ann\x7f", gatehouse.EINVALID},
	}
	for _, tt := range tests {
		if got := gatehouse.ErrorCode(gatehouse.ValidateDisplayName(tt.in)); got != tt.want {
			t.Errorf("ValidateDisplayName(%q): got code %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{strings.Repeat("x", 10), ""},
		{strings.Repeat("x", 1024), ""},
		{"", gatehouse.EINVALID},
		{strings.Repeat("x", 9), gatehouse.EINVALID},
		{strings.Repeat("x", 1025), gatehouse.EINVALID},
	}
	for _, tt := range tests {
		if got := gatehouse.ErrorCode(gatehouse.ValidatePassword(tt.in)); got != tt.want {
			t.Errorf("ValidatePassword(%d bytes): got code %q, want %q", len(tt.in), got, tt.want)
		}
	}
}

func TestUserActor(t *testing.T) {
	u := &gatehouse.User{ID: "u1", Email: "ann@example.com", DisplayName: "Ann", UserType: gatehouse.UserTypeMember, IsAdmin: true}
	got := gatehouse.UserActor(u, "192.0.2.1", "test-agent")
	want := gatehouse.Actor{
		Principal: gatehouse.Principal{Kind: gatehouse.KindMember, UserID: "u1", Email: "ann@example.com", DisplayName: "Ann", IsAdmin: true},
		Origin:    gatehouse.Origin{ClientIP: "192.0.2.1", UserAgent: "test-agent"}}
	if got != want {
		t.Errorf("UserActor: got %+v, want %+v", got, want)
	}
	if got.UserType() != gatehouse.UserTypeMember {
		t.Errorf("UserType: got %q, want Member", got.UserType())
	}
	u.UserType = gatehouse.UserTypeGuest
	if g := gatehouse.UserPrincipal(u); g.Kind != gatehouse.KindGuest || g.UserType() != gatehouse.UserTypeGuest {
		t.Errorf("UserPrincipal(guest): got %+v (%s), want a guest", g, g.UserType())
	}
	if r := gatehouse.RecipientPrincipal("sam@partner.test"); r.UserType() != gatehouse.UserTypeAdHoc || r.IsUser() {
		t.Errorf("RecipientPrincipal: got %+v (%s), want an ad hoc recipient, not a user", r, r.UserType())
	}
	if sys := gatehouse.SystemActor(); sys.UserID != "" || sys.Email == "" {
		t.Errorf("SystemActor: got %+v, want no user id and a non-empty audit UserId", sys)
	}
}
