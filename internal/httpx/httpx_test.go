package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gatehouse"
)

func TestStatus(t *testing.T) {
	for code, want := range map[string]int{
		gatehouse.EINVALID: 400, gatehouse.EUNAUTHORIZED: 401, gatehouse.EFORBIDDEN: 403, gatehouse.ENOTFOUND: 404,
		gatehouse.ECONFLICT: 409, gatehouse.EGONE: 410, gatehouse.ETOOLARGE: 413, gatehouse.ETOOMANY: 429, gatehouse.EINTERNAL: 500,
	} {
		if got := Status(code); got != want {
			t.Errorf("Status(%s) = %d, want %d", code, got, want)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	for _, tt := range []struct {
		body, code, says string
	}{
		{`{"name":"a"}`, "", ""},
		{``, gatehouse.EINVALID, "empty"},
		{`{"name":`, gatehouse.EINVALID, "not valid JSON"},
		{`{"name":1}`, gatehouse.EINVALID, `"name" has the wrong type`},
		{`{"nope":1}`, gatehouse.EINVALID, "unknown field"},
		{`{"name":"a"} {}`, gatehouse.EINVALID, "after the JSON object"},
		{`{"name":"` + strings.Repeat("x", MaxJSONBody) + `"}`, gatehouse.ETOOLARGE, "larger than the limit"},
	} {
		var v struct {
			Name string `json:"name"`
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		err := DecodeJSON(httptest.NewRecorder(), r, &v)
		if got := gatehouse.ErrorCode(err); got != tt.code || !strings.Contains(gatehouse.ErrorMessage(err), tt.says) {
			t.Errorf("DecodeJSON(%.30q) = %v, want code %q saying %q", tt.body, err, tt.code, tt.says)
		}
	}
}

func TestCSRF(t *testing.T) {
	w := httptest.NewRecorder()
	first := httptest.NewRequest("GET", "/", nil)
	tok := CSRFToken(w, first)
	cookie := w.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Value != tok {
		t.Fatalf("CSRF cookie %+v", cookie)
	}
	post := func(header, field string, site string) *http.Request {
		r := httptest.NewRequest("POST", "/", strings.NewReader("csrf="+field))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(cookie)
		if header != "" {
			r.Header.Set(CSRFHeader, header)
		}
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		return r
	}
	for _, tt := range []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"form field", post("", tok, ""), true},
		{"header", post(tok, "", ""), true},
		{"missing", post("", "", ""), false},
		{"forged", post("", tok[:len(tok)-1]+"x", ""), false},
		{"cross-site", post(tok, "", "cross-site"), false},
		{"no cookie", httptest.NewRequest("POST", "/", strings.NewReader("csrf="+tok)), false},
	} {
		if got := CheckCSRF(tt.r); got != tt.want {
			t.Errorf("%s: CheckCSRF = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	SecurityHeaders(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	h := w.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers = %v", h)
	}
}

func TestErrorHidesInternals(t *testing.T) {
	w := httptest.NewRecorder()
	Error(w, httptest.NewRequest("GET", "/", nil), errSecret{})
	if w.Code != 500 || strings.Contains(w.Body.String(), "password=hunter2") || !strings.Contains(w.Body.String(), `"generalException"`) {
		t.Errorf("internal error answer: %d %s", w.Code, w.Body)
	}
}

type errSecret struct{}

func (errSecret) Error() string { return "dial db: password=hunter2" }
