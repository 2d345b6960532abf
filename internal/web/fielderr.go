package web

import (
	"html/template"
	"strings"
)

// fieldErr ties a form's refusal to the field it is about, as the share
// panel does (share.go): the field is aria-invalid, described by the
// message under it, and takes the focus, so a screen reader hears the
// message where the person has to act. The page's notice repeats it at the
// top, as a summary. The zero value ties nothing.
type fieldErr struct {
	ID, Message string
}

// tie puts the message on the field with the id.
func (f *fieldErr) tie(id, msg string) { f.ID, f.Message = id, msg }

// Any reports whether some field has the error: the page's default focus
// gives way to it.
func (f fieldErr) Any() bool { return f.ID != "" }

// Attrs are the attributes of the field id: aria-describedby with its
// hints (ids) and, if the error is its, the error's id, aria-invalid and
// autofocus. Ids are the templates' own constants, never input.
func (f fieldErr) Attrs(id string, hints ...string) template.HTMLAttr {
	var b strings.Builder
	desc := hints
	if f.ID == id {
		desc = append(desc[:len(desc):len(desc)], id+"-error")
		b.WriteString(` aria-invalid="true" autofocus`)
	}
	if len(desc) > 0 {
		b.WriteString(` aria-describedby="` + template.HTMLEscapeString(strings.Join(desc, " ")) + `"`)
	}
	return template.HTMLAttr(b.String())
}

// Note is the error under the field id, if the error is its.
func (f fieldErr) Note(id string) template.HTML {
	if f.ID != id {
		return ""
	}
	return template.HTML(`<p class="field-error" id="` + template.HTMLEscapeString(id) + `-error">` +
		template.HTMLEscapeString(f.Message) + `</p>`)
}

// fieldFor picks the field a message is about by the first of its words
// (lower case) found in it, or def.
func fieldFor(msg, def string, byWord ...[2]string) string {
	msg = strings.ToLower(msg)
	for _, w := range byWord {
		if strings.Contains(msg, w[0]) {
			return w[1]
		}
	}
	return def
}
