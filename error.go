// Package gatehouse holds the domain types, error codes and pure rules of
// Gatehouse, a self-hosted server for sharing files with people outside the
// organization. Subpackages implement them with a technology each.
package gatehouse

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in internal/httpx.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // the object does not exist or is not visible
	ECONFLICT     = "conflict"     // the name or state is already taken
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	ETOOLARGE     = "too_large"    // the body exceeds its limit
	ETOOMANY      = "too_many"     // rate limited
	EGONE         = "gone"         // existed once, removed for good
	EUNSUPPORTED  = "unsupported"  // the content's type cannot be served this way (no preview)
	EINTERNAL     = "internal"     // our fault; details stay in the log
)

// Error is an error a user can act on: a code and a sentence.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("gatehouse: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not ours,
// and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err, hiding the text of internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again later."
}
