// Package httpx holds the HTTP plumbing shared by the API and the web UI:
// error rendering, JSON bodies, client addresses, CSRF and security headers.
package httpx

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"gatehouse"
)

// MaxJSONBody bounds every JSON request body.
const MaxJSONBody = 1 << 20

// Status maps an error code to its HTTP status. This is the only place.
func Status(code string) int {
	switch code {
	case gatehouse.EINVALID:
		return http.StatusBadRequest
	case gatehouse.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case gatehouse.EFORBIDDEN:
		return http.StatusForbidden
	case gatehouse.ENOTFOUND:
		return http.StatusNotFound
	case gatehouse.ECONFLICT:
		return http.StatusConflict
	case gatehouse.EGONE:
		return http.StatusGone
	case gatehouse.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case gatehouse.ETOOMANY:
		return http.StatusTooManyRequests
	case gatehouse.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// GraphCode maps an error code to the code Microsoft Graph uses.
func GraphCode(code string) string {
	switch code {
	case gatehouse.EINVALID:
		return "invalidRequest"
	case gatehouse.EUNAUTHORIZED:
		return "unauthenticated"
	case gatehouse.EFORBIDDEN:
		return "accessDenied"
	case gatehouse.ENOTFOUND:
		return "itemNotFound"
	case gatehouse.ECONFLICT:
		return "nameAlreadyExists"
	case gatehouse.EGONE:
		return "resourceGone"
	case gatehouse.ETOOLARGE:
		return "requestTooLarge"
	case gatehouse.ETOOMANY:
		return "activityLimitReached"
	case gatehouse.EUNSUPPORTED:
		return "notSupported"
	}
	return "generalException"
}

// LogError logs internal errors; user errors are not worth a line.
func LogError(r *http.Request, err error) {
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		slog.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

// Error writes err as a Graph-shaped JSON error.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	LogError(r, err)
	code := gatehouse.ErrorCode(err)
	WriteJSON(w, Status(code), map[string]any{"error": map[string]string{
		"code": GraphCode(code), "message": gatehouse.ErrorMessage(err)}})
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// DecodeJSON reads a bounded JSON body into v, refusing unknown fields and
// trailing data, with errors a person can act on.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return gatehouse.Errorf(gatehouse.ETOOLARGE, "The request body is larger than the limit of %d KiB.", MaxJSONBody>>10)
		case errors.Is(err, io.EOF):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is empty; a JSON object was expected.")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is not valid JSON: it ends too early.")
		case errors.As(err, &se):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request body is not valid JSON (at byte %d).", se.Offset)
		case errors.As(err, &te):
			return gatehouse.Errorf(gatehouse.EINVALID, "The field %q has the wrong type; expected %s.", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return gatehouse.Errorf(gatehouse.EINVALID, "The request has an unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body could not be read as JSON.")
	}
	if dec.More() {
		return gatehouse.Errorf(gatehouse.EINVALID, "The request body has data after the JSON object.")
	}
	return nil
}

// ClientIP returns the address of the client: the TCP peer, or the address a
// trusted proxy forwarded (see RealClient).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// SecurityHeaders sets the headers every response carries.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// One backing array for the values, instead of one each; the keys
		// are canonical already.
		vals := [...]string{"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
			"nosniff", "no-referrer", "DENY", "same-origin", "max-age=31536000"}
		v := vals[:]
		for i, k := range [...]string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
			"X-Frame-Options", "Cross-Origin-Opener-Policy", "Strict-Transport-Security"} {
			if i == 5 && !Secure(r) {
				break
			}
			h[k] = v[i : i+1 : i+1]
		}
		next.ServeHTTP(w, r)
	})
}

// Cookie names.
const (
	SessionCookie = "gh_session"
	// RecipientCookie holds a verified recipient's session secret. The API
	// never reads it: it opens /s/{token} pages and nothing else.
	RecipientCookie = "gh_rs"
	CSRFCookie      = "gh_csrf"
	CSRFField       = "csrf"
	CSRFHeader      = "X-CSRF-Token"
)

// SetCookie sets an HttpOnly, SameSite=Lax cookie, Secure when the client
// uses HTTPS (see Secure). A zero
// maxAge makes a browser-session cookie; a negative one deletes it.
func SetCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: Secure(r), SameSite: http.SameSiteLaxMode})
}

// CSRFToken returns the CSRF token for forms, setting its cookie the first
// time. The token is a double-submit secret: a form or header must repeat
// the cookie, which another site can neither read nor set.
func CSRFToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := gatehouse.NewSecret("")
	SetCookie(w, r, CSRFCookie, tok, 0)
	// Later reads in this request see the new cookie too.
	r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: tok})
	return tok
}

// CheckCSRF reports whether a state-changing request carries the token of its
// CSRF cookie in the form field or header. Call it after the form is parsed.
func CheckCSRF(r *http.Request) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return CSRFValid(r, got)
}

// CSRFValid reports whether token is the request's CSRF cookie, for forms
// read as a stream (multipart uploads) where the token is one of the parts.
func CSRFValid(r *http.Request, token string) bool {
	c, err := r.Cookie(CSRFCookie)
	if err != nil || len(c.Value) < 32 || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(c.Value)) == 1
}

// ContentDisposition makes an attachment header with the name in UTF-8
// (RFC 6266 and 8187) and an ASCII fallback for old clients.
func ContentDisposition(name string) string {
	const pre, mid = `attachment; filename="`, `"; filename*=UTF-8''`
	plain := true // every byte the same in both forms: the usual name
	for i := 0; i < len(name) && plain; i++ {
		plain = attrChar(name[i])
	}
	if plain {
		return pre + name + mid + name
	}
	var b strings.Builder // its String does not copy
	b.Grow(len(pre) + len(mid) + 4*len(name))
	b.WriteString(pre)
	for _, c := range name {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '%' {
			b.WriteByte('_')
		} else {
			b.WriteByte(byte(c))
		}
	}
	b.WriteString(mid)
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		if c := name[i]; attrChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// attrChar reports whether c goes unescaped in an RFC 8187 value.
func attrChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

// Mux is where a surface registers its routes: an *http.ServeMux, or a
// test's recorder that lists every route.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}
