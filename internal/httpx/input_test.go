package httpx

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gatehouse"
)

func TestCheckInput(t *testing.T) {
	tests := []struct {
		target string
		want   string // error code; "" for accepted
	}{
		{"/v1.0/drives/abc/items/def", ""},
		{"/files/%C3%BCber?after=x", ""},
		{"/s/tok/items/%E2%80%AE", ""}, // no NUL, valid UTF-8: names are judged elsewhere
		{"/v1.0/users/a%00b", gatehouse.EINVALID},
		{"/v1.0/users/a%FFb", gatehouse.EINVALID},
		{"/admin/outbox?state=%00", gatehouse.EINVALID},
		{"/admin/outbox?st%FFate=x", gatehouse.EINVALID},
		{"/v1.0/auditLog/records?operation=a&userId=%C3", gatehouse.EINVALID},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		if got := gatehouse.ErrorCode(CheckInput(r)); got != tt.want {
			t.Errorf("CheckInput(%s): got %q, want %q", tt.target, got, tt.want)
		}
	}
}

func TestCheckForm(t *testing.T) {
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {"Überblick"}, "email": {"a@b.c"}}, ""},
		{url.Values{"name": {"a\x00b"}}, gatehouse.EINVALID},
		{url.Values{"name": {"ok", "a\xffb"}}, gatehouse.EINVALID},
		{url.Values{"na\xffme": {"ok"}}, gatehouse.EINVALID},
	} {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(tt.form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		if got := gatehouse.ErrorCode(CheckForm(r)); got != tt.want {
			t.Errorf("CheckForm(%q): got %q, want %q", tt.form, got, tt.want)
		}
	}
}

func TestCleanUserAgent(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", "agent\xff\xfe/1.0")
	CleanUserAgent(r)
	if got, want := r.UserAgent(), "agent\uFFFD/1.0"; got != want {
		t.Errorf("User-Agent: got %q, want %q", got, want)
	}
	r.Header.Set("User-Agent", "Mozilla/5.0 (ü)")
	CleanUserAgent(r)
	if got := r.UserAgent(); got != "Mozilla/5.0 (ü)" {
		t.Errorf("a valid User-Agent changed to %q", got)
	}
}
