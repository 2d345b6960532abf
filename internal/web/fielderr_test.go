package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// wantFieldError checks that a page ties its one error to the field id:
// the field is aria-invalid, takes the focus, is described by the error
// (after its hints), and the error stands under it holding want.
func wantFieldError(t *testing.T, what, body, id, want string, hints ...string) {
	t.Helper()
	tag := regexp.MustCompile(`<(?:input|select|textarea) id="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	if tag == "" {
		t.Fatalf("%s: no field #%s in the page", what, id)
	}
	desc := strings.Join(append(hints, id+"-error"), " ")
	for _, a := range []string{` aria-invalid="true"`, ` autofocus`, ` aria-describedby="` + desc + `"`} {
		if !strings.Contains(tag, a) {
			t.Errorf("%s: #%s lacks%s: %s", what, id, a, tag)
		}
	}
	note := regexp.MustCompile(`<p class="field-error" id="` + regexp.QuoteMeta(id) + `-error">([^<]*)</p>`).FindStringSubmatch(body)
	if note == nil || !strings.Contains(note[1], want) {
		t.Errorf("%s: the error under #%s is %v, want it to hold %q", what, id, note, want)
	}
	if n := strings.Count(body, `aria-invalid="true"`); n != 1 {
		t.Errorf("%s: %d fields are invalid, want 1", what, n)
	}
	if n := strings.Count(body, " autofocus"); n != 1 {
		t.Errorf("%s: %d fields ask for the focus, want 1", what, n)
	}
}

// TestFormErrorsTiedToFields: the admin's forms (Add a user, Create a
// group, Add someone to a group, Add a partner) and the sign-in form put
// each refusal on the field it is about; a refusal that is about no field
// of the form (removing someone) marks none.
func TestFormErrorsTiedToFields(t *testing.T) {
	e := newShareEnv(t)
	e.addUser("ada@example.com", "Ada Admin", true)
	e.addUser("bea@example.com", "Bea", false)
	c := e.signIn("ada@example.com")

	user := func(email, name, password string) url.Values {
		return url.Values{"email": {email}, "name": {name}, "password": {password}}
	}
	for _, tc := range []struct {
		what, path string
		form       url.Values
		id, want   string
		hints      []string
	}{
		{"a taken address", "/admin/users", user("bea@example.com", "Bea Two", testPassword), "nu-email", "already exists", nil},
		{"a bad address", "/admin/users", user("bea@localhost", "Bea Two", testPassword), "nu-email", "not a valid email address", nil},
		{"no display name", "/admin/users", user("cy@example.com", " ", testPassword), "nu-name", "display name is required", nil},
		{"a short password", "/admin/users", user("cy@example.com", "Cy", "short"), "nu-password", "at least 10 characters", []string{"nu-password-hint"}},
		{"a bad mail nickname", "/admin/groups", url.Values{"name": {"Team"}, "mailNickname": {"a b"}}, "ng-nick", "mailNickname", []string{"ng-nick-hint"}},
		{"no group name", "/admin/groups", url.Values{"name": {" "}, "mailNickname": {"team"}}, "ng-name", "display name", nil},
		{"a partner without a secret", "/admin/identityProviders", url.Values{"displayName": {"Fabrikam"}, "issuer": {"https://login.fabrikam.example/"},
			"clientId": {"g"}, "domains": {"fabrikam.example"}}, "idp-secret", "clientSecret", nil},
		{"a partner with a bad issuer", "/admin/identityProviders", url.Values{"displayName": {"Fabrikam"}, "issuer": {"ftp://x"},
			"clientId": {"g"}, "clientSecret": {"a-secret"}, "domains": {"fabrikam.example"}}, "idp-issuer", "issuer", nil},
		{"a partner with the org's domain", "/admin/identityProviders", url.Values{"displayName": {"Ours"}, "issuer": {"https://login.ours.example/"},
			"clientId": {"g"}, "clientSecret": {"a-secret"}, "domains": {"example.com"}}, "idp-domains", "own domains", nil},
	} {
		resp, body := c.postForm(tc.path, tc.form)
		if resp.StatusCode < 400 {
			t.Errorf("%s: got %d, want a refusal", tc.what, resp.StatusCode)
			continue
		}
		wantFieldError(t, tc.what, body, tc.id, tc.want, tc.hints...)
	}

	// A group's Add someone form.
	resp, body := c.postForm("/admin/groups", url.Values{"name": {"Team"}, "mailNickname": {"team"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create group: %d\n%s", resp.StatusCode, body)
	}
	g := resp.Header.Get("Location")
	resp, body = c.postForm(g+"/members", url.Values{"ref": {"nobody@example.com"}, "role": {"member"}})
	if resp.StatusCode < 400 {
		t.Fatalf("add an unknown user: %d", resp.StatusCode)
	}
	wantFieldError(t, "add an unknown user", body, "am-ref", "nobody@example.com", "am-ref-hint")
	_, body = c.postForm(g+"/members", url.Values{"ref": {"bea@example.com"}, "role": {"boss"}})
	wantFieldError(t, "add as a bad role", body, "am-role", "member or owner")
	// Removing someone who is not there is about no field of the form.
	resp, body = c.postForm(g+"/remove", url.Values{"user": {"nobody"}, "role": {"member"}})
	if resp.StatusCode < 400 || strings.Contains(body, `aria-invalid="true"`) || strings.Contains(body, `class="field-error"`) {
		t.Errorf("a failed removal: %d, and it marks a field of the add form invalid", resp.StatusCode)
	}

	// Sign-in: an address the server refuses, then a wrong password.
	anon := e.client()
	_, body = anon.postForm("/login", url.Values{"email": {"someone@localhost"}})
	wantFieldError(t, "sign-in with a bad address", body, "email", "not a valid email address")
	_, body = anon.postForm("/login", url.Values{"email": {"bea@example.com"}, "password": {"not the password"}})
	wantFieldError(t, "sign-in with a wrong password", body, "password", "password is incorrect")
}
