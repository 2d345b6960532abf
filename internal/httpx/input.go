package httpx

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"gatehouse"
)

// badText reports whether s holds a NUL or bytes that are not UTF-8. No id,
// name, address or code can, and PostgreSQL refuses such text with an error
// that would otherwise surface as ours.
func badText(s string) bool {
	return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0
}

func badValues(vs map[string][]string) bool {
	for k, v := range vs {
		if badText(k) {
			return true
		}
		for _, s := range v {
			if badText(s) {
				return true
			}
		}
	}
	return false
}

// CheckInput refuses a request whose path or query string holds a NUL or
// bytes that are not UTF-8.
func CheckInput(r *http.Request) error {
	if badText(r.URL.Path) || r.URL.RawQuery != "" && badValues(r.URL.Query()) {
		return gatehouse.Errorf(gatehouse.EINVALID, "The address holds characters that are not allowed: a NUL byte, or bytes that are not UTF-8.")
	}
	return nil
}

// CleanUserAgent makes the User-Agent header valid UTF-8, as the audit log
// stores it and PostgreSQL takes nothing else; bytes that are not UTF-8
// become U+FFFD. Go's server has already refused control characters.
func CleanUserAgent(r *http.Request) {
	if ua := r.Header.Get("User-Agent"); !utf8.ValidString(ua) {
		r.Header.Set("User-Agent", strings.ToValidUTF8(ua, "\uFFFD"))
	}
}

// CheckForm refuses a parsed form whose fields hold a NUL or bytes that are
// not UTF-8.
func CheckForm(r *http.Request) error {
	if badValues(r.PostForm) {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form holds characters that are not allowed: a NUL byte, or bytes that are not UTF-8.")
	}
	if r.MultipartForm != nil && badValues(r.MultipartForm.Value) {
		return gatehouse.Errorf(gatehouse.EINVALID, "The form holds characters that are not allowed: a NUL byte, or bytes that are not UTF-8.")
	}
	return nil
}
