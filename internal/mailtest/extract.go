package mailtest

import (
	"regexp"
	"strings"
	"testing"
)

// codePattern matches a standalone 8-digit passcode.
var codePattern = regexp.MustCompile(`\b\d{8}\b`)

// Code returns the first standalone 8-digit number in m's text part, which
// is how a person finds the passcode. It fails the test if there is none.
func Code(t testing.TB, m Mail) string {
	t.Helper()
	code := codePattern.FindString(m.Text)
	if code == "" {
		t.Fatalf("mailtest: no 8-digit code in the mail %q to %v:\n%s", m.Subject, m.To, m.Text)
	}
	return code
}

// ExtractLink returns the first URL in m's text part that starts with
// prefix, up to the next white space. It fails the test if there is none.
func ExtractLink(t testing.TB, m Mail, prefix string) string {
	t.Helper()
	if prefix == "" {
		t.Fatalf("mailtest: ExtractLink needs a prefix")
	}
	for text := m.Text; ; {
		i := strings.Index(text, prefix)
		if i < 0 {
			break
		}
		// Only a URL that starts at a word boundary counts, so the prefix
		// "https://a.example/" does not match inside "https://aa.example/".
		if i == 0 || !isURLChar(text[i-1]) {
			end := strings.IndexFunc(text[i:], func(r rune) bool {
				return r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '<' || r == '>' || r == '"'
			})
			link := text[i:]
			if end >= 0 {
				link = text[i : i+end]
			}
			// Punctuation that ends a sentence is not part of the link.
			return strings.TrimRight(link, ".,;:!?)")
		}
		text = text[i+len(prefix):]
	}
	t.Fatalf("mailtest: no link starting with %q in the mail %q to %v:\n%s", prefix, m.Subject, m.To, m.Text)
	return ""
}

// isURLChar reports whether c can appear inside a URL.
func isURLChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`<>"'()`, rune(c))
}
