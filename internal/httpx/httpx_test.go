package httpx

import (
	"fmt"
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

// TestContentDispositionMatchesReference compares ContentDisposition with
// a plain rendering of its rules (RFC 6266 fallback, RFC 8187 encoding)
// over names of every kind, including invalid UTF-8 and control bytes.
func TestContentDispositionMatchesReference(t *testing.T) {
	reference := func(name string) string {
		var ascii, enc strings.Builder
		for _, c := range name {
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '%' {
				ascii.WriteByte('_')
			} else {
				ascii.WriteRune(c)
			}
		}
		for _, b := range []byte(name) {
			if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0 {
				enc.WriteByte(b)
			} else {
				fmt.Fprintf(&enc, "%%%02X", b)
			}
		}
		return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + enc.String()
	}
	names := []string{"", "a.txt", "report 2024.pdf", `we "quote" \ it%.txt`, "日本.pdf", "e\u0301.txt",
		"tab\there", "bad\xff\xfeutf8", "~!#$&+-.^_`|", "'()*,/:;<=>?@[]{}", "\x00\x1f\x7f"}
	for b := range 256 {
		names = append(names, "x"+string([]byte{byte(b)})+"y")
	}
	for _, n := range names {
		if got, want := ContentDisposition(n), reference(n); got != want {
			t.Errorf("ContentDisposition(%q) = %s, want %s", n, got, want)
		}
	}
}
