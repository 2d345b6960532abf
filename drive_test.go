package gatehouse_test

import (
	"strings"
	"testing"

	"gatehouse"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // error code; "" for valid
	}{
		{"plain", "report.docx", ""},
		{"spaces inside", "my report.docx", ""},
		{"unicode", "Überblick 2024 – café.txt", ""},
		{"dot prefix", ".profile", ""},
		{"255 bytes", strings.Repeat("a", 255), ""},
		{"255 bytes multibyte", strings.Repeat("é", 127) + "a", ""},
		{"empty", "", gatehouse.EINVALID},
		{"dot", ".", gatehouse.EINVALID},
		{"dot dot", "..", gatehouse.EINVALID},
		{"256 bytes", strings.Repeat("a", 256), gatehouse.EINVALID},
		{"256 bytes multibyte", strings.Repeat("é", 128), gatehouse.EINVALID},
		{"slash", "a/b", gatehouse.EINVALID},
		{"backslash", `a\b`, gatehouse.EINVALID},
		{"colon", "a:b", gatehouse.EINVALID},
		{"star", "a*b", gatehouse.EINVALID},
		{"question mark", "a?b", gatehouse.EINVALID},
		{"double quote", `a"b`, gatehouse.EINVALID},
		{"less than", "a<b", gatehouse.EINVALID},
		{"greater than", "a>b", gatehouse.EINVALID},
		{"pipe", "a|b", gatehouse.EINVALID},
		{"control char", "a\x01b", gatehouse.EINVALID},
		{"newline", "a\nb", gatehouse.EINVALID},
		{"tab", "a\tb", gatehouse.EINVALID},
		{"nul", "a\x00b", gatehouse.EINVALID},
		{"delete", "a\x7fb", gatehouse.EINVALID},
		{"leading space", " a", gatehouse.EINVALID},
		{"trailing space", "a ", gatehouse.EINVALID},
		{"only spaces", "   ", gatehouse.EINVALID},
		{"invalid utf-8", "a\xffb", gatehouse.EINVALID},
		{"C1 control", "a\u0085b", gatehouse.EINVALID},
		{"line separator", "a\u2028b", gatehouse.EINVALID},
		{"paragraph separator", "a\u2029b", gatehouse.EINVALID},
		{"right-to-left override", "e\u202Egnp.exe", gatehouse.EINVALID},
		{"left-to-right embedding", "a\u202Ab", gatehouse.EINVALID},
		{"right-to-left embedding", "a\u202Bb", gatehouse.EINVALID},
		{"pop directional formatting", "a\u202Cb", gatehouse.EINVALID},
		{"left-to-right override", "a\u202Db", gatehouse.EINVALID},
		{"left-to-right isolate", "a\u2066b", gatehouse.EINVALID},
		{"right-to-left isolate", "a\u2067b", gatehouse.EINVALID},
		{"first strong isolate", "a\u2068b", gatehouse.EINVALID},
		{"pop directional isolate", "a\u2069b", gatehouse.EINVALID},
		{"left-to-right mark", "a\u200Eb", gatehouse.EINVALID},
		{"right-to-left mark", "a\u200Fb", gatehouse.EINVALID},
		{"arabic letter mark", "a\u061Cb", gatehouse.EINVALID},
		{"right-to-left script", "تقرير.pdf", ""},
		{"hebrew", "דוח.txt", ""},
		{"zero width joiner in emoji", "👩\u200D💻.png", ""},
		{"narrow no-break space after the overrides", "a\u202Fb", ""},
		{"just outside the isolate range", "a\u2065b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := gatehouse.ValidateName(tt.in)
			if got := gatehouse.ErrorCode(err); got != tt.want {
				t.Errorf("ValidateName(%q): got code %q (%v), want %q", tt.in, got, err, tt.want)
			}
			if err != nil && gatehouse.ErrorMessage(err) == "" {
				t.Errorf("ValidateName(%q): got an empty message, want a sentence", tt.in)
			}
		})
	}
}

func TestNameKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"Report.TXT", "report.txt"},
		{"ÜBER", "über"},
		{"abc", "ABC"},
	}
	for _, tt := range tests {
		if ka, kb := gatehouse.NameKey(tt.a), gatehouse.NameKey(tt.b); ka != kb {
			t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q: want equal keys", tt.a, ka, tt.b, kb)
		}
	}
	if a, b := gatehouse.NameKey("a"), gatehouse.NameKey("b"); a == b {
		t.Errorf("NameKey(a) == NameKey(b) == %q, want different keys", a)
	}
}

func TestItemETag(t *testing.T) {
	file := &gatehouse.Item{ID: "f1", SHA256: "abc", Version: 3}
	if got, want := file.ETag(), `"abc"`; got != want {
		t.Errorf("file ETag: got %s, want %s", got, want)
	}
	folder := &gatehouse.Item{ID: "d1", IsFolder: true, Version: 2}
	if got, want := folder.ETag(), `"d1,2"`; got != want {
		t.Errorf("folder ETag: got %s, want %s", got, want)
	}
}
