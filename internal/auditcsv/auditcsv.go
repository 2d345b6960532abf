// Package auditcsv writes audit records as CSV with the Microsoft 365 field
// names, safe to open in a spreadsheet. The CLI and the API export share it.
package auditcsv

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gatehouse"
)

// Header is the first row: the Microsoft 365 audit field names.
var Header = []string{"Id", "CreationTime", "Operation", "UserId", "UserType", "ClientIP", "UserAgent", "ObjectId", "ItemType",
	"SourceFileName", "SourceRelativeUrl", "TargetUserOrGroupName", "TargetUserOrGroupType", "UniqueSharingId", "EventData", "ResultStatus"}

// Row returns r's cells in Header's order.
func Row(r *gatehouse.Record) []string {
	row := []string{r.ID, r.CreationTime.Format(time.RFC3339Nano), r.Operation, r.UserID, r.UserType, r.ClientIP, r.UserAgent, r.ObjectID,
		r.ItemType, r.SourceFileName, r.SourceRelativeURL, r.TargetUserOrGroupName, r.TargetUserOrGroupType, r.UniqueSharingID, r.EventData, r.ResultStatus}
	for i, v := range row {
		v = Clean(v)
		// A cell starting with = + - @ would run as a formula in a spreadsheet.
		if v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
			v = "'" + v
		}
		row[i] = v
	}
	return row
}

// Clean escapes what could forge or hide output on a terminal or in a
// spreadsheet: control characters (a newline makes a fake record, ESC
// drives the terminal), format characters such as bidi overrides, other
// non-printing runes and invalid UTF-8, written as Go escapes. Backslashes
// are doubled, so that an escape always means the character.
func Clean(s string) string {
	ok := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}
